"""Findings from coded segments: per question and code, per standard, and per emerging theme.

Every figure is a count of respondents (not of sentences), given overall, by respondent type,
and without the respondents in campaign groups; with the stance split (who recommended, raised
a concern, supported or opposed) and consented, redacted quotes picked by the quote picker.
Pure data in and out: the analysis service supplies the effective codes (model suggestions
with every human decision applied) and stores the result.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from coproduce.frameworks.model import FrameworkSpec
from coproduce.pipeline.base import QuoteCandidate, QuotePicker, ResponseText, SegmentText, ThemeFound

QUOTES_PER_FINDING = 3
Key = tuple[int, int]


@dataclass
class FindingData:
    key: str  # stable across runs: "q6:code:MED", "standard:S6", "theme:q6:<label>", "q6:summary"
    kind: str  # question_summary | question_code | standard | emerging_theme
    statement: str
    question_number: int | None = None
    standard: str | None = None
    code: str | None = None
    theme_key: str | None = None
    segments: list[Key] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass
class FindingInput:
    framework: FrameworkSpec
    responses: Sequence[ResponseText]
    segments: Sequence[SegmentText]
    vectors: np.ndarray
    codes: dict[Key, set[str]]  # effective codes per segment
    stances: dict[Key, str]
    themes: Sequence[ThemeFound]
    campaign_respondents: set[int]


class _Index:
    """Lookups shared by every finding."""

    def __init__(self, data: FindingInput):
        self.data = data
        self.response = {r.response_id: r for r in data.responses}
        self.row = {s.key: i for i, s in enumerate(data.segments)}
        self.segment = {s.key: s for s in data.segments}
        self.respondent_type = {r.respondent_id: r.respondent_type for r in data.responses}
        self.answered: dict[int | None, set[int]] = defaultdict(set)
        for r in data.responses:
            if (r.text or "").strip() or r.scale_answer:
                self.answered[r.question_number].add(r.respondent_id)

    def respondent(self, key: Key) -> int:
        return self.response[key[0]].respondent_id

    def question(self, key: Key) -> int | None:
        return self.response[key[0]].question_number


def build_findings(data: FindingInput, quote_picker: QuotePicker) -> list[FindingData]:
    index = _Index(data)
    findings: list[FindingData] = []
    labels = {c.id: c.label for c in data.framework.codes}
    questions = sorted({r.question_number for r in data.responses if r.question_number is not None})
    for number in questions:
        findings.append(_question_summary(index, number))
        by_code: dict[str, list[Key]] = defaultdict(list)
        for key, codes in data.codes.items():
            if index.question(key) == number:
                for code in codes:
                    by_code[code].append(key)
        for code in sorted(by_code, key=lambda c: (-len({index.respondent(k) for k in by_code[c]}), c)):
            keys = sorted(by_code[code])
            figures = _figures(index, keys, index.answered[number], quote_picker)
            findings.append(
                FindingData(
                    key=f"q{number}:code:{code}",
                    kind="question_code",
                    statement=_statement(figures, f"“{labels.get(code, code)}”", f"question {number}"),
                    question_number=number,
                    code=code,
                    segments=keys,
                    figures=figures,
                )
            )
    everyone = {r.respondent_id for r in data.responses}
    for standard in data.framework.standards:
        linked = {c.id for c in data.framework.codes if standard.id in c.standards}
        keys = sorted(k for k, codes in data.codes.items() if codes & linked)
        if not keys:
            continue
        figures = _figures(index, keys, everyone, quote_picker)
        figures["codes"] = {
            code: len({index.respondent(k) for k in keys if code in data.codes[k]}) for code in sorted(linked)
        }
        findings.append(
            FindingData(
                key=f"standard:{standard.id}",
                kind="standard",
                statement=_statement(figures, f"the standard “{standard.label}”", "any question"),
                standard=standard.id,
                segments=keys,
                figures=figures,
            )
        )
    for theme in data.themes:
        if theme.code is not None or not theme.segments:
            continue
        base = index.answered[theme.question_number] if theme.question_number is not None else everyone
        figures = _figures(index, sorted(theme.segments), base, quote_picker)
        figures.update(keywords=theme.keywords, flags=theme.flags, representative=theme.representative)
        where = f"question {theme.question_number}" if theme.question_number is not None else "any question"
        findings.append(
            FindingData(
                key=f"theme:{theme.key}",
                kind="emerging_theme",
                statement=_statement(figures, f"an emerging theme, “{theme.label}”", where),
                question_number=theme.question_number,
                theme_key=theme.key,
                segments=sorted(theme.segments),
                figures=figures,
            )
        )
    return findings


def _question_summary(index: _Index, number: int) -> FindingData:
    return question_summary(index.data.responses, number, index.data.campaign_respondents)


def question_summary(responses: Sequence[ResponseText], number: int, campaign: set[int]) -> FindingData:
    """How many answered question ``number``, by respondent type and scale answer; also used to recount
    the summary after a respondent is erased."""
    answered = {
        r.respondent_id for r in responses if r.question_number == number and ((r.text or "").strip() or r.scale_answer)
    }
    respondent_type = {r.respondent_id: r.respondent_type for r in responses}
    scale = Counter(r.scale_answer for r in responses if r.question_number == number and r.scale_answer)
    scale_without = Counter(
        r.scale_answer
        for r in responses
        if r.question_number == number and r.scale_answer and r.respondent_id not in campaign
    )
    figures = {
        "respondents": len(answered),
        "by_type": dict(Counter(respondent_type[r] for r in answered)),
        "without_campaigns": len(answered - campaign),
        "scale": dict(scale),
        "scale_without_campaigns": dict(scale_without),
    }
    statement = f"{len(answered)} respondent(s) answered question {number}."
    if scale:
        top, count = scale.most_common(1)[0]
        statement += f" The most common answer was “{top}” ({count} of {sum(scale.values())})."
    return FindingData(f"q{number}:summary", "question_summary", statement, question_number=number, figures=figures)


def _figures(index: _Index, keys: Sequence[Key], base: set[int], picker: QuotePicker) -> dict[str, Any]:
    data = index.data
    stance_respondents: dict[str, set[int]] = defaultdict(set)
    for k in keys:
        if k in data.stances:
            stance_respondents[data.stances[k]].add(index.respondent(k))
    figures = respondent_figures(
        {index.respondent(k) for k in keys},
        base,
        index.respondent_type,
        data.campaign_respondents,
        stance_respondents,
        segments=len(keys),
    )
    figures["quotes"] = _quotes(index, keys, picker)
    return figures


def respondent_figures(
    respondents: set[int],
    base: set[int],
    type_of: Mapping[int, str],
    campaign: set[int],
    stance_respondents: Mapping[str, set[int]],
    *,
    segments: int,
) -> dict[str, Any]:
    """A finding's counts: respondents of ``base`` who raised it, overall, by respondent type, without
    campaign respondents, and by stance. Shared by the analysis and by recounts after review."""
    base_types = Counter(type_of[r] for r in base if r in type_of)
    by_type = {
        kind: {"respondents": count, "base": base_types[kind], "share": _share(count, base_types[kind])}
        for kind, count in sorted(Counter(type_of[r] for r in respondents).items())
    }
    stance = {s: len(r) for s, r in sorted(stance_respondents.items(), key=lambda kv: -len(kv[1]))}
    return {
        "respondents": len(respondents),
        "base": len(base),
        "share": _share(len(respondents), len(base)),
        "segments": segments,
        "by_type": by_type,
        "without_campaigns": {
            "respondents": len(respondents - campaign),
            "base": len(base - campaign),
            "share": _share(len(respondents - campaign), len(base - campaign)),
        },
        "stance": stance,
    }


def _quotes(index: _Index, keys: Sequence[Key], picker: QuotePicker) -> list[dict[str, Any]]:
    if not keys:
        return []
    rows = [index.row[k] for k in keys]
    vectors = index.data.vectors[rows]
    centre = vectors.mean(axis=0)
    norm = float(np.linalg.norm(centre))
    centre = centre / norm if norm else centre
    candidates = [
        QuoteCandidate(
            segment=k,
            text=index.segment[k].text,
            respondent_id=index.respondent(k),
            respondent_type=index.response[k[0]].respondent_type,
            consent_to_quote=index.response[k[0]].consent_to_quote,
        )
        for k in keys
    ]
    picked = picker.pick(candidates, vectors, centre, QUOTES_PER_FINDING)
    return [
        {"segment": list(q.segment), "text": q.text, "respondent_type": q.respondent_type, "score": round(q.score, 4)}
        for q in picked.items
    ]


def _share(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0


def _statement(figures: dict[str, Any], what: str, where: str) -> str:
    n, base = figures["respondents"], figures["base"]
    text = f"{n} of {base} respondents ({figures['share']:.0%}) raised {what} in answer to {where}."
    stance = figures["stance"]
    if stance:
        parts = [f"{count} {_STANCE_WORDS.get(s, s)}" for s, count in stance.items()]
        text += " Of them: " + "; ".join(parts) + "."
    without = figures["without_campaigns"]
    if without["respondents"] != n:
        text += f" Without campaign responses: {without['respondents']} of {without['base']}."
    return text


finding_statement = _statement  # public: services.findings rewrites statements after human recoding
_STANCE_WORDS = {
    "recommend": "made recommendations",
    "concern": "raised concerns",
    "experience": "described experiences",
    "support": "supported the proposal",
    "oppose": "opposed the proposal",
}


def effective_codes(
    suggestions: Iterable[tuple[Key, str]], accepted: Iterable[tuple[Key, str]], rejected: Iterable[tuple[Key, str]]
) -> dict[Key, set[str]]:
    """Model suggestions with human decisions applied: accepted codes added, rejected ones removed."""
    rejected_set = set(rejected)
    out: dict[Key, set[str]] = defaultdict(set)
    for key, code in suggestions:
        if (key, code) not in rejected_set:
            out[key].add(code)
    for key, code in accepted:
        out[key].add(code)
    return {k: v for k, v in out.items() if v}
