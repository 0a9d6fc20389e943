"""Charts as inline SVG, drawn on the server: stacked bars or lines over time, by series.

Pure: data in, markup out; no JavaScript, nothing fetched. The Content-Security-Policy
forbids style attributes, so colours come from classes: each series has a CSS class
(``sev-1`` .. ``sev-4``, ``state-reachable``, ``series-cpu``, ...) that sets ``color``,
and the shapes paint with ``fill``/``stroke="currentColor"`` presentation attributes.

Every chart says what it shows without the picture: a ``<title>`` and a ``<desc>`` with
the totals (the screen reader's text, via ``aria-labelledby``), and a ``<title>`` on each
bar or time slot, which browsers show as a tooltip. The markup is built with ElementTree,
so every label is escaped and the result is well-formed XML.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from markupsafe import Markup

SVG_NS = "http://www.w3.org/2000/svg"
WIDTH, HEIGHT = 720, 240
# Room for the axis labels ("1,000 ms", and larger on phones).
LEFT, RIGHT, TOP, BOTTOM = 76, 12, 12, 30
X_LABELS = 6  # about this many times along the bottom

Format = Callable[[float], str]


@dataclass(frozen=True, slots=True)
class Series:
    """One thing drawn: ``key`` names its values, ``label`` is what a person reads,
    ``css_class`` gives its colour."""

    key: str
    label: str
    css_class: str


@dataclass(frozen=True, slots=True)
class TimeSeries:
    """Values in equal time slots: slot ``i`` runs from ``starts[i]`` for ``step``.
    ``values[series.key][i]`` is the value of a series in slot ``i`` (None: no value)."""

    starts: Sequence[datetime]
    step: timedelta
    series: Sequence[Series]
    values: Mapping[str, Sequence[float | None]]

    def __post_init__(self) -> None:
        for s in self.series:
            if len(self.values.get(s.key, ())) != len(self.starts):
                raise ValueError(f"series {s.key!r}: one value per slot is needed")


def count(value: float) -> str:
    return f"{round(value):,}"


def _short(value: float, decimals: int) -> str:
    """``value`` with up to ``decimals`` decimals, none when it is whole."""
    text = f"{value:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def percent(value: float) -> str:
    return _short(value, 1 if value < 10 else 0) + "%"


def milliseconds(value: float) -> str:
    return _short(value, 1 if value < 100 else 0) + " ms"


def nice_top(largest: float, intervals: int = 4, *, whole: bool = False) -> float:
    """A round number at or above ``largest`` that splits into ``intervals`` round steps
    (1, 2, 2.5 or 5 times a power of ten; whole numbers only when ``whole``)."""
    if largest <= 0:
        return float(intervals)
    raw = largest / intervals
    if whole and raw <= 1:
        return float(intervals)
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * power
        if step >= raw:
            return step * intervals
    return 10 * power * intervals  # not reached


def _n(value: float) -> str:
    """A coordinate: one decimal, no trailing zeros."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _frame(chart_id: str, title: str, summary: str) -> ET.Element:
    svg = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "class": "chart",
            "viewBox": f"0 0 {WIDTH} {HEIGHT}",
            "role": "img",
            "aria-labelledby": f"{chart_id}-title {chart_id}-desc",
            "id": chart_id,
        },
    )
    ET.SubElement(svg, "title", {"id": f"{chart_id}-title"}).text = title
    ET.SubElement(svg, "desc", {"id": f"{chart_id}-desc"}).text = summary
    return svg


def _markup(svg: ET.Element) -> Markup:
    # ElementTree escapes text and attribute values; the string is safe to embed.
    return Markup(ET.tostring(svg, encoding="unicode"))


def _y_axis(svg: ET.Element, top: float, fmt: Format) -> None:
    axis = ET.SubElement(svg, "g", {"class": "axis", "aria-hidden": "true"})
    plot_h = HEIGHT - TOP - BOTTOM
    for i in range(5):
        value = top * i / 4
        y = HEIGHT - BOTTOM - plot_h * i / 4
        ET.SubElement(
            axis,
            "line",
            {
                "class": "grid",
                "x1": _n(LEFT),
                "x2": _n(WIDTH - RIGHT),
                "y1": _n(y),
                "y2": _n(y),
                "stroke": "currentColor",
                "stroke-opacity": "0.15",
            },
        )
        label = ET.SubElement(
            axis, "text", {"x": _n(LEFT - 6), "y": _n(y + 4), "text-anchor": "end"}
        )
        label.text = fmt(value)


def _label_slots(starts: Sequence[datetime], step: timedelta, every: int | None) -> range:
    """Which slots get a time under them: every ``every``-th (about X_LABELS when None),
    starting at one whose time is a whole multiple of the spacing (labels at 00:00,
    04:00, ... rather than 00:50, 04:50, ...)."""
    slots = len(starts)
    every = every or max(1, math.ceil(slots / X_LABELS))
    spacing = int((step * every).total_seconds())
    first = 0
    if spacing > 0:
        for i in range(min(every, slots)):
            if int(starts[i].timestamp()) % spacing == 0:
                first = i
                break
    return range(first, slots, every)


def _x_axis(
    svg: ET.Element,
    starts: Sequence[datetime],
    step: timedelta,
    time_format: str,
    every: int | None,
) -> None:
    axis = ET.SubElement(svg, "g", {"class": "axis", "aria-hidden": "true"})
    slots = len(starts)
    if not slots:
        return
    plot_w = WIDTH - LEFT - RIGHT
    for i in _label_slots(starts, step, every):
        x = LEFT + plot_w * i / slots
        ET.SubElement(
            axis,
            "line",
            {
                "x1": _n(x),
                "x2": _n(x),
                "y1": _n(HEIGHT - BOTTOM),
                "y2": _n(HEIGHT - BOTTOM + 4),
                "stroke": "currentColor",
                "stroke-opacity": "0.4",
            },
        )
        if x > WIDTH - RIGHT - 30:  # too close to the edge for its text
            continue
        label = ET.SubElement(
            axis, "text", {"x": _n(x), "y": _n(HEIGHT - 10), "text-anchor": "middle"}
        )
        label.text = starts[i].strftime(time_format)


def _empty(svg: ET.Element, message: str) -> None:
    note = ET.SubElement(
        svg,
        "text",
        {
            "class": "empty",
            "x": _n(LEFT + (WIDTH - LEFT - RIGHT) / 2),
            "y": _n(TOP + (HEIGHT - TOP - BOTTOM) / 2),
            "text-anchor": "middle",
        },
    )
    note.text = message


def _amount(value: float, unit: str, fmt: Format) -> str:
    """``value`` and its unit, singular for one ("1 event", "2 events")."""
    if value == 1 and unit.endswith("s"):
        unit = unit[:-1]
    return f"{fmt(value)} {unit}"


def _slot_name(start: datetime, step: timedelta, time_format: str) -> str:
    end = start + step
    return f"{start.strftime(time_format)} to {end.strftime(time_format)}"


def _slot(parent: ET.Element, x: float, width: float, tooltip: str) -> ET.Element:
    """A slot's group: its tooltip and a transparent full-height target, so that even an
    empty slot shows its tooltip under the pointer."""
    slot = ET.SubElement(parent, "g", {"class": "slot"})
    ET.SubElement(slot, "title").text = tooltip
    ET.SubElement(
        slot,
        "rect",
        {
            "class": "hit",
            "x": _n(x),
            "y": _n(TOP),
            "width": _n(width),
            "height": _n(HEIGHT - TOP - BOTTOM),
            "fill": "transparent",
        },
    )
    return slot


def stacked_bars(
    data: TimeSeries,
    *,
    chart_id: str,
    title: str,
    fmt: Format = count,
    time_format: str = "%H:%M",
    empty: str = "Nothing in this period",
    unit: str = "events",
    label_every: int | None = None,
    label_format: str | None = None,
) -> Markup:
    """One bar a slot, the series stacked bottom-up in the order given; each bar's
    tooltip lists its values. ``fmt`` writes a value, ``unit`` names what is counted,
    ``empty`` says there is nothing; ``label_every`` puts a time under every n-th slot
    (about six when None), written with ``label_format`` (``time_format``, which the
    tooltips use, when None)."""
    slots = len(data.starts)
    totals = [sum(data.values[s.key][i] or 0 for s in data.series) for i in range(slots)]
    grand = sum(totals)
    per_series = {s.key: sum(v or 0 for v in data.values[s.key]) for s in data.series}
    if grand:
        parts = "; ".join(
            f"{s.label} {fmt(per_series[s.key])}" for s in data.series if per_series[s.key]
        )
        busiest = max(range(slots), key=lambda i: totals[i])
        summary = (
            f"{title}: {_amount(grand, unit, fmt)} in total ({parts}). Busiest: "
            f"{_slot_name(data.starts[busiest], data.step, time_format)} "
            f"with {fmt(totals[busiest])}."
        )
    else:
        summary = f"{title}: {empty.lower() if empty else 'none'}."
    svg = _frame(chart_id, title, summary)
    top = nice_top(max(totals, default=0), whole=True)
    _y_axis(svg, top, fmt)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    bars = ET.SubElement(svg, "g", {"class": "bars"})
    width = plot_w / slots if slots else 0
    gap = min(2.0, width * 0.2)
    for i in range(slots):
        x = LEFT + width * i
        listed = ", ".join(
            f"{s.label} {fmt(data.values[s.key][i] or 0)}"
            for s in reversed(data.series)
            if data.values[s.key][i]
        )
        name = _slot_name(data.starts[i], data.step, time_format)
        tooltip = f"{name}: {_amount(totals[i], unit, fmt)}"
        slot = _slot(bars, x, width, tooltip + (f" ({listed})" if listed else ""))
        base = HEIGHT - BOTTOM
        for s in data.series:
            value = data.values[s.key][i] or 0
            if value <= 0:
                continue
            h = plot_h * value / top
            base -= h
            ET.SubElement(
                slot,
                "rect",
                {
                    "class": s.css_class,
                    "x": _n(x + gap / 2),
                    "y": _n(base),
                    "width": _n(max(width - gap, 0.5)),
                    "height": _n(max(h, 0.5)),
                    "fill": "currentColor",
                },
            )
    _x_axis(svg, data.starts, data.step, label_format or time_format, label_every)
    if not grand:
        _empty(svg, empty)
    return _markup(svg)


def line_chart(
    data: TimeSeries,
    *,
    chart_id: str,
    title: str,
    fmt: Format = count,
    time_format: str = "%H:%M",
    empty: str = "No samples in this period",
    y_max: float | None = None,
    label_every: int | None = None,
    label_format: str | None = None,
) -> Markup:
    """A line a series through the middle of each slot, broken where a slot has no
    value; each slot's tooltip lists every series' value there. The scale is 0 to
    ``y_max`` (when no value passes it) or a round number above the largest value."""
    slots = len(data.starts)
    present = [(s, [v for v in data.values[s.key] if v is not None]) for s in data.series]
    if any(values for _, values in present):
        parts = "; ".join(
            f"{s.label} {fmt(min(values))} to {fmt(max(values))}, "
            f"average {fmt(sum(values) / len(values))}"
            for s, values in present
            if values
        )
        summary = f"{title}: {parts}."
    else:
        summary = f"{title}: {empty.lower() if empty else 'none'}."
    svg = _frame(chart_id, title, summary)
    largest = max((max(values) for _, values in present if values), default=0.0)
    top = y_max if y_max is not None and largest <= y_max else nice_top(largest)
    _y_axis(svg, top, fmt)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    width = plot_w / slots if slots else 0

    def x_of(i: int) -> float:
        return LEFT + width * (i + 0.5)

    def y_of(value: float) -> float:
        return HEIGHT - BOTTOM - plot_h * value / top

    lines = ET.SubElement(svg, "g", {"class": "lines"})
    for s in data.series:
        values = data.values[s.key]
        run: list[str] = []
        runs: list[list[str]] = [run]
        for i, value in enumerate(values):
            if value is None:
                run = []
                runs.append(run)
                continue
            run.append(f"{_n(x_of(i))},{_n(y_of(value))}")
        for points in runs:
            if len(points) == 1:  # a lone value between gaps: a dot
                x, y = points[0].split(",")
                ET.SubElement(
                    lines,
                    "circle",
                    {"class": s.css_class, "cx": x, "cy": y, "r": "2", "fill": "currentColor"},
                )
            elif points:
                ET.SubElement(
                    lines,
                    "polyline",
                    {
                        "class": s.css_class,
                        "points": " ".join(points),
                        "fill": "none",
                        "stroke": "currentColor",
                        "stroke-width": "2",
                        "stroke-linejoin": "round",
                    },
                )
    targets = ET.SubElement(svg, "g", {"class": "slots"})
    for i in range(slots):
        listed = ", ".join(
            f"{s.label} {fmt(v)}" for s in data.series if (v := data.values[s.key][i]) is not None
        )
        name = _slot_name(data.starts[i], data.step, time_format)
        _slot(targets, LEFT + width * i, width, f"{name}: {listed or 'no sample'}")
    _x_axis(svg, data.starts, data.step, label_format or time_format, label_every)
    if not any(values for _, values in present):
        _empty(svg, empty)
    return _markup(svg)


def legend(series: Sequence[Series]) -> Markup:
    """The key to a chart's colours: a list of swatches and labels."""
    if not series:
        return Markup("")
    items = ET.Element("ul", {"class": "legend"})
    for s in series:
        item = ET.SubElement(items, "li")
        swatch = ET.SubElement(
            item,
            "svg",
            {
                "xmlns": SVG_NS,
                "class": "swatch",
                "width": "12",
                "height": "12",
                "viewBox": "0 0 12 12",
                "aria-hidden": "true",
            },
        )
        ET.SubElement(
            swatch,
            "rect",
            {
                "class": s.css_class,
                "width": "12",
                "height": "12",
                "rx": "2",
                "fill": "currentColor",
            },
        )
        swatch.tail = f" {s.label}"
    return _markup(items)
