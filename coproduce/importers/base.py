"""Plain data that every importer returns, and the protocol importers follow.

Importers only read: they turn one file into respondents and responses (plain dataclasses)
plus everything they could not take, with the reason. They never touch the database; the
import service (``coproduce.services.imports``) persists a result in one transaction.
A problem that makes the whole file unusable raises :class:`coproduce.errors.BadInputError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from coproduce.frameworks.model import FrameworkSpec

# Respondent types the product knows; importers map what files say onto these.
RESPONDENT_TYPES: dict[str, str] = {
    "parent_carer": "Parent carer",
    "child": "Child",
    "young_person": "Young person",
    "professional": "Professional",
    "parent_carer_forum": "Parent carer forum",
    "organisation": "Organisation",
    "local_authority": "Local authority",
    "school_or_setting": "School or setting",
    "health_or_care": "Health or care service",
    "other": "Other",
    "unknown": "Not stated",
}

COMMUNICATION_METHODS: dict[str, str] = {
    "spoken": "Spoken",
    "written": "Written",
    "symbols_aac": "Symbols / AAC",
    "drawing_described": "Drawing described by an adult",
    "adult_paraphrase": "Adult-recorded paraphrase",
}


@dataclass
class ImportedRespondent:
    """One person or organisation who responded. ``key`` is unique within one import."""

    key: str
    respondent_type: str = "unknown"
    external_id: str | None = None  # id or pseudonym as the file gives it
    age: int | None = None
    age_band: str | None = None
    setting: str | None = None
    communication_method: str | None = None
    recorded_by: str | None = None
    area: str | None = None
    consent_to_quote: bool | None = None  # None: the file did not say; treated as no
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass
class ImportedResponse:
    """One respondent's answer to one question (or free feedback when ``question_number`` is None)."""

    respondent_key: str
    question_number: int | None
    text: str | None = None
    scale_answer: str | None = None
    closed_answer: str | None = None
    location: str = ""  # where in the file, e.g. "row 12" or "line 14", for error messages and audit


@dataclass
class Rejection:
    """A row or passage that was not imported, and why."""

    location: str
    reason: str
    content: str = ""


@dataclass
class ImportResult:
    importer: str
    respondents: list[ImportedRespondent] = field(default_factory=list)
    responses: list[ImportedResponse] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # things worth telling the user that are not rejections


class Importer(Protocol):
    """Reads one file of one input kind."""

    name: str
    suffixes: tuple[str, ...]

    def read(self, path: Path, framework: FrameworkSpec) -> ImportResult: ...
