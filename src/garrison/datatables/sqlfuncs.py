"""The few SQL expressions whose text differs between SQLite, PostgreSQL and MariaDB, as
SQLAlchemy constructs compiled per dialect, so one table definition serves the Web
service on any backend and compiles into an external database's view.

* `epoch_ms`: a stored UTC timestamp as whole milliseconds since the epoch (floor);
* `zero_pad`: a whole number as text, zero-padded on the left (identifiers of the SMS's
  ``00000001-0001-0001-0001-000000007610`` form);
* `whole_number`: text of digits as a BIGINT, anything else NULL (numbers kept as text,
  never an error on a stray value, which PostgreSQL's CAST would raise);
* `address_low` / `address_high`: a stored address (the biased halves of
  `garrison.store.events`) as the SMS's numbers.

Addresses (the SMS's SRC_IP_ADDR / SRC_IP_ADDR_HIGH). An IPv4 address is its unsigned
32-bit number with HIGH 0; an IPv6 address is split into its low and high 64 bits, each
as a *signed* 64-bit number (two's complement, Java's ``long``, which is what the SMS's
MySQL BIGINT columns hold; clients read them into int64). Both are plain BIGINT
arithmetic on the stored halves, so every backend computes them and the values fit
every database's BIGINT. `sms_address` is the same in Python, for the tests and for
addresses that live in text.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, ColumnElement, String, and_, case
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from garrison.events.addresses import IPV4_MAPPED, address_number

BIAS = 1 << 63
MAX_LONG = BIAS - 1
# The stored low half of ::ffff:0.0.0.0 and ::ffff:255.255.255.255 (hi is -BIAS for both).
V4_FIRST = IPV4_MAPPED - BIAS
V4_LAST = V4_FIRST + 0xFFFF_FFFF
# stored lo + V4_OFFSET = the IPv4 number; positive, so no "- -n" (a comment) in a view.
V4_OFFSET = -V4_FIRST
assert V4_OFFSET > 0


MYSQL = ("mysql", "mariadb")


def _renders(construct: type[FunctionElement[Any]], **templates: str) -> None:
    """Compile ``construct`` from a template per dialect (``default`` for the others,
    PostgreSQL among them; ``mysql`` for MariaDB too). A template names the argument's
    SQL ``{value}``, and ``{width}`` / ``{zeros}`` for `zero_pad`."""

    def render(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
        name = "mysql" if compiler.dialect.name in MYSQL else compiler.dialect.name
        template = templates.get(name) or templates["default"]
        width = getattr(element, "width", 0)
        value = compiler.process(element.clauses, **kw)
        return template.format(value=value, width=width, zeros="0" * width)

    compiles(construct)(render)


class epoch_ms(FunctionElement[int]):
    """Milliseconds since 1970-01-01 UTC of a naive-UTC timestamp column (floor)."""

    type = BigInteger()
    name = "epoch_ms"
    inherit_cache = True


_renders(
    epoch_ms,
    # PostgreSQL: EXTRACT(EPOCH FROM timestamp) counts the stored (UTC) wall time.
    default="CAST(FLOOR(EXTRACT(EPOCH FROM {value}) * 1000) AS BIGINT)",
    # Stored as "YYYY-MM-DD HH:MM:SS.ffffff": whole seconds from strftime over the first
    # 19 characters, the milliseconds from the text itself (SQLite's own parse rounds
    # fractions to the millisecond, so .999999 would become the next second).
    sqlite="(CAST(strftime('%s', substr({value}, 1, 19)) AS INTEGER) * 1000 "
    "+ CAST(substr({value}, 21, 3) AS INTEGER))",
    # TIMESTAMPDIFF ignores the session time zone (UNIX_TIMESTAMP would not).
    mysql="(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', {value}) DIV 1000)",
)


class zero_pad(FunctionElement[str]):
    """A whole number as decimal text padded with zeros to ``width`` digits."""

    type = String()
    name = "zero_pad"
    inherit_cache = True

    def __init__(self, value: Any, width: int) -> None:
        super().__init__(value)
        self.width = int(width)


_renders(
    zero_pad,
    default="LPAD(CAST({value} AS VARCHAR(20)), {width}, '0')",
    sqlite="substr('{zeros}' || ({value}), -{width})",
    mysql="LPAD({value}, {width}, '0')",
)


class whole_number(FunctionElement[int]):
    """Text of 1 to 18 decimal digits as a BIGINT; NULL for anything else."""

    type = BigInteger()
    name = "whole_number"
    inherit_cache = True


_renders(
    whole_number,
    default="CASE WHEN {value} ~ '^[0-9]{{1,18}}$' THEN CAST({value} AS BIGINT) END",
    sqlite="CASE WHEN length({value}) BETWEEN 1 AND 18 AND {value} NOT GLOB '*[^0-9]*' "
    "THEN CAST({value} AS INTEGER) END",
    mysql="CASE WHEN {value} REGEXP '^[0-9]{{1,18}}$' THEN CAST({value} AS SIGNED) END",
)


# -- addresses ------------------------------------------------------------------------------


def _is_v4(hi: ColumnElement[int], lo: ColumnElement[int]) -> ColumnElement[bool]:
    # hi is the lowest BIGINT; "< -MAX_LONG" says so without the literal -2**63.
    return and_(hi < -MAX_LONG, lo.between(V4_FIRST, V4_LAST))


def _signed(half: ColumnElement[int]) -> ColumnElement[int]:
    """A biased half (unsigned - 2**63) as the signed 64-bit number of the same bits:
    flip the sign bit, in steps that never leave the BIGINT range."""
    return case((half < 0, half + MAX_LONG + 1), else_=half - MAX_LONG - 1)


def address_low(hi: ColumnElement[int], lo: ColumnElement[int]) -> ColumnElement[int]:
    """SRC_IP_ADDR: IPv4 as its number, IPv6 as its signed low 64 bits, none as NULL."""
    # A NULL half (no address) fails both tests and stays NULL through _signed.
    return case((_is_v4(hi, lo), lo + V4_OFFSET), else_=_signed(lo))


def address_high(hi: ColumnElement[int], lo: ColumnElement[int]) -> ColumnElement[int]:
    """SRC_IP_ADDR_HIGH: 0 for IPv4, the signed high 64 bits of IPv6, none as NULL."""
    return case((_is_v4(hi, lo), 0), else_=_signed(hi))


def signed64(number: int) -> int:
    return number - (1 << 64) if number >= BIAS else number


def sms_address(text: str) -> tuple[int | None, int | None]:
    """(low, high) of an address as the SMS gives them; (None, None) for no address."""
    number = address_number(text)
    if number is None:
        return None, None
    if number >> 32 == IPV4_MAPPED >> 32:
        return number & 0xFFFF_FFFF, 0
    return signed64(number & ((1 << 64) - 1)), signed64(number >> 64)
