"""The shape of an SMS data table as Garrison serves it: its name, its columns in the SMS's
order with the SMS's type names, and how each value is computed from Garrison's tables.

A `Table` is one of two kinds:

* a **query table** (ALERTS, DEVICE, QUARANTINE_HOSTS, SIGNATURE, ...): ``source`` and
  ``where`` say which of Garrison's rows it lists, each `Column.sql` is a SQLAlchemy Core
  expression over them. `Table.select()` is the whole table as one SELECT with one
  labelled column per SMS column: an external database view is that SELECT compiled for
  MariaDB or PostgreSQL, and the Web service reads the same expressions page by page
  (`garrison.datatables.reader`);
* a **constant table** (SEVERITY, TAXONOMY_MAJOR, ..., and the ones Garrison has no data
  for yet, such as DDOS_STATS): ``rows`` holds its rows, ``source`` is None.

Per-row Python. Most values are computed by the database: `garrison.datatables.sqlfuncs`
gives the few expressions whose SQL differs between SQLite, PostgreSQL and MariaDB (epoch
milliseconds, zero padding, the 64-bit address halves). A column whose value SQL cannot
compute portably (an address inside the JSON ``extra`` text as a number, say) has a
`Column.convert`: its ``sql`` is then only the *input*, and the value is
``convert(input)``, computed in Python for each row. An external-view generator must
translate such a column into its database's own SQL; ``convert.describes`` says what it
does (`Conversion`). `Table.converted()` lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, FromClause, Select, select

# The SMS's type names, as the XML format's <column type="..."> gives them.
INTEGER = "Integer"  # 32-bit
LONG = "Long"  # 64-bit (times in epoch milliseconds, sequence numbers, address halves)
STRING = "String"
TYPES = (INTEGER, LONG, STRING)


@dataclass(frozen=True, slots=True)
class Conversion:
    """A per-row Python step: ``function(input)`` is the column's value. ``describes`` says
    in words what it computes, for whoever must do the same in SQL. An empty or NULL
    input gives NULL without a call (the reader relies on it)."""

    function: Callable[[Any], Any]
    describes: str

    def __call__(self, value: Any) -> Any:
        return self.function(value)


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str  # INTEGER, LONG or STRING
    # For STRING: the longest value, for the DDL (None: long text, TEXT / CLOB).
    size: int | None = None
    # The value from Garrison's tables; with ``convert``, the input of the conversion.
    # None in a constant table.
    sql: ColumnElement[Any] | None = None
    convert: Conversion | None = None

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"column {self.name}: type {self.type!r} is not one of {TYPES}")


@dataclass(frozen=True, slots=True)
class TimeSlice:
    """Where an event table's time comes from: for the rows matching ``where``, the
    datetime column ``time`` (one with an index). Each row is in exactly one slice."""

    time: ColumnElement[Any]
    where: ColumnElement[bool] | None = None


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    # The SMS's unique key (column names): UPDATE ... WHERE, and the key in the DDL.
    key: tuple[str, ...]
    # A query table: the tables its columns read, which of their rows, and the unique,
    # indexed column its rows are read in order of, a page at a time (a primary key).
    source: FromClause | None = None
    where: ColumnElement[bool] | None = None
    page_key: ColumnElement[Any] | None = None
    # An event table (GetData begin_time/end_time): the SMS column the times are compared
    # with, and where that time comes from.
    time_column: str | None = None
    slices: tuple[TimeSlice, ...] = ()
    # A constant table: its rows.
    rows: tuple[tuple[Any, ...], ...] = field(default=())
    description: str = ""

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"table {self.name}: a column name is repeated")
        if not set(self.key) <= set(names):
            raise ValueError(f"table {self.name}: key {self.key} names unknown columns")
        if self.source is None:
            if any(len(row) != len(names) for row in self.rows):
                raise ValueError(f"table {self.name}: a constant row has the wrong width")
        elif any(c.sql is None for c in self.columns):
            raise ValueError(f"table {self.name}: a column of a query table has no sql")
        elif self.page_key is None:
            raise ValueError(f"table {self.name}: a query table needs a page key")
        if self.time_column is not None and self.time_column not in names:
            raise ValueError(f"table {self.name}: time column {self.time_column} is unknown")
        if self.source is not None and (self.time_column is None) != (not self.slices):
            raise ValueError(f"table {self.name}: a time column goes with its time slices")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def is_constant(self) -> bool:
        return self.source is None

    @property
    def has_times(self) -> bool:
        return self.time_column is not None

    def converted(self) -> tuple[Column, ...]:
        """The columns computed in Python (see the module docstring)."""
        return tuple(c for c in self.columns if c.convert is not None)

    def select(self) -> Select[Any]:
        """The whole table: one labelled column per SMS column, in order. Converted
        columns give their input; a view generator translates them (`converted`)."""
        if self.source is None:
            raise ValueError(f"{self.name} is a constant table: it has rows, not a query")
        query = select(*(_sql(c).label(c.name) for c in self.columns)).select_from(self.source)
        return query if self.where is None else query.where(self.where)


def _sql(column: Column) -> ColumnElement[Any]:
    assert column.sql is not None  # checked by Table
    return column.sql
