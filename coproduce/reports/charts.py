"""Report charts: horizontal bar charts drawn by matplotlib (Agg, no display, no network).

Every chart comes with its text alternative (every figure in words) and the data table printed
beside it, so a chart is never the only way to read a number. Bars carry their own value labels
and every series has its own hatching as well as its colour. Fonts are matplotlib's bundled
DejaVu Sans: nothing is fetched.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib

from coproduce.reports.data import ReportData

matplotlib.use("Agg")

from matplotlib import pyplot as plt

# GOV.UK blue, dark grey, purple, green: at least 3:1 against white; hatching is the second signal.
COLOURS = ("#1d70b8", "#505a5f", "#4c2c92", "#00703c")
HATCHES = ("", "//", "..", "xx")
MAX_LABEL = 48
DPI = 150


@dataclass(frozen=True)
class Chart:
    title: str
    alt: str  # the text alternative: every figure in words
    categories: list[str]
    series: list[tuple[str, list[int]]]
    totals: list[int]
    png: bytes
    category_name: str = "Answer"

    @property
    def rows(self) -> list[tuple[str, list[int]]]:
        """The data table: one row per category, one value per series."""
        return [(c, [values[i] for _, values in self.series]) for i, c in enumerate(self.categories)]


def value_label(value: int, total: int) -> str:
    return f"{value} of {total} ({round(100 * value / total)}%)" if total else str(value)


def describe(
    title: str, categories: Sequence[str], series: Sequence[tuple[str, Sequence[int]]], totals: Sequence[int]
) -> str:
    parts = [f"Bar chart: {title}."]
    for (name, values), total in zip(series, totals, strict=True):
        figures = "; ".join(f"{c}: {value_label(int(v), total)}" for c, v in zip(categories, values, strict=True))
        parts.append(f"{name}: {figures}." if figures else f"{name}: none.")
    return " ".join(parts)


def _clip(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1].rstrip() + "…"


def bar_chart(
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    totals: Sequence[int] | None = None,
    category_name: str = "Answer",
) -> Chart:
    """A horizontal bar chart, one group of bars per category. ``totals`` default to each series' sum."""
    if not series:
        raise ValueError("a chart needs at least one series")
    for name, values in series:
        if len(values) != len(categories):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(categories)} categories")
    sums = list(totals) if totals is not None else [sum(int(v) for v in values) for _, values in series]
    n, k = len(categories), len(series)
    height = 0.6 + 0.32 * max(n, 1) * k + (0.35 if k > 1 else 0)
    fig, ax = plt.subplots(figsize=(7.2, max(height, 1.4)), dpi=DPI)
    try:
        bar = 0.8 / k
        peak = max((int(v) for _, values in series for v in values), default=0) or 1
        for s, (name, values) in enumerate(series):
            ys = [i + (s - (k - 1) / 2) * bar for i in range(n)]
            bars = ax.barh(
                ys,
                [int(v) for v in values],
                height=bar * 0.92,
                color=COLOURS[s % len(COLOURS)],
                hatch=HATCHES[s % len(HATCHES)],
                edgecolor="white" if s else COLOURS[0],
                linewidth=0,
                label=name,
            )
            for rect, v in zip(bars, values, strict=True):
                ax.text(
                    rect.get_width() + peak * 0.01,
                    rect.get_y() + rect.get_height() / 2,
                    value_label(int(v), sums[s]),
                    va="center",
                    fontsize=7.5,
                    color="#0b0c0c",
                )
        ax.set_yticks(range(n), [_clip(c) for c in categories], fontsize=8)
        ax.invert_yaxis()
        ax.set_xlim(0, peak * 1.45)
        ax.set_xlabel("Respondents", fontsize=8)
        ax.tick_params(axis="x", labelsize=7.5)
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        if k > 1:
            ax.legend(fontsize=7.5, frameon=False, loc="lower right")
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    finally:
        plt.close(fig)
    return Chart(
        title=title,
        alt=describe(title, categories, series, sums),
        categories=list(categories),
        series=[(name, [int(v) for v in values]) for name, values in series],
        totals=sums,
        png=buffer.getvalue(),
        category_name=category_name,
    )


TOP_CODES = 10


def report_charts(data: ReportData) -> dict[str, Chart]:
    """The charts one report shows, by name: ``respondents``, ``q<n>:scale`` and ``q<n>:codes``."""
    from coproduce.importers.base import RESPONDENT_TYPES

    charts: dict[str, Chart] = {}
    if data.by_type:
        kinds = list(data.by_type)
        charts["respondents"] = bar_chart(
            "Respondents by type",
            [RESPONDENT_TYPES.get(k, k) for k in kinds],
            [("Respondents", [data.by_type[k] for k in kinds])],
            totals=[data.respondents],
            category_name="Respondent type",
        )
    for q in data.questions:
        if q.scale and sum(c for _, c in q.scale):
            series = [("All respondents", [c for _, c in q.scale])]
            totals = [sum(c for _, c in q.scale)]
            without = [c for _, c in q.scale_without_campaigns]
            if without != series[0][1] and len(without) == len(q.scale):
                series.append(("Without campaign responses", without))
                totals.append(sum(without))
            charts[f"q{q.number}:scale"] = bar_chart(
                f"Question {q.number}: answers given", [o for o, _ in q.scale], series, totals
            )
        top = q.findings[:TOP_CODES]
        if top:
            charts[f"q{q.number}:codes"] = bar_chart(
                f"Question {q.number}: what respondents raised (top {len(top)} codes)",
                [f.title for f in top],
                [("Respondents", [f.total.respondents for f in top])],
                totals=[q.answered],
                category_name="Point raised",
            )
    return charts
