"""Reports and exports that evidence co-production, from one project, in one call.

:func:`generate` reads the project once (:mod:`coproduce.reports.data`), then writes each format asked
for into one folder: the consultation analysis report (HTML, PDF, Word), the co-production evidence
pack, the easy-read summary, the coded data (XLSX, CSV) and the REFI-QDA exchange files (``.qdpx``,
``.qdc``). Each file is written under a temporary name and renamed when complete, so a reader never
sees half a file; the generation is recorded in the audit log.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from coproduce.errors import BadInputError
from coproduce.services.audit import Actor, record
from coproduce.services.projects import get_project
from coproduce.store.db import transaction

FORMATS = ("html", "pdf", "docx", "xlsx", "csv", "qdpx", "qdc", "evidence", "easy-read")
FORMAT_LABELS = {
    "html": "Consultation analysis report (web page)",
    "pdf": "Consultation analysis report (PDF)",
    "docx": "Consultation analysis report (Word)",
    "xlsx": "Coded data workbook (Excel)",
    "csv": "Coded data (CSV files)",
    "qdpx": "REFI-QDA project for NVivo, ATLAS.ti, MAXQDA (.qdpx)",
    "qdc": "REFI-QDA codebook (.qdc)",
    "evidence": "Co-production evidence pack (web page and PDF)",
    "easy-read": "Easy-read summary (web page and PDF)",
}
# Files each format writes, after the "<project slug>-" prefix.
FORMAT_FILES = {
    "html": ("report.html",),
    "pdf": ("report.pdf",),
    "docx": ("report.docx",),
    "xlsx": ("coded-data.xlsx",),
    "csv": ("coded-segments.csv", "coded-codings.csv", "question-summary.csv"),
    "qdpx": ("project.qdpx",),
    "qdc": ("codebook.qdc",),
    "evidence": ("evidence-pack.html", "evidence-pack.pdf"),
    "easy-read": ("easy-read.html", "easy-read.pdf"),
}
SAFE_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*\.(html|pdf|docx|xlsx|csv|qdpx|qdc)$")


@dataclass(frozen=True)
class ReportSet:
    folder: Path
    files: list[Path]
    formats: tuple[str, ...]

    def summary(self) -> str:
        lines = [f"Wrote {len(self.files)} file(s) to {self.folder}:"]
        lines += [f"  {p.name} ({p.stat().st_size:,} bytes)" for p in self.files]
        return "\n".join(lines)


def parse_formats(formats: Iterable[str] | None) -> tuple[str, ...]:
    """The formats asked for, in the usual order; ``all`` (or nothing) means every format."""
    wanted = {f.strip().lower() for f in formats or () if f.strip()}
    if not wanted or "all" in wanted:
        return FORMATS
    unknown = sorted(wanted - set(FORMATS))
    if unknown:
        raise BadInputError(
            f"unknown report format {', '.join(unknown)}",
            field="format",
            hint=f"Choose from: all, {', '.join(FORMATS)}",
        )
    return tuple(f for f in FORMATS if f in wanted)


def file_names(slug: str, formats: Iterable[str] = FORMATS) -> list[str]:
    return [f"{slug}-{name}" for fmt in formats for name in FORMAT_FILES[fmt]]


def is_report_file(name: str) -> bool:
    """True for a plain file name a report could have (no folders, no hidden files)."""
    return bool(SAFE_NAME.match(name)) and os.path.basename(name) == name


def _atomic(path: Path, write: Callable[[Path], object]) -> Path:
    partial = path.with_name(f".{path.name}.partial")
    try:
        write(partial)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def generate(
    factory: sessionmaker[Session],
    project_slug: str,
    folder: Path,
    actor: Actor,
    formats: Iterable[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> ReportSet:
    """Write the chosen formats (default: all) for one project into ``folder``."""
    chosen = parse_formats(formats)
    say = progress or (lambda _message: None)
    folder.mkdir(parents=True, exist_ok=True)
    with transaction(factory) as session:
        project = get_project(session, project_slug)
        written = _write_all(session, project, folder, chosen, say)
        record(
            session,
            actor,
            "report.create",
            "project",
            project.id,
            project_id=project.id,
            after={"formats": list(chosen), "files": [p.name for p in written]},
        )
    return ReportSet(folder, written, chosen)


def _write_all(session: Session, project, folder: Path, chosen: tuple[str, ...], say) -> list[Path]:  # type: ignore[no-untyped-def]
    from coproduce.reports import coded_data, refi
    from coproduce.reports.data import load_report

    say("Reading the project")
    data = load_report(session, project)
    name = lambda suffix: folder / f"{project.slug}-{suffix}"  # noqa: E731
    written: list[Path] = []
    charts = None
    report_html = None
    if {"html", "pdf", "docx"} & set(chosen):
        from coproduce.reports.charts import report_charts

        say("Drawing the charts")
        charts = report_charts(data)
    if {"html", "pdf"} & set(chosen):
        from coproduce.reports.html import render_report

        report_html = render_report(data, charts or {})
    if "html" in chosen:
        written.append(_atomic(name("report.html"), lambda p: p.write_text(report_html or "", encoding="utf-8")))
    if "pdf" in chosen:
        from coproduce.reports.pdf import write_pdf

        say("Laying out the PDF report")
        written.append(_atomic(name("report.pdf"), lambda p: write_pdf(report_html or "", p)))
    if "docx" in chosen:
        from coproduce.reports.docx import write_docx

        say("Writing the Word report")
        written.append(_atomic(name("report.docx"), lambda p: write_docx(data, charts or {}, p)))
    if {"xlsx", "csv"} & set(chosen):
        say("Gathering the coded data")
        coded = coded_data.load_coded_data(session, project, data)
        if "xlsx" in chosen:
            written.append(_atomic(name("coded-data.xlsx"), lambda p: coded_data.write_xlsx(coded, data, p)))
        if "csv" in chosen:
            for suffix, columns, rows in (
                ("coded-segments.csv", coded_data.SEGMENT_COLUMNS, coded.segments),
                ("coded-codings.csv", coded_data.CODING_COLUMNS, coded.codings),
                ("question-summary.csv", coded_data.SUMMARY_COLUMNS, coded_data.summary_rows(coded)),
            ):
                written.append(_atomic(name(suffix), lambda p, c=columns, r=rows: coded_data.write_csv(p, c, r)))
    if "qdpx" in chosen:
        say("Writing the REFI-QDA project")
        written.append(_atomic(name("project.qdpx"), lambda p: refi.write_qdpx(session, project, data, p)))
    if "qdc" in chosen:
        written.append(_atomic(name("codebook.qdc"), lambda p: refi.write_qdc(session, project, p)))
    if "evidence" in chosen:
        from coproduce.reports.evidence import load_evidence
        from coproduce.reports.html import render_evidence
        from coproduce.reports.pdf import write_pdf

        say("Writing the evidence pack")
        evidence_html = render_evidence(load_evidence(session, project, data))
        written.append(_atomic(name("evidence-pack.html"), lambda p: p.write_text(evidence_html, encoding="utf-8")))
        written.append(_atomic(name("evidence-pack.pdf"), lambda p: write_pdf(evidence_html, p)))
    if "easy-read" in chosen:
        from coproduce.reports.easy_read import easy_read
        from coproduce.reports.html import render_easy_read
        from coproduce.reports.pdf import write_pdf

        say("Writing the easy-read summary")
        easy_html = render_easy_read(data, easy_read(data))
        written.append(_atomic(name("easy-read.html"), lambda p: p.write_text(easy_html, encoding="utf-8")))
        written.append(_atomic(name("easy-read.pdf"), lambda p: write_pdf(easy_html, p)))
    return written
