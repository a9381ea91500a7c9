"""Stance: explainable cues zero-shot, a supervised mode once people have set stances."""

from __future__ import annotations

import pytest

from coproduce.frameworks.loader import load_framework
from coproduce.frameworks.model import FrameworkSpec, StanceSpec
from coproduce.pipeline.base import SegmentText
from coproduce.pipeline.stance import StanceClassifierModel, cue_counts
from tests.conftest import GREEN_PAPER

CUED = {
    "Schools should be required to publish their SEN register.": "recommend",
    "The local authority must meet its legal duties.": "recommend",
    "We welcome the proposal for national standards.": "support",
    "We strongly disagree with mandatory mediation.": "oppose",
    "A tailored list of placements is a bad idea.": "oppose",
    "My son waited two years for an assessment.": "experience",
    "There is a lack of specialist places in the county.": "concern",
}


@pytest.fixture(scope="module")
def green_paper():
    return load_framework(GREEN_PAPER)


def segments(texts):  # type: ignore[no-untyped-def]
    return [SegmentText(i, 0, 0, len(t), t) for i, t in enumerate(texts)]


def test_cues_decide_zero_shot_stances(embedder, green_paper):
    texts = list(CUED)
    result = StanceClassifierModel().classify(segments(texts), embedder.embed(texts), green_paper)
    assert {texts[s.segment[0]]: s.stance for s in result.items} == CUED
    assert all(0 < s.confidence <= 1 for s in result.items)


def test_no_cue_gives_the_first_stance_with_low_confidence(embedder, green_paper):
    text = ["The green paper was published in March."]
    (item,) = StanceClassifierModel().classify(segments(text), embedder.embed(text), green_paper).items
    assert item.stance == green_paper.stances[0].id
    assert item.confidence < 0.5


def test_cues_only_count_for_stances_the_framework_has():
    counts = cue_counts(["We agree and welcome it.", "Nothing here."], ["support", "unknown"])
    assert counts.tolist() == [[2.0, 0.0], [0.0, 0.0]]


def test_cue_counts_are_the_same_for_a_text_seen_before_and_in_any_stance_order():
    from coproduce.pipeline.stance import CUES

    texts = ["We do not agree: the delays are a problem.", "I recommend it; we welcome this.", "Plain words."]
    expected = [[sum(1 for p in CUES[s] if p.search(t)) for s in ("oppose", "concern", "support")] for t in texts]
    assert cue_counts(texts, ["oppose", "concern", "support"]).tolist() == expected
    assert cue_counts(texts[::-1], ["support", "oppose"]).tolist() == [[row[2], row[0]] for row in expected[::-1]]


def test_supervised_mode_learns_labelled_stances(embedder):
    framework = FrameworkSpec(
        name="toy", version="1", stances=(StanceSpec("praise", "Praise"), StanceSpec("complaint", "Complaint"))
    )
    praise = ["The staff were wonderful {}.", "Brilliant care from everyone {}.", "Thank you for the kindness {}."]
    complaint = ["The wait was dreadful {}.", "Nobody answered the phone {}.", "The ward was dirty {}."]
    texts, stances = [], []
    for k in range(5):
        texts += [t.format(k) for t in praise] + [t.format(k) for t in complaint]
        stances += ["praise"] * 3 + ["complaint"] * 3
    model = StanceClassifierModel(embed=embedder, seed=3)
    model.fit(texts, stances)
    tests = ["Lovely caring nurses, thank you.", "I waited six hours and nobody came."]
    assert model.predict(tests, embedder.embed(tests), framework) == ["praise", "complaint"]
    again = StanceClassifierModel(embed=embedder, seed=3)
    again.fit(texts, stances)
    assert (
        again.probabilities(tests, embedder.embed(tests), framework)
        == model.probabilities(tests, embedder.embed(tests), framework)
    ).all()


def test_too_few_labels_stay_zero_shot_and_bad_input_is_reported(embedder, green_paper):
    model = StanceClassifierModel(embed=embedder)
    model.fit(["We agree."], ["support"])
    assert model._model is None
    with pytest.raises(ValueError):
        model.fit(["a", "b"], ["support"])
    texts = ["We agree with this.", " "]
    result = model.classify(segments(texts), embedder.embed(texts), green_paper)
    assert [s.stance for s in result.items] == ["support"]
    assert [u.item for u in result.unprocessed] == ["segment (1, 0)"]
    bare = FrameworkSpec(name="none", version="1")
    assert len(model.classify(segments(texts), embedder.embed(texts), bare).unprocessed) == 2
