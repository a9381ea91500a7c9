"""Themes: BERTopic on the precomputed segment vectors, per question and across all questions.

Each group of segments (one question, and all questions together) gets its own BERTopic run:

1. Zero-shot step (BERTopic's ``zeroshot_topic_list``): every framework code is a zero-shot topic,
   its text "label: description". A segment whose cosine to its nearest code text is at least
   ``zeroshot_min_similarity`` goes straight to that code's topic. Such a topic smaller than
   HDBSCAN's ``min_cluster_size`` is dropped (its segments count as outliers) unless a cluster is
   mapped to the same code in step 3, with which it is then merged.
2. The other segments are reduced (UMAP, or the injected reducer) and clustered with HDBSCAN;
   HDBSCAN's outliers (-1) belong to no theme.
3. A clustered topic whose centroid is close to a code text (cosine >= ``code_min_similarity`` and
   ahead of the runner-up code by ``code_margin``) is mapped to that code; the rest are emerging
   themes, labelled by their representative sentence (the segment nearest the centroid) and
   described by c-TF-IDF keywords.
4. :func:`coproduce.pipeline.theme_quality.clean_themes` merges near-duplicates and themes sharing
   a code, and flags themes with too few respondents.

BERTopic and UMAP are imported inside functions: importing them costs 15-40 s and UMAP compiles
with numba in every new process, which a CLI run that never finds themes should not pay. (Caching
numba's machine code on disk was tried and measured: a warm cache saved about 4 s of a 40 s fit of
5,000 segments, and filling it cost 30 s, so UMAP compiles as it always has; see docs/benchmarks.md.)
Nothing is embedded here except the code texts (through the injected embedder and its cache);
BERTopic gets a backend that only knows those texts, so it cannot embed or download anything else.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from coproduce.frameworks.model import CodeSpec, FrameworkSpec
from coproduce.pipeline.base import Embedder, SegmentText, StageResult, ThemeFound, Unprocessed
from coproduce.pipeline.theme_quality import QualitySettings, SegmentKey, clean_themes, unit_mean

ReducerFactory = Callable[[int, int], Any]  # (number of segments, seed) -> an unfitted reducer with fit/transform


@dataclass(frozen=True)
class ThemeSettings:
    min_segments: int = 10  # smaller groups are reported, not modelled
    seed: int = 42
    n_neighbors: int = 15  # UMAP; lowered to n - 1 for small groups
    n_components: int = 5
    n_epochs: int = 200  # UMAP's own default above 10,000 points; its 500 below that doubles the layout time
    min_cluster_share: float = 0.02  # HDBSCAN min_cluster_size = 2% of the group ...
    min_cluster_floor: int = 5  # ... but at least this (and at most half the group) ...
    min_cluster_cap: int = 50  # ... and at most this
    zeroshot_min_similarity: float = 0.6  # segment -> code text; measured on MiniLM, see docs/themes.md
    code_min_similarity: float = 0.5  # topic centroid -> code text
    code_margin: float = 0.05  # over the second-nearest code
    top_keywords: int = 8
    label_chars: int = 90
    across_questions: bool = True
    # Large groups: fit on a seeded sample of this many segments, then give every other segment the topic
    # whose centroid it is nearest (if at least assign_min_similarity), so time grows with the sample.
    max_fit_segments: int = 5000
    assign_min_similarity: float = 0.5
    # Groups fitted at once, in threads (None: one per core). Each fit is seeded on its own, so any number
    # gives the same themes; UMAP's layout runs without the GIL (theme_reducer.release_gil_in_layout).
    threads: int | None = None
    quality: QualitySettings = field(default_factory=QualitySettings)

    def __post_init__(self) -> None:
        if self.min_segments < 4:
            raise ValueError("min_segments must be at least 4: UMAP and HDBSCAN need a few neighbours")
        if not 0 < self.code_min_similarity <= 1 or not 0 < self.zeroshot_min_similarity <= 1:
            raise ValueError("similarity thresholds must be in (0, 1]")
        if self.threads is not None and self.threads < 1:
            raise ValueError("threads must be at least 1 (or None for one per core)")

    def min_cluster_size(self, n: int) -> int:
        size = min(max(round(n * self.min_cluster_share), self.min_cluster_floor), self.min_cluster_cap)
        return max(2, min(size, n // 2))


def umap_reducer(n_samples: int, seed: int, settings: ThemeSettings | None = None) -> Any:
    """UMAP with a fixed random_state (single-threaded: the price of repeatability) on exact neighbours.

    See :mod:`coproduce.pipeline.theme_reducer` for why the neighbours are computed outside UMAP.
    """
    from coproduce.pipeline.theme_reducer import ExactNeighboursUMAP

    settings = settings or ThemeSettings()
    return ExactNeighboursUMAP(
        n_neighbors=max(2, min(settings.n_neighbors, n_samples - 1)),
        n_components=max(2, min(settings.n_components, n_samples - 2)),
        n_epochs=settings.n_epochs,
        random_state=seed,
    )


def pca_reducer(n_samples: int, seed: int = 0, n_components: int = 5) -> Any:
    """A cheap deterministic stand-in for UMAP (tests, quick previews); the full SVD needs no seed."""
    from sklearn.decomposition import PCA

    return PCA(n_components=max(1, min(n_components, n_samples - 1)), svd_solver="full")


def code_text(label: str, description: str) -> str:
    return f"{label}: {description}" if description else label


def working_label(sentence: str, limit: int) -> str:
    sentence = " ".join(sentence.split())
    if len(sentence) <= limit:
        return sentence
    return sentence[: limit - 1].rsplit(" ", 1)[0] + "…"


@dataclass
class _Group:
    name: str  # "q6" or "all"
    question_number: int | None
    indices: list[int]  # into the segments passed to find(), in segment-key order
    respondents: int


class BERTopicThemeFinder:
    """ThemeFinder over precomputed vectors; see the module docstring for the method.

    ``context`` (every mapping keyed by :attr:`SegmentText.key`, and covering every segment):

    * ``"respondent_of_segment"``: ``{key: respondent_id}``, required (themes need respondent counts);
    * ``"question_of_segment"``: ``{key: question_number | None}``, optional (absent: no questions);
    * ``"seed"``: optional int, the UMAP random_state (default ``settings.seed``);
    * ``"respondent_type_of_segment"``: ``{key: respondent type}``, optional: with the question, the strata
      of the sample a large group is fitted on (``max_fit_segments``).

    Groups: one per question number (keys ``"q6-t1"``...), plus ``"all"`` (``question_number=None``,
    keys ``"all-t1"``...) over every segment, unless all segments belong to one numbered question
    (it would repeat that run). Segments with no question are only in ``"all"``. ``embedder``
    embeds the framework's code texts (a default :class:`SentenceEmbedder` when omitted).
    """

    def __init__(
        self,
        embedder: Embedder | None = None,
        settings: ThemeSettings | None = None,
        reducer_factory: ReducerFactory | None = None,
    ):
        if embedder is None:
            from coproduce.pipeline.embed import SentenceEmbedder

            embedder = SentenceEmbedder()  # loads the model only when a code text is not cached
        self.embedder = embedder
        self.settings = settings or ThemeSettings()
        self.reducer_factory = reducer_factory or (lambda n, seed: umap_reducer(n, seed, self.settings))

    def warm(self) -> None:
        """Import BERTopic and compile UMAP's numba kernels now, not in the first run (measured: 4.6-4.9 s with
        the disk cache warm, 16 s the first time after installing; a first fit of 3,995 segments then took 2.4 s
        instead of 6.6 s).

        A long-lived worker calls this once when it starts; a tiny fit of random vectors compiles what a real one
        needs (the kernels are compiled per argument type, not per size).
        """
        _import_topic_libraries()
        x = np.random.default_rng(self.settings.seed).normal(size=(40, 16)).astype(np.float32)
        self.reducer_factory(len(x), self.settings.seed).fit_transform(x / np.linalg.norm(x, axis=1, keepdims=True))

    def find(
        self,
        segments: Sequence[SegmentText],
        vectors: np.ndarray,
        framework: FrameworkSpec,
        context: dict[str, Any],
    ) -> StageResult[ThemeFound]:
        if len(segments) != len(vectors):
            raise ValueError(f"{len(segments)} segments but {len(vectors)} vectors")
        question_of, respondent_of = _segment_maps(segments, context)
        seed = int(context.get("seed", self.settings.seed))
        type_of = dict(context.get("respondent_type_of_segment") or {})  # optional: strata of the fit sample
        vectors = np.asarray(vectors, dtype=np.float32)
        result: StageResult[ThemeFound] = StageResult(items=[])
        if not segments:
            return result
        codes = list(framework.codes)
        texts = [code_text(c.label, c.description) for c in codes]
        code_vectors = self.embedder.embed(texts)
        raw: list[ThemeFound] = []
        groups = _groups(segments, question_of, respondent_of, self.settings.across_questions)
        found = self._map_groups(
            lambda group: self._themes_for(
                group, segments, vectors, codes, texts, code_vectors, seed, question_of, type_of
            ),
            groups,
        )
        for themes, skipped in found:
            raw.extend(themes)
            result.unprocessed.extend(skipped)
        vector_of = {s.key: vectors[i] for i, s in enumerate(segments)}
        report = clean_themes(
            raw, vector_of, respondent_of, {g.question_number: g.respondents for g in groups}, self.settings.quality
        )
        result.items = report.themes
        return result

    def _map_groups(
        self, work: Callable[[_Group], tuple[list[ThemeFound], list[Unprocessed]]], groups: list[_Group]
    ) -> list[tuple[list[ThemeFound], list[Unprocessed]]]:
        """``work`` on every group, in the groups' order; several at once when there are cores to spare."""
        _import_topic_libraries()  # here, not in the threads: their import warnings are filtered process-wide
        threads = min(len(groups), self.settings.threads or os.cpu_count() or 1)
        if threads <= 1:
            return [work(group) for group in groups]
        # The reducer swaps in UMAP's GIL-free layout kernel itself (ExactNeighboursUMAP.fit_transform).
        with ThreadPoolExecutor(threads, thread_name_prefix="themes") as pool:
            # Largest first, so a big group ("all") does not start last and leave the other core idle.
            largest_first = sorted(range(len(groups)), key=lambda i: -len(groups[i].indices))
            futures = {i: pool.submit(work, groups[i]) for i in largest_first}
            return [futures[i].result() for i in range(len(groups))]

    def _themes_for(
        self,
        group: _Group,
        segments: Sequence[SegmentText],
        vectors: np.ndarray,
        codes: list[CodeSpec],
        code_texts: list[str],
        code_vectors: np.ndarray,
        seed: int,
        question_of: dict[SegmentKey, int | None],
        type_of: dict[SegmentKey, str],
    ) -> tuple[list[ThemeFound], list[Unprocessed]]:
        n = len(group.indices)
        if n < self.settings.min_segments:
            reason = f"only {n} segments; themes need at least {self.settings.min_segments}"
            return [], [Unprocessed(item=f"theme group {group.name}", reason=reason)]
        docs = [segments[i].text for i in group.indices]
        x = vectors[group.indices]
        strata = [(question_of.get(segments[i].key), type_of.get(segments[i].key)) for i in group.indices]
        fit_rows = _fit_sample(n, self.settings.max_fit_segments, seed, strata)
        try:
            fitted, keywords = _fit_topics(
                [docs[r] for r in fit_rows],
                x[fit_rows],
                code_texts,
                code_vectors,
                self.settings,
                self.reducer_factory(len(fit_rows), seed),
            )
        except ValueError as error:  # e.g. every segment is stop words: no vocabulary for c-TF-IDF
            return [], [Unprocessed(item=f"theme group {group.name}", reason=f"topic modelling failed: {error}")]
        topics = _assign_all(n, fit_rows, fitted, x, self.settings.assign_min_similarity)
        members_of: dict[int, list[int]] = {}
        for row, topic in enumerate(topics):
            if topic != -1:
                members_of.setdefault(topic, []).append(row)
        ordered = sorted(members_of.items(), key=lambda kv: (-len(kv[1]), kv[1][0]))  # largest first
        nearest_code = _nearest_codes(x, code_vectors)
        mapped = [self._code_for(rows, x, nearest_code, code_vectors) for _, rows in ordered]
        themes: list[ThemeFound] = []
        outliers = topics.count(-1)
        for number, ((topic, rows), (code, zero_shot)) in enumerate(zip(ordered, mapped, strict=True), start=1):
            if zero_shot and len(rows) < self.settings.min_cluster_size(n) and (code, False) not in mapped:
                outliers += len(rows)  # a few segments near a code, and no cluster for it: not a theme
                continue
            representative = docs[rows[int(np.argmax(x[rows] @ unit_mean(x[rows])))]]
            themes.append(
                ThemeFound(
                    key=f"{group.name}-t{number}",
                    label=codes[code].label
                    if code is not None
                    else working_label(representative, self.settings.label_chars),
                    keywords=keywords.get(topic, [])[: self.settings.top_keywords],
                    segments=[segments[group.indices[r]].key for r in rows],
                    question_number=group.question_number,
                    code=codes[code].id if code is not None else None,
                    representative=representative,
                )
            )
        if not outliers:
            return themes, []
        return themes, [
            Unprocessed(item=f"theme group {group.name}", reason=f"{outliers} of {n} segments fit no theme")
        ]

    def _code_for(
        self, rows: list[int], x: np.ndarray, nearest: np.ndarray, code_vectors: np.ndarray
    ) -> tuple[int | None, bool]:
        """(index of the topic's code or None, whether it came from the zero-shot step)."""
        if len(code_vectors) == 0:
            return None, False
        sims = nearest[rows]
        if np.all(sims[:, 1] >= self.settings.zeroshot_min_similarity):
            # BERTopic put these segments here in its zero-shot step: each is nearest this code
            return int(sims[0, 0]), True
        scores = code_vectors @ unit_mean(x[rows])
        order = np.argsort(-scores, kind="stable")
        best = float(scores[order[0]])
        runner_up = float(scores[order[1]]) if len(order) > 1 else -1.0
        if best >= self.settings.code_min_similarity and best - runner_up >= self.settings.code_margin:
            return int(order[0]), False
        return None, False


def _fit_sample(n: int, limit: int, seed: int, strata: Sequence[Any] | None = None) -> list[int]:
    """All rows, or a seeded sample of ``limit`` of them, stratified: each stratum (question and respondent
    type) keeps its share of the rows (largest remainders get the rounding), so a small group such as
    young people is in the fit in proportion instead of by luck. Sorted, so the fit sees segments in order."""
    if n <= limit:
        return list(range(n))
    rng = np.random.default_rng(seed)
    if strata is None:
        return sorted(rng.choice(n, size=limit, replace=False).tolist())
    rows_of: dict[str, list[int]] = {}
    for row, stratum in enumerate(strata):
        rows_of.setdefault(repr(stratum), []).append(row)
    names = sorted(rows_of)
    exact = {name: limit * len(rows_of[name]) / n for name in names}
    quota = {name: int(exact[name]) for name in names}
    spare = limit - sum(quota.values())
    for name in sorted(names, key=lambda k: (-(exact[k] - quota[k]), k))[:spare]:
        quota[name] += 1
    chosen: list[int] = []
    for name in names:
        rows = rows_of[name]
        chosen.extend(rows[i] for i in rng.choice(len(rows), size=quota[name], replace=False).tolist())
    return sorted(chosen)


def _assign_all(n: int, fit_rows: list[int], fitted: list[int], x: np.ndarray, min_similarity: float) -> list[int]:
    """Topics for every row: the fitted ones, and nearest-centroid topics for rows outside the sample."""
    if len(fit_rows) == n:
        return list(fitted)
    topics = [-1] * n
    for row, topic in zip(fit_rows, fitted, strict=True):
        topics[row] = topic
    labels = sorted({t for t in fitted if t != -1})
    if not labels:
        return topics
    members: dict[int, list[int]] = {t: [] for t in labels}
    for row, topic in zip(fit_rows, fitted, strict=True):
        if topic != -1:
            members[topic].append(row)
    centroids = np.vstack([unit_mean(x[members[t]]) for t in labels])
    fitted_rows = set(fit_rows)
    rest = [r for r in range(n) if r not in fitted_rows]
    if rest:
        sims = x[rest] @ centroids.T
        best = np.argmax(sims, axis=1)
        for row, index, sim in zip(rest, best, sims[np.arange(len(rest)), best], strict=True):
            if sim >= min_similarity:
                topics[row] = labels[int(index)]
    return topics


def _segment_maps(
    segments: Sequence[SegmentText], context: dict[str, Any]
) -> tuple[dict[SegmentKey, int | None], dict[SegmentKey, int]]:
    """(question of each segment, respondent of each segment) from the context, checked."""
    keys = [s.key for s in segments]
    if "respondent_of_segment" not in context:
        raise ValueError('the theme finder needs context["respondent_of_segment"]: {segment key: respondent id}')
    respondent_of = context["respondent_of_segment"]
    question_of = context.get("question_of_segment")
    for name, mapping in (("respondent_of_segment", respondent_of), ("question_of_segment", question_of)):
        missing = [k for k in keys if mapping is not None and k not in mapping]
        if missing:
            raise ValueError(f'context["{name}"] lacks segments {missing[:5]} ({len(missing)} missing)')
    return {k: (question_of or {}).get(k) for k in keys}, {k: respondent_of[k] for k in keys}


def _groups(
    segments: Sequence[SegmentText],
    question_of: dict[SegmentKey, int | None],
    respondent_of: dict[SegmentKey, int],
    across_questions: bool,
) -> list[_Group]:
    order = sorted(range(len(segments)), key=lambda i: segments[i].key)
    by_question: dict[int, list[int]] = {}
    unquestioned = False
    for i in order:
        question = question_of[segments[i].key]
        if question is None:
            unquestioned = True
        else:
            by_question.setdefault(question, []).append(i)

    def group(name: str, question: int | None, indices: list[int]) -> _Group:
        return _Group(name, question, indices, len({respondent_of[segments[i].key] for i in indices}))

    groups = [group(f"q{q}", q, by_question[q]) for q in sorted(by_question)]
    if across_questions and (unquestioned or len(by_question) > 1):
        groups.append(group("all", None, order))
    return groups


def _nearest_codes(x: np.ndarray, code_vectors: np.ndarray) -> np.ndarray:
    """Per row: [index of the nearest code, its cosine]."""
    from sklearn.metrics.pairwise import cosine_similarity

    if len(code_vectors) == 0:
        return np.zeros((len(x), 2))
    sims = cosine_similarity(x, code_vectors)  # as BERTopic's zero-shot step computes it, to agree at the threshold
    best = np.argmax(sims, axis=1)
    return np.column_stack([best, sims[np.arange(len(x)), best]])


def _fit_topics(
    docs: list[str],
    x: np.ndarray,
    code_texts: list[str],
    code_vectors: np.ndarray,
    settings: ThemeSettings,
    reducer: Any,
) -> tuple[list[int], dict[int, list[str]]]:
    """BERTopic's topic per document, and each topic's c-TF-IDF keywords (after :func:`_import_topic_libraries`)."""
    from bertopic import BERTopic
    from sklearn.feature_extraction.text import CountVectorizer

    size = settings.min_cluster_size(len(docs))
    zero_shot: dict[str, Any] = {}
    near = _nearest_codes(x, code_vectors)
    # Only ask for the zero-shot step when some segment will be assigned: otherwise BERTopic still
    # re-projects the unassigned segments through the reducer (cheap with ExactNeighboursUMAP, not with others).
    if len(code_texts) and np.any(near[:, 1] >= settings.zeroshot_min_similarity):
        zero_shot = {
            "zeroshot_topic_list": code_texts,
            "zeroshot_min_similarity": settings.zeroshot_min_similarity,
        }
    model = BERTopic(
        embedding_model=_known_texts_backend(dict(zip(code_texts, code_vectors, strict=True))),
        umap_model=reducer,
        hdbscan_model=_Clusterer(min_cluster_size=size, min_samples=max(2, size // 2)),
        vectorizer_model=CountVectorizer(stop_words="english", ngram_range=(1, 2)),
        calculate_probabilities=False,
        **zero_shot,
    )
    topics, _ = model.fit_transform(docs, embeddings=x)
    keywords = {
        topic: [word for word, _ in model.get_topic(topic) or [] if word]
        for topic in sorted(set(topics))
        if topic != -1
    }
    return [int(t) for t in topics], keywords


def _import_topic_libraries() -> None:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=ImportWarning)  # umap: "Tensorflow not installed"
        import bertopic  # noqa: F401
        import hdbscan  # noqa: F401


class _Clusterer:
    """HDBSCAN, except that too few points to form one cluster are all outliers instead of an error.

    After BERTopic's zero-shot step only a handful of segments may be left to cluster.
    """

    def __init__(self, min_cluster_size: int, min_samples: int):
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples

    def fit(self, x: np.ndarray, y: Any = None) -> _Clusterer:
        if len(x) < self.min_cluster_size:
            self.labels_ = np.full(len(x), -1)
            self.probabilities_ = np.zeros(len(x))
            return self
        from hdbscan import HDBSCAN

        model = HDBSCAN(min_cluster_size=self.min_cluster_size, min_samples=self.min_samples).fit(x)
        self.labels_, self.probabilities_ = model.labels_, model.probabilities_
        return self


def _known_texts_backend(known: dict[str, np.ndarray]) -> Any:
    """A BERTopic embedding backend that returns precomputed vectors and refuses anything else."""
    from bertopic.backend import BaseEmbedder

    class KnownTexts(BaseEmbedder):
        def embed(self, documents: list[str], verbose: bool = False) -> np.ndarray:
            unknown = [d for d in documents if d not in known]
            if unknown:
                raise RuntimeError(f"BERTopic asked to embed {len(unknown)} texts that were not precomputed")
            return np.vstack([known[d] for d in documents])

    return KnownTexts()
