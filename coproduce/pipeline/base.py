"""Plain data passed between analysis stages, and the protocols the stages follow.

Stages never import Flask or the database. Each returns its results together with what it
could not process (``Unprocessed``), so nothing is dropped silently. The analysis service
(``coproduce.services.analysis``) loads responses, runs a :class:`~coproduce.pipeline.Pipeline`
and stores what comes back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import numpy as np

from coproduce.frameworks.model import FrameworkSpec

T = TypeVar("T")


@dataclass(frozen=True)
class Unprocessed:
    """Something a stage could not handle, and why."""

    item: str  # e.g. "response 12", "segment 40"
    reason: str


@dataclass
class StageResult(Generic[T]):
    items: list[T]
    unprocessed: list[Unprocessed] = field(default_factory=list)


@dataclass(frozen=True)
class ResponseText:
    """A response as the pipeline sees it: redacted text only, plus who gave it."""

    response_id: int
    respondent_id: int
    question_number: int | None
    text: str  # redacted
    respondent_type: str = "unknown"
    consent_to_quote: bool = False
    scale_answer: str | None = None


@dataclass(frozen=True)
class SegmentText:
    """A sentence-like span of a response's redacted text."""

    response_id: int
    position: int
    start: int
    end: int
    text: str

    @property
    def key(self) -> tuple[int, int]:
        return (self.response_id, self.position)


@dataclass(frozen=True)
class CodeSuggestion:
    segment: tuple[int, int]  # SegmentText.key
    code: str
    confidence: float


@dataclass(frozen=True)
class LabelledExample:
    """A human decision the supervised coder learns from: this text does (or does not) carry this code."""

    text: str
    code: str
    accepted: bool
    question: str | None = None  # the question the text answers, if known (see SupervisedCoder)


@dataclass(frozen=True)
class StanceSuggestion:
    segment: tuple[int, int]
    stance: str
    confidence: float


@dataclass
class ThemeFound:
    """A theme from topic modelling: mapped to a framework code, or an emerging theme."""

    key: str  # stable within one run, e.g. "q6-t2" or "all-t5"
    label: str
    keywords: list[str]
    segments: list[tuple[int, int]]
    question_number: int | None = None
    code: str | None = None  # framework code the theme matched, if any
    representative: str = ""
    flags: list[str] = field(default_factory=list)  # quality-rule notes, e.g. "too few respondents"


@dataclass
class CampaignGroup:
    """Near-identical responses, probably from a template or campaign."""

    key: str
    response_ids: list[int]
    example: str
    similarity: float
    respondent_ids: list[int] = field(default_factory=list)


class Segmenter(Protocol):
    def segment(self, responses: Sequence[ResponseText]) -> StageResult[SegmentText]: ...


class Embedder(Protocol):
    model_id: str

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class Coder(Protocol):
    name: str

    def fit(self, framework: FrameworkSpec, examples: Sequence[LabelledExample], embed: Embedder) -> None: ...

    def code(
        self,
        segments: Sequence[SegmentText],
        vectors: np.ndarray,
        framework: FrameworkSpec,
        questions: Sequence[str | None] | None = None,
    ) -> StageResult[CodeSuggestion]:
        """Suggest codes; ``questions`` (one key per segment, or None) says which question each segment answers."""
        ...


class StanceClassifier(Protocol):
    def classify(
        self, segments: Sequence[SegmentText], vectors: np.ndarray, framework: FrameworkSpec
    ) -> StageResult[StanceSuggestion]: ...


class ThemeFinder(Protocol):
    def find(
        self,
        segments: Sequence[SegmentText],
        vectors: np.ndarray,
        framework: FrameworkSpec,
        context: dict[str, Any],
    ) -> StageResult[ThemeFound]: ...


class CampaignDetector(Protocol):
    def detect(self, responses: Sequence[ResponseText]) -> StageResult[CampaignGroup]: ...


@dataclass(frozen=True)
class QuoteCandidate:
    """A segment that may be quoted for a finding, with what the picker needs to judge it."""

    segment: tuple[int, int]
    text: str  # redacted
    respondent_id: int
    respondent_type: str
    consent_to_quote: bool


@dataclass(frozen=True)
class Quote:
    segment: tuple[int, int]
    text: str
    respondent_type: str
    score: float  # relevance to the finding, after the diversity trade-off


class QuotePicker(Protocol):
    def pick(
        self, candidates: Sequence[QuoteCandidate], vectors: np.ndarray, centre: np.ndarray, k: int
    ) -> StageResult[Quote]: ...
