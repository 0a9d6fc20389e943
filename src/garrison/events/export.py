"""Events as CSV: a header row of field names, then one row an event. The API's export
and `garrison events export` both write this, chunk by chunk, so millions of rows never
sit in memory."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import fields
from datetime import datetime
from enum import Enum

from garrison.events.model import Event
from garrison.store.events import StoredEvent

COLUMNS = ("id", *(f.name for f in fields(Event)))


def cell(value: object) -> str:
    """One CSV cell: times in ISO 8601 UTC, enums by value, booleans as 1/0 (as ALERTS
    keeps PACKET_TRACE), extra as JSON, nothing as empty."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="milliseconds")
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False) if value else ""
    return str(value)


def row(stored: StoredEvent) -> list[str]:
    event = stored.event
    return [str(stored.id), *(cell(getattr(event, name)) for name in COLUMNS[1:])]


def csv_chunks(events: Iterable[StoredEvent], rows_per_chunk: int = 500) -> Iterator[str]:
    """The CSV text: the header, then the rows, ``rows_per_chunk`` to a string."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    pending = 1
    for stored in events:
        writer.writerow(row(stored))
        pending += 1
        if pending >= rows_per_chunk:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if pending or buffer.tell():
        yield buffer.getvalue()
