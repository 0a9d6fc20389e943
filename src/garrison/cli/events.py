"""`garrison events`: query, count, summarize, export and follow stored events, on the
server's own host (the local database; no API key needed)."""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from garrison.auth import Principal
from garrison.cli.context import console, open_services, settings
from garrison.events.export import csv_chunks
from garrison.events.filters import FILTER_HELP, SORT_HELP, EventFilters, Sort, parse_sort
from garrison.events.filters import parse_filters as _parse_filters
from garrison.events.model import Event, Severity
from garrison.services import Services
from garrison.store.events import StoredEvent

app = typer.Typer(
    help="Query stored events: list, count, top, export to CSV, and tail new ones.\n\n"
    "Every command takes the same filters (--severity, --src 10.0.0.0/8, --since ...); "
    "values of one filter are alternatives, different filters must all hold.",
    no_args_is_help=True,
)

POLL_SECONDS = 0.5
PAGE = 1000  # events printed per read when following
SEVERITY_STYLE = {
    Severity.LOW: "dim",
    Severity.MINOR: "cyan",
    Severity.MAJOR: "yellow",
    Severity.CRITICAL: "bold red",
}

# The filter options every command takes: (name, type, is a list).
_FILTERS: tuple[tuple[str, Any, bool], ...] = (
    ("since", str | None, False),
    ("until", str | None, False),
    ("time_field", str | None, False),
    ("device", list[str] | None, True),
    ("severity", list[str] | None, True),
    ("min_severity", str | None, False),
    ("signature", list[str] | None, True),
    ("category", list[str] | None, True),
    ("src", list[str] | None, True),
    ("dst", list[str] | None, True),
    ("src_port", list[str] | None, True),
    ("dst_port", list[str] | None, True),
    ("action", list[str] | None, True),
    ("kind", list[str] | None, True),
    ("name", str | None, False),
)


def with_filters(command: Callable[..., None]) -> Callable[..., None]:
    """Give ``command`` the filter options and call it with ``filters=EventFilters``: one
    declaration of the options, the same on every command."""
    signature = inspect.signature(command)
    own = [p for p in signature.parameters.values() if p.name != "filters"]
    added = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=typer.Option(
                None,
                f"--{name.replace('_', '-')}",
                help=FILTER_HELP[name],
                metavar="VALUE" if many else None,
                rich_help_panel="Filters",
            ),
            annotation=kind,
        )
        for name, kind, many in _FILTERS
    ]

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        raw = {name: kwargs.pop(name) for name, _, _ in _FILTERS}
        command(*args, filters=_parse_filters(**raw), **kwargs)

    annotations = {k: v for k, v in command.__annotations__.items() if k != "filters"}
    annotations.update({name: kind for name, kind, _ in _FILTERS})
    run.__annotations__ = annotations
    run.__signature__ = signature.replace(parameters=[*own, *added])  # type: ignore[attr-defined]
    return run


def _address(ip: str, port: int | None) -> str:
    if not ip:
        return ""
    shown = f"[{ip}]" if ":" in ip and port is not None else ip
    return shown if port is None else f"{shown}:{port}"


def _severity(event: Event) -> str:
    return f"[{SEVERITY_STYLE[event.severity]}]{event.severity.name.lower()}[/]"


def _line(stored: StoredEvent) -> str:
    """One event on one line, for tail."""
    e = stored.event
    parts = [
        f"{e.received_at:%Y-%m-%d %H:%M:%S}",
        _severity(e),
        e.device_name or e.source_address,
        str(e.signature_number or ""),
        e.name or e.message,
        f"{_address(e.src_ip, e.src_port)} -> {_address(e.dst_ip, e.dst_port)}"
        if e.src_ip or e.dst_ip
        else "",
        str(e.action),
    ]
    return " ".join(p for p in parts if p)


def _table(events: list[StoredEvent]) -> Table:
    table = Table("id", "received (UTC)", "severity", "device", "filter", "name", "source",
                  "destination", "action", "hits")  # fmt: skip
    for stored in events:
        e = stored.event
        table.add_row(
            str(stored.id),
            f"{e.received_at:%Y-%m-%d %H:%M:%S}",
            _severity(e),
            e.device_name or e.source_address,
            str(e.signature_number or ""),
            e.name or e.message,
            _address(e.src_ip, e.src_port),
            _address(e.dst_ip, e.dst_port),
            str(e.action),
            str(e.hit_count),
        )
    return table


SortOption = typer.Option(None, "--sort", help=SORT_HELP)


@app.command("list")
@with_filters
def list_events(
    ctx: typer.Context,
    filters: EventFilters,
    limit: int = typer.Option(50, "--limit", "-n", min=1, max=10_000, help="How many events."),
    offset: int = typer.Option(0, min=0, help="Skip this many first (for paging)."),
    sort: str | None = SortOption,
) -> None:
    """List stored events that match the filters, newest first, as a table."""
    order = parse_sort(sort)
    with open_services(settings(ctx)) as svc:
        page = svc.events.query(
            Principal.local_cli(), filters, sort=order, offset=offset, limit=limit
        )
    console.print(_table(page))
    if not page:
        console.print("no events match")


@app.command("count")
@with_filters
def count(ctx: typer.Context, filters: EventFilters) -> None:
    """Print how many stored events match the filters."""
    with open_services(settings(ctx)) as svc:
        console.print(svc.events.count(Principal.local_cli(), filters))


@app.command("top")
@with_filters
def top(
    ctx: typer.Context,
    filters: EventFilters,
    by: str = typer.Option(
        ...,
        "--by",
        help="What to count: src_ip (attackers), dst_ip (targets), signature or device.",
    ),
    n: int = typer.Option(10, "-n", min=1, max=1000, help="How many, most frequent first."),
) -> None:
    """The most frequent attackers, targets, signatures or devices among matching events."""
    with open_services(settings(ctx)) as svc:
        entries = svc.events.top(Principal.local_cli(), by, filters, n)
    table = Table(by, "name", "events")
    for entry in entries:
        table.add_row(entry.key, entry.label, str(entry.count))
    console.print(table)


@app.command("export")
@with_filters
def export(
    ctx: typer.Context,
    filters: EventFilters,
    output: Path = typer.Option(
        ..., "--output", "-o", dir_okay=False, writable=True, help="The CSV file to write."
    ),
    sort: str | None = SortOption,
) -> None:
    """Write every matching event to a CSV file (a header row of field names, then one row
    an event; oldest first unless --sort says otherwise). Rows stream from the database,
    so millions of events need little memory."""
    order = parse_sort(sort) if sort else Sort("id", False)
    cli = Principal.local_cli()
    with open_services(settings(ctx)) as svc:
        total = svc.events.count(cli, filters)
        columns = (TextColumn("exporting"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        with Progress(*columns, console=console) as progress, output.open("w", newline="") as f:
            task = progress.add_task("export", total=total)

            def counted(rows: Iterator[StoredEvent]) -> Iterator[StoredEvent]:
                for done, stored in enumerate(rows, 1):
                    yield stored
                    if done % 1000 == 0:
                        progress.update(task, completed=done)

            written = 0
            for chunk in csv_chunks(counted(svc.events.export(cli, filters, order))):
                f.write(chunk)
                written += chunk.count("\n")
            progress.update(task, completed=total)
    console.print(f"[green]✓[/] wrote {max(written - 1, 0)} events to {output}")


@app.command("tail")
@with_filters
def tail(
    ctx: typer.Context,
    filters: EventFilters,
    lines: int = typer.Option(
        10, "--lines", "-n", min=0, max=10_000, help="Show the last N first."
    ),
    follow: bool = typer.Option(
        True, "--follow/--no-follow", help="Keep printing new events as they are stored."
    ),
) -> None:
    """Print the last matching events, then follow new ones as the server stores them
    (it reads the local database every half second; Ctrl-C stops)."""
    cli = Principal.local_cli()
    with open_services(settings(ctx)) as svc:
        last = svc.events.newest_id(cli) or 0
        if lines:
            recent = svc.events.query(cli, filters, sort=Sort("id", True), limit=lines)
            for stored in reversed([s for s in recent if s.id <= last]):
                console.print(_line(stored), highlight=False, soft_wrap=True)
        try:
            while follow:
                last = _print_new(svc, cli, filters, last)
        except KeyboardInterrupt:
            pass


def _print_new(svc: Services, cli: Principal, filters: EventFilters, last: int) -> int:
    """Print what was stored after id ``last``; return the id to continue from.

    The newest id is read first: when the page is not full, every match up to it has been
    seen, so the next poll starts there and does not rescan rows that did not match (ids
    commit in order: one writer stores them).
    """
    newest = svc.events.newest_id(cli) or last
    batch = svc.events.since_id(cli, last, filters, limit=PAGE)
    for stored in batch:
        console.print(_line(stored), highlight=False, soft_wrap=True)
    if len(batch) == PAGE:
        return batch[-1].id
    time.sleep(POLL_SECONDS)
    return max(newest, batch[-1].id if batch else last)
