"""The events search form, pure: the query string of ``/events`` read into the API's
`EventFilters`, with each wrong value placed beside its field in words.

The form's field names are the API's parameter names (``since``, ``severity``, ``src``,
...), so a search is a URL that can be bookmarked and shared, and every value is checked
by the very parser the API and the CLI use (`garrison.events.filters.parse_filters`),
one field at a time so that each error lands next to its own field.

Every search has a period. From and To are typed in UTC; To left empty means now and
From left empty means the chosen period (the last 24 hours unless another is picked)
before To. The pages can then promise a bounded read on any number of stored events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from garrison.errors import Invalid
from garrison.events.filters import (
    FILTER_HELP,
    SORT_FIELDS,
    EventFilters,
    Sort,
    parse_filters,
    parse_severity,
    parse_sort,
    parse_time,
)
from garrison.events.model import Action, EventKind, Severity
from garrison.web.pages.page_flow import utc_moment

FILTERS = tuple(FILTER_HELP)  # since, until, time_field, device, severity, ...
FIELDS = (*FILTERS, "period", "sort")
PERIODS: dict[str, tuple[str, timedelta]] = {
    "1h": ("Last hour", timedelta(hours=1)),
    "24h": ("Last 24 hours", timedelta(hours=24)),
    "7d": ("Last 7 days", timedelta(days=7)),
    "30d": ("Last 30 days", timedelta(days=30)),
}
DEFAULT_PERIOD = "24h"
TIME_SORTS = {"received": "received_at", "end": "end_time"}

SEVERITY_CHOICES = tuple((str(int(s)), s.name.lower()) for s in Severity)
ACTION_CHOICES = tuple((a.value, a.value) for a in Action if a.value)
KIND_CHOICES = tuple((k.value, k.value) for k in EventKind)

# How each sort field reads in the "Order" list: its name, then its two directions.
_SORT_WORDS: dict[str, tuple[str, str, str]] = {
    "received_at": ("Time received", "oldest first", "newest first"),
    "end_time": ("Device time (end)", "oldest first", "newest first"),
    "id": ("Order stored", "oldest first", "newest first"),
    "severity": ("Severity", "lowest first", "highest first"),
    "hit_count": ("Hit count", "fewest first", "most first"),
}
_TEXT_SORTS = {
    "device": "Device",
    "name": "Signature name",
    "category": "Category",
    "action": "Action",
    "kind": "Kind",
}
_NUMBER_SORTS = {
    "signature": "Filter number",
    "src_ip": "Source address",
    "dst_ip": "Destination address",
    "src_port": "Source port",
    "dst_port": "Destination port",
}


def sort_label(field: str, descending: bool) -> str:
    if field in _SORT_WORDS:
        name, up, down = _SORT_WORDS[field]
    elif field in _TEXT_SORTS:
        name, up, down = _TEXT_SORTS[field], "A to Z", "Z to A"
    else:
        name, up, down = _NUMBER_SORTS[field], "lowest first", "highest first"
    return f"{name}, {down if descending else up}"


SORT_CHOICES = tuple(
    (f"{'-' if descending else ''}{field}", sort_label(field, descending))
    for field in SORT_FIELDS
    for descending in (True, False)
)

# parse_filters's messages across fields, as the form says them.
_CROSS_FIELD = {
    "until": "Must be later than From.",
    "min_severity": "Leaves none of the severities ticked above; untick them or lower this.",
}


def plain(error: Invalid) -> str:
    """An error of `parse_filters` as a sentence beside its field: without the
    ``param:`` prefix the API needs and a form does not."""
    text = str(error)
    head, colon, rest = text.partition(": ")
    if colon and head in FIELDS:
        text = rest
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else "This is not valid."


def _moment(values: list[str]) -> datetime:
    """From or To as typed: a date-time input's value (UTC), ISO 8601 with a zone, or
    epoch milliseconds as the API takes them."""
    text = values[-1].strip()
    if text.isdigit():
        return parse_time(text, "time")
    moment = utc_moment(text)
    assert moment is not None  # blanks were dropped
    return moment


@dataclass(frozen=True, slots=True)
class Search:
    """One search as the form holds it. ``filters`` is None when a value is wrong; else
    it has the period applied (``since`` and ``until`` always set)."""

    values: Mapping[str, tuple[str, ...]]
    errors: Mapping[str, str]
    filters: EventFilters | None
    sort: Sort
    period: str
    period_applied: bool  # From was empty: the period chose the start

    @property
    def sort_text(self) -> str:
        return f"{'-' if self.sort.descending else ''}{self.sort.field}"

    @property
    def time_sort(self) -> str:
        """The sort field of the search's own time, which pages by keyset."""
        time_field = self.filters.time_field if self.filters else "received"
        return TIME_SORTS[time_field]

    @property
    def keyset(self) -> bool:
        return self.sort.field == self.time_sort

    def text(self, name: str) -> str:
        """The value a single-value field shows."""
        values = self.values.get(name, ())
        moments = ("since", "until")
        if values and name in moments and self.filters is not None and name not in self.errors:
            # Shown as the date-time input holds it, in UTC.
            moment = self.filters.since if name == "since" else self.filters.until
            assert moment is not None
            return moment.strftime("%Y-%m-%dT%H:%M:%S")
        if values and name == "min_severity" and name not in self.errors:
            return str(int(parse_severity(values[-1], name)))  # as the list's values are
        return values[-1] if values else ""

    def checked(self, name: str, value: str) -> bool:
        """Whether a checkbox of a repeated field is ticked (its value, or its name)."""
        given = {v.strip().lower() for item in self.values.get(name, ()) for v in item.split(",")}
        words = {value.lower(), *(label.lower() for v, label in _CHOICES[name] if v == value)}
        return bool(given & words)

    @property
    def advanced(self) -> bool:
        """Whether the "more filters" part of the form should be open."""
        basic = {"since", "until", "period", "min_severity", "signature", "src", "dst", "sort"}
        default = ("time_field", ("received",))  # what the form sends untouched
        given = {name for name, values in self.values.items() if (name, values) != default}
        return any(name not in basic for name in (*given, *self.errors))

    def query(self, *, drop: Iterable[str] = (), **changes: str) -> str:
        """This search's query string, with ``changes`` (an empty value removes one) and
        without ``drop``; no paging."""
        pairs = [
            (name, value)
            for name, values in self.values.items()
            if name not in changes and name not in drop
            for value in values
        ]
        pairs += [(name, value) for name, value in changes.items() if value]
        return urlencode(pairs)

    def link(self, **changes: str) -> str:
        query = self.query(**changes)
        return f"/events?{query}" if query else "/events"

    def pinned_query(self) -> str:
        """The query with the period written out as From and To: what the CSV file of
        this page holds, whenever it is downloaded."""
        assert self.filters is not None and self.filters.since and self.filters.until
        return self.query(
            drop=("period",),
            since=self.filters.since.isoformat(),
            until=self.filters.until.isoformat(),
        )

    def tail_query(self) -> str:
        """The filters without the period and the order: what the live tail follows."""
        if self.filters is None:
            return ""
        return self.query(drop=("since", "until", "period", "sort"))


_CHOICES = {"severity": SEVERITY_CHOICES, "action": ACTION_CHOICES, "kind": KIND_CHOICES}


def read_search(params: Iterable[tuple[str, str]], now: datetime | None = None) -> Search:
    """The search a query string asks for; other parameters (paging) are left alone."""
    values: dict[str, list[str]] = {}
    for name, value in params:
        if name in FIELDS and value.strip():
            values.setdefault(name, []).append(value)
    errors: dict[str, str] = {}
    checked: dict[str, list[str]] = {}
    moments: dict[str, datetime] = {}
    for name in FILTERS:
        given = values.get(name)
        if not given:
            continue
        try:
            if name in ("since", "until"):
                moments[name] = _moment(given)
            else:
                parse_filters(**{name: given})  # type: ignore[arg-type]
                checked[name] = given
        except Invalid as exc:
            errors[name] = _time_error(exc) if name in ("since", "until") else plain(exc)

    period = values.get("period", [DEFAULT_PERIOD])[-1]
    if period not in PERIODS:
        errors["period"] = f"Choose one of: {', '.join(label for label, _ in PERIODS.values())}."
        period = DEFAULT_PERIOD
    try:
        sort = parse_sort(values.get("sort", [""])[-1])
    except Invalid as exc:
        errors["sort"] = plain(exc)
        sort = Sort()
    time_field = (checked.get("time_field") or ["received"])[-1].strip().lower()
    if "sort" not in values:
        sort = Sort(TIME_SORTS.get(time_field, "received_at"), True)

    filters = None
    applied = "since" not in moments
    if not errors:
        until = moments.get("until") or (now or datetime.now(UTC)).replace(microsecond=0)
        since = moments.get("since") or until - PERIODS[period][1]
        try:
            filters = parse_filters(since=since.isoformat(), until=until.isoformat(), **checked)  # type: ignore[arg-type]
        except Invalid as exc:
            errors.update(_cross_field(exc, moments))
    return Search(
        values={name: tuple(v) for name, v in values.items()},
        errors=errors,
        filters=filters,
        sort=sort,
        period=period,
        period_applied=applied,
    )


def _cross_field(exc: Invalid, moments: Mapping[str, datetime]) -> dict[str, str]:
    """An error of the whole search, beside the field it is about."""
    field = str(exc).partition(":")[0]
    if field == "until" and "until" not in moments:
        return {"since": "Must be earlier than now."}
    if field in ("since", "until"):
        if "after since" in str(exc):
            return {field: _CROSS_FIELD["until"]}
        return {field: _time_error(exc)}
    if field in FIELDS:
        return {field: _CROSS_FIELD.get(field) or plain(exc)}
    return {"since": plain(exc)}


def _time_error(exc: Invalid) -> str:
    message = str(exc)
    if "outside" in message or "after the year" in message:
        return "Give a time between 1970 and 9999."
    return "Give a date and time in UTC, such as 2026-10-25 07:15."
