"""BERTopic themes on a four-topic synthetic corpus, embedded once with the real MiniLM model.

All but one test use PCA as the reducer (cheap, deterministic); one test runs real UMAP.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pytest

from coproduce.frameworks.loader import load_framework
from coproduce.frameworks.model import FrameworkSpec
from coproduce.pipeline.base import SegmentText, ThemeFound
from coproduce.pipeline.themes import BERTopicThemeFinder, ThemeSettings, code_text, pca_reducer, working_label
from tests.conftest import GREEN_PAPER
from tests.pipeline._theme_corpus import topic_corpus

PARKING_RESPONDENTS = (900, 901)  # the parking sentences all come from two people


@dataclass
class Corpus:
    segments: list[SegmentText]
    vectors: np.ndarray
    topic: dict[tuple[int, int], str]  # segment key -> the topic it was written for

    def context(self, question: int | None = 5) -> dict:
        """What the pipeline passes: each segment's question and respondent."""
        respondent_of = {}
        for s in self.segments:
            parking = self.topic[s.key] == "parking"
            respondent_of[s.key] = PARKING_RESPONDENTS[s.response_id % 2] if parking else 1000 + s.response_id
        return {"question_of_segment": dict.fromkeys(self.topic, question), "respondent_of_segment": respondent_of}


@pytest.fixture(scope="module")
def framework() -> FrameworkSpec:
    return load_framework(GREEN_PAPER)


@pytest.fixture(scope="module")
def corpus(embedder) -> Corpus:
    segments, topic = [], {}
    for name, sentences in topic_corpus().items():
        for text in sentences:
            segment = SegmentText(response_id=len(segments) + 1, position=0, start=0, end=len(text), text=text)
            segments.append(segment)
            topic[segment.key] = name
    return Corpus(segments, embedder.embed([s.text for s in segments]), topic)


def find(embedder, corpus: Corpus, framework: FrameworkSpec, **kwargs) -> list[ThemeFound]:
    finder = BERTopicThemeFinder(embedder, reducer_factory=pca_reducer, **kwargs)
    result = finder.find(corpus.segments, corpus.vectors, framework, corpus.context())
    return result.items


def dominant(theme: ThemeFound, corpus: Corpus) -> tuple[str, float]:
    counts = Counter(corpus.topic[s] for s in theme.segments)
    name, n = counts.most_common(1)[0]
    return name, n / len(theme.segments)


def theme_for(themes: list[ThemeFound], corpus: Corpus, topic: str) -> ThemeFound:
    """The theme holding most of ``topic``'s segments."""
    return max(themes, key=lambda t: sum(corpus.topic[s] == topic for s in t.segments))


def test_codes_are_mapped_and_the_unmatched_topic_emerges(embedder, corpus, framework) -> None:
    themes = find(embedder, corpus, framework)

    assert {t.question_number for t in themes} == {5}  # one question: no separate across-all run
    assert all(dominant(t, corpus)[1] == 1.0 for t in themes)  # no theme mixes topics
    waiting = theme_for(themes, corpus, "waiting")
    senco = theme_for(themes, corpus, "senco")
    parking = theme_for(themes, corpus, "parking")
    assert waiting.code == "WAI" and waiting.label == "Waiting times and delays"
    assert senco.code == "SCO" and len(senco.segments) == 40  # its sub-clusters merged: one code, one theme
    assert parking.code is None
    assert "parking" in parking.keywords[:3]
    assert "parking" in parking.label.lower() and parking.representative.startswith(parking.label.rstrip("…"))
    assert sum(corpus.topic[s] == "parking" for s in parking.segments) >= 20
    assert parking.flags[-1] == "too few respondents: 2 (needs 3)"
    assert not any(f.startswith("too few") for f in waiting.flags + senco.flags)
    assert len({t.code for t in themes if t.code}) == len([t for t in themes if t.code])


def test_same_input_gives_the_same_themes_in_any_order(embedder, corpus, framework) -> None:
    first = find(embedder, corpus, framework)
    again = find(embedder, corpus, framework)
    order = list(range(len(corpus.segments)))
    random.Random(3).shuffle(order)
    shuffled = Corpus([corpus.segments[i] for i in order], corpus.vectors[order], corpus.topic)
    reordered = find(embedder, shuffled, framework)
    assert first == again == reordered


def test_groups_per_question_and_across_all(embedder, corpus, framework) -> None:
    context = corpus.context()
    context["question_of_segment"] = {key: 5 if key[0] % 2 else None for key in corpus.topic}
    finder = BERTopicThemeFinder(embedder, reducer_factory=pca_reducer)
    result = finder.find(corpus.segments, corpus.vectors, framework, context)
    by_group = Counter(t.key.split("-")[0] for t in result.items)
    assert set(by_group) == {"q5", "all"}
    assert {t.question_number for t in result.items if t.key.startswith("all")} == {None}
    assert theme_for([t for t in result.items if t.question_number is None], corpus, "senco").code == "SCO"
    del context["question_of_segment"]  # no questions at all (family feedback): one run over everything
    unnumbered = finder.find(corpus.segments, corpus.vectors, framework, context).items
    assert unnumbered and {t.key.split("-")[0] for t in unnumbered} == {"all"}


def two_questions(corpus: Corpus) -> dict:
    """Odd responses answer question 1, even ones question 2: three groups (q1, q2, all)."""
    return {**corpus.context(), "question_of_segment": {key: 1 + key[0] % 2 for key in corpus.topic}}


def test_groups_fitted_in_threads_give_the_same_themes_and_leave_warning_filters_alone(
    embedder, corpus, framework
) -> None:
    import warnings

    context = two_questions(corpus)
    filters = list(warnings.filters)
    one = BERTopicThemeFinder(embedder, ThemeSettings(threads=1), reducer_factory=pca_reducer)
    three = BERTopicThemeFinder(embedder, ThemeSettings(threads=3), reducer_factory=pca_reducer)
    alone = one.find(corpus.segments, corpus.vectors, framework, context)
    together = three.find(corpus.segments, corpus.vectors, framework, context)
    assert alone == together
    assert {t.key.split("-")[0] for t in together.items} == {"q1", "q2", "all"}
    assert [t.key for t in together.items] == sorted(
        (t.key for t in together.items), key=lambda k: ["q1", "q2", "all"].index(k.split("-")[0])
    )  # in the groups' order, whichever finished first
    assert warnings.filters == filters
    with pytest.raises(ValueError, match="threads"):
        ThemeSettings(threads=0)


def test_tiny_and_empty_groups_are_reported_not_modelled(embedder, corpus, framework) -> None:
    finder = BERTopicThemeFinder(embedder, reducer_factory=pca_reducer)
    tiny = corpus.segments[:4]
    result = finder.find(tiny, corpus.vectors[:4], framework, corpus.context(question=7))
    assert result.items == []
    assert [(u.item, u.reason) for u in result.unprocessed] == [
        ("theme group q7", "only 4 segments; themes need at least 10")
    ]
    empty = finder.find([], np.zeros((0, 384), np.float32), framework, {"respondent_of_segment": {}})
    assert empty.items == [] and empty.unprocessed == []


def test_just_enough_segments_do_not_crash(embedder, corpus, framework) -> None:
    picks = [i for i, s in enumerate(corpus.segments) if corpus.topic[s.key] in ("parking", "senco")][::6][:11]
    segments = [corpus.segments[i] for i in picks]
    result = BERTopicThemeFinder(embedder, reducer_factory=pca_reducer).find(
        segments, corpus.vectors[picks], framework, corpus.context()
    )
    covered = {s for t in result.items for s in t.segments}
    assert covered <= {s.key for s in segments}
    assert all(u.item == "theme group q5" for u in result.unprocessed)


def test_zero_shot_may_leave_too_few_segments_to_cluster(embedder, corpus, framework) -> None:
    codes = embedder.embed([code_text(c.label, c.description) for c in framework.codes])
    best = (corpus.vectors @ codes.T).max(axis=1)
    near = [i for i in np.argsort(-best) if best[i] >= ThemeSettings().zeroshot_min_similarity][:12]
    far = [i for i in np.argsort(best) if corpus.topic[corpus.segments[i].key] == "parking"]
    for picks in (near, [*near, far[0]]):  # everything, or all but one segment, goes to a code
        segments = [corpus.segments[i] for i in picks]
        result = BERTopicThemeFinder(embedder, reducer_factory=pca_reducer).find(
            segments, corpus.vectors[picks], framework, corpus.context()
        )
        assert [(t.code, len(t.segments)) for t in result.items] == [("SCO", 12)]
        outliers = [u.reason for u in result.unprocessed]
        assert outliers == ([] if len(picks) == 12 else ["1 of 13 segments fit no theme"])


def test_text_with_no_words_to_count_is_reported(embedder, framework) -> None:
    fillers = ["and the", "of it", "to be", "it is", "but then", "so on"]
    texts = [f"{fillers[i % 6]} {fillers[(i * 5 + 1) % 6]} {'and ' * (i // 6)}it was." for i in range(12)]
    segments = [SegmentText(i, 0, 0, len(t), t) for i, t in enumerate(texts)]
    context = {
        "question_of_segment": {s.key: 2 for s in segments},
        "respondent_of_segment": {s.key: 1 for s in segments},
    }
    settings = ThemeSettings(zeroshot_min_similarity=1.0)
    result = BERTopicThemeFinder(embedder, settings, reducer_factory=pca_reducer).find(
        segments, embedder.embed(texts), framework, context
    )
    assert result.items == []
    assert result.unprocessed[0].item == "theme group q2"
    assert result.unprocessed[0].reason.startswith("topic modelling failed")


def test_context_must_cover_every_segment(embedder, corpus, framework) -> None:
    finder = BERTopicThemeFinder(embedder, reducer_factory=pca_reducer)
    with pytest.raises(ValueError, match=r'context\["respondent_of_segment"\]'):
        finder.find(corpus.segments, corpus.vectors, framework, {})
    partial = corpus.context()
    del partial["question_of_segment"][corpus.segments[3].key]
    with pytest.raises(ValueError, match=r'context\["question_of_segment"\] lacks segments \[\(4, 0\)\]'):
        finder.find(corpus.segments, corpus.vectors, framework, partial)
    with pytest.raises(ValueError, match="min_segments"):
        ThemeSettings(min_segments=2)


def test_working_label_cuts_at_a_word() -> None:
    assert working_label("short  label", 90) == "short label"
    assert working_label("parking at the clinic is impossible", 20) == "parking at the…"


@pytest.mark.slow
def test_real_umap_is_repeatable(embedder, corpus, framework) -> None:
    context = {**corpus.context(), "seed": 42}
    finder = BERTopicThemeFinder(embedder)  # the default reducer: UMAP with a fixed random_state
    first = finder.find(corpus.segments, corpus.vectors, framework, context)
    again = BERTopicThemeFinder(embedder).find(corpus.segments, corpus.vectors, framework, context)
    assert first == again
    # Three groups fitted at once (UMAP's layout without the GIL) give what one after the other gives.
    grouped = {**two_questions(corpus), "seed": 42}
    in_turn = BERTopicThemeFinder(embedder, ThemeSettings(threads=1))
    at_once = BERTopicThemeFinder(embedder, ThemeSettings(threads=3))
    assert in_turn.find(corpus.segments, corpus.vectors, framework, grouped) == at_once.find(
        corpus.segments, corpus.vectors, framework, grouped
    )
    themes = first.items
    assert theme_for(themes, corpus, "senco").code == "SCO"
    assert theme_for(themes, corpus, "parking").code is None
    assert all(dominant(t, corpus)[1] >= 0.9 for t in themes)


def test_large_groups_fit_on_a_sample_and_assign_the_rest(embedder, corpus, framework) -> None:
    settings = ThemeSettings(max_fit_segments=80)
    themes = find(embedder, corpus, framework, settings=settings)
    again = find(embedder, corpus, framework, settings=settings)
    assert themes == again  # the sample is seeded
    parking = theme_for(themes, corpus, "parking")
    waiting = theme_for(themes, corpus, "waiting")
    assert parking.code is None and waiting.code == "WAI"
    # Segments outside the sample joined the themes their topic belongs to, and nothing was mixed up.
    assert sum(len(t.segments) for t in themes) > 80
    assert all(dominant(t, corpus)[1] >= 0.9 for t in themes)


def test_the_fit_sample_keeps_each_strata_share_and_is_repeatable():
    from coproduce.pipeline.themes import _fit_sample

    # 900 parent carers and 100 young people over two questions; a sample of 100 keeps the 9:1 split.
    strata = [(1 + i % 2, "young_person" if i % 10 == 0 else "parent_carer") for i in range(1000)]
    rows = _fit_sample(1000, 100, seed=5, strata=strata)
    assert len(rows) == len(set(rows)) == 100 and rows == sorted(rows)
    young = sum(strata[r][1] == "young_person" for r in rows)
    assert young == 10
    assert sum(strata[r][0] == 1 for r in rows) == 50
    assert rows == _fit_sample(1000, 100, seed=5, strata=strata)
    assert rows != _fit_sample(1000, 100, seed=6, strata=strata)
    assert _fit_sample(50, 100, seed=5, strata=strata[:50]) == list(range(50))  # small groups: every row
