"""The ``Schema`` method's DDL: a CREATE TABLE per data table, for MySQL (the default;
MySQL 4.0 compatible) or Oracle (8i compatible), from the same definitions the data comes
from. A site loads it, then loads DataDictionary and GetData answers in ``format=sql``.

Types: Integer INT / NUMBER(10), Long BIGINT / NUMBER(20), String VARCHAR(n) /
VARCHAR2(n), or TEXT / CLOB for long text. A one-column key is the PRIMARY KEY (NOT
NULL); a key of several columns is a UNIQUE constraint (ALERTS' key columns may be NULL).
"""

from __future__ import annotations

from collections.abc import Iterable

from garrison.datatables.model import INTEGER, LONG, Column, Table

# Per database: INTEGER, LONG, a VARCHAR of n, long text, and the longest VARCHAR.
TYPE_NAMES = {
    "mysql": ("INT", "BIGINT", "VARCHAR({n})", "TEXT", 255),  # MySQL 4.0's longest VARCHAR
    "oracle": ("NUMBER(10)", "NUMBER(20)", "VARCHAR2({n})", "CLOB", 4000),
}
DATABASES = tuple(TYPE_NAMES)


def column_type(column: Column, database: str) -> str:
    integer, long, varchar, text, longest = TYPE_NAMES[database]
    if column.type == INTEGER:
        return integer
    if column.type == LONG:
        return long
    if column.size is None or column.size > longest:
        return text
    return varchar.format(n=column.size)


def create_table(table: Table, database: str = "mysql") -> str:
    if database not in DATABASES:
        raise ValueError(f"database {database!r} is not one of {', '.join(DATABASES)}")
    primary = table.key if len(table.key) == 1 else ()
    lines = [
        f"  {c.name} {column_type(c, database)}{' NOT NULL' if c.name in primary else ''}"
        for c in table.columns
    ]
    keys = ", ".join(table.key)
    if primary:
        lines.append(f"  CONSTRAINT PK_{table.name} PRIMARY KEY ({keys})")
    elif table.key:
        lines.append(f"  CONSTRAINT UQ_{table.name} UNIQUE ({keys})")
    body = ",\n".join(lines)
    return f"CREATE TABLE {table.name} (\n{body}\n);\n"


def ddl(tables: Iterable[Table], database: str = "mysql") -> str:
    return "\n".join(create_table(t, database) for t in tables)
