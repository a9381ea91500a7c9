"""The pipeline object itself: warming it before the first run."""

from __future__ import annotations

from coproduce.pipeline.embed import EmbeddingCache, SentenceEmbedder
from coproduce.pipeline.run import Pipeline


def test_warm_loads_the_models_and_compiles_the_theme_kernels() -> None:
    pipeline = Pipeline(embedder=SentenceEmbedder(cache=EmbeddingCache()))
    assert pipeline.segmenter._nlp is None and pipeline.embedder._model is None
    pipeline.warm()
    assert pipeline.segmenter._nlp is not None
    assert pipeline.embedder._model is not None
    from umap import layouts  # imported by warm() without umap's ImportWarning

    kernel = layouts._nb_optimize_layout_euclidean_single_epoch
    assert kernel.targetoptions.get("nogil") is True  # the theme finder's kernel, ready to run in threads
    assert kernel.signatures  # compiled: the first run does not wait for numba
