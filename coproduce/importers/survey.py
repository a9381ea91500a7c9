"""Survey exports (Citizen Space, SurveyMonkey, Microsoft Forms, Google Forms, Qualtrics, or any
one-row-per-respondent table) read through a column mapping: one respondent per data row.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from coproduce.config import Settings
from coproduce.errors import BadInputError
from coproduce.frameworks.model import FrameworkSpec
from coproduce.importers.attributes import apply_attribute
from coproduce.importers.base import ImportedRespondent, ImportedResponse, ImportResult, Rejection
from coproduce.importers.dialects import (
    attribute_for,
    dialect_of_rows,
    header_rows_for,
    is_personal_data,
    is_respondent_id,
    is_tool_metadata,
)
from coproduce.importers.mapping import QUESTION_KINDS, ColumnMapping, ColumnRule, same_header
from coproduce.importers.questions import DEFAULT_THRESHOLD, best_wording_match, split_number
from coproduce.importers.tabular import Table, column_letter, normalise_header, read_rows, read_table
from coproduce.importers.values import closed_answer_of, has_words

# A closed column is one where most answers are one of the question's options.
_CLOSED_SHARE = 0.8
_CLOSED_SHARE_IF_SHORT = 0.5
_SHORT_WORDS = 4
# Headers of the free-text box that follows a tick-box question and belongs to it.
_FOLLOW_UP = re.compile(
    r"^(?:please (?:explain|give|tell|say|provide|expand)|give reasons|reasons? for your answer|why\b|"
    r"explain|comments?\b|any (?:other )?comments|tell us (?:more|why)|if (?:you|so|not)\b|"
    r"other \(please specify\))",
    re.IGNORECASE,
)
_SURVEYMONKEY_CLOSED = "response"
_SURVEYMONKEY_OPEN = "open-ended response"


def guess_mapping(path: Path, framework: FrameworkSpec, settings: Settings) -> ColumnMapping:
    """A first mapping of ``path``'s columns, for a person to check and correct as YAML."""
    path = Path(path)
    rows = read_rows(path, settings)
    dialect = dialect_of_rows([row.cells for row in rows[:3]])
    table = read_table(path, settings, header_rows_for(dialect))
    return ColumnMapping(dialect, len(table.header_rows), _guess_columns(table, framework, dialect))


def _guess_columns(table: Table, framework: FrameworkSpec, dialect: str) -> list[ColumnRule]:
    rules: list[ColumnRule] = []
    attributes_used: set[str] = set()
    has_id = False
    last_question: int | None = None
    for index, (name, parts) in enumerate(zip(table.columns, table.column_parts, strict=True)):
        parts = [p for p in dict.fromkeys(parts) if p and not is_tool_metadata(p)]
        rule = ColumnRule(index, name)
        rules.append(rule)
        if not parts or any(is_personal_data(p) for p in parts):
            continue  # never imported, whatever else the column looks like
        if not has_id and any(is_respondent_id(p) for p in parts):
            rule.kind, has_id = "respondent_id", True
            continue
        question = _wording_match(parts, framework)
        attribute = next((a for a in map(attribute_for, parts) if a), None)
        if question is None and attribute is not None:
            attribute = _unused_attribute(attribute, parts, attributes_used)
            if attribute is not None:
                rule.kind, rule.attribute = "respondent_attribute", attribute
                attributes_used.add(attribute)
            continue
        # Qualtrics' short ids (Q1, Q2 ...) count the survey's own questions, not the framework's.
        numbered_parts = parts[1:] if dialect == "qualtrics" else parts
        question = question or _number_or_follow_up(numbered_parts, framework, last_question)
        if question is None:
            continue
        rule.question_number = question
        closed = _looks_closed(table, index, parts, framework, question)
        rule.kind = "closed_question" if closed else "open_question"
        last_question = question
    return rules


def _wording_match(parts: list[str], framework: FrameworkSpec) -> int | None:
    for part in parts:
        rest = split_number(part)[1]
        found = best_wording_match(rest, framework, DEFAULT_THRESHOLD)
        if found is not None and not _FOLLOW_UP.match(rest):
            return found
    return None


def _number_or_follow_up(parts: list[str], framework: FrameworkSpec, last_question: int | None) -> int | None:
    """ "Q6" or "Question 6" by number; "Please explain your answer" belongs to the question before it."""
    numbered = [(number, rest) for number, rest in map(split_number, parts) if number is not None]
    numbered = [(n, rest) for n, rest in numbered if framework.question(n) is not None]
    for number, rest in numbered:
        if _FOLLOW_UP.match(rest):
            return number  # "Q9. Please explain your answer"
    if last_question is not None and any(_FOLLOW_UP.match(split_number(p)[1]) for p in parts):
        return last_question
    return numbered[0][0] if numbered else None


def _looks_closed(table: Table, index: int, parts: list[str], framework: FrameworkSpec, number: int) -> bool:
    subheader = normalise_header(parts[-1]) if len(parts) > 1 else ""
    if subheader == _SURVEYMONKEY_OPEN:
        return False
    values = [row.cells[index] for row in table.rows if row.cells[index]]
    question = framework.question(number)
    if question is not None and question.options and values:
        share = sum(1 for v in values if closed_answer_of(v, question.options) is not None) / len(values)
        # Short answers that are mostly options are tick-boxes with a few odd values ("Somewhat").
        short = sorted(len(v.split()) for v in values)[len(values) // 2] <= _SHORT_WORDS
        if share >= _CLOSED_SHARE or (short and share >= _CLOSED_SHARE_IF_SHORT):
            return True
    # SurveyMonkey labels a tick-box question's column "Response"; trust it when answers are short.
    return (
        subheader == _SURVEYMONKEY_CLOSED and bool(values) and all(len(v.split()) <= _SHORT_WORDS + 2 for v in values)
    )


def _unused_attribute(attribute: str, parts: list[str], used: set[str]) -> str | None:
    if attribute not in used:
        return attribute
    if any("other" in normalise_header(p) for p in parts) and f"{attribute}_other" not in used:
        return f"{attribute}_other"
    return None


@dataclass
class _Bound:
    """A mapping rule tied to the column it found in this particular file."""

    index: int
    rule: ColumnRule


@dataclass
class SurveyImporter:
    mapping: ColumnMapping | None = None
    settings: Settings = field(default_factory=Settings)
    name: str = "survey"
    suffixes: tuple[str, ...] = (".csv", ".xlsx")

    def read(self, path: Path, framework: FrameworkSpec) -> ImportResult:
        path = Path(path)
        mapping = self.mapping or guess_mapping(path, framework, self.settings)
        table = read_table(path, self.settings, mapping.header_rows)
        bound = _bind(mapping, table, framework)
        result = ImportResult(importer=self.name)
        id_rule = next((b for b in bound if b.rule.kind == "respondent_id"), None)
        first_row_of: dict[str, int] = {}
        for row in table.rows:
            location = f"row {row.number}"
            external_id = row.cells[id_rule.index] if id_rule else ""
            if external_id:
                if external_id in first_row_of:
                    raise BadInputError(
                        f"respondent id {external_id!r} is in row {first_row_of[external_id]} "
                        f"and again in row {row.number}",
                        file=path,
                        row=row.number,
                        field=id_rule.rule.header if id_rule else None,
                        hint="Each row must be a different respondent: delete the repeated row or correct its id",
                    )
                first_row_of[external_id] = row.number
            respondent = ImportedRespondent(key=external_id or f"row-{row.number}", external_id=external_id or None)
            for item in bound:
                if item.rule.kind == "respondent_attribute" and item.rule.attribute:
                    apply_attribute(
                        respondent,
                        item.rule.attribute,
                        row.cells[item.index],
                        path=path,
                        row=row.number,
                        column=item.rule.header,
                    )
            responses = _responses(respondent.key, row.cells, row.number, bound, framework, result.rejected)
            if not responses:
                result.rejected.append(Rejection(location, "no answers", external_id))
                continue
            result.respondents.append(respondent)
            result.responses.extend(responses)
        return result


def _responses(
    key: str,
    cells: list[str],
    row_number: int,
    bound: list[_Bound],
    framework: FrameworkSpec,
    rejected: list[Rejection],
) -> list[ImportedResponse]:
    location = f"row {row_number}"
    texts: dict[int, list[str]] = defaultdict(list)
    closed: dict[int, list[str]] = defaultdict(list)
    for item in bound:
        number = item.rule.question_number
        value = cells[item.index]
        if item.rule.kind not in QUESTION_KINDS or number is None or not value:
            continue
        if not has_words(value):
            rejected.append(Rejection(f"{location}, column {column_letter(item.index)}", "answer has no words", value))
            continue
        (texts if item.rule.kind == "open_question" else closed)[number].append(value)
    responses = []
    for number in sorted(set(texts) | set(closed)):
        response = ImportedResponse(key, number, location=location)
        if texts[number]:
            response.text = "\n\n".join(texts[number])
        question = framework.question(number)
        options = question.options if question and question.answer_type in ("scale", "yes-no") else ()
        unrecognised = []
        for value in closed[number]:
            option = closed_answer_of(value, options)
            if option is not None and response.scale_answer is None:
                response.scale_answer = option
            else:
                # Kept as written: a person can still read and count an answer we could not place.
                unrecognised.append(value)
        if unrecognised:
            response.closed_answer = "; ".join(unrecognised)
        responses.append(response)
    return responses


def _bind(mapping: ColumnMapping, table: Table, framework: FrameworkSpec) -> list[_Bound]:
    """Find each mapped column in ``table``, by header text (its letter first, then anywhere)."""
    columns = table.columns
    bound = []
    for rule in mapping.columns:
        if rule.kind == "ignore":
            continue
        if rule.index < len(columns) and same_header(columns[rule.index], rule.header):
            index = rule.index
        else:
            matches = [i for i, name in enumerate(columns) if same_header(name, rule.header)]
            if len(matches) != 1:
                raise BadInputError(
                    f"the mapping's column {rule.letter} {rule.header!r} is not in {table.path.name}",
                    file=mapping.source,
                    field=rule.header,
                    hint="Check that the mapping was made for this survey, or guess a new one from this file "
                    "and edit that",
                )
            index = matches[0]
        header_parts = [p for p in table.column_parts[index] if p]
        if any(is_personal_data(p) for p in header_parts):
            raise BadInputError(
                f"column {column_letter(index)} {rule.header!r} holds personal data and is never imported",
                file=mapping.source,
                field=rule.header,
                hint="Set its kind to ignore",
            )
        if rule.kind in QUESTION_KINDS and framework.question(rule.question_number or 0) is None:
            raise BadInputError(
                f"question {rule.question_number} is not in the framework {framework.name!r}",
                file=mapping.source,
                field=rule.header,
                hint="Use the number of one of the framework's questions, or set the kind to ignore",
            )
        bound.append(_Bound(index, rule))
    return bound
