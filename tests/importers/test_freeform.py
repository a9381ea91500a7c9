"""The free-form importer on the seed submission (as .txt, .docx and .pdf) and on variations of it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from coproduce.config import Settings
from coproduce.errors import BadInputError
from coproduce.frameworks.loader import load_framework
from coproduce.importers.freeform import FreeformImporter, split_paragraphs
from tests.conftest import GREEN_PAPER, SEED, SHARED
from tests.importers.pdfmaker import write_text_pdf

SEED_SCALE_ANSWERS = {
    6: "Strongly disagree",
    9: "Agree",
    10: "Strongly agree",
    11: "Disagree",
    13: "Neither agree nor disagree",
    15: "Agree",
    16: "Strongly agree",
}


@pytest.fixture(scope="module")
def framework():
    return load_framework(GREEN_PAPER)


@pytest.fixture(scope="module")
def seed_result(framework):
    return FreeformImporter(Settings()).read(SEED, framework)


def seed_answers() -> dict[int, str]:
    """The seed's answer lines, read independently of the importer: they alternate with question lines."""
    lines = SEED.read_text(encoding="utf-8").split("\n")
    return {n: lines[2 * n + 1] for n in range(1, 23)}


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_seed_gives_22_responses_with_exactly_its_answers(seed_result):
    assert [r.question_number for r in seed_result.responses] == list(range(1, 23))
    answers = seed_answers()
    for response in seed_result.responses:
        expected = answers[response.question_number]
        # Same text; the no-break-space paragraph breaks become blank lines.
        assert squash(response.text) == squash(expected)
        assert response.text == "\n\n".join(p.strip() for p in re.split(r" \u00a0 [ \u00a0]*", expected) if p.strip())


def test_seed_gives_its_7_scale_answers_and_nothing_else(seed_result):
    found = {r.question_number: r.scale_answer for r in seed_result.responses if r.scale_answer}
    assert found == SEED_SCALE_ANSWERS
    assert all(r.closed_answer is None for r in seed_result.responses)
    assert len(seed_result.respondents) == 1


def test_preamble_and_page_debris_are_reported_not_imported(seed_result):
    reasons = {(r.location, r.reason.split(";")[0]) for r in seed_result.rejected}
    assert ("line 1", "text before the first question") in reasons
    assert any(r.content == "Skip to content" and "debris" in r.reason for r in seed_result.rejected)
    assert not any("Skip to content" in (r.text or "") for r in seed_result.responses)
    assert seed_result.notes == []


@pytest.mark.skipif(not (SHARED / "data" / "send-seed-gold").exists(), reason="needs ../shared")
def test_gold_sentences_tile_each_answer(seed_result):
    by_question: dict[int, list[str]] = {}
    for line in (SHARED / "data" / "send-seed-gold" / "segments.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        by_question.setdefault(record["question_number"], []).append(record["text"])
    for response in seed_result.responses:
        position = 0
        for sentence in by_question[response.question_number]:
            found = response.text.find(sentence, position)
            assert found >= 0 and not response.text[position:found].strip(), sentence
            position = found + len(sentence)
        assert not response.text[position:].strip()


def test_stray_quote_after_a_question_mark_stays_with_the_question(seed_result):
    q19 = next(r for r in seed_result.responses if r.question_number == 19)
    assert not q19.text.startswith("’")


def test_docx_version_of_the_seed_gives_the_same_responses(tmp_path, framework, seed_result):
    import docx

    document = docx.Document()
    for line in SEED.read_text(encoding="utf-8").split("\n"):
        document.add_paragraph(line)
    path = tmp_path / "submission.docx"
    document.save(path)
    result = FreeformImporter(Settings()).read(path, framework)
    assert [(r.question_number, r.text, r.scale_answer) for r in result.responses] == [
        (r.question_number, r.text, r.scale_answer) for r in seed_result.responses
    ]


def test_pdf_with_wrapped_lines_gives_the_same_answers(tmp_path, framework, seed_result):
    path = tmp_path / "submission.pdf"
    write_text_pdf(path, SEED.read_text(encoding="utf-8").split("\n"))
    result = FreeformImporter(Settings()).read(path, framework)
    assert [r.question_number for r in result.responses] == list(range(1, 23))
    for got, want in zip(result.responses, seed_result.responses, strict=True):
        # cp1252 has no narrow no-break space; otherwise the words are the same.
        assert squash(got.text) == squash(want.text.replace("\u202f", " "))
        assert got.scale_answer == want.scale_answer


def test_other_published_wordings_and_punctuation_are_tolerated(framework):
    text = "\n".join(
        [
            "Our response",
            # the online form's variant of question 1, with a curly quote at the end
            "What key factors should be considered, when developing national standards to ensure they deliver "
            "improved outcomes and experiences for children and young people with SEND and their families? "
            "This includes how the standards apply across education, health and care in a 0-25 system.”",
            "Standards must be aspirational.",
            # question 9 without the narrow no-break spaces, then a bare scale answer with a full stop
            "To what extent do you agree or disagree that we should introduce a new mandatory SENCo NPQ to "
            "replace the NASENCo? Strongly Agree.",
            "SENCos need protected time.",
        ]
    )
    result = FreeformImporter(Settings()).read_text(text, Path("variant.txt"), framework)
    assert [(r.question_number, r.text, r.scale_answer) for r in result.responses] == [
        (1, "Standards must be aspirational.", None),
        (9, "SENCos need protected time.", "Strongly agree"),
    ]
    assert "question 2 was not found in the text" in result.notes


def test_answer_starting_on_the_question_line_is_kept(framework):
    text = "Is there anything else you would like to say about the proposals in the green paper? Yes: fund it."
    result = FreeformImporter(Settings()).read_text(text, Path("x.txt"), framework)
    assert result.responses[0].text == "Yes: fund it."


def test_nbsp_paragraph_breaks_and_blank_lines_split_paragraphs():
    assert split_paragraphs("One. \u00a0 Two.\n\nThree.") == ["One.", "", "Two.", "", "Three."]


def test_text_without_any_question_is_refused(tmp_path, framework):
    path = tmp_path / "letter.txt"
    path.write_text("Dear Sir,\nPlease fund SEND properly.\n", encoding="utf-8")
    with pytest.raises(BadInputError, match="none of the framework's questions") as caught:
        FreeformImporter(Settings()).read(path, framework)
    assert str(path) in str(caught.value)


def test_unknown_suffix_is_refused(tmp_path, framework):
    path = tmp_path / "submission.rtf"
    path.write_text("{\\rtf1 hello}", encoding="utf-8")
    with pytest.raises(BadInputError, match=r"\.rtf"):
        FreeformImporter(Settings()).read(path, framework)


def test_broken_docx_and_pdf_are_refused(tmp_path, framework):
    for name in ("broken.docx", "broken.pdf"):
        path = tmp_path / name
        path.write_bytes(b"PK\x03\x04 not really" if name.endswith("docx") else b"%PDF-1.4 garbage")
        with pytest.raises(BadInputError) as caught:
            FreeformImporter(Settings()).read(path, framework)
        assert name in str(caught.value)
