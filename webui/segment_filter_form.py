"""The segment filter form shared by review and search: query-string values <-> ``SegmentFilter``.

Unknown or malformed values are dropped (a filter link that no longer fits the data shows everything
rather than failing), and only known keys survive, so a form's ``return_to`` value can be turned back
into a safe URL of the same page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from coproduce.services.segment_filters import FilterOptions, SegmentFilter

FILTER_KEYS = ("question", "standard", "code", "theme", "respondent_type", "stance", "scale", "flag", "status")
FLAG_CHOICES = {"yes": True, "no": False}


@dataclass(frozen=True)
class FilterForm:
    values: dict[str, str]  # the cleaned query-string values, for the form and for links
    filter: SegmentFilter
    page: int

    def query(self, **extra: object) -> dict[str, object]:
        """Query-string values of this form (page included when past the first), plus ``extra``."""
        values: dict[str, object] = dict(self.values)
        if self.page > 1:
            values["page"] = self.page
        values.update({k: v for k, v in extra.items() if v is not None})
        return values

    def encoded(self) -> str:
        """The values as a query string, for a hidden ``return_to`` field."""
        return urlencode(self.query())


def _int(raw: str | None) -> int | None:
    try:
        return int(raw) if raw not in (None, "") else None
    except ValueError:
        return None


def parse(
    args: Mapping[str, str], options: FilterOptions, *, user_id: int | None = None, extra_keys: tuple[str, ...] = ()
) -> FilterForm:
    """Read the filter fields from ``args``; ``unseen=1`` needs ``user_id``; ``extra_keys`` (e.g. the
    search box) are kept in ``values`` as they are, for the caller to use."""
    values: dict[str, str] = {}
    fields: dict[str, object] = {}

    def keep(key: str, value: object, field: str | None = None) -> None:
        values[key] = str(args.get(key, ""))
        fields[field or key] = value

    question = _int(args.get("question"))
    if question is not None and question in {n for n, _ in options.questions}:
        keep("question", question)
    for key, choices in (
        ("standard", {k for k, _ in options.standards}),
        ("code", {k for k, _ in options.codes}),
        ("respondent_type", set(options.respondent_types)),
        ("stance", {k for k, _ in options.stances}),
        ("status", set(options.statuses)),
    ):
        value = args.get(key) or None
        if value is not None and value in choices:
            keep(key, value)
    theme = _int(args.get("theme"))
    if theme is not None and theme in {i for i, _ in options.themes}:
        keep("theme", theme)
    scale = args.get("scale") or ""
    number, sep, answer = scale.partition(":")
    if sep and answer and (number == "" or (_int(number), answer) in set(options.scale_answers)):
        if number == "" and answer in {a for _, a in options.scale_answers}:
            keep("scale", answer, "scale_answer")
        elif number:
            keep("scale", answer, "scale_answer")
            fields["scale_question"] = _int(number)
    flag = args.get("flag") or ""
    if flag in FLAG_CHOICES:
        keep("flag", FLAG_CHOICES[flag], "flagged")
    if args.get("unseen") == "1" and user_id is not None:
        keep("unseen", user_id, "unseen_by")
    for key in extra_keys:
        if args.get(key):
            values[key] = str(args[key])[:500]
    page = _int(args.get("page")) or 1
    return FilterForm(values=values, filter=SegmentFilter(**fields), page=max(page, 1))  # type: ignore[arg-type]


def parse_return_to(raw: str, options: FilterOptions, *, user_id: int | None, extra_keys: tuple[str, ...] = ()):
    """A ``return_to`` query string back into a form (unknown keys dropped)."""
    return parse(dict(parse_qsl(raw or "", keep_blank_values=False)), options, user_id=user_id, extra_keys=extra_keys)


def option_items(
    choices: list[tuple[object, str]], selected: str | None, *, empty: str = "Any"
) -> list[dict[str, object]]:
    """Items for govukSelect: an empty "Any" choice first, then ``choices`` as (value, text)."""
    items: list[dict[str, object]] = [{"value": "", "text": empty, "selected": not selected}]
    items += [{"value": str(v), "text": t, "selected": str(v) == (selected or "")} for v, t in choices]
    return items


def select_fields(options: FilterOptions, form: FilterForm, labels: Mapping[str, str]) -> list[dict[str, object]]:
    """The filter selects as govukSelect parameter dicts, in the order the form shows them.

    ``labels`` maps respondent-type keys to their names.
    """
    values = form.values
    scale_choices: list[tuple[object, str]] = [(f"{n}:{a}", f"Question {n}: {a}") for n, a in options.scale_answers]
    scale_choices += [(f":{a}", f"Any question: {a}") for a in sorted({a for _, a in options.scale_answers})]
    specs: list[tuple[str, str, list[tuple[object, str]]]] = [
        ("question", "Question", [(n, f"Question {n}") for n, _ in options.questions]),
        ("standard", "Standard", [(k, f"{k}: {label}") for k, label in options.standards]),
        ("code", "Code", [(k, label) for k, label in options.codes]),
        ("theme", "Theme", [(i, label) for i, label in options.themes]),
        ("respondent_type", "Respondent type", [(k, labels.get(k, k)) for k in options.respondent_types]),
        ("stance", "Stance", [(k, label) for k, label in options.stances]),
        ("scale", "Scale answer", scale_choices),
        ("flag", "Safeguarding flag", [("yes", "Flagged"), ("no", "Not flagged")]),
        ("status", "Code status", [(s, s.capitalize()) for s in options.statuses]),
    ]
    return [
        {
            "id": f"filter-{key.replace('_', '-')}",
            "name": key,
            "label": {"text": label},
            "items": option_items(choices, values.get(key)),
            "classes": "app-filter-select",
        }
        for key, label, choices in specs
    ]
