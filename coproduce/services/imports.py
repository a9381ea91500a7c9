"""Import one file into a project: read, check, redact, flag, then write it all in one transaction.

Everything that can fail (reading, parsing, matching questions, redaction) happens before
the transaction opens, and the transaction writes the source, respondents, responses,
safeguarding flags and the audit event together: an import is all or nothing. The same
bytes imported again into the same project change nothing, and the report says so.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coproduce.config import Settings
from coproduce.errors import BadInputError
from coproduce.importers.base import RESPONDENT_TYPES, Importer, ImportResult, Rejection
from coproduce.importers.files import clean_text, read_checked, sha256_of
from coproduce.privacy.base import RedactionResult, Redactor, SafeguardingConcern, SafeguardingDetector
from coproduce.services.audit import Actor, record
from coproduce.services.frameworks import spec_from_db
from coproduce.store.db import transaction
from coproduce.store.models import Project, Question, Respondent, Response, SafeguardingFlag, Source

IMPORT_KINDS = ("freeform", "survey", "voice", "family")
SUFFIX_KINDS = {
    ".txt": "freeform",
    ".docx": "freeform",
    ".pdf": "freeform",
    ".csv": "survey",
    ".xlsx": "survey",
    ".jsonl": "family",
}


@dataclass
class ImportReport:
    filename: str
    sha256: str
    importer: str
    already_imported: bool = False
    source_id: int | None = None
    respondents: int = 0
    responses: int = 0
    scale_answers: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    redacted: dict[str, int] = field(default_factory=dict)  # placeholder type -> count
    safeguarding_flags: int = 0

    def summary(self) -> str:
        if self.already_imported:
            return f"{self.filename} was already imported (same contents, sha256 {self.sha256[:12]}); nothing changed."
        parts = [
            f"Imported {self.filename} with the {self.importer} importer: {self.respondents} respondent(s), "
            f"{self.responses} response(s), {self.scale_answers} scale answer(s).",
        ]
        if self.redacted:
            shown = ", ".join(f"{n} {t}" for t, n in sorted(self.redacted.items()))
            parts.append(f"Personal data redacted: {shown}.")
        if self.safeguarding_flags:
            parts.append(
                f"{self.safeguarding_flags} passage(s) flagged as possible safeguarding disclosures "
                "for the project's safeguarding lead."
            )
        if self.rejected:
            parts.append(f"{len(self.rejected)} row(s) or passage(s) not imported:")
            parts.extend(f"  - {r.location}: {r.reason}" for r in self.rejected)
        parts.extend(f"Note: {n}" for n in self.notes)
        return "\n".join(parts)


def choose_importer(kind: str | None, path: Path, settings: Settings, **options: Any) -> Importer:
    kind = kind or SUFFIX_KINDS.get(path.suffix.lower())
    if kind not in IMPORT_KINDS:
        raise BadInputError(
            f"cannot tell what kind of input {path.suffix or 'this file'} is",
            file=path,
            hint=f"Name the kind: {', '.join(IMPORT_KINDS)}",
        )
    if kind == "freeform":
        from coproduce.importers.freeform import FreeformImporter

        return FreeformImporter(
            settings,
            respondent_type=options.get("respondent_type") or "organisation",
            consent_to_quote=bool(options.get("consent_to_quote")),
            respondent_name=options.get("respondent_name"),
        )
    if kind == "survey":
        from coproduce.importers.mapping import ColumnMapping
        from coproduce.importers.survey import SurveyImporter

        mapping = options.get("mapping")
        if isinstance(mapping, str | Path):
            mapping = ColumnMapping.from_yaml(Path(mapping))
        return SurveyImporter(mapping, settings)
    if kind == "voice":
        from coproduce.importers.voice import VoiceImporter

        return VoiceImporter(settings)
    from coproduce.importers.family import FamilyFeedbackImporter

    return FamilyFeedbackImporter(settings)


PrivacyFactory = Callable[[Settings], tuple[Redactor, SafeguardingDetector]]


def default_privacy(settings: Settings) -> tuple[Redactor, SafeguardingDetector]:
    """The process-wide redactor, and a safeguarding flagger that embeds sentences through the analysis's
    cached embedder (``instance/embeddings.sqlite``), so the analysis does not embed them a second time."""
    from coproduce.pipeline.embed import instance_embedder
    from coproduce.privacy.redaction import get_redactor
    from coproduce.privacy.safeguarding import SafeguardingFlagger

    return get_redactor(settings), SafeguardingFlagger(embedder=instance_embedder(settings.instance_dir))


def import_file(
    factory: sessionmaker[Session],
    settings: Settings,
    project_slug: str,
    path: Path,
    actor: Actor,
    *,
    kind: str | None = None,
    privacy: PrivacyFactory = default_privacy,
    progress: Callable[[int, int], None] | None = None,
    **options: Any,
) -> ImportReport:
    path = Path(path)
    data = read_checked(path, settings)
    digest = sha256_of(data)
    with factory() as session:
        project = _project(session, project_slug)
        existing = session.scalar(select(Source).where(Source.project_id == project.id, Source.sha256 == digest))
        if existing is not None:
            return ImportReport(path.name, digest, existing.importer, already_imported=True, source_id=existing.id)
        framework = spec_from_db(session, project.framework)
        question_ids = {
            q.number: q.id
            for q in session.scalars(select(Question).where(Question.framework_id == project.framework_id))
        }

    importer = choose_importer(kind, path, settings, **options)
    result = importer.read(path, framework)
    _clean_strings(result)
    _check_result(result, path, question_ids)
    redactor, detector = privacy(settings)
    redactions, concerns = _protect([r.text or "" for r in result.responses], redactor, detector, progress)

    report = ImportReport(path.name, digest, importer.name, rejected=list(result.rejected), notes=list(result.notes))
    with transaction(factory) as session:
        project = _project(session, project_slug)
        source = Source(
            project_id=project.id,
            filename=path.name,
            sha256=digest,
            size_bytes=len(data),
            importer=importer.name,
            imported_by_id=actor.user_id,
            imported_by_label=actor.label,
            options=_jsonable(options),
            rejected=[vars(r) for r in result.rejected],
        )
        session.add(source)
        session.flush()
        respondents: dict[str, Respondent] = {}
        for r in result.respondents:
            respondent = Respondent(
                project_id=project.id,
                source_id=source.id,
                external_id=r.external_id,
                respondent_type=r.respondent_type if r.respondent_type in RESPONDENT_TYPES else "other",
                age=r.age,
                age_band=r.age_band,
                setting=r.setting,
                communication_method=r.communication_method,
                recorded_by=r.recorded_by,
                area=r.area,
                consent_to_quote=bool(r.consent_to_quote),
                attributes=dict(r.attributes),
            )
            session.add(respondent)
            respondents[r.key] = respondent
        session.flush()
        redacted_counts: Counter[str] = Counter()
        for imported, redaction, found in zip(result.responses, redactions, concerns, strict=True):
            response = Response(
                respondent_id=respondents[imported.respondent_key].id,
                question_id=question_ids.get(imported.question_number) if imported.question_number else None,
                original_text=imported.text,
                redacted_text=redaction.redacted if imported.text else None,
                redactions=[vars(e) for e in redaction.entities],
                scale_answer=imported.scale_answer,
                closed_answer=imported.closed_answer,
                location=imported.location,
            )
            session.add(response)
            session.flush()
            redacted_counts.update(e.type for e in redaction.entities)
            for concern in found:
                session.add(
                    SafeguardingFlag(
                        response_id=response.id,
                        category=concern.category,
                        start=concern.start,
                        end=concern.end,
                        reason=concern.reason,
                    )
                )
            report.safeguarding_flags += len(found)
        report.source_id = source.id
        report.respondents = len(result.respondents)
        report.responses = len(result.responses)
        report.scale_answers = sum(1 for r in result.responses if r.scale_answer)
        report.redacted = dict(redacted_counts)
        record(
            session,
            actor,
            "source.import",
            "source",
            source.id,
            project_id=project.id,
            after={
                "filename": path.name,
                "sha256": digest,
                "importer": importer.name,
                "respondents": report.respondents,
                "responses": report.responses,
                "rejected": len(result.rejected),
                "safeguarding_flags": report.safeguarding_flags,
            },
        )
    return report


PROTECT_BATCH = 256


def _protect(
    texts: list[str],
    redactor: Redactor,
    detector: SafeguardingDetector,
    progress: Callable[[int, int], None] | None,
) -> tuple[list[RedactionResult], list[list[SafeguardingConcern]]]:
    """Redact and flag every text, in batches when the stages can batch (spaCy's pipe is much faster).

    Each batch is flagged in a second thread while it is redacted: redaction (spaCy) keeps one core busy
    and holds the GIL, while the flagger's sentence embeddings (torch) release it, so the two overlap
    instead of leaving a core idle. The stages share nothing, and results are kept in input order.
    """
    redactions: list[RedactionResult] = []
    concerns: list[list[SafeguardingConcern]] = []
    redact_many = getattr(redactor, "redact_many", None)
    detect_many = getattr(detector, "detect_many", None)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="safeguarding") as flagging:
        for start in range(0, len(texts), PROTECT_BATCH):
            batch = texts[start : start + PROTECT_BATCH]
            flagged = flagging.submit(
                lambda b: detect_many(b) if detect_many else [detector.detect(t) for t in b], batch
            )
            redactions.extend(redact_many(batch) if redact_many else [redactor.redact(t) for t in batch])
            concerns.extend(flagged.result())
            if progress:
                progress(min(start + PROTECT_BATCH, len(texts)), len(texts))
    return redactions, concerns


def _clean_strings(result: ImportResult) -> None:
    """Every imported string through ``clean_text`` (no NULs, control or direction-override characters)."""
    for item in (*result.respondents, *result.responses, *result.rejected):
        for f in fields(item):
            value = getattr(item, f.name)
            if isinstance(value, str):
                setattr(item, f.name, clean_text(value))
            elif isinstance(value, dict):
                setattr(item, f.name, {k: clean_text(v) if isinstance(v, str) else v for k, v in value.items()})


def _project(session: Session, slug: str) -> Project:
    from coproduce.services.projects import get_project

    return get_project(session, slug)


def _check_result(result: ImportResult, path: Path, question_ids: dict[int, int]) -> None:
    """Refuse a result that would not fit the project, before anything is written."""
    keys = {r.key for r in result.respondents}
    if len(keys) != len(result.respondents):
        raise BadInputError("the same respondent appears twice", file=path, hint="Give each respondent its own id")
    for response in result.responses:
        if response.respondent_key not in keys:
            raise BadInputError(f"a response has no respondent ({response.location})", file=path)
        if response.question_number is not None and response.question_number not in question_ids:
            raise BadInputError(
                f"question {response.question_number} is not in the project's framework ({response.location})",
                file=path,
                hint="Check the column mapping or the framework",
            )
    if not result.responses:
        raise BadInputError(
            "nothing to import: no answers were found",
            file=path,
            hint="Check the file is the right one and its columns are mapped",
        )
    _check_lengths(result, path)


# Values stored in String(n) columns. SQLite keeps longer ones; PostgreSQL refuses them in the middle of
# the write, so they are refused here first, with the row (found by fuzzing: a 250-character setting).
_RESPONDENT_STRINGS = ("external_id", "age_band", "setting", "communication_method", "recorded_by", "area")
_RESPONSE_STRINGS = ("scale_answer", "closed_answer", "location")


def _check_lengths(result: ImportResult, path: Path) -> None:
    first_location = {r.respondent_key: r.location for r in reversed(result.responses)}
    for respondent in result.respondents:
        for name in _RESPONDENT_STRINGS:
            _check_length(getattr(respondent, name), Respondent, name, path, first_location.get(respondent.key, ""))
    for response in result.responses:
        for name in _RESPONSE_STRINGS:
            _check_length(getattr(response, name), Response, name, path, response.location)


def _check_length(value: str | None, model: type[Respondent | Response], name: str, path: Path, where: str) -> None:
    limit = model.__table__.c[name].type.length
    if value is None or limit is None or len(value) <= limit:
        return
    row = re.search(r"\d+", where)
    what = name.replace("_", " ")
    raise BadInputError(
        f"the {what} {value[:30]!r}... is {len(value):,} characters long, more than the {limit} allowed",
        file=path,
        row=int(row.group()) if row else None,
        field=what,
        hint="Shorten it in the file; if the column holds free text, map it as an open question or leave it out",
    )


def _jsonable(options: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in options.items():
        if value is None or isinstance(value, str | int | float | bool):
            out[key] = value
        elif isinstance(value, Path):
            out[key] = str(value)
        elif hasattr(value, "to_yaml"):
            out[key] = value.to_yaml()
        else:
            out[key] = repr(value)
    return out
