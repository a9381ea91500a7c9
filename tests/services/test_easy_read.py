"""Easy-read wording: short sentences, plain words, numbers as "n out of m people"; and the figures it reads."""

from __future__ import annotations

import re
from typing import Any

import pytest

from coproduce.services import figures as fig
from coproduce.services.easy_read import (
    JARGON,
    MAX_WORDS,
    a_person,
    easy_read_lines,
    easy_read_sentences,
    out_of,
)

CODE_FIGURES: dict[str, Any] = {
    "respondents": 12,
    "base": 40,
    "share": 0.3,
    "segments": 15,
    "by_type": {
        "young_person": {"respondents": 4, "base": 10, "share": 0.4},
        "parent_carer": {"respondents": 7, "base": 25, "share": 0.28},
        "unknown": {"respondents": 1, "base": 5, "share": 0.2},
    },
    "without_campaigns": {"respondents": 9, "base": 36, "share": 0.25},
    "stance": {"concern": 8, "recommend": 3, "support": 2, "oppose": 1, "mystery": 1},
    "quotes": [{"segment": [1, 0], "text": "It took too long.", "respondent_type": "parent_carer"}],
}
SUMMARY_FIGURES: dict[str, Any] = {
    "respondents": 40,
    "by_type": {"parent_carer": 25, "young_person": 15},
    "without_campaigns": 36,
    "scale": {"Disagree": 10, "Agree": 25, "Neither agree nor disagree": 5},
    "scale_without_campaigns": {"Agree": 21, "Disagree": 10, "Neither agree nor disagree": 5},
}
LONG_TOPIC = "Education, health and care plans, annual reviews, tribunals, mediation and the local offer in every area"
CASES = [
    ("question_code", CODE_FIGURES, "Waiting times", 3),
    ("emerging_theme", CODE_FIGURES, LONG_TOPIC, 3),
    ("standard", CODE_FIGURES, "Timely assessment", None),
    ("question_summary", SUMMARY_FIGURES, "Answers to question 2", 2),
]


def words(sentence: str) -> int:
    return len(sentence.split())


@pytest.mark.parametrize(("kind", "figures", "topic", "question"), CASES)
def test_every_sentence_is_short_and_plain(kind: str, figures: dict, topic: str, question: int | None) -> None:
    sentences = easy_read_sentences(kind, figures, topic, question_number=question, options=["Agree", "Disagree"])
    assert sentences
    for sentence in sentences:
        assert words(sentence) <= MAX_WORDS, sentence
        assert sentence[-1] in ".?!", sentence
        lowered = sentence.lower()
        for word in ("respondent", "stance", "segment", *JARGON):
            assert word not in lowered, (word, sentence)
        assert not re.search(r"\d+%", sentence), sentence


def test_numbers_are_given_as_n_out_of_m_people() -> None:
    sentences = easy_read_sentences("question_code", CODE_FIGURES, "Waiting times", question_number=3)
    assert sentences[0] == "This is about: Waiting times."
    assert "People said this when they answered question 3." in sentences
    assert "12 out of 40 people talked about this." in sentences
    assert "4 out of 10 young people talked about this." in sentences
    assert "7 out of 25 parent carers talked about this." in sentences
    assert "1 out of 5 people who did not say who they are talked about this." in sentences


def test_types_are_listed_in_the_usual_order() -> None:
    sentences = easy_read_sentences("question_code", CODE_FIGURES, "Waiting times")
    parents = sentences.index("7 out of 25 parent carers talked about this.")
    young = sentences.index("4 out of 10 young people talked about this.")
    assert parents < young


def test_stances_become_words_with_an_icon_each() -> None:
    lines = easy_read_lines("question_code", CODE_FIGURES, "Waiting times")
    by_text = {line.text: line.icon for line in lines}
    assert by_text["8 out of 12 of them said something is wrong or worrying."] == "worry"
    assert by_text["3 out of 12 of them said what should happen."] == "idea"
    assert by_text["2 out of 12 of them agreed with the idea."] == "agree"
    assert by_text["1 out of 12 of them disagreed with the idea."] == "disagree"
    assert by_text["1 out of 12 of them said something else."] == "other"
    stance_lines = [line for line in lines if "of them" in line.text]
    assert stance_lines[0].icon == "worry"  # most people first


def test_copies_are_explained_and_counted_without() -> None:
    sentences = easy_read_sentences("question_code", CODE_FIGURES, "Waiting times")
    assert "Some people sent in the same words as each other." in sentences
    assert "Leaving them out, 9 out of 36 people talked about this." in sentences
    same = {**CODE_FIGURES, "without_campaigns": {"respondents": 12, "base": 40, "share": 0.3}}
    assert not any("same words" in s for s in easy_read_sentences("question_code", same, "Waiting times"))


def test_standard_and_long_topics() -> None:
    sentences = easy_read_sentences("standard", CODE_FIGURES, "Timely assessment")
    assert "This is one of the national standards for services." in sentences
    long = easy_read_sentences("emerging_theme", CODE_FIGURES, LONG_TOPIC)[0]
    assert long.startswith("This is about: Education, health")
    assert long.endswith("….")


def test_a_closed_question_in_plain_words() -> None:
    sentences = easy_read_sentences(
        "question_summary",
        SUMMARY_FIGURES,
        "Answers to question 2",
        question_number=2,
        options=["Agree", "Neither agree nor disagree", "Disagree"],
    )
    assert sentences == [
        "This is about the answers to question 2.",
        "40 people answered it.",
        "25 out of 40 people chose “Agree”.",
        "5 out of 40 people chose “Neither agree nor disagree”.",
        "10 out of 40 people chose “Disagree”.",
        "Most people chose “Agree”.",
        "Some people sent in the same words as each other.",
        "Leaving them out, 36 people answered.",
    ]


def test_no_most_common_answer_on_a_tie_and_one_person() -> None:
    figures = {"respondents": 1, "by_type": {}, "without_campaigns": 1, "scale": {"Yes": 1, "No": 1}}
    sentences = easy_read_sentences("question_summary", figures, "x", question_number=1, options=["Yes", "No"])
    assert "1 person answered it." in sentences
    assert not any(s.startswith("Most people") for s in sentences)


def test_empty_figures_still_read() -> None:
    assert easy_read_sentences("question_code", {}, "Waiting times") == [
        "This is about: Waiting times.",
        "0 people talked about this.",
    ]


def test_small_helpers() -> None:
    assert out_of(1, 1) == "1 out of 1 person"
    assert out_of(3, 5, "child", "children") == "3 out of 5 children"
    assert a_person("organisation") == "an organisation"
    assert a_person("young_person") == "a young person"
    assert a_person("made_up_type") == "a made up type"


# ---------------------------------------------------------------- the figures the wording reads


def test_stance_split_majority_and_minority() -> None:
    split = fig.stance_split({"support": 5, "agree": 1, "oppose": 2, "concern": 3, "experience": 0})
    assert [(g.group, g.respondents) for g in split.groups] == [("for", 6), ("other", 3), ("against", 2)]
    assert split.majority is not None and split.majority.group == "for"
    assert [g.group for g in split.minorities] == ["other", "against"]
    assert split.groups[0].stances == (("support", 5), ("agree", 1))
    assert split.of("against") == 2
    assert split.of("nothing") == 0


def test_stance_split_ties_and_empty() -> None:
    tied = fig.stance_split({"support": 2, "oppose": 2})
    assert tied.majority is None
    assert tied.minorities == ()
    assert fig.stance_split({}).groups == ()
    assert fig.stance_split({}).majority is None


def test_counts_from_both_shapes_of_figures() -> None:
    assert fig.total(CODE_FIGURES) == fig.Count(12, 40)
    assert fig.without_campaigns(CODE_FIGURES) == fig.Count(9, 36)
    assert fig.without_campaigns(SUMMARY_FIGURES) == fig.Count(36, 36)
    assert fig.without_campaigns({"respondents": 3}) == fig.Count(3, 3)
    assert fig.total(SUMMARY_FIGURES) == fig.Count(40, 40)
    assert list(fig.by_type(CODE_FIGURES)) == ["parent_carer", "young_person", "unknown"]
    assert fig.by_type(SUMMARY_FIGURES)["young_person"] == fig.Count(15, 15)
    assert fig.Count(1, 3).percent == 33
    assert fig.Count(1, 0).share == 0.0


def test_ordered_scale_keeps_options_then_others() -> None:
    assert fig.ordered_scale(["Agree", "Disagree"], {"Other": 3, "Disagree": 1, "Maybe": 3}) == [
        ("Agree", 0),
        ("Disagree", 1),
        ("Maybe", 3),
        ("Other", 3),
    ]
