"""Load a coding framework from YAML, with errors that name the file, the entry and the field.

The format (see ``corpus/frameworks/send-green-paper-2022.yaml``)::

    name: ...            version: ...          description: ...
    scales: {agree5: [Strongly agree, ...]}    # named option lists, optional
    questions: [{number, text, answer_type: open|scale|yes-no, scale or options, alternative_wordings, chapter}]
    standards: [{id, label, description}]
    groups: [{id, label, parent, codes: [{id, label, description, examples, standards}]}]
    stances: [{id, label, description}]

A plain codebook (no questions) is a valid framework too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from coproduce.errors import BadInputError
from coproduce.frameworks.model import (
    AGREE_SCALE,
    ANSWER_TYPES,
    YES_NO_SCALE,
    CodeGroupSpec,
    CodeSpec,
    FrameworkSpec,
    QuestionSpec,
    StanceSpec,
    StandardSpec,
)
from coproduce.guarded_yaml import load_guarded

BUILTIN_SCALES: dict[str, tuple[str, ...]] = {"agree5": AGREE_SCALE, "yes-no": YES_NO_SCALE}
# Longest values the database stores (String(n) columns in coproduce.store.models); PostgreSQL refuses
# longer ones at write time, so the loader refuses them first, naming the field. Found by fuzzing.
MAX_NAME_LENGTH = 200
MAX_KEY_LENGTH = 50  # versions, chapters and the ids of standards, groups, codes and stances


class _Reader:
    """Walks the parsed YAML, turning every problem into a BadInputError with its location."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, where: str, message: str, hint: str | None = None) -> BadInputError:
        return BadInputError(message, file=self.path, field=where, hint=hint)

    def mapping(self, value: Any, where: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where, f"expected a mapping of fields, found {type(value).__name__}")
        return value

    def items(self, data: dict[str, Any], key: str, where: str, required: bool = False) -> list[Any]:
        value = data.get(key)
        if value is None:
            if required:
                raise self.fail(f"{where}{key}", "is missing", hint=f"Add a '{key}:' list")
            return []
        if not isinstance(value, list):
            raise self.fail(f"{where}{key}", f"expected a list, found {type(value).__name__}")
        return value

    def text(
        self, data: dict[str, Any], key: str, where: str, required: bool = True, max_length: int | None = None
    ) -> str:
        value = data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise self.fail(f"{where}.{key}", "is missing or empty")
            return ""
        if not isinstance(value, str | int | float):
            raise self.fail(f"{where}.{key}", f"expected text, found {type(value).__name__}")
        text = str(value).strip()
        if max_length is not None and len(text) > max_length:
            raise self.fail(
                f"{where}.{key}",
                f"is {len(text)} characters long, more than the {max_length} allowed",
                hint="Use a shorter value; put longer wording in a label or description",
            )
        return text

    def text_list(self, data: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
        value = data.get(key) or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str | int) for v in value):
            raise self.fail(f"{where}.{key}", "expected a list of text")
        return tuple(str(v).strip() for v in value)


def load_framework(path: str | Path) -> FrameworkSpec:
    path = Path(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadInputError("framework file not found", file=path, hint="Check the path") from None
    except UnicodeDecodeError:
        raise BadInputError("framework file is not UTF-8 text", file=path, hint="Save it as UTF-8") from None
    try:
        data = load_guarded(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        row = mark.line + 1 if mark is not None else None
        raise BadInputError(
            f"not valid YAML ({getattr(exc, 'problem', exc)})", file=path, row=row, hint="Fix the YAML syntax"
        ) from None
    return parse_framework(data, path)


def parse_framework(data: Any, path: Path) -> FrameworkSpec:
    r = _Reader(path)
    data = r.mapping(data, "top level")
    scales = dict(BUILTIN_SCALES)
    for name, options in r.mapping(data.get("scales") or {}, "scales").items():
        if not isinstance(options, list) or not options:
            raise r.fail(f"scales.{name}", "expected a non-empty list of options")
        scales[str(name)] = r.text_list({"options": options}, "options", f"scales.{name}")

    provenance = r.mapping(data.get("provenance") or {}, "provenance")
    standards = _standards(r, data)
    groups, codes = _groups_and_codes(r, data, {s.id for s in standards})
    return FrameworkSpec(
        name=r.text(data, "name", "top level", max_length=MAX_NAME_LENGTH),
        version=r.text(data, "version", "top level", max_length=MAX_KEY_LENGTH),
        description=r.text(data, "description", "top level", required=False),
        questions=_questions(r, data, scales),
        standards=tuple(standards),
        groups=tuple(groups),
        codes=tuple(codes),
        stances=tuple(_stances(r, data)),
        provenance={str(k): r.text(provenance, k, "provenance", required=False) for k in provenance},
    )


def _unique(r: _Reader, seen: set[Any], key: Any, where: str, kind: str) -> None:
    if key in seen:
        raise r.fail(where, f"duplicate {kind} {key!r}", hint=f"Each {kind} must be unique")
    seen.add(key)


def _questions(r: _Reader, data: dict[str, Any], scales: dict[str, tuple[str, ...]]) -> tuple[QuestionSpec, ...]:
    out: list[QuestionSpec] = []
    seen: set[int] = set()
    for i, item in enumerate(r.items(data, "questions", "")):
        where = f"questions[{i}]"
        item = r.mapping(item, where)
        number = item.get("number")
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise r.fail(f"{where}.number", f"expected a whole number from 1, found {number!r}")
        where = f"questions[{i}] (question {number})"
        _unique(r, seen, number, f"{where}.number", "question number")
        answer_type = item.get("answer_type", "open")
        if answer_type not in ANSWER_TYPES:
            raise r.fail(
                f"{where}.answer_type",
                f"unknown answer type {answer_type!r}",
                hint=f"Use {', '.join(ANSWER_TYPES)}",
            )
        options: tuple[str, ...] = ()
        if answer_type != "open":
            if "options" in item:
                options = r.text_list(item, "options", where)
            else:
                scale = item.get("scale", "agree5" if answer_type == "scale" else "yes-no")
                if not isinstance(scale, str) or scale not in scales:
                    raise r.fail(f"{where}.scale", f"unknown scale {scale!r}", hint="Define it under 'scales:'")
                options = scales[scale]
        chapter = r.text(item, "chapter", where, required=False, max_length=MAX_KEY_LENGTH) or None
        out.append(
            QuestionSpec(
                number=number,
                text=r.text(item, "text", where),
                answer_type=answer_type,
                options=options,
                alternative_wordings=r.text_list(item, "alternative_wordings", where),
                chapter=chapter,
            )
        )
    return tuple(sorted(out, key=lambda q: q.number))


def _standards(r: _Reader, data: dict[str, Any]) -> list[StandardSpec]:
    return [StandardSpec(*fields) for fields in _labelled_entries(r, data, "standards", "standard id")]


def _groups_and_codes(
    r: _Reader, data: dict[str, Any], standard_ids: set[str]
) -> tuple[list[CodeGroupSpec], list[CodeSpec]]:
    groups: list[CodeGroupSpec] = []
    codes: list[CodeSpec] = []
    group_ids: set[str] = set()
    code_ids: set[str] = set()
    for gi, item in enumerate(r.items(data, "groups", "", required=True)):
        where = f"groups[{gi}]"
        item = r.mapping(item, where)
        gid = r.text(item, "id", where, max_length=MAX_KEY_LENGTH)
        _unique(r, group_ids, gid, f"{where}.id", "group id")
        where = f"groups[{gi}] ({gid})"
        parent = r.text(item, "parent", where, required=False) or None
        groups.append(CodeGroupSpec(gid, r.text(item, "label", where), parent))
        for ci, code in enumerate(r.items(item, "codes", f"{where}.")):
            cwhere = f"{where}.codes[{ci}]"
            code = r.mapping(code, cwhere)
            cid = r.text(code, "id", cwhere, max_length=MAX_KEY_LENGTH)
            cwhere = f"{where}.codes[{ci}] ({cid})"
            _unique(r, code_ids, cid, f"{cwhere}.id", "code id")
            links = r.text_list(code, "standards", cwhere)
            unknown = [s for s in links if s not in standard_ids]
            if unknown:
                raise r.fail(
                    f"{cwhere}.standards",
                    f"unknown standard {unknown[0]!r}",
                    hint=f"Known standards: {', '.join(sorted(standard_ids)) or 'none defined'}",
                )
            codes.append(
                CodeSpec(
                    id=cid,
                    label=r.text(code, "label", cwhere),
                    group=gid,
                    description=r.text(code, "description", cwhere, required=False),
                    examples=r.text_list(code, "examples", cwhere),
                    standards=links,
                )
            )
    for gi, group in enumerate(groups):
        if group.parent is not None and group.parent not in group_ids:
            raise r.fail(f"groups[{gi}] ({group.id}).parent", f"unknown parent group {group.parent!r}")
    if not codes:
        raise r.fail("groups", "the framework has no codes", hint="Add codes under a group's 'codes:' list")
    return groups, codes


def _stances(r: _Reader, data: dict[str, Any]) -> list[StanceSpec]:
    return [StanceSpec(*fields) for fields in _labelled_entries(r, data, "stances", "stance id")]


def _labelled_entries(r: _Reader, data: dict[str, Any], key: str, kind: str) -> list[tuple[str, str, str]]:
    """(id, label, description) for each entry of a list such as ``standards:`` or ``stances:``."""
    out: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for i, item in enumerate(r.items(data, key, "")):
        where = f"{key}[{i}]"
        item = r.mapping(item, where)
        entry_id = r.text(item, "id", where, max_length=MAX_KEY_LENGTH)
        _unique(r, seen, entry_id, f"{where}.id", kind)
        where = f"{where} ({entry_id})"
        out.append((entry_id, r.text(item, "label", where), r.text(item, "description", where, required=False)))
    return out
