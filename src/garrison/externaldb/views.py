"""The external database's views, compiled from the data-access tables
(`garrison.datatables.registry`): one ``CREATE OR REPLACE VIEW`` per SMS table, for
MariaDB or PostgreSQL. Pure: statements in, no connection needed.

* **MariaDB**: the views live in their own database, ``ExternalAccess`` by default, and
  read Garrison's tables by their qualified names (``garrison`.`events``). Each is ``SQL
  SECURITY DEFINER`` with Garrison's user as the definer, so a reader needs SELECT on the
  views alone. Names are the SMS's, in upper case (``ALERTS``, ``SRC_IP_ADDR``).
* **PostgreSQL**: the views live in a schema of Garrison's database, ``externalaccess``:
  the name, the view names and the column names are in **lower case**, PostgreSQL's own
  folding of unquoted names, so the SQL a script wrote for the SMS's MySQL
  (``SELECT SRC_IP_ADDR FROM ExternalAccess.ALERTS``) runs unchanged. A view runs with
  its owner's rights, so again the reader needs SELECT on the views alone.

Columns are the SMS's, in its order, with the values the Web service gives, except where
`garrison.externaldb.columns` says: the columns computed in Python by the Web service are
translated into SQL (`TRANSLATIONS`), and ALERTS has the SMS's ExternalAccess differences
(`DIFFERENCES`). A column computed in Python that has no translation would be NULL and is
listed in `View.untranslated` (there is none; the tests keep it so). Constant tables
(SEVERITY, TAXONOMY_MAJOR, ...) are their rows as ``SELECT ... UNION ALL SELECT ...``; a
table with no rows yet (DDOS_STATS) is its typed columns and ``WHERE`` false.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    String,
    Text,
    cast,
    false,
    literal,
    null,
    select,
    union_all,
)
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.elements import CompilerElement
from sqlalchemy.types import TypeEngine

from garrison.datatables.model import INTEGER, LONG, Column, Table
from garrison.datatables.registry import TABLES
from garrison.errors import Invalid
from garrison.externaldb.columns import DIFFERENCES, TRANSLATIONS

MARIADB = "mariadb"
POSTGRESQL = "postgresql"
BACKENDS = (MARIADB, POSTGRESQL)
DEFAULT_NAME = "ExternalAccess"
# A database, schema or user name: inlined in DDL, so plain characters only.
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class Unsupported(Invalid):
    """External access on a database that cannot have it (SQLite)."""


def backend_of(dialect: Dialect) -> str:
    """``mariadb`` or ``postgresql``; `Unsupported` for any other database."""
    if dialect.name in ("mysql", "mariadb"):
        return MARIADB
    if dialect.name == POSTGRESQL:
        return POSTGRESQL
    raise Unsupported(
        f"external database access needs Garrison on MariaDB or PostgreSQL; this Garrison "
        f"runs on {dialect.name} (set database.url to a mysql+pymysql:// or "
        "postgresql+psycopg:// URL, see docs/external-database.md)"
    )


def checked_name(name: str, what: str) -> str:
    if not NAME.match(name):
        raise Invalid(
            f"{what} {name!r}: use 1 to 63 letters, digits and _, not starting with a digit"
        )
    return name


def database_name(name: str, backend: str) -> str:
    """What the database calls a view, column or container named ``name`` by the SMS."""
    return name.lower() if backend == POSTGRESQL else name


@dataclass(frozen=True, slots=True)
class ViewColumn:
    name: str  # as the database has it
    type: str  # the SMS's type name (Integer, Long, String)


@dataclass(frozen=True, slots=True)
class View:
    name: str  # as the database has it
    columns: tuple[ViewColumn, ...]
    create: str  # the CREATE OR REPLACE VIEW statement
    untranslated: tuple[str, ...] = ()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def sql_type(column: Column) -> TypeEngine[Any]:
    if column.type == INTEGER:
        return Integer()
    if column.type == LONG:
        return BigInteger()
    return String(column.size) if column.size is not None else Text()


def _constant_select(table: Table, backend: str) -> Select[Any]:
    names = [database_name(c.name, backend) for c in table.columns]
    types = [sql_type(c) for c in table.columns]
    if not table.rows:
        typed_nulls = (cast(null(), t).label(n) for n, t in zip(names, types, strict=True))
        return select(*typed_nulls).where(false())
    selects = [
        select(
            *(
                cast(literal(value, t), t).label(n)
                for n, t, value in zip(names, types, row, strict=True)
            )
        )
        for row in table.rows
    ]
    return selects[0] if len(selects) == 1 else union_all(*selects)  # type: ignore[return-value]


def view_columns(table: Table, backend: str) -> tuple[ViewColumn, ...]:
    """The view's columns: the SMS's names, with the ExternalAccess differences."""
    found = []
    for column in table.columns:
        difference = DIFFERENCES.get((table.name, column.name))
        name = column.name if difference is None or difference.name is None else difference.name
        type_ = column.type if difference is None or difference.type is None else difference.type
        found.append(ViewColumn(database_name(name, backend), type_))
    return tuple(found)


def _value(table: Table, column: Column) -> tuple[ColumnElement[Any], bool]:
    """The column's SQL in a view, and whether it had to be NULL (no translation)."""
    difference = DIFFERENCES.get((table.name, column.name))
    if difference is not None and difference.sql is not None:
        return difference.sql, False
    assert column.sql is not None  # a query table's columns all have sql
    if column.convert is None:
        return column.sql, False
    translation = TRANSLATIONS.get((table.name, column.name))
    if translation is None:
        return cast(null(), sql_type(column)), True
    return translation(column.sql), False


def view_select(table: Table, backend: str) -> tuple[Select[Any], tuple[str, ...]]:
    """The view's SELECT, and the names of the columns left NULL for want of SQL."""
    if table.is_constant:
        return _constant_select(table, backend), ()
    names = [c.name for c in view_columns(table, backend)]
    values = [_value(table, c) for c in table.columns]
    query = select(*(v.label(n) for (v, _), n in zip(values, names, strict=True)))
    assert table.source is not None
    query = query.select_from(table.source)
    if table.where is not None:
        query = query.where(table.where)
    untranslated = tuple(
        c.name for c, (_, null_) in zip(table.columns, values, strict=True) if null_
    )
    return query, untranslated


# What a connected dialect knows of its server that changes how SQL is written.
_SERVER_FACTS = ("is_mariadb", "server_version_info", "_backslash_escapes", "_server_ansiquotes")


def view_dialect(dialect: Dialect) -> Dialect:
    """A dialect like ``dialect`` that writes SQL as the server reads it: a driver with
    ``%s`` parameters has SQLAlchemy double every ``%`` in the text (the driver undoes
    it), but a view's text goes to the server as it is, run with no parameters."""
    fresh = type(dialect)(paramstyle="named")
    for fact in _SERVER_FACTS:
        if hasattr(dialect, fact):
            setattr(fresh, fact, getattr(dialect, fact))
    return fresh


def offline_dialect(backend: str) -> Dialect:
    """A dialect for ``backend`` with no server behind it (to print the statements)."""
    if backend == MARIADB:
        found = mysql.dialect(paramstyle="named")
        found.is_mariadb = True
        return found
    return postgresql.dialect(paramstyle="named")


def compile_sql(element: CompilerElement, dialect: Dialect, source: str | None) -> str:
    """SQL text with every value inlined (a view has no parameters) and Garrison's tables
    qualified by ``source``, its database (MariaDB) or schema (PostgreSQL)."""
    if dialect.paramstyle in ("format", "pyformat"):
        dialect = view_dialect(dialect)
    compiled = element.compile(
        dialect=dialect,
        schema_translate_map={None: source} if source else None,
        render_schema_translate=bool(source),
        compile_kwargs={"literal_binds": True},
    )
    return str(compiled)


def qualified(dialect: Dialect, container: str, name: str) -> str:
    quote = dialect.identifier_preparer.quote
    return f"{quote(container)}.{quote(name)}"


def compile_view(table: Table, dialect: Dialect, *, container: str, source: str | None) -> View:
    """``table`` as a view in ``container`` (the database or schema of the views) over
    Garrison's tables in ``source``."""
    backend = backend_of(dialect)
    container = database_name(checked_name(container, "external database name"), backend)
    name = database_name(table.name, backend)
    query, untranslated = view_select(table, backend)
    body = compile_sql(query, dialect, source)
    target = qualified(dialect, container, name)
    if backend == MARIADB:
        head = f"CREATE OR REPLACE DEFINER = CURRENT_USER SQL SECURITY DEFINER VIEW {target}"
    else:
        head = f"CREATE OR REPLACE VIEW {target}"
    return View(name, view_columns(table, backend), f"{head} AS\n{body}", untranslated)


def compile_views(
    dialect: Dialect,
    *,
    container: str = DEFAULT_NAME,
    source: str | None = None,
    tables: Iterable[Table] | None = None,
) -> list[View]:
    """Every SMS table (or ``tables``) as a view, by name."""
    chosen: Sequence[Table] = list(TABLES.values() if tables is None else tables)
    return [compile_view(t, dialect, container=container, source=source) for t in chosen]
