"""Campaign detection on an injected template letter among distinct responses."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from coproduce.pipeline.base import CampaignGroup, ResponseText
from coproduce.pipeline.campaigns import (
    CampaignSettings,
    MinHashCampaignDetector,
    campaign_respondents,
    count_with_and_without,
    exact_jaccard,
    shingle_hashes,
    words,
)
from tests.pipeline._theme_corpus import PARKING, SENCO, TRANSPORT, WAITING

LETTER = (
    "I am writing as a parent carer to respond to the SEND and alternative provision green paper. "
    "The proposals do not go far enough to protect the legal rights of disabled children. "
    "Mandatory mediation will add another hurdle and more delay before families can appeal to the tribunal. "
    "National standards must be enforceable and must not become a ceiling on the support a child receives. "
    "Funding bands risk rationing provision according to budgets rather than need. "
    "Education, health and care plans must stay specific and quantified so that schools and councils "
    "can be held to account. Please listen to families and strengthen accountability instead of weakening it. "
    "Thank you for reading my response."
)
SWAPS = [
    ("parent carer", "parent"),
    ("another hurdle", "an extra hurdle"),
    ("more delay", "further delay"),
    ("Please listen", "Please, listen"),
    ("disabled children", "disabled young people"),
    ("Thank you for reading my response.", "Thank you."),
    ("rather than need", "and not need"),
]
CAMPAIGNERS = range(200, 225)
DUPLICATE_PAIR = (300, 301)
SHORT = range(400, 410)


def campaign_copy(rng: random.Random, respondent: int) -> str:
    text = LETTER
    for old, new in rng.sample(SWAPS, 2):  # small edits, different in every copy
        text = text.replace(old, new)
    return f"From [NAME], respondent {respondent}. {text}"


def build_responses(seed: int = 0) -> list[ResponseText]:
    rng = random.Random(seed)
    pool = WAITING + TRANSPORT + SENCO + PARKING
    responses: list[ResponseText] = []

    def add(respondent: int, question: int | None, text: str) -> None:
        responses.append(ResponseText(len(responses) + 1, respondent, question, text, "parent"))

    for respondent in range(1, 101):  # distinct people, two answers each
        add(respondent, 4, " ".join(rng.sample(pool, 3)))
        add(respondent, 22, " ".join(rng.sample(pool, 2)))
    for respondent in CAMPAIGNERS:
        letter = campaign_copy(rng, respondent)
        if respondent % 5 == 0:  # the letter split across two answer boxes still counts
            cut = letter.index("Funding bands")
            add(respondent, 6, letter[:cut])
            add(respondent, 18, letter[cut:])
        else:
            add(respondent, 22, letter)
    twice = " ".join(rng.sample(pool, 4))
    for respondent in DUPLICATE_PAIR:
        add(respondent, 22, twice)
    for respondent in SHORT:
        add(respondent, 22, "I agree with the proposals.")
    return responses


def test_finds_exactly_the_campaign() -> None:
    responses = build_responses()
    result = MinHashCampaignDetector().detect(responses)

    assert len(result.items) == 1
    campaign = result.items[0]
    assert type(campaign) is CampaignGroup and campaign.key == "campaign-1"
    assert campaign_respondents(result.items, responses) == set(CAMPAIGNERS)
    assert campaign.response_ids == sorted(r.response_id for r in responses if r.respondent_id in CAMPAIGNERS)
    assert "green paper" in campaign.example and campaign.example.startswith("From [NAME]")
    assert 0.8 <= campaign.similarity < 1.0


def test_pairs_are_duplicates_and_short_texts_are_never_members() -> None:
    responses = build_responses()
    result = MinHashCampaignDetector().detect(responses)

    assert [(d.key, d.similarity) for d in result.duplicates] == [("duplicate-1", 1.0)]
    assert campaign_respondents(result.duplicates, responses) == set(DUPLICATE_PAIR)
    assert {u.item for u in result.unprocessed} == {f"respondent {r}" for r in SHORT}
    assert result.unprocessed[0].reason == "too short for campaign detection (5 words; needs 25)"


def test_counts_with_and_without_the_campaign() -> None:
    responses = build_responses()
    result = MinHashCampaignDetector().detect(responses)

    assert campaign_respondents(result.items, responses) == set(CAMPAIGNERS)
    assert count_with_and_without(responses, result.items) == (137, 112)
    assert campaign_respondents(result.items) == set(CAMPAIGNERS)  # groups carry their respondents
    anonymous = [replace(g, respondent_ids=[]) for g in result.items]
    with pytest.raises(ValueError, match="not in the responses given"):
        campaign_respondents(anonymous)


def test_same_result_in_any_order() -> None:
    responses = build_responses()
    shuffled = responses[:]
    random.Random(5).shuffle(shuffled)
    detector = MinHashCampaignDetector()
    assert detector.detect(responses) == detector.detect(shuffled)


def test_group_size_is_a_setting() -> None:
    responses = build_responses()
    result = MinHashCampaignDetector(CampaignSettings(min_group_size=2)).detect(responses)
    assert [len(campaign_respondents([c], responses)) for c in result.items] == [25, 2]
    assert result.duplicates == []


def test_copies_need_not_all_match_each_other() -> None:
    """Two swaps per copy: copies with different swaps fall below 0.8, yet each group above is whole."""
    rng = random.Random(1)
    template = shingle_hashes(words(LETTER), 3)
    copies = [shingle_hashes(words(campaign_copy(rng, n)), 3) for n in range(6)]
    assert all(0.8 <= exact_jaccard(template, c) < 1.0 for c in copies)
    assert min(exact_jaccard(a, b) for a in copies for b in copies) < 0.8
    assert words("It’s [NAME]'s plan, 2022!") == ["it's", "name", "'s", "plan", "2022"]
