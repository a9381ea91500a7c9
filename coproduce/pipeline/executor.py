"""Where the per-segment stages run: in this process, or spread over workers (``pipeline.distributed``).

Segmentation, embedding, coding and stance treat each response or segment on its own (given the fitted stages), so
an executor may split them into partitions. Whatever runs them, the results must equal, item for item and in the
same order, what the stages give when called directly here: that is what :class:`InProcessExecutor` does.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any, Protocol

import numpy as np

from coproduce.frameworks.model import FrameworkSpec
from coproduce.pipeline.base import (
    Coder,
    CodeSuggestion,
    Embedder,
    ResponseText,
    Segmenter,
    SegmentText,
    StageResult,
    StanceClassifier,
    StanceSuggestion,
)


class StageExecutor(Protocol):
    """Runs the per-segment stages. Used as a context manager around one pipeline run."""

    def __enter__(self) -> StageExecutor: ...

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None: ...

    def describe(self) -> dict[str, Any]: ...

    def segment(self, segmenter: Segmenter, responses: Sequence[ResponseText]) -> StageResult[SegmentText]: ...

    def embed(self, embedder: Embedder, texts: Sequence[str]) -> np.ndarray: ...

    def code(
        self,
        coder: Coder,
        segments: Sequence[SegmentText],
        vectors: np.ndarray,
        framework: FrameworkSpec,
        questions: Sequence[str | None],
    ) -> StageResult[CodeSuggestion]: ...

    def classify(
        self,
        classifier: StanceClassifier,
        segments: Sequence[SegmentText],
        vectors: np.ndarray,
        framework: FrameworkSpec,
    ) -> StageResult[StanceSuggestion]: ...


class InProcessExecutor:
    """Every stage called directly, in this process: the single-process path."""

    def __enter__(self) -> InProcessExecutor:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        return None

    def describe(self) -> dict[str, Any]:
        return {"executor": "in-process"}

    def segment(self, segmenter: Segmenter, responses: Sequence[ResponseText]) -> StageResult[SegmentText]:
        return segmenter.segment(responses)

    def embed(self, embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
        return embedder.embed(texts)

    def code(
        self,
        coder: Coder,
        segments: Sequence[SegmentText],
        vectors: np.ndarray,
        framework: FrameworkSpec,
        questions: Sequence[str | None],
    ) -> StageResult[CodeSuggestion]:
        return coder.code(segments, vectors, framework, questions)

    def classify(
        self,
        classifier: StanceClassifier,
        segments: Sequence[SegmentText],
        vectors: np.ndarray,
        framework: FrameworkSpec,
    ) -> StageResult[StanceSuggestion]:
        return classifier.classify(segments, vectors, framework)
