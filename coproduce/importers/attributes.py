"""Put one cell's value onto a respondent, as the named attribute.

Survey, voice and family imports all describe respondents with the same attributes, so the
same words in a cell give the same respondent whatever the file.
"""

from __future__ import annotations

from pathlib import Path

from coproduce.errors import BadInputError
from coproduce.importers.base import COMMUNICATION_METHODS, ImportedRespondent
from coproduce.importers.values import age_of, communication_method_of, consent_of, respondent_type_of


def apply_attribute(
    respondent: ImportedRespondent, name: str, value: str, *, path: Path, row: int, column: str
) -> None:
    """Set attribute ``name`` from ``value`` (a non-empty cell at ``row``/``column`` of ``path``)."""
    value = value.strip()
    if not value:
        return
    if name == "respondent_type":
        found = respondent_type_of(value)
        if found is None:
            found = "other"
            respondent.attributes["respondent_type_as_written"] = value
        respondent.respondent_type = found
    elif name == "age":
        age = age_of(value)
        if age is None:
            # "Prefer not to say" or "11-15": keep what was written rather than lose it.
            if any(ch.isdigit() for ch in value) and respondent.age_band is None:
                respondent.age_band = value
            else:
                respondent.attributes["age_as_written"] = value
        else:
            respondent.age = age
    elif name == "communication_method":
        respondent.communication_method = communication_method_key(value, path=path, row=row, column=column)
    elif name == "consent_to_quote":
        consent = consent_of(value)
        if consent is None:
            respondent.attributes["consent_to_quote_as_written"] = value
        respondent.consent_to_quote = consent
    elif name in ("age_band", "setting", "recorded_by", "area"):
        setattr(respondent, name, value)
    else:
        respondent.attributes[name] = value


def communication_method_key(value: str, *, path: Path, row: int, column: str) -> str:
    """The COMMUNICATION_METHODS key for ``value``; an unknown method stops the import."""
    method = communication_method_of(value)
    if method is None:
        allowed = "; ".join(COMMUNICATION_METHODS.values())
        raise BadInputError(
            f"{value!r} is not a communication method we know",
            file=path,
            row=row,
            field=column,
            hint=f"Use one of: {allowed}",
        )
    return method
