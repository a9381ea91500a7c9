"""Which survey column holds what: a mapping the user can read, edit and keep as YAML.

A mapping is guessed from a file (``coproduce.importers.survey.guess_mapping``), saved,
corrected by a person where the guess was wrong, and then used for every later export of the
same survey. Columns are named by their header text, with the spreadsheet letter as a check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from coproduce.errors import BadInputError
from coproduce.guarded_yaml import load_guarded
from coproduce.importers.tabular import column_letter, normalise_header

DIALECTS = ("citizen_space", "surveymonkey", "microsoft_forms", "google_forms", "qualtrics", "generic")
KINDS = ("open_question", "closed_question", "respondent_attribute", "respondent_id", "ignore")
QUESTION_KINDS = ("open_question", "closed_question")
KNOWN_ATTRIBUTES = (
    "respondent_type",
    "age",
    "age_band",
    "setting",
    "communication_method",
    "recorded_by",
    "area",
    "consent_to_quote",
)

_YAML_HEADER = """\
# Column mapping for a survey export: which column holds what.
# Edit the `kind` of any column the guess got wrong, then import again with this file.
#   kind: open_question        free-text answer to framework question `question`
#   kind: closed_question      tick-box answer (agree/disagree, yes/no ...) to question `question`
#   kind: respondent_attribute something about the respondent; `attribute` is one of
#                              respondent_type, age, age_band, setting, communication_method,
#                              recorded_by, area, consent_to_quote, or any other name you choose
#   kind: respondent_id        the export's id for each response (at most one column)
#   kind: ignore               not imported. Names, email and IP addresses and locations are
#                              always ignored, whatever this file says.
# `column` is the spreadsheet letter and `header` the column's name (header rows joined by " / ").
"""


@dataclass
class ColumnRule:
    index: int  # 0-based; written to YAML as a spreadsheet letter
    header: str
    kind: str = "ignore"
    question_number: int | None = None
    attribute: str | None = None

    @property
    def letter(self) -> str:
        return column_letter(self.index)


@dataclass
class ColumnMapping:
    dialect: str
    header_rows: int
    columns: list[ColumnRule] = field(default_factory=list)
    source: str = "column mapping"  # the YAML file it came from, for error messages

    def to_yaml(self) -> str:
        entries = []
        for rule in self.columns:
            entry: dict[str, Any] = {"column": rule.letter, "header": rule.header, "kind": rule.kind}
            if rule.question_number is not None:
                entry["question"] = rule.question_number
            if rule.attribute is not None:
                entry["attribute"] = rule.attribute
            entries.append(entry)
        body = {"dialect": self.dialect, "header_rows": self.header_rows, "columns": entries}
        return _YAML_HEADER + yaml.safe_dump(body, sort_keys=False, allow_unicode=True, width=1000)

    @classmethod
    def from_yaml(cls, text_or_path: str | Path) -> ColumnMapping:
        """Read a mapping from YAML text, or from a file when given a ``Path`` (or a .yaml file name)."""
        source = "column mapping"
        if isinstance(text_or_path, Path) or _looks_like_yaml_file(text_or_path):
            path = Path(text_or_path)
            source = str(path)
            try:
                text = path.read_text(encoding="utf-8-sig")
            except OSError as exc:
                raise BadInputError(
                    f"cannot read the mapping file ({exc.strerror})",
                    file=source,
                    hint="Check the mapping file's name and folder",
                ) from exc
        else:
            text = str(text_or_path)
        return _parse(text, source)

    def rules_of_kind(self, *kinds: str) -> list[ColumnRule]:
        return [rule for rule in self.columns if rule.kind in kinds]


def column_index(letter: str) -> int:
    """0-based index of a spreadsheet column letter: A -> 0, AA -> 26."""
    index = 0
    for ch in letter.upper():
        index = index * 26 + (ord(ch) - 64)
    return index - 1


def _looks_like_yaml_file(text: str) -> bool:
    return "\n" not in text and text.strip().lower().endswith((".yaml", ".yml"))


def _parse(text: str, source: str) -> ColumnMapping:
    try:
        data = load_guarded(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None)
        raise BadInputError(
            f"not valid YAML{f' at line {line}' if line else ''}{f' ({problem})' if problem else ''}",
            file=source,
            row=line,
            hint="Check the indentation and quotes near that line",
        ) from exc
    if not isinstance(data, dict):
        raise BadInputError("a mapping must have dialect, header_rows and columns", file=source)
    _no_unknown_keys(data, {"dialect", "header_rows", "columns"}, source, "top level")
    dialect = data.get("dialect", "generic")
    if dialect not in DIALECTS:
        raise BadInputError(
            f"unknown dialect {dialect!r}",
            file=source,
            field="dialect",
            hint=f"Use one of: {', '.join(DIALECTS)}",
        )
    header_rows = data.get("header_rows", 1)
    if not isinstance(header_rows, int) or isinstance(header_rows, bool) or not 1 <= header_rows <= 5:
        raise BadInputError(
            f"header_rows must be a whole number from 1 to 5, not {header_rows!r}",
            file=source,
            field="header_rows",
        )
    entries = data.get("columns")
    if not isinstance(entries, list) or not entries:
        raise BadInputError(
            "the mapping lists no columns",
            file=source,
            field="columns",
            hint="List each column under `columns:`",
        )
    rules = [_rule(entry, position, source) for position, entry in enumerate(entries, start=1)]
    _check_rules(rules, source)
    return ColumnMapping(dialect=dialect, header_rows=header_rows, columns=rules, source=source)


def _rule(entry: object, position: int, source: str) -> ColumnRule:
    where = f"columns entry {position}"
    if not isinstance(entry, dict):
        raise BadInputError("each column entry must be a set of key: value lines", file=source, field=where)
    where = f"columns entry {position} ({entry.get('header', '?')!r})"
    _no_unknown_keys(entry, {"column", "header", "kind", "question", "attribute"}, source, where)
    letter, header, kind = entry.get("column"), entry.get("header"), entry.get("kind", "ignore")
    if not isinstance(letter, str) or not re.fullmatch(r"[A-Za-z]{1,3}", letter):
        raise BadInputError(f"column must be a spreadsheet letter such as C, not {letter!r}", file=source, field=where)
    if not isinstance(header, str) or not header.strip():
        raise BadInputError("header must be the column's name as the file shows it", file=source, field=where)
    if kind not in KINDS:
        raise BadInputError(f"unknown kind {kind!r}", file=source, field=where, hint=f"Use one of: {', '.join(KINDS)}")
    question = entry.get("question")
    if kind in QUESTION_KINDS:
        if not isinstance(question, int) or isinstance(question, bool) or question < 1:
            raise BadInputError(
                f"a {kind} column needs `question:` with the framework question number",
                file=source,
                field=where,
            )
    elif question is not None:
        raise BadInputError(
            f"only question columns take a question number, but this one is {kind}", file=source, field=where
        )
    attribute = entry.get("attribute")
    if kind == "respondent_attribute":
        if not isinstance(attribute, str) or not attribute.strip():
            raise BadInputError(
                "a respondent_attribute column needs `attribute:`",
                file=source,
                field=where,
                hint=f"Use one of {', '.join(KNOWN_ATTRIBUTES)}, or a name of your own",
            )
        attribute = attribute.strip()
    elif attribute is not None:
        raise BadInputError(
            f"only respondent_attribute columns take an attribute, but this one is {kind}",
            file=source,
            field=where,
        )
    return ColumnRule(column_index(letter), header.strip(), kind, question, attribute)


def _check_rules(rules: list[ColumnRule], source: str) -> None:
    seen: dict[int, ColumnRule] = {}
    for rule in rules:
        if rule.index in seen:
            raise BadInputError(
                f"column {rule.letter} is listed twice ({seen[rule.index].header!r} and {rule.header!r})",
                file=source,
                field=f"column {rule.letter}",
            )
        seen[rule.index] = rule
    ids = [rule for rule in rules if rule.kind == "respondent_id"]
    if len(ids) > 1:
        raise BadInputError(
            f"{len(ids)} columns are marked respondent_id; at most one may be",
            file=source,
            field=", ".join(repr(rule.header) for rule in ids),
            hint="Mark the others as ignore",
        )
    attributes: dict[str, ColumnRule] = {}
    for rule in rules:
        if rule.kind == "respondent_attribute" and rule.attribute is not None:
            if rule.attribute in attributes:
                raise BadInputError(
                    f"two columns give the attribute {rule.attribute!r}: "
                    f"{attributes[rule.attribute].header!r} and {rule.header!r}",
                    file=source,
                    field=rule.attribute,
                    hint="Give one of them another attribute name, or mark it ignore",
                )
            attributes[rule.attribute] = rule


def _no_unknown_keys(entry: dict[Any, Any], allowed: set[str], source: str, where: str) -> None:
    unknown = sorted(str(key) for key in entry if key not in allowed)
    if unknown:
        raise BadInputError(
            f"unknown key {unknown[0]!r} in {where}",
            file=source,
            field=where,
            hint=f"Allowed keys: {', '.join(sorted(allowed))}",
        )


def same_header(a: str, b: str) -> bool:
    return normalise_header(a) == normalise_header(b)
