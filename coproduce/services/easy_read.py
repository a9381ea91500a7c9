"""Easy-read wording for a finding: short sentences in plain words, one idea per line.

Built from a finding's stored figures (see ``coproduce.pipeline.findings``) so the web UI's easy-read
pages and the reports' easy-read summary say the same thing. Rules followed (after the UK government's
easy read guidance): at most 15 words a sentence; numbers as digits and as "12 out of 40 people",
never percentages alone; no technical words such as respondent, stance or segment. Each line carries
the name of an icon the page shows beside it (always with the text: the icon is never the only signal).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from coproduce.services import figures as fig

MAX_WORDS = 15
MAX_TOPIC_WORDS = 9

# Respondent type -> (one, many) in plain words.
TYPE_WORDS: dict[str, tuple[str, str]] = {
    "parent_carer": ("parent carer", "parent carers"),
    "child": ("child", "children"),
    "young_person": ("young person", "young people"),
    "professional": ("professional", "professionals"),
    "parent_carer_forum": ("parent carer group", "parent carer groups"),
    "organisation": ("organisation", "organisations"),
    "local_authority": ("council", "councils"),
    "school_or_setting": ("school or nursery", "schools or nurseries"),
    "health_or_care": ("health or care service", "health or care services"),
    "other": ("other person", "other people"),
    "unknown": ("person who did not say who they are", "people who did not say who they are"),
}

# Stance -> (icon, what the people "did", to follow "3 out of 5 of them ...").
STANCE_WORDS: dict[str, tuple[str, str]] = {
    "support": ("agree", "agreed with the idea"),
    "agree": ("agree", "agreed with the idea"),
    "oppose": ("disagree", "disagreed with the idea"),
    "disagree": ("disagree", "disagreed with the idea"),
    "concern": ("worry", "said something is wrong or worrying"),
    "recommend": ("idea", "said what should happen"),
    "experience": ("story", "told us what happened to them"),
}
OTHER_STANCE = ("other", "said something else")

# Words the easy-read text must never use: the tests hold every sentence to this list.
JARGON = ("respondent", "stance", "segment", "campaign", "finding", "percent", "%", "cohort", "n=")


@dataclass(frozen=True)
class Line:
    icon: str  # topic | people | group | agree | disagree | worry | idea | story | other | answer | copies
    text: str


def people(count: int) -> str:
    return "1 person" if count == 1 else f"{count} people"


def out_of(part: int, whole: int, one: str = "person", many: str = "people") -> str:
    """ "12 out of 40 people"; the noun agrees with the whole."""
    return f"{part} out of {whole} {one if whole == 1 else many}"


def _clip(text: str, limit: int = MAX_TOPIC_WORDS) -> str:
    words = text.split()
    return text.strip() if len(words) <= limit else " ".join(words[:limit]) + "…"


def a_person(kind: str) -> str:
    """ "a parent carer", "an organisation": one person of a respondent type, for "... said:"."""
    one = _type_words(kind)[0]
    return f"{'an' if one[:1].lower() in 'aeiou' else 'a'} {one}"


def _type_words(kind: str) -> tuple[str, str]:
    return TYPE_WORDS.get(kind, (kind.replace("_", " "), kind.replace("_", " ")))


def easy_read_lines(
    kind: str,
    figures: Mapping[str, Any],
    topic: str,
    *,
    question_number: int | None = None,
    options: Sequence[str] = (),
) -> list[Line]:
    """The easy-read lines for one finding. ``topic`` is what it is about (a code, theme or standard label);
    ``options`` orders a closed question's answers."""
    if kind == "question_summary":
        return _summary_lines(figures, question_number, options)
    lines = [Line("topic", f"This is about: {_clip(topic)}.")]
    if kind == "standard":
        lines.append(Line("topic", "This is one of the national standards for services."))
    elif question_number is not None:
        lines.append(Line("topic", f"People said this when they answered question {question_number}."))
    total = fig.total(figures)
    if total.base:
        lines.append(Line("people", f"{out_of(total.respondents, total.base)} talked about this."))
    else:
        lines.append(Line("people", f"{people(total.respondents)} talked about this."))
    for group, count in fig.by_type(figures).items():
        one, many = _type_words(group)
        if count.base:
            lines.append(Line("group", f"{out_of(count.respondents, count.base, one, many)} talked about this."))
        else:
            lines.append(
                Line("group", f"{count.respondents} {one if count.respondents == 1 else many} talked about this.")
            )
    stance = {k: int(v) for k, v in (figures.get("stance") or {}).items() if v}
    for key, count in sorted(stance.items(), key=lambda kv: -kv[1]):
        icon, did = STANCE_WORDS.get(key, OTHER_STANCE)
        lines.append(Line(icon, f"{count} out of {total.respondents} of them {did}."))
    without = fig.without_campaigns(figures)
    if without.respondents != total.respondents or without.base != total.base:
        lines.append(Line("copies", "Some people sent in the same words as each other."))
        lines.append(
            Line("copies", f"Leaving them out, {out_of(without.respondents, without.base)} talked about this.")
        )
    return lines


def _summary_lines(figures: Mapping[str, Any], question_number: int | None, options: Sequence[str]) -> list[Line]:
    where = f"question {question_number}" if question_number is not None else "this question"
    answered = int(figures.get("respondents", 0))
    lines = [
        Line("topic", f"This is about the answers to {where}."),
        Line("people", f"{people(answered)} answered it."),
    ]
    scale = fig.ordered_scale(options, {str(k): int(v) for k, v in (figures.get("scale") or {}).items()})
    chose = sum(count for _, count in scale)
    for answer, count in scale:
        lines.append(Line("answer", f"{out_of(count, chose)} chose “{_clip(answer, 6)}”."))
    ranked = sorted(scale, key=lambda item: -item[1])
    if len(ranked) > 1 and ranked[0][1] > ranked[1][1]:
        lines.append(Line("answer", f"Most people chose “{_clip(ranked[0][0], 6)}”."))
    without = figures.get("without_campaigns")
    if isinstance(without, int) and without != answered:
        lines.append(Line("copies", "Some people sent in the same words as each other."))
        lines.append(Line("copies", f"Leaving them out, {people(without)} answered."))
    return lines


def easy_read_sentences(
    kind: str,
    figures: Mapping[str, Any],
    topic: str,
    *,
    question_number: int | None = None,
    options: Sequence[str] = (),
) -> list[str]:
    """The same as :func:`easy_read_lines`, text only (for reports)."""
    return [
        line.text for line in easy_read_lines(kind, figures, topic, question_number=question_number, options=options)
    ]


def stance_icon(stance: str) -> str:
    return STANCE_WORDS.get(stance, OTHER_STANCE)[0]
