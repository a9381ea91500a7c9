"""Keep people's theme edits through a re-run of the analysis.

The theme finder knows nothing of what a panel did to its themes: renamed, described, merged, split
or moved segments. On a re-run, model themes nobody edited are replaced; every theme a person
edited or made is kept, and the new run's themes are reconciled with them here, so that an edited
theme is not recreated beside itself, a merged-away theme does not come back, and the findings
speak of the themes as people left them. Pure data in and out; the analysis service stores it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from coproduce.pipeline.base import ThemeFound

Key = tuple[int, int]
# A new theme is taken for a kept one when their segment sets overlap at least this much (Jaccard):
# the theme finder's keys are stable for the same input, but a changed corpus can renumber topics.
SAME_THEME_OVERLAP = 0.5


@dataclass(frozen=True)
class KeptTheme:
    """A theme a person edited (version above 1) or made (origin human), as it is now."""

    id: int
    key: str
    label: str
    question_number: int | None
    code: str | None
    keywords: list[str]
    representative: str
    segments: list[Key]
    absorbed_keys: list[str] = field(default_factory=list)

    @property
    def finding_key(self) -> str:
        """The key its finding is stored under; themes people made have no key of the theme finder's."""
        return self.key or f"human-{self.id}"


@dataclass
class Reconciled:
    new: list[ThemeFound]  # themes of this run to store as new model themes
    kept_ids: dict[str, int]  # theme key (as findings use it) -> id of the kept theme it stands for
    for_findings: list[ThemeFound]  # every theme findings should describe, as people left them
    dropped: list[str] = field(default_factory=list)  # keys of found themes merged away by people


def _jaccard(a: set[Key], b: set[Key]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def reconcile(found: Sequence[ThemeFound], kept: Sequence[KeptTheme]) -> Reconciled:
    absorbed = {k for theme in kept for k in theme.absorbed_keys}
    by_key = {theme.key: theme for theme in kept if theme.key}
    unmatched = list(kept)
    matched: dict[int, KeptTheme] = {}  # index in found -> kept theme
    dropped: list[str] = []
    for index, theme in enumerate(found):
        if theme.key in absorbed:
            dropped.append(theme.key)
            continue
        same = by_key.get(theme.key)
        if same is None:
            segments = set(theme.segments)
            candidates = [
                (round(_jaccard(segments, set(k.segments)), 6), -k.id, k)
                for k in unmatched
                if k.question_number == theme.question_number
            ]
            best = max(candidates, default=None, key=lambda c: c[:2])
            if best is not None and best[0] >= SAME_THEME_OVERLAP:
                same = best[2]
        if same is not None and same in unmatched:
            matched[index] = same
            unmatched.remove(same)
    new = [t for i, t in enumerate(found) if i not in matched and t.key not in absorbed]
    as_left = {id(k): _as_found(k) for k in kept}
    for_findings = [
        as_left[id(matched[i])] if i in matched else t for i, t in enumerate(found) if t.key not in absorbed
    ]
    for_findings += [as_left[id(k)] for k in unmatched]
    kept_ids = {k.finding_key: k.id for k in kept}
    return Reconciled(new=new, kept_ids=kept_ids, for_findings=for_findings, dropped=dropped)


def _as_found(theme: KeptTheme) -> ThemeFound:
    return ThemeFound(
        key=theme.finding_key,
        label=theme.label,
        keywords=list(theme.keywords),
        segments=sorted(theme.segments),
        question_number=theme.question_number,
        code=theme.code,
        representative=theme.representative,
    )
