"""Segmentation, embedding, coding and stance in partitions on Dask workers, with the single-process results.

The setting ``dask_scheduler`` chooses where they run: empty for this process (``InProcessExecutor``), ``local``
or ``local:N`` for a LocalCluster of N worker processes on this machine (one thread each), ``tcp://host:port`` for a
scheduler someone started elsewhere. The code path is the same for both kinds of cluster; only the connection
differs.

How the results stay equal to the single-process path, item for item and in the same order:

- responses and segments are cut into contiguous partitions of ``partition_size`` and the partitions' results are
  joined in partition order; every stage treats each response or segment on its own;
- embedding: the driver looks every text up in the instance's cache first, so only new text is encoded and each
  distinct text once, then forms exactly the length-sorted batches the single-process embedder would
  (``embed.length_sorted_batches``; a vector depends by about 1e-7 on what is padded into its batch) and hands
  whole batches to workers. Vectors come back to the driver, which alone writes the cache. Measured: bit-identical
  to the single-process vectors (torch's thread count does not change them);
- coding: the zero-shot coder centres scores on the batch coded together, so the coder is copied with the centre
  of all segments fixed (``for_partitions``) before partitions are coded.

Models are never shipped: a worker plugin (``WorkerModels``) loads the installed spaCy pipeline and MiniLM once per
worker process, offline, and sets torch to the worker's thread count. Fitted stages (the coder's weights, the stance
model) are sent once per run to every worker (``scatter(broadcast=True)``), stripped of the driver's embedder and
cache; the tasks refer to that copy. Theme discovery and campaigns stay on the driver.
"""

from __future__ import annotations

import io
import os
import pickle
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import numpy as np

from coproduce.errors import BadInputError
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
from coproduce.pipeline.embed import DIMENSIONS, EmbeddingCache, SentenceEmbedder, length_sorted_batches
from coproduce.pipeline.executor import InProcessExecutor, StageExecutor

SETTING = "dask_scheduler"
HINT = (
    'Set COPRODUCE_DASK_SCHEDULER to "" (one process), "local" or "local:N" (N worker processes on this machine) '
    "or the address of a running scheduler such as tcp://10.0.0.5:8786"
)
ADDRESS = re.compile(r"^(tcp|tls)://[^\s/:]+:\d{1,5}$")


@dataclass(frozen=True)
class SchedulerChoice:
    """A parsed ``dask_scheduler`` setting: a LocalCluster of ``workers`` processes, or a remote ``address``."""

    workers: int | None = None
    address: str | None = None

    def __str__(self) -> str:
        return self.address or f"local:{self.workers}"


def parse_scheduler(value: str) -> SchedulerChoice | None:
    """None for the single-process path; raises BadInputError naming the setting for anything unrecognised."""
    value = value.strip()
    if not value:
        return None
    if value == "local":
        return SchedulerChoice(workers=os.cpu_count() or 1)
    if value.startswith("local:"):
        count = value.removeprefix("local:")
        if not count.isdigit() or int(count) < 1:
            raise BadInputError(f"{value!r}: the number of workers must be a whole number, 1 or more", field=SETTING)
        return SchedulerChoice(workers=int(count))
    if ADDRESS.match(value):
        return SchedulerChoice(address=value)
    raise BadInputError(f"{value!r} is not a scheduler this setting understands", field=SETTING, hint=HINT)


def executor_from_settings(scheduler: str, partition_size: int) -> StageExecutor:
    """The executor the settings ask for: this process when ``scheduler`` is empty, else Dask."""
    choice = parse_scheduler(scheduler)
    if choice is None:
        return InProcessExecutor()
    return DaskExecutor(choice, partition_size=partition_size)


class DaskExecutor:
    """Runs the per-segment stages in partitions on a Dask cluster; connects on ``with`` and closes after it.

    A LocalCluster is started for each ``with`` and stopped after it; a remote cluster's workers keep their loaded
    models between runs (the plugin is registered once per worker). ``connect_timeout`` bounds the wait for the
    scheduler and for at least one worker.
    """

    def __init__(self, scheduler: SchedulerChoice | str, partition_size: int = 1000, connect_timeout: float = 30.0):
        choice = parse_scheduler(scheduler) if isinstance(scheduler, str) else scheduler
        if choice is None:
            raise BadInputError("an empty scheduler means no Dask at all; use InProcessExecutor", field=SETTING)
        if partition_size < 1:
            raise BadInputError(f"{partition_size}: a partition needs at least 1 item", field="dask_partition_size")
        self.choice = choice
        self.partition_size = partition_size
        self.connect_timeout = connect_timeout
        self._client: Any = None
        self._cluster: Any = None
        self._shipped: dict[int, Any] = {}
        self._depth = 0
        self.partitions: dict[str, dict[str, int]] = {}
        self.embedded_on_workers = 0

    # --- connection ---------------------------------------------------------------------------------------------

    def __enter__(self) -> DaskExecutor:
        from distributed import Client, LocalCluster

        self._depth += 1
        self.partitions, self.embedded_on_workers, self._shipped = {}, 0, {}
        if self._client is not None:
            return self  # nested: a caller holding the cluster open across runs (tests, benchmarks)
        try:
            if self.choice.address is None:
                self._cluster = LocalCluster(
                    n_workers=self.choice.workers,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",  # nothing leaves the machine: loopback only
                    dashboard_address=None,
                )
                self._client = Client(self._cluster)
            else:
                self._client = self._connect(Client, self.choice.address)
            self._client.register_plugin(_tasks().WorkerModels())
        except BaseException:
            self.close()
            raise
        return self

    def _connect(self, client_type: Any, address: str) -> Any:
        try:
            client = client_type(address, timeout=self.connect_timeout)
        except OSError as exc:  # refused, unreachable, or timed out (TimeoutError is an OSError)
            raise BadInputError(
                f"could not connect to the Dask scheduler at {address} within {self.connect_timeout:g} s ({exc})",
                field=SETTING,
                hint=f"Start it (`dask scheduler`, then `dask worker {address}` on each machine), or " + _lower(HINT),
            ) from None
        try:
            client.wait_for_workers(1, timeout=self.connect_timeout)
        except TimeoutError:
            client.close()
            raise BadInputError(
                f"the Dask scheduler at {address} has no workers after {self.connect_timeout:g} s",
                field=SETTING,
                hint=f"Start at least one: `dask worker {address}` (with coproduce installed), or " + _lower(HINT),
            ) from None
        return client

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._depth -= 1
        if self._depth <= 0:
            self.close()
        else:
            self._shipped = {}  # the stages shipped for this run are released; the cluster stays up

    def close(self) -> None:
        self._depth = 0
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None
        self._shipped = {}

    @property
    def client(self) -> Any:
        if self._client is None:
            raise RuntimeError("DaskExecutor is not connected: use it as `with executor:`")
        return self._client

    def describe(self) -> dict[str, Any]:
        """Where the stages ran, how they were partitioned, and each worker's peak memory so far."""
        workers = self.client.scheduler_info(n_workers=-1)["workers"]
        peak = self.client.run(_tasks().peak_rss_mib)
        return {
            "executor": "dask",
            "scheduler": str(self.choice),
            "workers": len(workers),
            "threads": sum(w["nthreads"] for w in workers.values()),
            "partition_size": self.partition_size,
            "partitions": self.partitions,
            "embedded_on_workers": self.embedded_on_workers,
            "worker_peak_rss_mib": {address: peak[address] for address in sorted(peak)},
        }

    # --- stages -------------------------------------------------------------------------------------------------

    def segment(self, segmenter: Segmenter, responses: Sequence[ResponseText]) -> StageResult[SegmentText]:
        parts = _slices(len(responses), self.partition_size)
        shipped = self._ship(segmenter)
        futures = [self.client.submit(_tasks().segment, shipped, list(responses[a:b]), pure=False) for a, b in parts]
        self._record("segment", parts)
        return _joined(self.client.gather(futures))

    def embed(self, embedder: Embedder, texts: Sequence[str]) -> np.ndarray:
        if not _installed_model(embedder):
            # Another embedder (a test's, say) holds its own model: embedding it here keeps the results the same.
            self.partitions["embed"] = {"on": "driver", "items": len(texts)}
            return embedder.embed(texts)
        assert isinstance(embedder, SentenceEmbedder)
        if not texts:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        keys, found, missing = embedder.lookup(texts)  # each distinct text once; cached ones not at all
        batches = length_sorted_batches(missing, embedder.batch_size, embedder.token_lengths)
        per_partition = max(1, round(self.partition_size / embedder.batch_size))
        groups = [batches[start : start + per_partition] for start in range(0, len(batches), per_partition)]
        futures = [
            self.client.submit(
                _tasks().encode, [[text for _, text in batch] for batch in group], embedder.batch_size, pure=False
            )
            for group in groups
        ]
        index = {future.key: n for n, future in enumerate(futures)}
        from distributed import as_completed

        done = 0
        for future, vectors in as_completed(futures, with_results=True):
            group_keys = [key for batch in groups[index[future.key]] for key, _ in batch]
            chunk = dict(zip(group_keys, vectors, strict=True))
            embedder.cache.put_many(chunk)  # only the driver writes the instance's cache
            found.update(chunk)
            done += len(chunk)
            embedder.encoded += len(chunk)
            if embedder.progress:
                embedder.progress(done, len(missing))
        self.embedded_on_workers += len(missing)
        sizes = [sum(len(batch) for batch in group) for group in groups]
        self.partitions["embed"] = {
            "items": len(texts),
            "encoded": len(missing),
            "count": len(groups),
            "size": max(sizes, default=0),
        }
        return np.vstack([found[k] for k in keys]).astype(np.float32)

    def code(
        self,
        coder: Coder,
        segments: Sequence[SegmentText],
        vectors: np.ndarray,
        framework: FrameworkSpec,
        questions: Sequence[str | None],
    ) -> StageResult[CodeSuggestion]:
        for_partitions: Callable[[np.ndarray, FrameworkSpec], Coder] | None = getattr(coder, "for_partitions", None)
        fixed = for_partitions(vectors, framework) if for_partitions is not None and len(segments) else coder
        shipped, spec = self._ship(fixed), self._ship(framework)
        parts = _slices(len(segments), self.partition_size)
        futures = [
            self.client.submit(
                _tasks().code, shipped, list(segments[a:b]), vectors[a:b], spec, list(questions[a:b]), pure=False
            )
            for a, b in parts
        ]
        self._record("code", parts)
        return _joined(self.client.gather(futures))

    def classify(
        self,
        classifier: StanceClassifier,
        segments: Sequence[SegmentText],
        vectors: np.ndarray,
        framework: FrameworkSpec,
    ) -> StageResult[StanceSuggestion]:
        if not segments or not framework.stances:
            return classifier.classify(segments, vectors, framework)  # nothing to spread (or all unprocessed)
        shipped, spec = self._ship(classifier), self._ship(framework)
        parts = _slices(len(segments), self.partition_size)
        futures = [
            self.client.submit(_tasks().classify, shipped, list(segments[a:b]), vectors[a:b], spec, pure=False)
            for a, b in parts
        ]
        self._record("stance", parts)
        return _joined(self.client.gather(futures))

    def _ship(self, stage: Any) -> Any:
        """Send a stage to every worker once per run, without the driver's models and cache; a future to it."""
        if id(stage) not in self._shipped:
            portable = pickle.loads(_strip_models(stage))
            self._shipped[id(stage)] = (stage, self.client.scatter(portable, broadcast=True, hash=False))
        return self._shipped[id(stage)][1]

    def _record(self, stage: str, parts: list[tuple[int, int]]) -> None:
        self.partitions[stage] = {
            "items": parts[-1][1] if parts else 0,
            "count": len(parts),
            "size": max((b - a for a, b in parts), default=0),
        }


# --- helpers ----------------------------------------------------------------------------------------------------


def _lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def _tasks() -> Any:
    """The worker-side module (it imports ``distributed``, so only once Dask is in use)."""
    from coproduce.pipeline import on_worker

    return on_worker


def _slices(count: int, size: int) -> list[tuple[int, int]]:
    return [(start, min(start + size, count)) for start in range(0, count, size)]


def _joined(results: list[StageResult[Any]]) -> StageResult[Any]:
    """Partitions' results in partition order: the order one call over everything gives."""
    joined: StageResult[Any] = StageResult(items=[])
    for result in results:
        joined.items.extend(result.items)
        joined.unprocessed.extend(result.unprocessed)
    return joined


def _installed_model(embedder: Embedder) -> bool:
    """Whether ``embedder`` encodes with the installed MiniLM, which each worker loads for itself."""
    if not isinstance(embedder, SentenceEmbedder):
        return False
    from coproduce.nlp import EMBEDDING_MODEL_ID, load_embedder

    model = embedder._model  # None until loaded; loading it here only to compare would be waste
    if embedder.model_id != EMBEDDING_MODEL_ID:
        return False
    # A model object the embedder was given is the installed one only if this process loaded that one already.
    return model is None or (load_embedder.cache_info().currsize > 0 and model is load_embedder())


def _nothing() -> None:
    return None


class _ModelStripper(pickle.Pickler):
    """Pickles a stage with the driver's embedders, caches and installed models replaced by None.

    Stages load what they need lazily (``SpacySegmenter.nlp``, ``StanceClassifierModel._embedder``), so on a
    worker they use the models the plugin loaded. A model object that is not the installed one cannot be rebuilt
    there and is refused rather than shipped.
    """

    def reducer_override(self, obj: Any) -> Any:
        if isinstance(obj, SentenceEmbedder | EmbeddingCache):
            return (_nothing, ())
        kind = f"{type(obj).__module__}.{type(obj).__qualname__}"
        if kind.startswith(("spacy.", "sentence_transformers.")) and _is_model(obj):
            if obj is _installed(kind):
                return (_nothing, ())
            raise BadInputError(
                f"a pipeline stage holds its own model object ({kind}); Dask workers load only the installed models",
                field=SETTING,
                hint="Use the default stages, or run in one process with COPRODUCE_DASK_SCHEDULER empty",
            )
        return NotImplemented


def _is_model(obj: Any) -> bool:
    spacy = sys.modules.get("spacy")
    transformers = sys.modules.get("sentence_transformers")
    return bool(
        (spacy is not None and isinstance(obj, spacy.language.Language))
        or (transformers is not None and isinstance(obj, transformers.SentenceTransformer))
    )


def _installed(kind: str) -> Any:
    """The process's cached installed model of this kind (the objects the default stages use)."""
    if kind.startswith("spacy."):
        from coproduce.pipeline.segment import sentence_pipeline

        return sentence_pipeline() if sentence_pipeline.cache_info().currsize else None
    from coproduce.nlp import load_embedder

    return load_embedder() if load_embedder.cache_info().currsize else None


def _strip_models(stage: Any) -> bytes:
    buffer = io.BytesIO()
    _ModelStripper(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(stage)
    return buffer.getvalue()
