"""Bar-chart geometry for server-rendered SVG charts (``templates/_charts.html`` draws it).

Horizontal bars, one group per category (e.g. a scale answer) and one bar per series (e.g. all
respondents, and respondents outside campaign groups). Every bar carries its own label ("2 of 4,
50%") and every series its own fill pattern, so neither the colour nor the bar length is the only
way to read a figure; a page shows the same figures as a table beside the chart. Pure Python, so
reports can draw the same charts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Fill:
    colour: str  # at least 3:1 against white (WCAG 1.4.11) and against each other's patterns
    pattern: str  # solid | hatch | dots: a second signal beside the colour


# GOV.UK blue 5.2:1, dark grey 7.0:1, purple 8.9:1, green 5.1:1 on white.
PALETTE: tuple[Fill, ...] = (
    Fill("#1d70b8", "solid"),
    Fill("#505a5f", "hatch"),
    Fill("#4c2c92", "dots"),
    Fill("#00703c", "hatch"),
)

FONT_SIZE = 16
LABEL_HEIGHT = 24  # the category label's line above its bars
BAR_HEIGHT = 24
BAR_GAP = 6
GROUP_GAP = 18
VALUE_SPACE = 130  # at least this much room right of the longest bar for its "12 of 40 (30%)" label
CHAR_WIDTH = 9  # a generous average at 16px, to keep labels inside the chart
LEGEND_HEIGHT = 32
SWATCH = 18
MAX_LABEL_CHARS = 70


@dataclass(frozen=True)
class Bar:
    category: str
    series: str
    series_index: int
    value: int
    total: int
    x: float
    y: float
    width: float
    height: float
    label: str  # "2 of 4 (50%)", followed by the series name when there is more than one
    label_x: float
    label_y: float


@dataclass(frozen=True)
class Text:
    text: str
    x: float
    y: float


@dataclass(frozen=True)
class LegendItem:
    name: str
    series_index: int
    fill: Fill
    x: float
    y: float
    text: Text


@dataclass(frozen=True)
class BarChart:
    title: str
    description: str  # every figure in words: the chart's text alternative
    width: int
    height: int
    bars: tuple[Bar, ...]
    labels: tuple[Text, ...]
    legend: tuple[LegendItem, ...]  # empty for a single series: the title names it

    def fill(self, series_index: int) -> Fill:
        return PALETTE[series_index % len(PALETTE)]


def value_label(value: int, total: int) -> str:
    if not total:
        return str(value)
    return f"{value} of {total} ({round(100 * value / total)}%)"


def _clip(text: str) -> str:
    return text if len(text) <= MAX_LABEL_CHARS else text[: MAX_LABEL_CHARS - 1].rstrip() + "…"


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    totals: Sequence[int] | None = None,
    width: int = 640,
) -> BarChart:
    """Lay out one bar per (category, series). ``totals`` (one per series) defaults to each series' sum."""
    if not series:
        raise ValueError("a chart needs at least one series")
    for name, values in series:
        if len(values) != len(categories):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(categories)} categories")
        if any(v < 0 for v in values):
            raise ValueError(f"series {name!r} has a negative value")
    sums = list(totals) if totals is not None else [sum(values) for _, values in series]
    if len(sums) != len(series):
        raise ValueError("give one total per series")
    peak = max((v for _, values in series for v in values), default=0)
    many = len(series) > 1

    def label(value: int, s: int) -> str:  # direct labels name the series too, so the legend is not needed to read them
        text = value_label(value, sums[s])
        return f"{text}, {series[s][0]}" if many else text

    longest = max((len(label(v, s)) for s, (_, values) in enumerate(series) for v in values), default=0)
    room = max(width - max(VALUE_SPACE, CHAR_WIDTH * longest + 12), width // 3)

    legend: list[LegendItem] = []
    y = 0.0
    if many:
        x = 0.0
        for i, (name, _) in enumerate(series):
            fill = PALETTE[i % len(PALETTE)]
            text = Text(name, x + SWATCH + 8, (LEGEND_HEIGHT + FONT_SIZE) / 2 - 3)
            legend.append(LegendItem(name, i, fill, x, (LEGEND_HEIGHT - SWATCH) / 2, text))
            x += SWATCH + 8 + CHAR_WIDTH * len(name) + 24
        y = LEGEND_HEIGHT + 4

    bars: list[Bar] = []
    labels: list[Text] = []
    for c, category in enumerate(categories):
        labels.append(Text(_clip(category), 0, y + FONT_SIZE))
        y += LABEL_HEIGHT
        for s, (name, values) in enumerate(series):
            value = int(values[c])
            length = round(room * value / peak, 2) if peak else 0.0
            bars.append(
                Bar(
                    category=category,
                    series=name,
                    series_index=s,
                    value=value,
                    total=sums[s],
                    x=0.0,
                    y=y,
                    width=length,
                    height=BAR_HEIGHT,
                    label=label(value, s),
                    label_x=length + 6,
                    label_y=y + (BAR_HEIGHT + FONT_SIZE) / 2 - 3,
                )
            )
            y += BAR_HEIGHT + BAR_GAP
        y += GROUP_GAP - BAR_GAP
    return BarChart(
        title=title,
        description=describe(categories, series, sums),
        width=width,
        height=max(int(y), 1),
        bars=tuple(bars),
        labels=tuple(labels),
        legend=tuple(legend),
    )


def describe(categories: Sequence[str], series: Sequence[tuple[str, Sequence[int]]], totals: Sequence[int]) -> str:
    """Every figure in one sentence per series, e.g. "All respondents: Agree 2 of 4 (50%), Disagree 1 of 4 (25%)."."""
    parts = []
    for (name, values), whole in zip(series, totals, strict=True):
        figures = ", ".join(
            f"{category} {value_label(int(v), whole)}" for category, v in zip(categories, values, strict=True)
        )
        parts.append(f"{name}: {figures}." if figures else f"{name}: no answers.")
    return " ".join(parts)
