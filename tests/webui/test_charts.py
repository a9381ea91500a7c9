"""Bar-chart geometry: proportional bars, a label on every bar, a text alternative with every figure."""

from __future__ import annotations

import pytest

from webui.charts import PALETTE, Fill, bar_chart, describe, value_label


def test_bars_are_proportional_to_the_largest_value() -> None:
    chart = bar_chart("Answers", ["Agree", "Disagree", "Unsure"], [("All", [4, 2, 0])], width=600)
    agree, disagree, unsure = chart.bars
    assert agree.width > 0
    assert disagree.width == pytest.approx(agree.width / 2)
    assert unsure.width == 0
    assert agree.x + agree.width + 6 <= chart.width  # the longest bar leaves room for its label
    assert agree.label_x + 9 * len(agree.label) <= chart.width + 1e-6


def test_every_bar_is_labelled_with_n_of_total_and_share() -> None:
    chart = bar_chart("Answers", ["Agree", "Disagree"], [("All", [3, 1])])
    assert [b.label for b in chart.bars] == ["3 of 4 (75%)", "1 of 4 (25%)"]
    assert [label.text for label in chart.labels] == ["Agree", "Disagree"]
    assert chart.legend == ()  # one series: the title names it


def test_two_series_get_a_legend_and_different_patterns() -> None:
    chart = bar_chart(
        "Answers", ["Agree", "Disagree"], [("All respondents", [2, 1]), ("Without campaigns", [1, 1])], totals=[4, 3]
    )
    assert [item.name for item in chart.legend] == ["All respondents", "Without campaigns"]
    assert chart.fill(0).pattern != chart.fill(1).pattern  # not colour alone
    assert [b.label for b in chart.bars] == [
        "2 of 4 (50%), All respondents",
        "1 of 3 (33%), Without campaigns",
        "1 of 4 (25%), All respondents",
        "1 of 3 (33%), Without campaigns",
    ]
    # Bars never overlap and go down the page in order.
    tops = [b.y for b in chart.bars]
    assert tops == sorted(tops)
    assert all(b.y + b.height < after.y for b, after in zip(chart.bars, chart.bars[1:], strict=False))
    assert chart.height >= chart.bars[-1].y + chart.bars[-1].height


def test_the_description_gives_every_figure() -> None:
    chart = bar_chart("Answers", ["Agree", "Disagree"], [("All", [2, 2]), ("Without campaigns", [1, 0])])
    assert chart.description == (
        "All: Agree 2 of 4 (50%), Disagree 2 of 4 (50%). Without campaigns: Agree 1 of 1 (100%), Disagree 0 of 1 (0%)."
    )
    assert describe([], [("All", [])], [0]) == "All: no answers."


def test_all_zero_and_empty_charts() -> None:
    chart = bar_chart("Nothing yet", ["Agree"], [("All", [0])])
    assert chart.bars[0].width == 0
    assert chart.bars[0].label == "0"
    assert bar_chart("Empty", [], [("All", [])]).bars == ()


def test_long_category_labels_are_clipped_in_the_chart_only() -> None:
    long = "An answer " * 20
    chart = bar_chart("Answers", [long], [("All", [1])])
    assert len(chart.labels[0].text) <= 70
    assert chart.labels[0].text.endswith("…")
    assert long.strip() in chart.description or long in chart.description


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one series"):
        bar_chart("x", ["a"], [])
    with pytest.raises(ValueError, match="2 values for 1 categories"):
        bar_chart("x", ["a"], [("All", [1, 2])])
    with pytest.raises(ValueError, match="negative"):
        bar_chart("x", ["a"], [("All", [-1])])
    with pytest.raises(ValueError, match="one total per series"):
        bar_chart("x", ["a"], [("All", [1])], totals=[1, 2])


def test_value_label_without_a_total() -> None:
    assert value_label(3, 0) == "3"
    assert value_label(1, 3) == "1 of 3 (33%)"


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


@pytest.mark.parametrize("fill", PALETTE)
def test_palette_colours_contrast_with_white(fill: Fill) -> None:
    ratio = (1.05) / (_luminance(fill.colour) + 0.05)
    assert ratio >= 4.5, fill  # above the 3:1 non-text minimum, so thin hatching still shows


def test_palette_patterns_differ_between_neighbours() -> None:
    assert len({f.pattern for f in PALETTE[:3]}) == 3
