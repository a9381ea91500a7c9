"""Recognise which survey tool wrote an export, and what its standard columns are.

Each tool lays out its export differently (SurveyMonkey two header rows, Qualtrics three),
and each adds metadata columns. Some of those hold personal data (names, email and IP
addresses, locations): those are recognised here so they are never imported.
"""

from __future__ import annotations

import re
from pathlib import Path

from coproduce.config import Settings
from coproduce.importers.tabular import guess_header_rows, normalise_header, read_rows
from coproduce.importers.values import simple_key

HEADER_ROWS = {"surveymonkey": 2, "qualtrics": 3}

QUALTRICS_METADATA = (
    "StartDate",
    "EndDate",
    "Status",
    "IPAddress",
    "Progress",
    "Duration (in seconds)",
    "Finished",
    "RecordedDate",
    "ResponseId",
    "RecipientLastName",
    "RecipientFirstName",
    "RecipientEmail",
    "ExternalReference",
    "LocationLatitude",
    "LocationLongitude",
    "DistributionChannel",
    "UserLanguage",
)
_CITIZEN_SPACE_MARKERS = {"submitted on", "response submitted", "date submitted", "response reference"}

# Matched against a header with spaces and punctuation removed ("E-mail address" -> "emailaddress").
_PERSONAL_DATA = re.compile(
    r"""^(?:
        ip|ipaddress|
        e?mail|emailaddress|youremail\w*|whatisyouremail\w*|recipientemail|
        name|firstname|lastname|surname|forename|fullname|yourname\w*|whatisyourname\w*|respondentname|
        recipient(?:first|last)?name|recipient\w*|
        latitude|longitude|locationlatitude|locationlongitude|location|
        \w*phone\w*|mobile\w*|postcode|zipcode|\w*address|contactdetails\w*|
        externalreference|externaldatareference
    )$""",
    re.VERBOSE,
)
_RESPONDENT_ID = {
    "id",
    "responseid",
    "respondentid",
    "responsenumber",
    "respondentnumber",
    "submissionid",
    "recordid",
    "responsereference",
}
# Checked in order; only short headers are tested, so a long question that mentions
# "local authority" is never taken for the respondent's area.
_ATTRIBUTE_PATTERNS: tuple[tuple[str, str], ...] = (
    (
        "respondent_type",
        r"responding as|respondent type|type of respondent|^i am an?\b|^are you an?\b|best describes? you|"
        r"in what capacity|capacity are you|^who are you|^your role|^role$",
    ),
    ("consent_to_quote", r"\bquot|\bconsent|permission to (?:use|publish)"),
    ("age_band", r"\bage (?:band|group|range)\b"),
    ("age", r"^(?:your )?age\b|^how old|^what is your age"),
    ("area", r"\barea\b|\bregion\b|local authority|council|where do you live|county|borough"),
    ("setting", r"^setting$|school type|type of (?:school|setting)|education setting|kind of school"),
)
_ATTRIBUTE_MAX_WORDS = 15


def detect_dialect(path: Path, settings: Settings | None = None) -> str:
    """Which tool exported ``path``: citizen_space, surveymonkey, microsoft_forms, google_forms,
    qualtrics, or generic."""
    rows = read_rows(Path(path), settings or Settings())
    return dialect_of_rows([row.cells for row in rows[:3]])


def dialect_of_rows(first_rows: list[list[str]]) -> str:
    if not first_rows:
        return "generic"
    top = [normalise_header(cell) for cell in first_rows[0]]
    compact = {simple_key(cell).replace(" ", "") for cell in first_rows[0]}
    if guess_header_rows(first_rows) == 3 or {"startdate", "enddate", "responseid"} <= compact:
        return "qualtrics"
    if {"respondent id", "collector id"} <= set(top) or guess_header_rows(first_rows) == 2:
        return "surveymonkey"
    if top[:3] == ["id", "start time", "completion time"]:
        return "microsoft_forms"
    if top and top[0] == "timestamp":
        return "google_forms"
    if "response id" in top and _CITIZEN_SPACE_MARKERS & set(top):
        return "citizen_space"
    return "generic"


def header_rows_for(dialect: str) -> int:
    return HEADER_ROWS.get(dialect, 1)


def is_personal_data(header: str) -> bool:
    """True for columns we never import: names, email and IP addresses, phones, locations."""
    compact = simple_key(header).replace(" ", "")
    return bool(compact) and bool(_PERSONAL_DATA.match(compact))


def is_respondent_id(header: str) -> bool:
    return simple_key(header).replace(" ", "") in _RESPONDENT_ID


def attribute_for(header: str) -> str | None:
    """The respondent attribute a short header names ("Are you responding as..." -> respondent_type)."""
    key = simple_key(header)
    if not key or len(key.split()) > _ATTRIBUTE_MAX_WORDS:
        return None
    for attribute, pattern in _ATTRIBUTE_PATTERNS:
        if re.search(pattern, key):
            return attribute
    return None


def is_tool_metadata(header: str) -> bool:
    """The JSON import ids in a Qualtrics third header row say nothing about the question."""
    return header.startswith('{"ImportId"')
