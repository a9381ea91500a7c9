"""Dask execution gives the single-process results: the same segments, vectors, codes and stances, in the same order.

One LocalCluster of two worker processes serves the whole module (starting one and loading the models on each
worker is most of this file's time). Input: the seed submission's paragraphs plus generated responses, with enough
human decisions that the supervised coder and the stance model are trained, so their fitted state is what the
workers use.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator

import numpy as np
import pytest

from benchmarks.synthetic import response_text
from coproduce.config import Settings
from coproduce.errors import BadInputError
from coproduce.frameworks.loader import load_framework
from coproduce.frameworks.model import FrameworkSpec
from coproduce.pipeline.base import LabelledExample, ResponseText, SegmentText, StageResult, ThemeFound
from coproduce.pipeline.distributed import DaskExecutor, executor_from_settings, parse_scheduler
from coproduce.pipeline.embed import EmbeddingCache, SentenceEmbedder
from coproduce.pipeline.executor import InProcessExecutor
from coproduce.pipeline.run import Pipeline, PipelineInput, PipelineOutput
from coproduce.services.analysis import default_pipeline
from tests.conftest import GREEN_PAPER, SEED


class NoThemes:
    """Theme discovery runs on the driver whatever the executor (tests/pipeline/test_themes.py covers it)."""

    def find(
        self, segments: list[SegmentText], vectors: np.ndarray, framework: FrameworkSpec, context: dict
    ) -> StageResult[ThemeFound]:
        return StageResult([])


@pytest.fixture(scope="module")
def data() -> PipelineInput:
    rng = random.Random(11)
    paragraphs = [p.strip() for p in SEED.read_text(encoding="utf-8").split("\n\n") if len(p.split()) > 5]
    texts = paragraphs[:40] + [response_text(rng) for _ in range(40)]
    texts += ["?!", texts[3], ""]  # no words (unprocessed), a repeated text (embedded once), a blank answer
    responses = [ResponseText(i + 1, i + 1, 1 + i % 3, text, "parent_carer", True) for i, text in enumerate(texts)]
    # Human decisions by keyword, enough (>= 50 reviewed, >= 5 per code) to train supervised models for some codes.
    keywords = {"FUN": "fund", "WAI": "wait"}  # two codes keep the fit (inner cross-validation) short
    examples = [
        LabelledExample(text, code, word in text.lower(), f"q{1 + i % 3}")
        for i, text in enumerate(texts[:80])
        for code, word in keywords.items()
    ]
    stances = [(t, "concern" if "not" in t or "poor" in t else "recommend") for t in texts[40:70]]
    return PipelineInput(load_framework(GREEN_PAPER), responses, examples, stances)


def pipeline(executor: DaskExecutor | None, model: object) -> Pipeline:
    # A fresh cache each: both paths must encode every text, so the vectors are compared, not served from a cache.
    embedder = SentenceEmbedder(model=model, cache=EmbeddingCache())
    return Pipeline(embedder=embedder, theme_finder=NoThemes(), executor=executor, seed=3)


@pytest.fixture(scope="module")
def single(data: PipelineInput) -> PipelineOutput:
    from coproduce.nlp import load_embedder

    return pipeline(None, load_embedder()).run(data)


@pytest.fixture(scope="module")
def cluster() -> Iterator[DaskExecutor]:
    executor = DaskExecutor("local:2", partition_size=25)
    with executor:  # the pipeline's own `with` inside this one reuses the cluster instead of starting another
        yield executor


@pytest.fixture(scope="module")
def distributed(data: PipelineInput, cluster: DaskExecutor) -> PipelineOutput:
    from coproduce.nlp import load_embedder

    return pipeline(cluster, load_embedder()).run(data)


def test_the_same_segments_codes_and_stances_in_the_same_order(
    single: PipelineOutput, distributed: PipelineOutput
) -> None:
    assert len(single.segments) > 150
    assert distributed.segments == single.segments
    assert distributed.unprocessed == single.unprocessed
    assert any(u.reason == "no words to analyse" for u in single.unprocessed["segment"])
    assert distributed.codes == single.codes
    assert distributed.stances == single.stances
    assert distributed.campaigns == single.campaigns


def test_vectors_are_bit_identical(single: PipelineOutput, distributed: PipelineOutput) -> None:
    # Workers encode exactly the single process's length-sorted batches, so not even float rounding differs
    # (atol 1e-5 is what the results would tolerate; equality is what is measured).
    np.testing.assert_allclose(distributed.vectors, single.vectors, atol=1e-5, rtol=0)
    assert np.array_equal(distributed.vectors, single.vectors)


def test_the_supervised_coder_and_stance_model_ran_on_the_workers(
    data: PipelineInput, distributed: PipelineOutput, cluster: DaskExecutor
) -> None:
    execution = distributed.manifest["execution"]
    assert execution["executor"] == "dask" and execution["workers"] == 2
    segments = len(distributed.segments)
    responses = len(data.responses)
    assert execution["partitions"]["segment"] == {"items": responses, "count": -(-responses // 25), "size": 25}
    assert execution["partitions"]["code"]["count"] == -(-segments // 25)
    assert execution["partitions"]["stance"]["count"] == -(-segments // 25)
    assert all(mib > 100 for mib in execution["worker_peak_rss_mib"].values())  # each loaded its own models
    assert {s.code for s in distributed.codes} >= {"FUN"}


def test_each_distinct_text_is_encoded_once_and_cached_text_not_at_all(cluster: DaskExecutor) -> None:
    from coproduce.nlp import load_embedder

    embedder = SentenceEmbedder(model=load_embedder(), cache=EmbeddingCache())
    texts = ["Funding should follow the child.", "We waited two years.", "Funding should follow the child."]
    first = cluster.embed(embedder, texts)
    assert embedder.encoded == 2 and len(embedder.cache) == 2  # the driver wrote what the workers encoded
    assert np.array_equal(first[0], first[2])
    again = cluster.embed(embedder, [*texts, "A new sentence."])
    assert embedder.encoded == 3  # only the new one
    assert np.array_equal(again[:3], first)


def test_a_scheduler_that_does_not_answer_fails_naming_the_setting() -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    executor = DaskExecutor(f"tcp://127.0.0.1:{port}", connect_timeout=2)
    with pytest.raises(BadInputError) as failure, executor:
        pass
    message = str(failure.value)
    assert "dask_scheduler" in message and f"tcp://127.0.0.1:{port}" in message
    assert "COPRODUCE_DASK_SCHEDULER" in message


@pytest.mark.parametrize("value", ["local:0", "local:two", "127.0.0.1:8786", "http://host:8786", "tcp://host"])
def test_a_malformed_setting_is_refused_naming_it(value: str) -> None:
    with pytest.raises(BadInputError, match="dask_scheduler"):
        parse_scheduler(value)


def test_the_setting_chooses_the_executor(tmp_path) -> None:
    assert parse_scheduler("") is None
    assert str(parse_scheduler("local:3")) == "local:3"
    assert str(parse_scheduler("tcp://10.0.0.5:8786")) == "tcp://10.0.0.5:8786"
    assert isinstance(executor_from_settings("", 100), InProcessExecutor)
    chosen = default_pipeline(Settings(instance_dir=tmp_path, dask_scheduler="local:2", dask_partition_size=7))
    assert isinstance(chosen.executor, DaskExecutor) and chosen.executor.partition_size == 7
    assert chosen.describe() == default_pipeline(Settings(instance_dir=tmp_path)).describe()  # same config hash


def test_an_embedder_with_its_own_model_is_not_taken_for_the_installed_one_and_nothing_is_loaded_to_check():
    from coproduce.nlp import load_embedder
    from coproduce.pipeline.distributed import _installed_model
    from coproduce.pipeline.embed import EmbeddingCache, SentenceEmbedder

    loaded_before = load_embedder.cache_info().currsize
    assert not _installed_model(SentenceEmbedder(model=object(), cache=EmbeddingCache()))
    assert load_embedder.cache_info().currsize == loaded_before  # no MiniLM loaded just to compare
    assert _installed_model(SentenceEmbedder(cache=EmbeddingCache()))  # not loaded yet: the workers' own
    assert not _installed_model(SentenceEmbedder(cache=EmbeddingCache(), model_id="another-model"))
