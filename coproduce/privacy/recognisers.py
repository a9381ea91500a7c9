"""UK-specific recognisers for the redactor: postcodes, phone numbers, NHS numbers, dates of birth,
street addresses, school and setting names, and people's names given away by their context.

Each kind of personal data has a plain finder function (text in, matches out) so it can be tested and
read without Presidio; ``FinderRecognizer`` adapts a finder to Presidio's recogniser interface.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import tldextract
from presidio_analyzer import AnalysisExplanation, EntityRecognizer, LocalRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import EmailRecognizer, PhoneRecognizer, UrlRecognizer

from coproduce.privacy.proper_nouns import ProperNounRecognizer
from coproduce.privacy.vocabulary import (
    BUILDING_SUFFIXES,
    GENERIC_SCHOOL_WORDS,
    KIN_WORDS,
    NOT_A_NAME,
    POSTCODE_AREAS,
    STREET_SUFFIXES,
    is_send_vocabulary,
)


@dataclass(frozen=True)
class Match:
    start: int
    end: int
    score: float
    why: str


Finder = Callable[[str], list[Match]]


# --- postcodes -------------------------------------------------------------------------------------

_POSTCODE = re.compile(
    r"\b(?P<area>[A-Za-z]{1,2})(?P<district>\d[A-Za-z\d]?)[ \t]?"
    r"(?P<inward>\d[ABD-HJLNP-UW-Zabd-hjlnp-uw-z]{2})\b"
)
_ORDINAL_ENDINGS = ("st", "nd", "rd", "th")


def find_postcodes(text: str) -> list[Match]:
    """Full UK postcodes ("SW1A 1AA", "M1 1AE", "ls62ab"), checked against the list of postcode areas."""
    found = []
    for m in _POSTCODE.finditer(text):
        code = m.group(0)
        letters = re.sub(r"[^A-Za-z]", "", code)
        if m.group("area").upper() not in POSTCODE_AREAS:
            continue
        # Mixed case ("B2 1st") is prose, not a postcode; so is a lower-case ordinal ("ls6 2nd").
        if not (letters.isupper() or letters.islower()):
            continue
        if letters.islower() and m.group("inward")[1:] in _ORDINAL_ENDINGS:
            continue
        tidy = letters.isupper() and (" " in code or "\t" in code)
        found.append(Match(m.start(), m.end(), 0.85 if tidy else 0.6, "UK postcode shape and area"))
    return found


# --- phone numbers ---------------------------------------------------------------------------------

_PHONE = re.compile(r"(?<![\w+])(?:\+44[ \t-]?(?:\(0\)[ \t-]?)?|\(?0)\d(?:[ \t\-.)]{0,2}\d){8,9}(?!\d)")


def find_uk_phone_numbers(text: str) -> list[Match]:
    """UK mobiles and landlines written with spaces, dashes, dots, brackets or +44.

    python-phonenumbers (Presidio's PhoneRecognizer) rejects Ofcom's drama ranges and some spacing that
    people really type, so this checks only the digit count and the leading digits.
    """
    found = []
    for m in _PHONE.finditer(text):
        digits = re.sub(r"\D", "", m.group(0).replace("(0)", ""))
        national = "0" + digits[2:] if digits.startswith("44") else digits
        if (len(national) == 11 and national[1] in "12378") or (len(national) == 10 and national[:2] in ("01", "08")):
            found.append(Match(m.start(), m.end(), 0.7, "UK phone number shape"))
    return found


# --- NHS numbers -----------------------------------------------------------------------------------

_NHS = re.compile(r"(?<![\w+])\d{3}(?P<sep>[ \t-]?)\d{3}(?P=sep)\d{4}(?![\w])")


def nhs_number_is_valid(candidate: str) -> bool:
    """The NHS modulus 11 check: weights 10..2 on the first nine digits; the tenth is the check digit."""
    digits = [int(c) for c in candidate if c.isdigit()]
    if len(digits) != 10 or len(set(digits)) == 1:
        return False
    remainder = sum(d * w for d, w in zip(digits[:9], range(10, 1, -1), strict=True)) % 11
    check = 11 - remainder
    if check == 11:
        check = 0
    return check != 10 and check == digits[9]


def find_nhs_numbers(text: str) -> list[Match]:
    """Ten digits, optionally spaced 3-3-4, that pass the modulus 11 check."""
    return [
        Match(m.start(), m.end(), 0.5, "10 digits passing the NHS modulus 11 check")
        for m in _NHS.finditer(text)
        if nhs_number_is_valid(m.group(0))
    ]


# --- dates of birth --------------------------------------------------------------------------------

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DAY = r"(?:[0-2]?\d|3[01])(?:st|nd|rd|th)?"
_YEAR = r"(?:19|20)\d\d"
_DATE = re.compile(
    rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}\.?(?:,?\s+{_YEAR})?\b"
    rf"|\b{_MONTH}\.?\s+{_DAY}(?:,?\s+{_YEAR})?\b"
    rf"|\b{_MONTH}\.?\s+{_YEAR}\b"
    rf"|\b(?:[0-2]?\d|3[01])[/.\-](?:0?\d|1[0-2])[/.\-](?:{_YEAR}|\d\d)\b"
    rf"|\b{_YEAR}-(?:0\d|1[0-2])-(?:[0-2]\d|3[01])\b",
    re.IGNORECASE,
)
_BIRTH_CUE = re.compile(r"\b(?:born|birth|birthday|d\.?o\.?b)\b\.?", re.IGNORECASE)
_SENTENCE_BREAK = re.compile(r"[!?]|\.\s+[A-Z]|\n")


def find_dates_of_birth(text: str) -> list[Match]:
    """Dates written near "born", "DOB", "date of birth" or "birthday" in the same sentence.

    A consultation is full of dates ("in March 2022", "since 2019") that are not personal data, so a
    date alone is never redacted. A bare year ("born in 2014") is an age, not a date of birth.
    """
    found = []
    for m in _DATE.finditer(text):
        before = text[max(0, m.start() - 45) : m.start()]
        after = text[m.end() : m.end() + 15]
        cues = list(_BIRTH_CUE.finditer(before))
        near_before = bool(cues) and not _SENTENCE_BREAK.search(before[cues[-1].end() :])
        after_cue = _BIRTH_CUE.search(after)
        near_after = after_cue is not None and not _SENTENCE_BREAK.search(after[: after_cue.start()])
        if near_before or near_after:
            found.append(Match(m.start(), m.end(), 0.8, "date next to a birth cue"))
    return found


# --- street addresses ------------------------------------------------------------------------------

_STREET = "|".join(sorted(STREET_SUFFIXES))
_BUILDING = "|".join(sorted(BUILDING_SUFFIXES))
_CAP_WORD = r"[A-Z][a-z'’]+"
_HOUSE_NAME = (
    rf"(?:(?:The\s+)?(?:{_CAP_WORD}\s+){{1,2}}(?:Barn|Cottage|Cottages|Farm|Farmhouse|Bungalow|House|Lodge),\s+)"
)
_FLAT = r"(?:(?:Flat|Apartment|Apt|Unit)\s+\d{1,4}[A-Za-z]?,?\s+)"
_NUMBERED_STREET = re.compile(
    rf"\b{_HOUSE_NAME}?{_FLAT}?\d{{1,4}}[A-Za-z]?(?:-\d{{1,4}})?,?\s+(?:{_CAP_WORD}\s+){{1,3}}(?:{_STREET})\b\.?"
)
_FLAT_IN_BUILDING = re.compile(rf"\b{_FLAT}(?:{_CAP_WORD}\s+){{1,3}}(?:{_BUILDING}|{_STREET})\b")
_LIVES_ON = re.compile(
    r"\b(?:live|lives|lived|living|moved|move|moving|stay|stays|staying|based)\s+(?:on|in|at|to|off)\s+"
    rf"(?:the\s+)?(?P<street>(?:{_CAP_WORD}\s+){{1,3}}(?:{_STREET})\b)"
)


def find_addresses(text: str) -> list[Match]:
    """House or flat number + street ("Flat 3, 27 Mill Lane"), flats in named buildings, and a street
    named as where someone lives ("we live on Maple Avenue")."""
    found = [Match(m.start(), m.end(), 0.7, "house number and street") for m in _NUMBERED_STREET.finditer(text)]
    found += [Match(m.start(), m.end(), 0.7, "flat in a named building") for m in _FLAT_IN_BUILDING.finditer(text)]
    found += [
        Match(m.start("street"), m.end("street"), 0.6, "street where someone lives") for m in _LIVES_ON.finditer(text)
    ]
    return _outermost([_strip_trailing_dot(text, match) for match in found])


def _outermost(matches: list[Match]) -> list[Match]:
    """Drop matches that lie inside another ("12, Elm Court" inside "Flat 12, Elm Court")."""
    return [
        m
        for m in matches
        if not any(
            o is not m and o.start <= m.start and m.end <= o.end and o.end - o.start > m.end - m.start for o in matches
        )
    ]


def _strip_trailing_dot(text: str, match: Match) -> Match:
    if text[match.end - 1] == ".":
        return Match(match.start, match.end - 1, match.score, match.why)
    return match


# --- schools and settings --------------------------------------------------------------------------

_KEYWORD = r"(?:school|academy|college|nursery|pre-?school|primary|pru)"
# "Primary" may end a name ("Northfield Primary") or sit inside one ("Northfield Primary School").
_END_ONLY_KEYWORD = r"(?:school|academy|college|nursery|pre-?school)"
_NAME_WORD = rf"(?!(?i:{_END_ONLY_KEYWORD})\b)(?:St\.?|[A-Z][A-Za-z'’\-.]*)"
_CONNECTORS = ("of", "the", "and", "&")
_SCHOOL = re.compile(rf"\b{_NAME_WORD}(?:\s+(?:{_NAME_WORD}|{'|'.join(_CONNECTORS)}))*\s+(?i:{_KEYWORD})(?![\w-])")
_WORD = re.compile(r"[^\s]+")


def find_schools(text: str) -> list[Match]:
    """Names of schools and settings: a proper-noun prefix before School/Academy/College/Nursery/...

    Leading generic words are dropped ("The", "Special", "Sixth Form"), and a phrase made only of
    generic words ("special school", "Sixth Form College", "a primary school") is not a name.
    """
    found = []
    for m in _SCHOOL.finditer(text):
        words = list(_WORD.finditer(m.group(0)))[:-1]  # the prefix, without the keyword
        if words and words[-1].group(0) in _CONNECTORS:
            continue  # "Maple Avenue and the school": "the school" is not a name
        while words and _is_generic_school_word(words[0].group(0)):
            words.pop(0)
        if not words:
            continue
        found.append(Match(m.start() + words[0].start(), m.end(), 0.7, "proper name before a school keyword"))
    return found


def _is_generic_school_word(word: str) -> bool:
    bare = word.strip(".,'’").lower()
    return bare in GENERIC_SCHOOL_WORDS or bare == "&" or is_send_vocabulary(word)


# --- names given away by context -------------------------------------------------------------------

_NAME = r"[A-Z][a-z'’\-]+"
_KIN = "|".join(re.escape(k) for k in sorted(KIN_WORDS, key=len, reverse=True))
_KIN_NAME = re.compile(
    r"\b(?i:my|our|his|her|their|your)\s+"
    r"(?i:(?:little|older|younger|eldest|youngest|big|baby|twin|lovely)\s+)?"
    rf"(?i:{_KIN})\s*,?\s+(?P<name>{_NAME}(?:\s+{_NAME})?)"
)
_TITLE_NAME = re.compile(rf"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Professor|Dame)\.?\s+(?:{_NAME}\s+)?{_NAME}")
_LOWER_TITLE_NAME = re.compile(r"\b(?:mr|mrs|ms|dr)\.?\s+[a-z][a-z'’\-]+")
_CALLED_NAME = re.compile(
    rf"\b(?:called|named|(?i:name\s+is)|(?i:name's)|known\s+as)\s+(?P<name>{_NAME}(?:\s+{_NAME})?)"
)
_LOWER_CALLED_NAME = re.compile(r"\b(?i:my\s+name\s+is|my\s+name's|i'm\s+called)\s+(?P<name>[a-z][a-z'’\-]+)")


def find_names_in_context(text: str) -> list[Match]:
    """First names and surnames that their context marks as a person's: "my son Jack", "my daughter,
    Amelia,", "Ms Patel", "a boy called Kian", "my name is priya"."""
    found = []
    for pattern, score, why in (
        (_KIN_NAME, 0.8, "name after a relationship word"),
        (_CALLED_NAME, 0.75, "name after 'called' or 'name is'"),
        (_LOWER_CALLED_NAME, 0.6, "name after 'my name is'"),
    ):
        for m in pattern.finditer(text):
            span = _name_span(text, m.start("name"), m.end("name"))
            if span:
                found.append(Match(span[0], span[1], score, why))
    for pattern, score in ((_TITLE_NAME, 0.75), (_LOWER_TITLE_NAME, 0.6)):
        for m in pattern.finditer(text):
            span = _name_span(text, m.start(), m.end(), keep_first=True)
            if span:
                found.append(Match(span[0], span[1], score, "title and surname"))
    return found


def _name_span(text: str, start: int, end: int, keep_first: bool = False) -> tuple[int, int] | None:
    """Trim a candidate name to the words that can be a name; None when the first word cannot."""
    words = list(_WORD.finditer(text[start:end]))
    kept = []
    for index, word in enumerate(words):
        bare = _strip_possessive(word.group(0))
        if (index > 0 or not keep_first) and (bare.lower() in NOT_A_NAME or is_send_vocabulary(bare)):
            break
        kept.append((start + word.start(), start + word.start() + len(bare)))
    if not kept or (keep_first and len(kept) < 2):
        return None
    return kept[0][0], kept[-1][1]


def _strip_possessive(word: str) -> str:
    for suffix in ("'s", "’s"):
        if word.endswith(suffix):
            return word[: -len(suffix)]
    return word.rstrip(".,;:!?")


# --- Presidio adapters -----------------------------------------------------------------------------


class FinderRecognizer(LocalRecognizer):
    """A Presidio recogniser that reports what one finder function finds, as one entity type."""

    def __init__(self, entity: str, finder: Finder, name: str, context: list[str] | None = None) -> None:
        self.finder = finder
        super().__init__(supported_entities=[entity], name=name, context=context)

    def load(self) -> None:  # nothing to load: the finder is plain Python
        pass

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        entity = self.supported_entities[0]
        if entities and entity not in entities:
            return []
        return [
            RecognizerResult(
                entity_type=entity,
                start=match.start,
                end=match.end,
                score=match.score,
                analysis_explanation=AnalysisExplanation(
                    recognizer=self.name, original_score=match.score, textual_explanation=match.why
                ),
            )
            for match in self.finder(text)
        ]


# tldextract's module-level extractor fetches the Public Suffix List over the network on first use.
# This one never does: no URLs and no disk cache, so it reads the snapshot bundled with the package.
_OFFLINE_TLDS = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's e-mail recogniser, validating the domain against tldextract's bundled snapshot."""

    def validate_result(self, pattern_text: str) -> bool:
        return _OFFLINE_TLDS(pattern_text).fqdn != ""


def build_recognisers(common_words: frozenset[str] = frozenset()) -> list[EntityRecognizer]:
    """Every recogniser the redactor uses besides spaCy's PERSON entities, in a fixed order.

    ``common_words``: ordinary English words, which keep capitalised phrases from being taken for names.
    """
    return [
        OfflineEmailRecognizer(),
        UrlRecognizer(),
        # GB as the default region still parses "+48 ..." and other international numbers.
        PhoneRecognizer(supported_regions=("GB",)),
        FinderRecognizer("PHONE", find_uk_phone_numbers, "UkPhoneRecognizer"),
        FinderRecognizer("POSTCODE", find_postcodes, "UkPostcodeRecognizer"),
        FinderRecognizer("NHS_NUMBER", find_nhs_numbers, "NhsNumberRecognizer", context=["nhs", "health"]),
        FinderRecognizer("DATE_OF_BIRTH", find_dates_of_birth, "DateOfBirthRecognizer"),
        FinderRecognizer("ADDRESS", find_addresses, "StreetAddressRecognizer"),
        FinderRecognizer("SCHOOL", find_schools, "SchoolNameRecognizer"),
        FinderRecognizer("PERSON", find_names_in_context, "NameInContextRecognizer"),
        ProperNounRecognizer(common_words),
    ]
