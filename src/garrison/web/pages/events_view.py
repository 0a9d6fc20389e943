"""What the events search page shows around its rows, pure: the sentence that says which
period was searched, the column heads and their sort links, the pager's links, and the
choices of the form's lists."""

from __future__ import annotations

from typing import Any

from garrison.events.addresses import address_number
from garrison.events.model import Severity
from garrison.store.event_pages import SortedPage, TimePage
from garrison.web.pages.events_search import (
    ACTION_CHOICES,
    KIND_CHOICES,
    PERIODS,
    SEVERITY_CHOICES,
    SORT_CHOICES,
    Search,
)
from garrison.web.templating import ENVIRONMENT

PAGE = 50  # events a page
# Fields first sorted highest (newest, most severe) first; the others A to Z.
_DESCENDING_FIRST = {"received_at", "end_time", "id", "severity", "hit_count"}

CHOICES: dict[str, Any] = {
    "period_choices": [(key, label) for key, (label, _) in PERIODS.items()],
    "min_severity_choices": [
        ("", "Any"),
        *((str(int(s)), f"{s.name.lower()} and above") for s in Severity if s < Severity.CRITICAL),
        (str(int(Severity.CRITICAL)), "critical only"),
    ],
    "time_field_choices": [("received", "Time received"), ("end", "Device time (end)")],
    "sort_choices": SORT_CHOICES,
    "check_groups": [
        ("severity", "Severity", SEVERITY_CHOICES),
        ("action", "Action", ACTION_CHOICES),
        ("kind", "Kind", KIND_CHOICES),
    ],
}


def addressable(text: str) -> bool:
    """Whether an event's address is one (a device may send anything): it gets a link."""
    return address_number(text) is not None


def _when(value: Any) -> str:
    return str(ENVIRONMENT.filters["when"](value))


def window_text(search: Search) -> str:
    """Which events the results are from, in a sentence."""
    filters = search.filters
    if filters is None or filters.since is None or filters.until is None:
        return ""
    kind = "received" if filters.time_field == "received" else "ending (device time)"
    since, until = _when(filters.since), _when(filters.until)
    label = PERIODS[search.period][0].lower()
    if search.period_applied and "until" not in search.values:
        return (
            f"Events {kind} in the {label} (since {since} UTC). Choose a longer period, "
            "or From and To, to search further back."
        )
    if search.period_applied:
        return f"Events {kind} from {since} to {until} UTC (the {label[5:]} before To)."
    return f"Events {kind} from {since} to {until} UTC."


def columns(search: Search) -> list[tuple[str, str, bool]]:
    """(label, sort field, hidden when narrow) of each column of the results."""
    time_label = "Time (UTC)" if search.time_sort == "received_at" else "Device time (UTC)"
    return [
        (time_label, search.time_sort, False),
        ("Severity", "severity", False),
        ("Device", "device", True),
        ("Signature", "signature", False),
        ("Source", "src_ip", False),
        ("Destination", "dst_ip", False),
        ("Action", "action", True),
    ]


def sort_links(search: Search) -> dict[str, str]:
    """Each column's link: its order reversed if it is the current one, else its first."""
    links = {}
    for _, field, _ in columns(search):
        if search.sort.field == field:
            descending = not search.sort.descending
        else:
            descending = field in _DESCENDING_FIRST
        links[field] = search.link(sort=f"{'-' if descending else ''}{field}")
    return links


def _with(base: str, **params: str | int) -> str:
    extra = "&".join(f"{name}={value}" for name, value in params.items())
    return f"{base}{'&' if '?' in base else '?'}{extra}"


def pager(search: Search, page: TimePage | SortedPage | None, *, paged: bool) -> dict[str, Any]:
    """The pager's links and words: keyset links (``before``/``after``) on a time order,
    offsets on another, the period written out so that the pages stay the same ones."""
    links: dict[str, str | None] = {"first": None, "previous": None, "next": None}
    words = {"first_label": "First page", "previous_label": "Previous", "next_label": "Next"}
    base = search.link()
    if isinstance(page, TimePage):
        newest_first = search.sort.descending
        words = {
            "first_label": "Newest" if newest_first else "Oldest",
            "previous_label": "Newer" if newest_first else "Older",
            "next_label": "Older" if newest_first else "Newer",
        }
        if page.previous is not None:
            links["previous"] = _with(base, before=page.previous.text())
        if page.next is not None:
            links["next"] = _with(base, after=page.next.text())
        links["first"] = base if paged else None
    elif isinstance(page, SortedPage):
        pinned = f"/events?{search.pinned_query()}"
        if page.offset > 0:
            links["first"] = pinned
            links["previous"] = _with(pinned, offset=max(page.offset - PAGE, 0))
        if page.more:
            links["next"] = _with(pinned, offset=page.offset + PAGE)
    return {"links": links, **words}
