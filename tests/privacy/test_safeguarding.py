"""Safeguarding flags: disclosures caught, negation and idioms left alone, offsets into the original."""

from __future__ import annotations

import pytest

from coproduce.config import Settings
from coproduce.privacy.safeguarding import SafeguardingFlagger, get_flagger, split_sentences
from coproduce.privacy.safeguarding_cues import CATEGORIES


def categories(flagger: SafeguardingFlagger, text: str) -> set[str]:
    return {concern.category for concern in flagger.detect(text)}


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("they hurt me", "harm"),
        ("I want to kill myself", "self_harm"),
        ("my dad hits me", "harm_by_adult"),
        ("I cut myself", "self_harm"),
        ("nobody feeds me", "neglect"),
        ("I don't feel safe at home.", "feeling_unsafe"),
        ("My uncle touches me when mum is at work.", "abuse"),
        ("Some older boys gave me money to carry packages for them.", "exploitation"),
        ("My dad hits my mum and I hide in my room.", "domestic_violence"),
        ("I ran away from home last week.", "running_away"),
        ("I get hit with a belt at home.", "harm_by_adult"),
        ("The teacher grabbed my arm and dragged me out of the room.", "harm_by_adult"),
        ("Some boys in my year keep punching me and the teachers don't do anything.", "harm"),
        ("my mum kicked me out and I have been sofa surfing", "running_away"),
    ],
)
def test_lexicon_catches_plain_disclosures(lexicon_flagger: SafeguardingFlagger, text: str, category: str) -> None:
    assert category in categories(lexicon_flagger, text)


@pytest.mark.parametrize(
    "text",
    [
        "I don't feel unsafe at school any more.",
        "I never feel unsafe with my key worker.",
        "I have never thought about hurting myself.",
        "He would never run away; he hates leaving the house.",
        "I feel safe at home and at school.",
    ],
)
def test_negated_cues_do_not_flag(lexicon_flagger: SafeguardingFlagger, text: str) -> None:
    assert lexicon_flagger.detect(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "The budget cuts are killing the service.",
        "I could kill for a full night's sleep.",
        "The new SENCo hit the ground running.",
        "She hurt her knee at PE and the school didn't phone me.",
        "The noise in the dinner hall hurts my ears.",
        "i got hit by a ball in PE and it really hurt",
        "My son finds PE hard because the ball hurts when it hits him.",
        "All staff complete annual safeguarding training, including on self-harm and abuse.",
        "The policy sets out how to respond to disclosures of abuse or neglect.",
        "I cut my hair myself and it looks terrible.",
        "The EHCP was issued late and Section F was vague.",
    ],
)
def test_idioms_accidents_and_policy_do_not_flag(lexicon_flagger: SafeguardingFlagger, text: str) -> None:
    assert lexicon_flagger.detect(text) == []


def test_negation_reaches_only_its_own_clause(lexicon_flagger: SafeguardingFlagger) -> None:
    assert categories(lexicon_flagger, "Nobody cares about me at home and sometimes I cut myself.") == {
        "neglect",
        "self_harm",
    }


def test_concerns_point_at_sentences_of_the_original_text(lexicon_flagger: SafeguardingFlagger) -> None:
    text = "School is fine.  My dad hits me and I am scared to go home.\nI like art."
    before = text
    concerns = lexicon_flagger.detect(text)
    assert text == before  # flags are metadata; the text is never changed
    assert {c.category for c in concerns} == {"harm_by_adult", "feeling_unsafe"}
    for concern in concerns:
        assert text[concern.start : concern.end] == "My dad hits me and I am scared to go home."
    reasons = " ".join(c.reason for c in concerns)
    assert '"hits me"' in reasons
    assert '"scared to go home"' in reasons


def test_every_category_is_known(flagger: SafeguardingFlagger) -> None:
    text = "I want to die. My dad hits me. Nobody feeds me. I ran away. I don't feel safe at home."
    assert categories(flagger, text) <= set(CATEGORIES)


@pytest.mark.parametrize(
    "text",
    [
        "I wrote a goodbye letter to my family last night.",
        "some days i just want to disappear forever",
        "I've packed a bag and I'm leaving tonight.",
    ],
)
def test_similarity_catches_indirect_disclosures(
    flagger: SafeguardingFlagger, lexicon_flagger: SafeguardingFlagger, text: str
) -> None:
    assert lexicon_flagger.detect(text) == []
    concerns = flagger.detect(text)
    assert concerns
    assert all("reads like a disclosure" in c.reason for c in concerns)


def test_similarity_leaves_ordinary_consultation_text_alone(flagger: SafeguardingFlagger) -> None:
    ordinary = [
        "We waited two years for the EHCP and the Local Offer was no help.",
        "I want to go to college next year to do catering.",
        "The Tribunal was the most stressful thing we have ever been through.",
        "My favourite thing is going to the park with my dad.",
    ]
    assert flagger.detect_many(ordinary) == [[], [], [], []]


def test_detect_many_matches_detect(flagger: SafeguardingFlagger) -> None:
    texts = ["I want to die.", "", "Nothing to see here.", "My dad hits me. I like art."]
    assert flagger.detect_many(texts) == [flagger.detect(text) for text in texts]


def test_sentence_splitter_keeps_offsets_and_titles() -> None:
    text = "  Mr. Smith hit me!  Then I ran.\n\nbullet one\n- bullet two  "
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == ["Mr. Smith hit me!", "Then I ran.", "bullet one", "- bullet two"]
    assert split_sentences("") == []


def test_get_flagger_reuses_one_flagger(flagger: SafeguardingFlagger) -> None:
    assert get_flagger(Settings()) is get_flagger()
    assert get_flagger().embedder is flagger.embedder  # the model is loaded once per process


def test_a_cached_embedder_gives_the_same_flags_and_fills_its_cache(flagger: SafeguardingFlagger) -> None:
    """The import hands the flagger the analysis's cached embedder, so analysis reuses these vectors."""
    from coproduce.pipeline.embed import EmbeddingCache, SentenceEmbedder, text_key

    cached = SentenceEmbedder(model=flagger.embedder, cache=EmbeddingCache())
    shared = SafeguardingFlagger(embedder=cached)
    texts = ["I wrote a goodbye letter to my family.", "The bus was late again. My dad hits me.", ""]
    assert shared.detect_many(texts) == flagger.detect_many(texts)
    assert cached.cache.get_many([text_key(cached.model_id, "The bus was late again.")])
