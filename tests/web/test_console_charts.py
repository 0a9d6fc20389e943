"""The console's SVG charts: well-formed, escaped, readable without the picture, coloured
by classes only (the CSP forbids style attributes), and sensible with no data."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest

from garrison.web.charts import (
    Series,
    TimeSeries,
    legend,
    line_chart,
    milliseconds,
    nice_top,
    percent,
    stacked_bars,
)

SVG = "{http://www.w3.org/2000/svg}"
T0 = datetime(2026, 1, 31, 8, 0, tzinfo=UTC)
SEVERITIES = (Series("4", "Critical", "sev-4"), Series("1", "Low", "sev-1"))


def frame(values: dict[str, list[float | None]], series=SEVERITIES) -> TimeSeries:
    slots = len(next(iter(values.values()))) if values else 0
    return TimeSeries(
        starts=[T0 + timedelta(minutes=i) for i in range(slots)],
        step=timedelta(minutes=1),
        series=series,
        values=values,
    )


def parse(markup: str) -> ET.Element:
    return ET.fromstring(str(markup))


def texts(root: ET.Element, tag: str) -> list[str]:
    return [e.text or "" for e in root.iter(f"{SVG}{tag}")]


def test_bars_stack_by_series_with_a_tooltip_per_slot() -> None:
    chart = stacked_bars(
        frame({"4": [2, 0, 1], "1": [3, 0, 0]}), chart_id="c1", title="Events in the last hour"
    )
    root = parse(chart)
    assert root.tag == f"{SVG}svg" and root.get("role") == "img"
    assert root.get("aria-labelledby") == "c1-title c1-desc"
    desc = root.find(f"{SVG}desc")
    assert desc is not None and desc.get("id") == "c1-desc"
    assert desc.text == (
        "Events in the last hour: 6 events in total (Critical 3; Low 3). "
        "Busiest: 08:00 to 08:01 with 5."
    )
    tooltips = [t for t in texts(root, "title") if "to" in t]
    assert tooltips == [
        "08:00 to 08:01: 5 events (Low 3, Critical 2)",
        "08:01 to 08:02: 0 events",
        "08:02 to 08:03: 1 event (Critical 1)",
    ]
    painted = [r for r in root.iter(f"{SVG}rect") if r.get("class", "").startswith("sev-")]
    assert [r.get("class") for r in painted] == ["sev-4", "sev-1", "sev-4"]
    assert all(r.get("fill") == "currentColor" for r in painted)
    assert "style" not in str(chart)


def test_labels_are_escaped_and_read_back_intact() -> None:
    nasty = Series("x", '<script>alert("x")</script> & co', "sev-4")
    chart = stacked_bars(frame({"x": [1]}, (nasty,)), chart_id="c2", title="<b>Title</b>")
    assert "<script>" not in chart and "<b>" not in chart
    assert "&lt;script&gt;" in chart
    root = parse(chart)
    assert texts(root, "title")[0] == "<b>Title</b>"
    assert nasty.label in root.find(f"{SVG}desc").text  # type: ignore[union-attr]
    swatches = legend([nasty])
    assert "&lt;script&gt;" in swatches and "<script>" not in swatches
    ET.fromstring(str(swatches))


def test_no_data_draws_an_empty_chart_that_says_so() -> None:
    for data in (frame({"4": [], "1": []}), frame({"4": [0, 0], "1": [0, 0]})):
        root = parse(stacked_bars(data, chart_id="e", title="Events", empty="No events here"))
        assert "No events here" in texts(root, "text")
        assert root.find(f"{SVG}desc").text == "Events: no events here."  # type: ignore[union-attr]
    lines = parse(
        line_chart(frame({"4": [None, None], "1": [None, None]}), chart_id="l", title="CPU")
    )
    assert not list(lines.iter(f"{SVG}polyline"))
    assert str(legend([])) == ""


def test_lines_break_where_a_slot_has_no_value() -> None:
    cpu = Series("cpu", "CPU", "series-cpu")
    chart = line_chart(
        frame({"cpu": [10.0, 20.0, None, 30.0, 50.0, None, 5.0]}, (cpu,)),
        chart_id="load",
        title="CPU use",
        fmt=percent,
        y_max=100,
    )
    root = parse(chart)
    polylines = list(root.iter(f"{SVG}polyline"))
    assert len(polylines) == 2 and all(p.get("class") == "series-cpu" for p in polylines)
    assert len(list(root.iter(f"{SVG}circle"))) == 1  # the lone 5%
    assert "100%" in texts(root, "text")  # the scale stops at y_max
    assert root.find(f"{SVG}desc").text == "CPU use: CPU 5% to 50%, average 23%."  # type: ignore[union-attr]
    assert "08:02 to 08:03: no sample" in texts(root, "title")


def test_every_value_needs_its_slot() -> None:
    with pytest.raises(ValueError, match="one value per slot"):
        TimeSeries(starts=[T0], step=timedelta(minutes=1), series=SEVERITIES, values={"4": [1]})


@pytest.mark.parametrize(
    ("largest", "whole", "top"),
    [
        (0, False, 4),
        (2, True, 4),
        (2, False, 2),
        (7, False, 8),
        (95, False, 100),
        (1234, False, 2000),
    ],
)
def test_scales_end_on_round_numbers(largest: float, whole: bool, top: float) -> None:
    assert nice_top(largest, whole=whole) == top


def test_units_read_naturally() -> None:
    assert [percent(v) for v in (0, 2.5, 75)] == ["0%", "2.5%", "75%"]
    assert [milliseconds(v) for v in (1.0, 1.25, 1500)] == ["1 ms", "1.2 ms", "1,500 ms"]
