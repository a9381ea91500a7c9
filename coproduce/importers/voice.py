"""Children's and young people's own words, as recorded by the adults who work with them.

One record per contribution: a pseudonym (never a real name), the words, and how they were
shared (spoken, written, symbols/AAC, a drawing described by an adult, or an adult's
paraphrase), so a finding can say whose voice it carries and how directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from coproduce.config import Settings
from coproduce.errors import BadInputError
from coproduce.frameworks.model import FrameworkSpec
from coproduce.importers.attributes import apply_attribute, communication_method_key
from coproduce.importers.base import ImportedRespondent, ImportedResponse, ImportResult, Rejection
from coproduce.importers.questions import match_question
from coproduce.importers.records import (
    RECORD_SUFFIXES,
    Record,
    RecordFile,
    add_respondent,
    field_value,
    find_columns,
    other_attributes,
    read_records,
)
from coproduce.importers.values import age_of, has_words, respondent_type_for_age

CONSENT_NAMES = (
    "consent",
    "consent to quote",
    "consent to be quoted",
    "can we quote",
    "may we quote",
    "ok to quote",
    "quote ok",
)
QUESTION_NAMES = ("question", "question number", "question no", "q", "question text")

VOICE_COLUMNS: dict[str, tuple[str, ...]] = {
    "pseudonym": (
        "pseudonym",
        "child pseudonym",
        "child",
        "child id",
        "participant",
        "participant id",
        "alias",
    ),
    "text": (
        "text",
        "words",
        "their words",
        "what they said",
        "views",
        "view",
        "comment",
        "response",
        "quote",
    ),
    "age": ("age", "age years", "age in years"),
    "age_band": ("age band", "age group", "age range"),
    "setting": ("setting", "school or setting", "education setting", "school", "placement"),
    "communication_method": ("communication method", "method", "communication", "how shared", "how recorded"),
    "recorded_by": ("recorded by", "recorder", "collected by", "practitioner", "staff member", "adult"),
    "consent": CONSENT_NAMES,
    "question": QUESTION_NAMES,
    "respondent_type": ("respondent type", "type"),
}


@dataclass
class VoiceImporter:
    settings: Settings = field(default_factory=Settings)
    name: str = "voice"
    suffixes: tuple[str, ...] = RECORD_SUFFIXES

    def read(self, path: Path, framework: FrameworkSpec) -> ImportResult:
        source = read_records(Path(path), self.settings)
        columns = find_columns(source, VOICE_COLUMNS, required=("pseudonym", "text"))
        result = ImportResult(importer=self.name)
        respondents: dict[str, ImportedRespondent] = {}
        for record in source.records:
            pseudonym = field_value(record, columns, "pseudonym")
            text = field_value(record, columns, "text")
            if not has_words(text):
                result.rejected.append(Rejection(record.location, "no words in the text", text))
                continue
            if not pseudonym:
                reason = "no pseudonym, so the words cannot be kept with their author"
                result.rejected.append(Rejection(record.location, reason, text))
                continue
            add_respondent(result, respondents, _respondent(source, record, columns, pseudonym))
            question_text = field_value(record, columns, "question")
            question = match_question(question_text, framework) if question_text else None
            result.responses.append(ImportedResponse(pseudonym, question, text=text, location=record.location))
        return result


def _respondent(source: RecordFile, record: Record, columns: dict[str, str], pseudonym: str) -> ImportedRespondent:
    def value(name: str) -> str:
        return field_value(record, columns, name)

    respondent = ImportedRespondent(key=pseudonym, external_id=pseudonym)
    if value("age"):
        respondent.age = age_of(value("age"))
        if respondent.age is None:
            raise BadInputError(
                f"the age {value('age')!r} is not a whole number of years",
                file=source.path,
                row=record.number,
                field=columns["age"],
                hint="Write the age in years, such as 9, or put a range such as 5-8 in an age_band column",
            )
    respondent.age_band = value("age_band") or None
    respondent.setting = value("setting") or None
    respondent.recorded_by = value("recorded_by") or None
    if value("communication_method"):
        respondent.communication_method = communication_method_key(
            value("communication_method"),
            path=source.path,
            row=record.number,
            column=columns["communication_method"],
        )
    # An explicit respondent type wins; otherwise the age decides child or young person.
    respondent.respondent_type = respondent_type_for_age(respondent.age, respondent.age_band) or "unknown"
    for name, attribute in (("respondent_type", "respondent_type"), ("consent", "consent_to_quote")):
        if value(name):
            apply_attribute(
                respondent, attribute, value(name), path=source.path, row=record.number, column=columns[name]
            )
    respondent.attributes.update(other_attributes(record, set(columns.values())))
    return respondent
