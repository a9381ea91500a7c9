"""Coders with the real MiniLM model (the session ``embedder`` fixture): obvious codes, learning, determinism."""

from __future__ import annotations

import numpy as np
import pytest

from coproduce.frameworks.loader import load_framework
from coproduce.frameworks.model import CodeSpec, FrameworkSpec
from coproduce.pipeline.base import LabelledExample, SegmentText
from coproduce.pipeline.coding import (
    DecisionRule,
    DecisionTable,
    HybridCoder,
    SupervisedCoder,
    ZeroShotCoder,
    select_codes,
)
from tests.conftest import GREEN_PAPER

OBVIOUS = {
    "Every SENCo should hold the national SENCo qualification before taking on the role.": "SCO",
    "Families wait far too long for an EHC needs assessment, often more than a year.": "EHC",
    "High needs funding must be ring-fenced so it is spent on children with SEND.": "FUN",
    "Children and young people must be listened to and their views placed at the centre of their plan.": "VOC",
    "Mediation should stay voluntary and never be a barrier to the tribunal.": "MED",
}

# A toy frame whose labels say nothing about the texts: only labelled decisions can teach it.
TOY = FrameworkSpec(
    name="toy",
    version="1",
    codes=(
        CodeSpec("K1", "Kestrel", "toy"),
        CodeSpec("K2", "Heron", "toy"),
        CodeSpec("PARK", "Parking", "toy", description="Car parking spaces and parking charges at the hospital."),
    ),
)
FOOD = ["The food was {} and the meals came {}.", "Lunch was {} and dinner arrived {}."]
STAFF = ["The nurses were {} and the doctor explained things {}.", "Staff were {} and answered questions {}."]
WORDS = [("cold", "late"), ("tasty", "on time"), ("bland", "hot"), ("lovely", "quickly"), ("awful", "slowly")]


def segments(texts: list[str]) -> list[SegmentText]:
    return [SegmentText(i, 0, 0, len(t), t) for i, t in enumerate(texts)]


def toy_examples() -> list[LabelledExample]:
    out = []
    for k, (a, b) in enumerate(WORDS * 3):
        for template in FOOD:
            out.append(LabelledExample(template.format(a, b) + f" ({k})", "K1", True))
        for template in STAFF:
            out.append(LabelledExample(template.format(a, b) + f" ({k})", "K2", True))
    return out


TOY_TESTS = {
    "Breakfast was cold and the toast came late.": "K1",
    "My meal was delicious and the soup was hot.": "K1",
    "The nurse was kind and the doctor listened to me.": "K2",
    "Reception staff were rude and ignored my questions.": "K2",
}


@pytest.fixture(scope="module")
def green_paper():
    return load_framework(GREEN_PAPER)


def codes_by_text(result, texts):  # type: ignore[no-untyped-def]
    found: dict[str, set[str]] = {t: set() for t in texts}
    for s in result.items:
        found[texts[s.segment[0]]].add(s.code)
    return found


def test_zero_shot_assigns_obvious_codes(embedder, green_paper):
    texts = list(OBVIOUS)
    coder = ZeroShotCoder()
    coder.fit(green_paper, [], embedder)
    result = coder.code(segments(texts), embedder.embed(texts), green_paper)
    found = codes_by_text(result, texts)
    for text, code in OBVIOUS.items():
        assert code in found[text], (text, found[text])
    assert all(0.0 <= s.confidence <= 1.0 for s in result.items)
    assert all(len(codes) <= coder.max_codes for codes in found.values())


def test_zero_shot_reports_empty_text_and_needs_an_embedder(embedder, green_paper):
    texts = ["Funding must be ring-fenced.", "   "]
    coder = ZeroShotCoder(embed=embedder)
    result = coder.code(segments(texts), embedder.embed(texts), green_paper)
    assert {s.segment for s in result.items} == {(0, 0)}
    assert [u.item for u in result.unprocessed] == ["segment (1, 0)"]
    with pytest.raises(RuntimeError, match="embedder"):
        ZeroShotCoder().code(segments(texts[:1]), embedder.embed(texts[:1]), green_paper)


def test_supervised_learns_toy_problem_and_beats_zero_shot(embedder):
    tests = list(TOY_TESTS)
    vectors = embedder.embed(tests)
    supervised = SupervisedCoder(embed=embedder)
    supervised.fit(TOY, toy_examples(), embedder)
    assert set(supervised.models) == {"K1", "K2"}
    learnt = codes_by_text(supervised.code(segments(tests), vectors, TOY), tests)
    zero = ZeroShotCoder()
    zero.fit(TOY, [], embedder)
    guessed = codes_by_text(zero.code(segments(tests), vectors, TOY), tests)
    right_learnt = sum(TOY_TESTS[t] in learnt[t] for t in tests)
    assert right_learnt == len(tests)
    assert right_learnt > sum(TOY_TESTS[t] in guessed[t] for t in tests)


def test_hybrid_is_deterministic_and_falls_back_to_zero_shot(embedder):
    texts = [*TOY_TESTS, "There were no parking spaces and the car park charges were far too high."]
    vectors = embedder.embed(texts)
    runs = []
    for _ in range(2):
        coder = HybridCoder(embed=embedder, seed=7)
        coder.fit(TOY, toy_examples(), embedder)
        runs.append(coder.code(segments(texts), vectors, TOY).items)
    assert runs[0] == runs[1]
    assert "PARK" not in coder.models  # never accepted: no model
    assert {s.code for s in runs[0] if s.segment == (len(texts) - 1, 0)} == {"PARK"}


def test_hybrid_without_decisions_is_zero_shot(embedder, green_paper):
    texts = list(OBVIOUS)
    vectors = embedder.embed(texts)
    hybrid = HybridCoder(seed=1)
    hybrid.fit(green_paper, [], embedder)
    zero = ZeroShotCoder()
    zero.fit(green_paper, [], embedder)
    assert (
        hybrid.code(segments(texts), vectors, green_paper).items
        == zero.code(segments(texts), vectors, green_paper).items
    )


def test_decision_table_counts_repeated_texts():
    examples = [
        LabelledExample("Nothing.", "K1", True),
        LabelledExample("Nothing.", "K1", True),
        LabelledExample("Nothing.", "K2", True),
        LabelledExample("Great food.", "K2", False),
        LabelledExample("Great food.", "UNKNOWN", True),
    ]
    table = DecisionTable.from_examples(examples, TOY)
    assert table.texts == ["Nothing.", "Great food."]
    assert table.accepted.tolist() == [[2, 1, 0], [0, 0, 0]]
    assert table.reviews.tolist() == [2, 1]
    assert table.unknown_codes == {"UNKNOWN"}
    rows, labels = table.expanded()
    assert rows.tolist() == [0, 0, 1]
    assert labels.tolist() == [[True, True, False], [True, False, False], [False, False, False]]


def test_select_codes_caps_and_forces():
    confidence = np.array([[0.9, 0.8, 0.7], [0.3, 0.2, 0.1], [0.05, 0.04, 0.0]])
    chosen = select_codes(confidence, DecisionRule(max_codes=2, force_best_above=0.25))
    assert chosen.tolist() == [[True, True, False], [True, False, False], [False, False, False]]
    assert not select_codes(confidence, DecisionRule(max_codes=3)).any(axis=1)[1]


GOOD = "What was good?"
BETTER = "What could we do better?"
NOTHING = ["Nothing.", "Nothing really.", "Nothing at all.", "Nothing, all fine.", "Nothing to say."]


def question_examples() -> list[LabelledExample]:
    """Food and staff comments under either question, and "nothing" answers whose code depends on the question:
    nothing to improve is praise (K1), nothing good is a complaint (K2)."""
    out = []
    for k, (a, b) in enumerate(WORDS * 2):
        question = GOOD if k % 2 else BETTER
        for template in FOOD:
            out.append(LabelledExample(template.format(a, b) + f" ({k})", "PARK", False, question))
        for template in STAFF:
            out.append(LabelledExample(template.format(a, b) + f" ({k})", "PARK", False, question))
    for text in NOTHING * 3:
        out.append(LabelledExample(text, "K1", True, BETTER))
        out.append(LabelledExample(text, "K2", True, GOOD))
    return out


def test_supervised_coder_uses_the_question_a_short_answer_answers(embedder):
    texts = ["Nothing.", "Nothing."]
    coder = SupervisedCoder(embed=embedder)
    coder.fit(TOY, question_examples(), embedder)
    assert coder.uses_questions  # chosen by the inner cross-validation, not forced
    found = codes_by_text_rows(coder.code(segments(texts), embedder.embed(texts), TOY, [BETTER, GOOD]), 2)
    assert found == [{"K1"}, {"K2"}]
    # Questions are matched whitespace- and case-insensitively.
    spaced = codes_by_text_rows(
        coder.code(segments(texts[:1]), embedder.embed(texts[:1]), TOY, [" what  could we do BETTER? "]), 1
    )
    assert spaced == [{"K1"}]
    with pytest.raises(ValueError, match="questions"):
        coder.code(segments(texts), embedder.embed(texts), TOY, [GOOD])


def test_without_several_questions_coding_is_unchanged(embedder):
    """No questions, one question for all, or questions only when coding: the coder behaves as without them."""
    texts = [*TOY_TESTS, *NOTHING]
    vectors = embedder.embed(texts)
    plain = [LabelledExample(e.text, e.code, e.accepted) for e in question_examples()]
    one_question = [LabelledExample(e.text, e.code, e.accepted, "Any comments?") for e in plain]
    runs = []
    for examples, questions in (
        (plain, None),
        (one_question, ["Any comments?"] * len(texts)),
        (plain, [GOOD] * len(texts)),
    ):
        coder = HybridCoder(embed=embedder, seed=3)
        coder.fit(TOY, examples, embedder)
        assert not coder.uses_questions
        runs.append(coder.code(segments(texts), vectors, TOY, questions).items)
    assert runs[0] and all(run == runs[0] for run in runs)


def test_decision_table_keeps_questions_apart():
    examples = [
        LabelledExample("Nothing.", "K1", True, BETTER),
        LabelledExample("Nothing.", "K2", True, GOOD),
        LabelledExample("Nothing.", "K2", True, GOOD),
    ]
    table = DecisionTable.from_examples(examples, TOY)
    assert table.texts == ["Nothing.", "Nothing."]
    assert table.questions == [BETTER, GOOD]
    assert table.accepted.tolist() == [[1, 0, 0], [0, 2, 0]]
    assert DecisionTable.from_examples(examples[:1], TOY).questions == [BETTER]
    assert DecisionTable.from_examples([LabelledExample("Nothing.", "K1", True)], TOY).questions is None


def codes_by_text_rows(result, n: int) -> list[set[str]]:  # type: ignore[no-untyped-def]
    found: list[set[str]] = [set() for _ in range(n)]
    for s in result.items:
        found[s.segment[0]].add(s.code)
    return found
