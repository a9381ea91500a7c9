"""Rules a set of themes must pass before anyone reads it: no near-duplicates, enough respondents.

Pure functions over :class:`ThemeFound`, segment vectors and respondent ids, so they can be
tested without a topic model. Rules apply within one question (themes with the same
``question_number``; ``None`` is the across-all-questions run): a theme about question 6 and one
across all questions may share segments on purpose.

1. Themes mapped to the same framework code are merged: one code, one theme per question.
2. Then, repeatedly, the closest pair is merged while any pair has centroid cosine >=
   ``max_centroid_cosine`` (0.9) or segment-set Jaccard >= ``max_jaccard`` (0.7).
3. A theme supported by fewer than max(``min_respondents``, ``min_respondent_share`` of the
   question's respondents) distinct respondents is flagged "too few respondents: N", never
   dropped: a rare view can matter, and reviewers decide.

A merge keeps the "better" theme's label, code and representative sentence: a theme mapped to a
code beats an emerging one, then the one with more segments, then the lower key. Every merge is
written into the kept theme's ``flags`` and into the returned :class:`QualityReport`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from coproduce.pipeline.base import ThemeFound

SegmentKey = tuple[int, int]
MAX_KEYWORDS = 10
TOO_FEW = "too few respondents"


@dataclass(frozen=True)
class QualitySettings:
    max_centroid_cosine: float = 0.9
    max_jaccard: float = 0.7
    min_respondents: int = 3
    min_respondent_share: float = 0.005  # of the respondents who answered the question


@dataclass(frozen=True)
class ThemeMerge:
    kept: str  # theme key
    absorbed: str
    reason: str


@dataclass
class QualityReport:
    themes: list[ThemeFound]
    merges: list[ThemeMerge] = field(default_factory=list)
    flagged: dict[str, list[str]] = field(default_factory=dict)  # theme key -> flags added by the rules


def unit_mean(rows: np.ndarray) -> np.ndarray:
    """Unit-length mean of the rows, each first scaled to unit length: the direction a theme points in."""
    rows = np.asarray(rows, dtype=np.float64)
    rows = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
    mean = rows.mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


def centroid(segments: Sequence[SegmentKey], vector_of: Mapping[SegmentKey, np.ndarray]) -> np.ndarray:
    return unit_mean(np.vstack([vector_of[s] for s in segments]))


def jaccard(a: Sequence[SegmentKey], b: Sequence[SegmentKey]) -> float:
    sa, sb = set(a), set(b)
    union = len(sa | sb)
    return len(sa & sb) / union if union else 0.0


def min_respondents_needed(group_respondents: int, settings: QualitySettings) -> int:
    return max(settings.min_respondents, math.ceil(settings.min_respondent_share * group_respondents))


def clean_themes(
    themes: Sequence[ThemeFound],
    vector_of: Mapping[SegmentKey, np.ndarray],
    respondent_of: Mapping[SegmentKey, int],
    group_respondents: Mapping[int | None, int] | None = None,
    settings: QualitySettings | None = None,
) -> QualityReport:
    """Apply the rules to each question's themes; the input themes are not modified.

    ``group_respondents`` gives the number of respondents in each question (everyone who answered
    it, not only those in a theme); when a question is missing, the respondents found in its
    themes are counted instead.
    """
    settings = settings or QualitySettings()
    report = QualityReport(themes=[])
    by_question: dict[int | None, list[ThemeFound]] = {}
    for theme in themes:
        by_question.setdefault(theme.question_number, []).append(replace(theme, flags=list(theme.flags)))
    for question, group in by_question.items():
        group = _merge_same_code(group, report)
        group = _merge_close(group, vector_of, settings, report)
        known = (group_respondents or {}).get(question)
        if known is None:
            known = len({respondent_of[s] for t in group for s in t.segments})
        needed = min_respondents_needed(known, settings)
        for theme in group:
            count = len({respondent_of[s] for s in theme.segments})
            if count < needed:
                note = f"{TOO_FEW}: {count} (needs {needed})"
                theme.flags.append(note)
                report.flagged.setdefault(theme.key, []).append(note)
        report.themes.extend(group)
    return report


def _better(a: ThemeFound, b: ThemeFound) -> tuple[ThemeFound, ThemeFound]:
    """(kept, absorbed): a code beats no code, then more segments, then the lower key."""

    def rank(t: ThemeFound) -> tuple[int, int, str]:
        return (0 if t.code else 1, -len(t.segments), t.key)

    return (a, b) if rank(a) <= rank(b) else (b, a)


def _merge(a: ThemeFound, b: ThemeFound, reason: str, report: QualityReport) -> ThemeFound:
    kept, absorbed = _better(a, b)
    note = f"merged {absorbed.key} ({reason})"
    if absorbed.code and absorbed.code != kept.code:
        note += f"; its code {absorbed.code} was dropped"
    keywords = list(dict.fromkeys([*kept.keywords, *absorbed.keywords]))[:MAX_KEYWORDS]
    report.merges.append(ThemeMerge(kept=kept.key, absorbed=absorbed.key, reason=reason))
    report.flagged.setdefault(kept.key, []).append(note)
    return replace(
        kept,
        segments=sorted(set(kept.segments) | set(absorbed.segments)),
        keywords=keywords,
        flags=[*kept.flags, *absorbed.flags, note],
    )


def _merge_same_code(group: list[ThemeFound], report: QualityReport) -> list[ThemeFound]:
    out: list[ThemeFound] = []
    by_code: dict[str, int] = {}  # code -> index in out
    for theme in group:
        if theme.code is None or theme.code not in by_code:
            if theme.code is not None:
                by_code[theme.code] = len(out)
            out.append(theme)
            continue
        index = by_code[theme.code]
        out[index] = _merge(out[index], theme, f"same code {theme.code}", report)
    return out


def _merge_close(
    group: list[ThemeFound],
    vector_of: Mapping[SegmentKey, np.ndarray],
    settings: QualitySettings,
    report: QualityReport,
) -> list[ThemeFound]:
    position = {t.key: i for i, t in enumerate(group)}  # keep the caller's (deterministic) order
    while len(group) > 1:
        centres = np.vstack([centroid(t.segments, vector_of) for t in group])
        cosines = centres @ centres.T
        sets = [set(t.segments) for t in group]
        best: tuple[float, float, int, int] | None = None  # the closest qualifying pair
        for i in range(len(group)):
            for j in range(i + 1, len(group)):
                cos = float(cosines[i, j])
                shared = len(sets[i] & sets[j])
                jac = shared / (len(sets[i]) + len(sets[j]) - shared) if shared else 0.0
                if (cos >= settings.max_centroid_cosine or jac >= settings.max_jaccard) and (
                    best is None or (cos, jac) > best[:2]
                ):
                    best = (cos, jac, i, j)
        if best is None:
            break
        cos, jac, i, j = best
        reason = (
            f"centroid cosine {cos:.2f}"
            if cos >= settings.max_centroid_cosine
            else f"segment overlap Jaccard {jac:.2f}"
        )
        merged = _merge(group[i], group[j], reason, report)
        group = sorted([t for k, t in enumerate(group) if k not in (i, j)] + [merged], key=lambda t: position[t.key])
    return group
