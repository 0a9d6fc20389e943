"""The dashboard: the fleet's health, events over time by severity, the last hour's top
attackers, targets and signatures, and the open responses.

Each part is a fragment of its own (``/dashboard/_<part>``) that the page includes and
garrison.js refreshes every few seconds (``data-refresh``); a part the user's role may not
read is left out. Every part reads a bounded, indexed slice: the device table's counts by
state, the per-minute rollup of `garrison.store.event_counts` (never the events table),
top-N over the last hour only (a closed window: with both ends SQLite's planner takes the
``received_at`` index; with ``since`` alone it walks the whole signature index), and the
newest open responses.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from garrison.auth import Capability, Principal
from garrison.devices.model import DeviceState
from garrison.errors import Forbidden, NotFound
from garrison.events.filters import EventFilters
from garrison.services import Services
from garrison.store.event_counts import EventCounts, minute_of, moment_of
from garrison.web.charts import Series, TimeSeries, legend, stacked_bars
from garrison.web.routing import console_router
from garrison.web.session import Console
from garrison.web.templating import render

router = console_router()

TOP_N = 10
TOP_WINDOW = timedelta(hours=1)
OPEN_SHOWN = 10

# Stacked bottom-up: the critical bars sit on the axis, where the eye starts.
SEVERITY_SERIES = (
    Series("4", "Critical", "sev-4"),
    Series("3", "Major", "sev-3"),
    Series("2", "Minor", "sev-2"),
    Series("1", "Low", "sev-1"),
)


@dataclass(frozen=True, slots=True)
class Range:
    key: str
    label: str  # on the switch
    words: str  # in a sentence: "the last hour"
    minutes: int  # how far back
    step: int  # minutes a bar
    time_format: str  # in tooltips
    label_every: int  # a time under every n-th bar
    label_format: str  # under the bars


RANGES = {
    r.key: r
    for r in (
        Range("hour", "Hour", "the last hour", 60, 1, "%H:%M", 10, "%H:%M"),
        Range("day", "Day", "the last day", 24 * 60, 15, "%H:%M", 16, "%H:%M"),
        Range("week", "Week", "the last week", 7 * 24 * 60, 60, "%a %H:%M", 24, "%a %d"),
    )
}
DEFAULT_RANGE = "hour"


def pick_range(key: str | None) -> Range:
    return RANGES.get(key or DEFAULT_RANGE, RANGES[DEFAULT_RANGE])


# -- the parts' data (blocking: run in a worker thread) -----------------------------------


def device_health(svc: Services, actor: Principal) -> dict[str, Any]:
    actor.require(Capability.DEVICES_READ)
    counts = svc.devices.count_by_state()
    states = [(str(s), counts.get(str(s), 0)) for s in DeviceState]
    order = ("reachable", "degraded", "unreachable", "unknown")
    states.sort(key=lambda pair: order.index(pair[0]) if pair[0] in order else len(order))
    return {"states": states, "devices": sum(counts.values())}


def events_over_time(svc: Services, actor: Principal, span: Range, now: datetime) -> dict[str, Any]:
    """The chart of ``span``: bars of ``span.step`` minutes ending with the current one,
    summed by the database from the per-minute rollup."""
    actor.require(Capability.EVENTS_READ)
    step = span.step
    end = (minute_of(now) // step + 1) * step  # the end of the bar that holds now
    start = end - span.minutes
    slots = span.minutes // step
    with svc.store.transaction() as tx:
        counts = EventCounts(tx.session).buckets(moment_of(start), moment_of(end), step)
    values: dict[str, list[float | None]] = {s.key: [0] * slots for s in SEVERITY_SERIES}
    for bucket in counts:
        row = values.get(str(bucket.severity))
        index = (minute_of(bucket.start) - start) // step
        if row is not None and 0 <= index < slots:
            row[index] = (row[index] or 0) + bucket.total
    data = TimeSeries(
        starts=[moment_of(start + i * step) for i in range(slots)],
        step=timedelta(minutes=step),
        series=SEVERITY_SERIES,
        values=values,
    )
    total = sum(v or 0 for row in values.values() for v in row)
    chart = stacked_bars(
        data,
        chart_id="events-chart",
        title=f"Events in {span.words} by severity",
        time_format=span.time_format,
        label_every=span.label_every,
        label_format=span.label_format,
        empty=f"No events in {span.words}",
    )
    return {"chart": chart, "legend": legend(SEVERITY_SERIES), "total": total, "span": span}


def top_lists(svc: Services, actor: Principal, now: datetime) -> dict[str, Any]:
    # Both ends given: an indexed range of received_at on every backend (see above).
    window = EventFilters(since=now - TOP_WINDOW, until=now + timedelta(minutes=1))
    return {
        "attackers": svc.events.top(actor, "src_ip", window, TOP_N),
        "targets": svc.events.top(actor, "dst_ip", window, TOP_N),
        "signatures": svc.events.top(actor, "signature", window, TOP_N),
    }


def open_responses(svc: Services, actor: Principal) -> dict[str, Any]:
    return {
        "responses": svc.policies.list_responses(actor, states=["open"], limit=OPEN_SHOWN),
        "open_count": svc.policies.count_responses(actor, states=["open"]),
    }


# -- routes ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Part:
    """One part of the dashboard: who may see it, its template in ``dashboard/`` and the
    name its data has there."""

    capability: Capability
    template: str
    name: str


PARTS = {
    "health": Part(Capability.DEVICES_READ, "health.html", "health"),
    "events": Part(Capability.EVENTS_READ, "events.html", "timeline"),
    "top": Part(Capability.EVENTS_READ, "top.html", "top"),
    "responses": Part(Capability.RESPONDER_READ, "responses.html", "open"),
}


def load(svc: Services, actor: Principal, part: str, span: Range, now: datetime) -> Any:
    """The data of one part (blocking)."""
    if part == "health":
        return device_health(svc, actor)
    if part == "events":
        return events_over_time(svc, actor, span, now)
    if part == "top":
        return top_lists(svc, actor, now)
    return open_responses(svc, actor)


@router.get("/")
async def dashboard(request: Request, user: Console, range: str | None = None) -> Response:
    svc: Services = request.app.state.services
    span, now = pick_range(range), datetime.now(UTC)
    context: dict[str, Any] = {"ranges": RANGES.values(), "span": span}
    for key, part in PARTS.items():  # a part the role may not read is left out
        context[part.name] = (
            await run_in_threadpool(load, svc, user.principal, key, span, now)
            if user.can(part.capability)
            else None
        )
    return render(request, "dashboard.html", user, title="Dashboard", **context)


@router.get("/dashboard/_{part}")
async def fragment(
    request: Request, part: str, user: Console, range: str | None = None
) -> Response:
    """One part alone, as garrison.js refreshes it (``data-refresh``)."""
    chosen = PARTS.get(part)
    if chosen is None:
        raise NotFound(f"the dashboard has no part {part!r}")
    if not user.can(chosen.capability):
        raise Forbidden(f"your role ({user.principal.role}) may not see this")
    svc: Services = request.app.state.services
    span = pick_range(range)
    data = await run_in_threadpool(load, svc, user.principal, part, span, datetime.now(UTC))
    return render(
        request,
        f"dashboard/{chosen.template}",
        user,
        ranges=RANGES.values(),
        span=span,
        **{chosen.name: data},
    )
