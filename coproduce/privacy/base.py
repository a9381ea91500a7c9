"""Plain data for personal-data redaction and safeguarding flags, and the protocols behind them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

# Placeholder types, in the order they are listed to users.
PLACEHOLDER_TYPES = (
    "PERSON",
    "EMAIL",
    "PHONE",
    "POSTCODE",
    "ADDRESS",
    "NHS_NUMBER",
    "DATE_OF_BIRTH",
    "SCHOOL",
    "URL",
)


@dataclass(frozen=True)
class DetectedEntity:
    """A span of personal data in the original text."""

    type: str  # one of PLACEHOLDER_TYPES
    start: int
    end: int
    score: float


@dataclass
class RedactionResult:
    original: str
    redacted: str  # personal data replaced by typed placeholders such as "[PERSON]"
    entities: list[DetectedEntity] = field(default_factory=list)


@dataclass(frozen=True)
class SafeguardingConcern:
    """A passage that may be a safeguarding disclosure; offsets are into the original text."""

    category: str  # e.g. "abuse", "self_harm", "neglect", "harm_by_adult", "exploitation"
    start: int
    end: int
    reason: str


class Redactor(Protocol):
    def redact(self, text: str) -> RedactionResult: ...


class SafeguardingDetector(Protocol):
    def detect(self, text: str) -> list[SafeguardingConcern]: ...
