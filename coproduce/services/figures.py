"""Reading a finding's stored figures: counts, counts without campaigns, respondent types, stance split.

``coproduce.pipeline.findings`` writes the figures; the overview, the easy-read pages and the reports
read them through these helpers, so every screen and report shows the same numbers. Pure functions
over plain dicts: no database, no Flask.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from coproduce.importers.base import RESPONDENT_TYPES

# Stances that take a side on a proposal; every other stance (recommendation, concern, experience...) is "other".
FOR_STANCES = frozenset({"support", "agree"})
AGAINST_STANCES = frozenset({"oppose", "disagree"})
GROUP_LABELS = {"for": "Agree or support", "against": "Disagree or oppose", "other": "Other views"}


@dataclass(frozen=True)
class Count:
    """``respondents`` out of ``base`` (the people who could have said it)."""

    respondents: int
    base: int

    @property
    def share(self) -> float:
        return self.respondents / self.base if self.base else 0.0

    @property
    def percent(self) -> int:
        return round(self.share * 100)


@dataclass(frozen=True)
class StanceGroup:
    group: str  # for | against | other
    label: str
    respondents: int
    stances: tuple[tuple[str, int], ...]  # (stance key, respondents) in this group, largest first


@dataclass(frozen=True)
class StanceSplit:
    """Who agreed, who disagreed, who said something else: the majority group first.

    A person is counted once per stance they took, so one person can appear in two groups.
    """

    groups: tuple[StanceGroup, ...]  # non-empty groups, largest first; ties keep for, against, other

    @property
    def majority(self) -> StanceGroup | None:
        """The largest group, or None when there is no stance or the top two groups tie."""
        if not self.groups:
            return None
        if len(self.groups) > 1 and self.groups[0].respondents == self.groups[1].respondents:
            return None
        return self.groups[0]

    @property
    def minorities(self) -> tuple[StanceGroup, ...]:
        return self.groups[1:] if self.majority else ()

    def of(self, group: str) -> int:
        return next((g.respondents for g in self.groups if g.group == group), 0)


def stance_group(stance: str) -> str:
    if stance in FOR_STANCES:
        return "for"
    if stance in AGAINST_STANCES:
        return "against"
    return "other"


def stance_split(stance: Mapping[str, int]) -> StanceSplit:
    members: dict[str, list[tuple[str, int]]] = {"for": [], "against": [], "other": []}
    for key, count in stance.items():
        if count:
            members[stance_group(key)].append((key, int(count)))
    groups = [
        StanceGroup(name, GROUP_LABELS[name], sum(c for _, c in items), tuple(sorted(items, key=lambda kv: -kv[1])))
        for name, items in members.items()
        if items
    ]
    groups.sort(key=lambda g: -g.respondents)  # stable: ties keep for, against, other
    return StanceSplit(tuple(groups))


def total(figures: Mapping[str, Any]) -> Count:
    """Everyone the finding counts (for a question summary: everyone who answered)."""
    respondents = int(figures.get("respondents", 0))
    return Count(respondents, int(figures.get("base", respondents)))


def without_campaigns(figures: Mapping[str, Any]) -> Count:
    """The same count leaving out respondents in campaign groups."""
    value = figures.get("without_campaigns")
    if isinstance(value, Mapping):
        return Count(int(value.get("respondents", 0)), int(value.get("base", 0)))
    if value is None:
        return total(figures)
    return Count(int(value), int(value))  # question summaries store the number who answered


def by_type(figures: Mapping[str, Any]) -> dict[str, Count]:
    """Counts per respondent type, in the order respondent types are listed everywhere."""
    out: dict[str, Count] = {}
    for kind, value in (figures.get("by_type") or {}).items():
        if isinstance(value, Mapping):
            out[kind] = Count(int(value.get("respondents", 0)), int(value.get("base", 0)))
        else:  # question summaries store the number who answered
            out[kind] = Count(int(value), int(value))
    return dict(sorted(out.items(), key=lambda kv: type_order(kv[0])))


def type_order(kind: str) -> tuple[int, str]:
    known = list(RESPONDENT_TYPES)
    return (known.index(kind), kind) if kind in known else (len(known), kind)


def ordered_types(kinds: Iterable[str]) -> list[str]:
    return sorted(set(kinds), key=type_order)


def ordered_scale(options: Iterable[Any], counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """The question's options in order (zeros included), then any other answers found, most first."""
    ordered = [(str(option), int(counts.get(str(option), 0))) for option in options]
    known = {option for option, _ in ordered}
    ordered += sorted(((a, int(c)) for a, c in counts.items() if a not in known), key=lambda item: (-item[1], item[0]))
    return ordered
