"""GOV.UK Frontend's compiled assets, built by ``scripts/build_assets.sh`` into ``static/govuk/``.

The compiled stylesheet asks for its images under ``/assets/``, so that path serves the
same folder. Without a build the app still runs, with a plain fallback stylesheet and no scripts.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, current_app, send_from_directory

GOVUK_DIR = Path(__file__).with_name("static") / "govuk"
STYLESHEET = "govuk-frontend.min.css"


def built(folder: Path = GOVUK_DIR) -> bool:
    return (folder / STYLESHEET).is_file() and (folder / "govuk-frontend.min.js").is_file()


def serve_asset(filename: str) -> Response:
    return send_from_directory(GOVUK_DIR / "assets", filename, max_age=current_app.get_send_file_max_age(None))


def init_app(app: Flask) -> None:
    app.config.setdefault("GOVUK_ASSETS_BUILT", built())
    app.add_url_rule("/assets/<path:filename>", endpoint="assets", view_func=serve_asset)
    app.context_processor(
        lambda: {"assetPath": "/assets", "govuk_assets_built": current_app.config["GOVUK_ASSETS_BUILT"]}
    )
