"""What people type in a cell, turned into the values the product knows.

Shared by every importer so "Parent or carer", "parent/carer" and "PARENT" all become
``parent_carer`` whichever file they came from.
"""

from __future__ import annotations

import re

from rapidfuzz import fuzz

from coproduce.importers.base import COMMUNICATION_METHODS, RESPONDENT_TYPES

CHILD_AGE_LIMIT = 13  # under 13: child; 13 to 25: young person
YOUNG_PERSON_AGE_LIMIT = 25

# Checked in order: the first pattern found in the answer wins, so a "parent carer forum"
# is a forum, not a parent, and "on behalf of a local authority" is not just any organisation.
_RESPONDENT_TYPE_PATTERNS: tuple[tuple[str, str], ...] = (
    ("parent_carer_forum", r"forum"),
    ("young_person", r"young carers?"),
    ("parent_carer", r"parents?|carers?|guardians?|mum|mother|dad|father|grandparents?|family|foster"),
    ("local_authority", r"local authority|council|la officer"),
    (
        "professional",
        r"professionals?|practitioners?|teachers?|senco|social workers?|therapists?|"
        r"educational psychologists?|health visitors?|clinicians?",
    ),
    ("school_or_setting", r"schools?|colleges?|nursery|nurseries|academy|academies|early years setting"),
    ("health_or_care", r"health|nhs|care service|care provider|hospital|clinic"),
    ("organisation", r"organi[sz]ations?|charity|charities|on behalf of|business|company"),
    ("young_person", r"young (?:person|people|adult)|students?|teenager|adolescent"),
    ("child", r"child|children|pupils?|kids?"),
    ("unknown", r"prefer not to say|not stated|not given|unknown|rather not say"),
    ("other", r"^other"),
)

_COMMUNICATION_PATTERNS: tuple[tuple[str, str], ...] = (
    ("drawing_described", r"draw|drew|drawn|picture|painting|art ?work"),
    ("symbols_aac", r"symbol|aac|makaton|pecs|communication (?:aid|device|board)|eye ?gaze|talker|widgit"),
    ("adult_paraphrase", r"paraphras|adult[- ]?record|recorded by (?:an )?adult|observ|reported by|summar"),
    ("written", r"writ|wrote|typed|typing|text|email"),
    ("spoken", r"spoke|speak|speech|verbal|said|say|talk|oral|voice"),
)

_YES = {"yes", "y", "true", "1", "agree", "agreed", "consent", "consented", "given", "ok", "okay"}
_NO = {"no", "n", "false", "0", "disagree", "declined", "refused", "not given", "withdrawn"}

_CLOSED_SYNONYMS = {
    "neither": "neither agree nor disagree",
    "neutral": "neither agree nor disagree",
    "neither agree or disagree": "neither agree nor disagree",
    "neither disagree nor agree": "neither agree nor disagree",
    "dont know": "don t know",
    "do not know": "don t know",
    "not sure": "don t know",
    "unsure": "don t know",
    "y": "yes",
    "n": "no",
}


def simple_key(text: str) -> str:
    """Lower case, letters and digits only, single spaces: "Don’t know!" -> "don t know"."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", text.casefold().replace("’", "'")).split())


def has_words(text: str) -> bool:
    """False for cells such as "-", "." or "?" that hold no letters or digits."""
    return any(ch.isalnum() for ch in text)


def respondent_type_of(text: str) -> str | None:
    """The RESPONDENT_TYPES key for what a respondent said they were, or None if not recognised."""
    key = simple_key(text)
    if not key:
        return None
    for type_key, label in RESPONDENT_TYPES.items():
        if key in (simple_key(type_key), simple_key(label)):
            return type_key
    for type_key, pattern in _RESPONDENT_TYPE_PATTERNS:
        if re.search(rf"\b(?:{pattern})\b", key):
            return type_key
    return None


def communication_method_of(text: str) -> str | None:
    """The COMMUNICATION_METHODS key for a loosely written method, or None if not recognised."""
    key = simple_key(text)
    if not key:
        return None
    for method_key, label in COMMUNICATION_METHODS.items():
        if key in (simple_key(method_key), simple_key(label)):
            return method_key
    for method_key, pattern in _COMMUNICATION_PATTERNS:
        if re.search(rf"\b(?:{pattern})", key):
            return method_key
    return None


def consent_of(text: str) -> bool | None:
    """True or False for a clear yes or no; None when the answer does not say (treated as no)."""
    key = simple_key(text)
    if key in _YES or re.match(r"yes\b", key):
        return True
    if key in _NO or re.match(r"no\b", key):
        return False
    return None


def age_of(text: str) -> int | None:
    """A whole age in years from "9", "9.0" or "9 years"; None if the cell is not one."""
    match = re.fullmatch(r"\s*(\d{1,3})(?:\.0+)?\s*(?:years?(?: old)?|yrs?|y/?o)?\s*", text, re.IGNORECASE)
    return int(match.group(1)) if match else None


def respondent_type_for_age(age: int | None, age_band: str | None) -> str | None:
    """ "child" under 13, "young_person" 13 to 25, from an age or else an age band."""
    if age is not None:
        if age < CHILD_AGE_LIMIT:
            return "child"
        return "young_person" if age <= YOUNG_PERSON_AGE_LIMIT else None
    if not age_band:
        return None
    numbers = [int(n) for n in re.findall(r"\d+", age_band)]
    if not numbers:
        return None
    key = simple_key(age_band)
    if key.startswith("under"):
        upper = numbers[0] - 1
        return "child" if upper < CHILD_AGE_LIMIT else None
    lower = min(numbers)
    # A band reaching below 13 (such as 11-14) counts as children: the more protective choice.
    if lower < CHILD_AGE_LIMIT:
        return "child"
    return "young_person" if lower <= YOUNG_PERSON_AGE_LIMIT else None


def closed_answer_of(text: str, options: tuple[str, ...]) -> str | None:
    """The option ``text`` means ("neither" -> "Neither agree nor disagree"), or None."""
    key = simple_key(text)
    if not key or not options:
        return None
    keyed = {simple_key(option): option for option in options}
    key = _CLOSED_SYNONYMS.get(key, key)
    if key in keyed:
        return keyed[key]
    starting = [option for option_key, option in keyed.items() if option_key.startswith(key)]
    if len(key) >= 3 and len(starting) == 1:
        return starting[0]
    scored = sorted(((fuzz.ratio(key, k), option) for k, option in keyed.items()), reverse=True)
    if scored[0][0] >= 90 and (len(scored) == 1 or scored[1][0] < scored[0][0]):
        return scored[0][1]
    return None
