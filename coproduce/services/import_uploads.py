"""Uploaded files waiting to be imported, and what they would import: a preview and the column mapping.

A file sent through the web UI is kept under ``<instance_dir>/uploads/<random token>/<file name>``
with a small JSON note of the options chosen, until it is imported or abandoned (uploads older
than a day are removed). The preview reads the file with the same importer the import will use,
but does not redact or write anything: it shows what each column holds and which rows would be
rejected, for staff to check the mapping before anything is stored.
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import time
import unicodedata
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from sqlalchemy.orm import Session, sessionmaker

from coproduce.config import Settings
from coproduce.errors import BadInputError
from coproduce.frameworks.model import FrameworkSpec
from coproduce.importers.base import ImportedRespondent, ImportedResponse, Rejection
from coproduce.importers.dialects import is_personal_data
from coproduce.importers.files import check_content_type
from coproduce.importers.mapping import KNOWN_ATTRIBUTES, ColumnMapping, ColumnRule
from coproduce.importers.tabular import column_letter, read_table
from coproduce.services import jobs
from coproduce.services.audit import Actor
from coproduce.services.frameworks import spec_from_db
from coproduce.services.imports import (
    IMPORT_KINDS,
    SUFFIX_KINDS,
    ImportReport,
    PrivacyFactory,
    choose_importer,
    default_privacy,
    import_file,
)
from coproduce.store.models import Project

ACCEPTED_SUFFIXES = (".txt", ".docx", ".pdf", ".csv", ".xlsx", ".jsonl")
KIND_LABELS = {
    "freeform": "Free-form submission (.txt, .docx or .pdf)",
    "survey": "Survey export (.csv or .xlsx)",
    "voice": "Voice of the child (.csv, .xlsx or .jsonl)",
    "family": "Family feedback (.csv, .xlsx or .jsonl)",
}
UPLOAD_MAX_AGE_SECONDS = 24 * 3600
PREVIEW_ROWS = 10
_TOKEN = re.compile(r"[0-9a-f]{32}")
_META = "upload.json"
_CHUNK = 1024 * 1024


@dataclass
class Upload:
    token: str
    project_slug: str
    filename: str
    path: Path
    size_bytes: int
    kind: str  # "" means: tell from the file type
    respondent_type: str | None = None
    respondent_name: str | None = None
    consent_to_quote: bool = False
    uploaded_by: int | None = None

    @property
    def resolved_kind(self) -> str | None:
        return self.kind or SUFFIX_KINDS.get(self.path.suffix.lower())

    def import_options(self) -> dict[str, Any]:
        """The options ``import_file`` takes, as the CLI passes them."""
        return {
            "kind": self.kind or None,
            "respondent_type": self.respondent_type,
            "respondent_name": self.respondent_name,
            "consent_to_quote": self.consent_to_quote,
        }


def uploads_dir(settings: Settings) -> Path:
    return Path(settings.instance_dir) / "uploads"


def save_upload(
    settings: Settings,
    project_slug: str,
    filename: str,
    stream: IO[bytes],
    *,
    kind: str = "",
    respondent_type: str | None = None,
    respondent_name: str | None = None,
    consent_to_quote: bool = False,
    uploaded_by: int | None = None,
) -> Upload:
    """Keep an uploaded file until it is imported; refuses unknown kinds, other file types (by name and
    by content), big files and zip bombs. The name is made safe (:func:`safe_upload_name`)."""
    name = safe_upload_name(filename)
    suffix = Path(name).suffix.lower()
    if suffix not in ACCEPTED_SUFFIXES:
        raise BadInputError(
            "the selected file must be a .txt, .docx, .pdf, .csv, .xlsx or .jsonl file",
            field="file",
            hint="Save it in one of those formats and upload it again",
        )
    if kind and kind not in IMPORT_KINDS:
        raise BadInputError("choose what kind of file this is", field="kind")
    purge_old_uploads(settings)
    token = secrets.token_hex(16)
    folder = uploads_dir(settings) / token
    folder.mkdir(parents=True)
    path = folder / name
    size = 0
    with path.open("wb") as out:
        while chunk := stream.read(_CHUNK):
            size += len(chunk)
            if size > settings.max_file_bytes:
                out.close()
                shutil.rmtree(folder, ignore_errors=True)
                raise BadInputError(
                    f"the selected file must be smaller than {settings.max_file_bytes / 1_000_000:g} MB",
                    field="file",
                    hint="Split the file into smaller parts and import each",
                )
            out.write(chunk)
    if size == 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise BadInputError("the selected file is empty", field="file")
    try:  # what the bytes are, not what the name says: refused now rather than at preview
        check_content_type(path, path.read_bytes(), settings)
    except BadInputError as error:
        shutil.rmtree(folder, ignore_errors=True)
        raise BadInputError(error.message, field="file", hint=error.hint) from None
    upload = Upload(
        token=token,
        project_slug=project_slug,
        filename=name,
        path=path,
        size_bytes=size,
        kind=kind,
        respondent_type=respondent_type or None,
        respondent_name=respondent_name or None,
        consent_to_quote=bool(consent_to_quote),
        uploaded_by=uploaded_by,
    )
    meta = {k: v for k, v in asdict(upload).items() if k != "path"}
    (folder / _META).write_text(json.dumps(meta), encoding="utf-8")
    return upload


def safe_upload_name(filename: str | None, max_stem: int = 80) -> str:
    """A file name safe to store and show: the last part of any path (``/`` or ``\\``), letters, digits,
    ``-``, ``_`` and ``.`` only (spaces become ``_``; control, format and direction characters go), a
    lower-case extension, at most ``max_stem`` characters before it; ``upload`` when nothing is left."""
    base = unicodedata.normalize("NFKC", re.split(r"[/\\]", filename or "")[-1]).strip()
    stem, dot, extension = base.rpartition(".")
    if not dot:
        stem, extension = extension, ""
    kept = "".join(c if c.isalnum() or c in "-_." else "_" if c.isspace() else "" for c in stem)
    kept = re.sub(r"_+", "_", kept).strip("._")[:max_stem] or "upload"
    extension = "".join(c for c in extension if c.isascii() and c.isalnum()).lower()
    return f"{kept}.{extension}" if extension else kept


def load_upload(settings: Settings, project_slug: str, token: str) -> Upload | None:
    """The upload ``token`` of this project, or None when there is none (imported, expired or made up)."""
    if not _TOKEN.fullmatch(token or ""):
        return None
    folder = uploads_dir(settings) / token
    try:
        meta = json.loads((folder / _META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if meta.get("project_slug") != project_slug:
        return None
    path = folder / Path(meta["filename"]).name
    if not path.is_file():
        return None
    return Upload(path=path, **meta)


def discard_upload(upload: Upload) -> None:
    shutil.rmtree(upload.path.parent, ignore_errors=True)


def purge_old_uploads(settings: Settings, max_age: float = UPLOAD_MAX_AGE_SECONDS) -> None:
    root = uploads_dir(settings)
    if not root.is_dir():
        return
    cutoff = time.time() - max_age
    for folder in root.iterdir():
        if folder.is_dir() and _TOKEN.fullmatch(folder.name) and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)


def import_upload(
    factory: sessionmaker[Session],
    settings: Settings,
    upload: Upload,
    actor: Actor,
    *,
    mapping: ColumnMapping | None = None,
    privacy: PrivacyFactory | None = None,
) -> ImportReport:
    """Import an upload with ``import_file`` (all or nothing, audited), then remove it. In a background
    job, redaction progress is reported and a cancel request stops it before anything is written."""
    report = import_file(
        factory,
        settings,
        upload.project_slug,
        upload.path,
        actor,
        privacy=privacy or default_privacy,
        progress=lambda done, total: jobs.report_progress("redact", done, total),
        mapping=mapping,
        **upload.import_options(),
    )
    discard_upload(upload)
    return report


@jobs.background(resumable=True)
def import_job(
    context: jobs.JobContext, project_slug: str, token: str, actor: dict[str, Any], mapping_yaml: str | None = None
) -> ImportReport:
    """The queued form of :func:`import_upload`. Resumable: an import is one transaction, so a worker
    killed mid-import stored nothing; the same file imported twice is recognised and changes nothing."""
    upload = load_upload(context.settings, project_slug, token)
    if upload is None:
        raise BadInputError("the uploaded file is no longer on the server", field="file", hint="Upload the file again")
    mapping = ColumnMapping.from_yaml(mapping_yaml) if mapping_yaml else None
    return import_upload(
        context.factory, context.settings, upload, Actor(**actor), mapping=mapping, privacy=context.privacy
    )


def report_from_result(result: dict[str, Any]) -> ImportReport:
    """An :class:`ImportReport` back from the JSON a finished import job stored."""
    rejected = [Rejection(**item) for item in result.get("rejected", [])]
    return ImportReport(**{**result, "rejected": rejected})


# ---------------------------------------------------------------------------------------- mapping form


@dataclass
class ColumnChoice:
    """One column of a survey export, as the mapping form shows it."""

    index: int
    letter: str
    header: str
    value: str  # ignore | respondent_id | open:N | closed:N | attribute:NAME
    personal: bool  # names, emails ... never imported, whatever is chosen
    samples: list[str] = field(default_factory=list)
    extra_attribute: str | None = None  # a guessed attribute name that is not one of the known ones


def rule_value(rule: ColumnRule) -> str:
    if rule.kind == "open_question":
        return f"open:{rule.question_number}"
    if rule.kind == "closed_question":
        return f"closed:{rule.question_number}"
    if rule.kind == "respondent_attribute":
        return f"attribute:{rule.attribute}"
    return rule.kind


def guess_survey_mapping(session: Session, settings: Settings, project: Project, upload: Upload) -> ColumnMapping:
    from coproduce.importers.survey import guess_mapping

    return guess_mapping(upload.path, spec_from_db(session, project.framework), settings)


def column_choices(settings: Settings, upload: Upload, mapping: ColumnMapping, samples: int = 3) -> list[ColumnChoice]:
    table = read_table(upload.path, settings, mapping.header_rows)
    rules = {rule.index: rule for rule in mapping.columns}
    choices = []
    for index, (name, parts) in enumerate(zip(table.columns, table.column_parts, strict=True)):
        rule = rules.get(index, ColumnRule(index, name))
        value = rule_value(rule)
        extra = rule.attribute if rule.attribute and rule.attribute not in KNOWN_ATTRIBUTES else None
        personal = any(is_personal_data(p) for p in parts if p)
        shown = [] if personal else [row.cells[index] for row in table.rows if row.cells[index]][:samples]
        choices.append(ColumnChoice(index, column_letter(index), name, value, personal, shown, extra))
    return choices


def mapping_from_choices(guessed: ColumnMapping, chosen: dict[int, str]) -> ColumnMapping:
    """The mapping a person chose on the form (column index -> value), checked like a YAML mapping."""
    rules = []
    for rule in guessed.columns:
        value = chosen.get(rule.index, "ignore")
        new = ColumnRule(rule.index, rule.header)
        kind, _, argument = value.partition(":")
        if kind in ("open", "closed") and argument.isdigit():
            new.kind, new.question_number = f"{kind}_question", int(argument)
        elif kind == "attribute" and argument:
            new.kind, new.attribute = "respondent_attribute", argument
        elif value in ("ignore", "respondent_id"):
            new.kind = value
        else:
            raise BadInputError(f"choose what column {rule.letter} holds", field=f"column-{rule.index}")
        rules.append(new)
    chosen_mapping = ColumnMapping(guessed.dialect, guessed.header_rows, rules)
    checked = ColumnMapping.from_yaml(chosen_mapping.to_yaml())  # the same checks as a mapping file
    checked.source = "the column mapping"
    return checked


# ---------------------------------------------------------------------------------------- preview


@dataclass
class PreviewRow:
    location: str
    respondent: ImportedRespondent
    answers: list[ImportedResponse]
    problems: list[Rejection]


@dataclass
class ImportPreview:
    importer: str
    respondents: int
    responses: int
    scale_answers: int
    rows: list[PreviewRow]
    rejected: list[Rejection]
    notes: list[str]
    questions_matched: list[int]


def preview_import(
    session: Session,
    settings: Settings,
    project: Project,
    upload: Upload,
    mapping: ColumnMapping | None = None,
    rows: int = PREVIEW_ROWS,
) -> ImportPreview:
    """Read the upload as the import would (no redaction, nothing written). Raises BadInputError as the
    import would for a file it cannot use."""
    framework: FrameworkSpec = spec_from_db(session, project.framework)
    options = upload.import_options()
    importer = choose_importer(options.pop("kind"), upload.path, settings, mapping=mapping, **options)
    result = importer.read(upload.path, framework)
    by_respondent: dict[str, list[ImportedResponse]] = defaultdict(list)
    for response in result.responses:
        by_respondent[response.respondent_key].append(response)
    shown = []
    for respondent in result.respondents[:rows]:
        answers = by_respondent[respondent.key]
        location = answers[0].location if answers else ""
        problems = [r for r in result.rejected if location and _same_row(r.location, location)]
        shown.append(PreviewRow(location, respondent, answers, problems))
    return ImportPreview(
        importer=importer.name,
        respondents=len(result.respondents),
        responses=len(result.responses),
        scale_answers=sum(1 for r in result.responses if r.scale_answer),
        rows=shown,
        rejected=list(result.rejected),
        notes=list(result.notes),
        questions_matched=sorted({r.question_number for r in result.responses if r.question_number is not None}),
    )


def split_location(location: str) -> tuple[str, str]:
    """ "row 7, column C" -> ("row 7", "column C"); a location without a field -> (location, "")."""
    where, _, rest = location.partition(", ")
    return where, rest


def _same_row(rejected_at: str, row: str) -> bool:
    return split_location(rejected_at)[0] == row
