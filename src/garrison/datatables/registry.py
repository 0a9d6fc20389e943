"""Every SMS data table Garrison serves, by name (any case), and which are the event
tables that GetData reads by time."""

from __future__ import annotations

from garrison.datatables.alerts import ALERTS
from garrison.datatables.catalog import CATALOG_TABLES
from garrison.datatables.constants import CONSTANT_TABLES
from garrison.datatables.devices import DEVICE, TPT_DEVICE
from garrison.datatables.model import Table
from garrison.datatables.quarantine import QUARANTINE_HOSTS

TABLES: dict[str, Table] = {
    t.name: t
    for t in sorted(
        (ALERTS, DEVICE, QUARANTINE_HOSTS, TPT_DEVICE, *CATALOG_TABLES, *CONSTANT_TABLES),
        key=lambda t: t.name,
    )
}
# The tables GetData selects by begin_time/end_time; the others are the data dictionary.
EVENT_TABLES = tuple(t for t in TABLES.values() if t.has_times)
DICTIONARY_TABLES = tuple(t for t in TABLES.values() if not t.has_times)
_BY_UPPER = {name.upper(): table for name, table in TABLES.items()}


def find(name: str) -> Table | None:
    """The table called ``name``, in any case."""
    return _BY_UPPER.get(name.strip().upper())
