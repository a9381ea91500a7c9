"""HTML to PDF with WeasyPrint, offline: the only URLs it may open are inline ``data:`` URIs."""

from __future__ import annotations

from pathlib import Path


def write_pdf(html: str, path: Path) -> Path:
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"}, timeout=1)
    HTML(string=html, url_fetcher=fetcher, base_url=None).write_pdf(path)
    return path
