"""Family feedback: comments from parent carers collected by forums, services and events.

Each record is one comment, optionally about a framework question (by number or wording) and
optionally from a known respondent; comments with the same respondent id belong to one family.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from coproduce.config import Settings
from coproduce.frameworks.model import FrameworkSpec
from coproduce.importers.attributes import apply_attribute
from coproduce.importers.base import ImportedRespondent, ImportedResponse, ImportResult, Rejection
from coproduce.importers.questions import match_question
from coproduce.importers.records import (
    RECORD_SUFFIXES,
    add_respondent,
    field_value,
    find_columns,
    other_attributes,
    read_records,
)
from coproduce.importers.values import has_words
from coproduce.importers.voice import CONSENT_NAMES, QUESTION_NAMES

DEFAULT_RESPONDENT_TYPE = "parent_carer"

FAMILY_COLUMNS: dict[str, tuple[str, ...]] = {
    "text": (
        "text",
        "feedback",
        "comment",
        "comments",
        "response",
        "your feedback",
        "what you told us",
        "message",
    ),
    "question": QUESTION_NAMES,
    "respondent_id": (
        "respondent id",
        "respondent",
        "family id",
        "family",
        "id",
        "reference",
        "ref",
        "pseudonym",
    ),
    "respondent_type": ("respondent type", "type", "i am a", "relationship", "relationship to child"),
    "consent": CONSENT_NAMES,
    "area": ("area", "local authority area", "local authority", "region"),
}


@dataclass
class FamilyFeedbackImporter:
    settings: Settings = field(default_factory=Settings)
    name: str = "family"
    suffixes: tuple[str, ...] = RECORD_SUFFIXES

    def read(self, path: Path, framework: FrameworkSpec) -> ImportResult:
        source = read_records(Path(path), self.settings)
        columns = find_columns(source, FAMILY_COLUMNS, required=("text",))
        result = ImportResult(importer=self.name)
        respondents: dict[str, ImportedRespondent] = {}
        for record in source.records:
            text = field_value(record, columns, "text")
            if not has_words(text):
                result.rejected.append(Rejection(record.location, "no words in the feedback", text))
                continue
            external_id = field_value(record, columns, "respondent_id")
            respondent = ImportedRespondent(
                key=external_id or record.location.replace(" ", "-"),
                respondent_type=DEFAULT_RESPONDENT_TYPE,
                external_id=external_id or None,
            )
            for name, attribute in (
                ("respondent_type", "respondent_type"),
                ("consent", "consent_to_quote"),
                ("area", "area"),
            ):
                value = field_value(record, columns, name)
                if value:
                    apply_attribute(
                        respondent,
                        attribute,
                        value,
                        path=source.path,
                        row=record.number,
                        column=columns[name],
                    )
            respondent.attributes.update(other_attributes(record, set(columns.values())))
            add_respondent(result, respondents, respondent)
            question_text = field_value(record, columns, "question")
            question = match_question(question_text, framework) if question_text else None
            result.responses.append(ImportedResponse(respondent.key, question, text=text, location=record.location))
        return result


FamilyImporter = FamilyFeedbackImporter  # the shorter name, as the importer is called "family"
