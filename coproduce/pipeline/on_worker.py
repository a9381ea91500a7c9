"""What runs inside a Dask worker process for ``pipeline.distributed``: the model-loading plugin and the tasks.

Imported by the workers (and by the driver only once it connects to a cluster), so ``distributed`` is loaded only
when Dask is used. Each task calls one stage on one partition; the stage object is the copy the driver sent to the
worker once per run, and the models are the ones ``WorkerModels`` loaded once per process.
"""

from __future__ import annotations

import os
import resource
from typing import Any

import numpy as np
from distributed.diagnostics.plugin import WorkerPlugin

from coproduce.frameworks.model import FrameworkSpec
from coproduce.pipeline.base import (
    Coder,
    CodeSuggestion,
    ResponseText,
    Segmenter,
    SegmentText,
    StageResult,
    StanceClassifier,
    StanceSuggestion,
)
from coproduce.pipeline.embed import encode_batch


class WorkerModels(WorkerPlugin):
    """Loads the installed models once per worker process, offline, with torch on the worker's threads."""

    name = "coproduce-models"
    idempotent = True  # a worker that has it (a remote cluster's, on a later run) keeps its loaded models

    def setup(self, worker: Any) -> None:
        os.environ["HF_HUB_OFFLINE"] = "1"  # also set by importing coproduce; explicit because nothing may download
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        import torch

        from coproduce.nlp import load_embedder
        from coproduce.pipeline.segment import sentence_pipeline

        torch.set_num_threads(max(1, int(worker.state.nthreads)))
        load_embedder()  # lru-cached per process: every task in this worker uses these objects
        sentence_pipeline()


def segment(segmenter: Segmenter, responses: list[ResponseText]) -> StageResult[SegmentText]:
    return segmenter.segment(responses)


def encode(batches: list[list[str]], batch_size: int) -> np.ndarray:
    """Vectors for the texts of ``batches``, in order, each batch encoded as the single-process embedder would."""
    from coproduce.nlp import load_embedder

    model = load_embedder()
    return np.vstack([encode_batch(model, batch, batch_size) for batch in batches])


def code(
    coder: Coder,
    segments: list[SegmentText],
    vectors: np.ndarray,
    framework: FrameworkSpec,
    questions: list[str | None],
) -> StageResult[CodeSuggestion]:
    return coder.code(segments, vectors, framework, questions)


def classify(
    classifier: StanceClassifier, segments: list[SegmentText], vectors: np.ndarray, framework: FrameworkSpec
) -> StageResult[StanceSuggestion]:
    return classifier.classify(segments, vectors, framework)


def peak_rss_mib() -> float:
    """This process's peak resident memory in MiB (Linux reports ru_maxrss in KiB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
