"""The easy-read summary, for children and young people: short sentences, one idea per line.

Built from the same :class:`~coproduce.reports.data.ReportData` as the full report, in the words of
:mod:`coproduce.services.easy_read` (the web UI's easy-read pages use the same wording): at most 15
words a sentence, numbers as "12 out of 40 people", no technical words.
"""

from __future__ import annotations

from dataclasses import dataclass

from coproduce.reports.data import FindingView, QuestionView, ReportData
from coproduce.services.easy_read import MAX_WORDS, easy_read_sentences, out_of, people

TOP_PER_QUESTION = 3
YOUNG = ("child", "young_person")


@dataclass(frozen=True)
class Section:
    heading: str
    lines: list[str]


def _short(text: str, limit: int) -> str:
    words = text.split()
    return " ".join(words) if len(words) <= limit else " ".join(words[:limit]) + "…"


def _majority(finding: FindingView) -> str:
    majority = finding.split.majority
    if majority is None or majority.group == "other":
        return ""
    return "Most of them agreed with the idea." if majority.group == "for" else "Most of them disagreed with the idea."


def _question(q: QuestionView) -> Section | None:
    if not q.answered:
        return None
    lines = [f"We asked: {_sentence(q.text)}"] if len(q.text.split()) <= MAX_WORDS - 2 else []
    lines += easy_read_sentences(
        "question_summary", q.summary_figures, "", question_number=q.number, options=[o for o, _ in q.scale]
    )
    for finding in q.findings[:TOP_PER_QUESTION]:
        if finding.total.respondents:
            lines.append(f"{out_of(finding.total.respondents, q.answered)} talked about: {_short(finding.title, 8)}.")
            if line := _majority(finding):
                lines.append(line)
    return Section(f"Question {q.number}", lines)


def _sentence(text: str) -> str:
    text = " ".join(text.split())
    return text if text.endswith(("?", ".", "!")) else text + "."


def easy_read(data: ReportData) -> list[Section]:
    """The summary as sections of short lines."""
    young = sum(data.by_type.get(k, 0) for k in YOUNG)
    intro = [
        f"This is about: {_short(data.project_name, 10)}.",
        "We asked people what they think.",
        f"{people(data.respondents)} told us.",
    ]
    if young:
        intro.append(f"{young} of them were children or young people.")
    intro += ["A panel checked what we found.", "The panel had parent carers, young people and professionals."]
    sections = [Section("About this summary", intro)]
    sections += [s for s in (_question(q) for q in data.questions) if s is not None]

    counts = data.status_counts()
    checked = [
        f"The panel looked at {sum(counts.values())} things we found.",
        f"The panel agreed {counts.get('signed_off', 0)} of them.",
    ]
    dissent = sum(1 for f in data.all_findings() if f.signoff.dissents)
    if dissent:
        checked += [f"Some people on the panel did not agree with {dissent} of them.", "We wrote down why."]
    sections.append(Section("What the panel did", checked))

    done = [f for f in data.all_findings() if f.you_said_we_did.strip()]
    if done:
        lines: list[str] = []
        for finding in done:
            lines.append(f"You said: {_short(finding.title, 8) or 'something important'}.")
            lines.append(f"We did: {_sentence(finding.you_said_we_did)}")
        sections.append(Section("You said, we did", lines))
    sections.append(
        Section("Thank you", ["Thank you for telling us what you think.", "It helps us make things better."])
    )
    return sections
