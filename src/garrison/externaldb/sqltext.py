"""SQL for the values the data-access Web service computes in Python, written in MariaDB's
and PostgreSQL's own SQL, so an external database view computes them too.

The Web service reads ALERTS columns such as CLIENT_IP_ADDR from the event's ``extra``
JSON text in Python (`garrison.datatables.extra`): SQLite has no portable way to. A view
has no Python, so each step is a SQLAlchemy construct compiled per dialect here:

* `extra_text`: the first non-blank value among some keys of the ``extra`` JSON text
  (MariaDB ``JSON_VALUE``; PostgreSQL ``->>`` on the text cast to ``json``, only when it
  is a JSON object: Garrison writes ``extra`` as ``''`` or a JSON object);
* `text_address_low` / `text_address_high`: an address written as text, as the SMS's two
  numbers, exactly as `garrison.datatables.sqlfuncs.sms_address` gives them: IPv4 its
  unsigned 32-bit number with 0 as the high half, IPv6 its low and high 64 bits each as a
  *signed* 64-bit number; anything else NULL;
* `rate_text`: a kbps number as ``<n> Kbps`` or ``<n> Mbps`` (1024 Kbps to the Mbps).

Addresses in text. A cast of a non-address to ``inet`` is an error in PostgreSQL, which
would fail the whole SELECT, so the text must first match `ADDRESS_PATTERN`: strict IPv4
(no leading zeros, as Python's parser) and the IPv6 forms of RFC 4291 (with an optional
trailing IPv4, and an optional ``%scope`` that is left out). Whatever matches is an
address to Python, to MariaDB's ``INET6_ATON`` and to PostgreSQL's ``inet``; the rare text
Python reads and the pattern does not (none devices send) is NULL. The pattern has no
backslash, so no string-literal escaping rule of either database can change it. One more
limit: ``INET6_ATON`` reads at most 39 characters, so on MariaDB an IPv6 address written
in full with a trailing IPv4 (``1111:2222:3333:4444:5555:6666:123.123.123.123``) is NULL.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import BigInteger, String, Text
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

# -- the address pattern --------------------------------------------------------------------

_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
IPV4_PATTERN = f"{_OCTET}(?:[.]{_OCTET}){{3}}"
_GROUP = "[0-9A-Fa-f]{1,4}"


def _more(count: str) -> str:
    """``count`` (a regex repeat such as ``{7}`` or ``{0,5}``) more groups after a colon."""
    return f"(?::{_GROUP}){count}"


def _ipv6_forms() -> list[str]:
    forms = [f"{_GROUP}{_more('{7}')}", f"(?:{_GROUP}:){{6}}{IPV4_PATTERN}"]
    # "::" stands for one or more zero groups: ``left`` groups, "::", at most 7 - left.
    for left in range(8):
        head = f"{_GROUP}{_more(f'{{{left - 1}}}')}" if left else ""
        room = 7 - left
        tail = f"(?:{_GROUP}{_more(f'{{0,{room - 1}}}')})?" if room else ""
        forms.append(f"{head}::{tail}")
    # The same with an IPv4 address as the last two groups.
    for left in range(6):
        head = f"{_GROUP}{_more(f'{{{left - 1}}}')}" if left else ""
        forms.append(f"{head}::(?:{_GROUP}:){{0,{5 - left}}}{IPV4_PATTERN}")
    return forms


# An address, and nothing after it but (for IPv6) a scope ("%eth0"): the one capture is
# the address without the scope. MariaDB's REGEXP_SUBSTR gives the match ('' for none),
# PostgreSQL's substring() the capture (NULL for none).
SCOPE = "(?:%[^%/]+)?"
ADDRESS_PATTERN = f"^({IPV4_PATTERN}(?=$)|(?:{'|'.join(_ipv6_forms())})(?={SCOPE}$))"
assert "\\" not in ADDRESS_PATTERN and "'" not in ADDRESS_PATTERN
_ADDRESS = re.compile(ADDRESS_PATTERN)


def looks_like_address(text: str) -> bool:
    """Python's reading of the pattern the views use (the databases read it the same)."""
    return _ADDRESS.match(text) is not None


# -- JSON -----------------------------------------------------------------------------------

_KEY = re.compile(r"^[A-Za-z0-9_.:-]+$")


def _check_keys(keys: tuple[str, ...]) -> tuple[str, ...]:
    # Keys go into the SQL text as they are: only characters that need no quoting.
    for key in keys:
        if not _KEY.match(key):
            raise ValueError(f"extra key {key!r} has characters a view cannot name")
    if not keys:
        raise ValueError("extra_text needs at least one key")
    return keys


# The constructs are named in lower case, as the SQL functions they stand for.
class extra_text(FunctionElement[str]):
    """The first non-blank value among ``keys`` of a JSON object in text, else NULL."""

    type = Text()
    name = "extra_text"
    inherit_cache = False  # the keys are not part of the clauses

    def __init__(self, extra: Any, keys: tuple[str, ...]) -> None:
        super().__init__(extra)
        self.keys = _check_keys(tuple(keys))


def _other_dialect(compiler: SQLCompiler) -> CompileError:
    """These expressions exist only in the views, which only MariaDB and PostgreSQL get."""
    return CompileError(
        f"external database views are for MariaDB and PostgreSQL, not {compiler.dialect.name}"
    )


def _first(values: list[str]) -> str:
    return values[0] if len(values) == 1 else f"COALESCE({', '.join(values)})"


@compiles(extra_text)
def _extra_text_default(element: extra_text, compiler: SQLCompiler, **kw: Any) -> str:
    raise _other_dialect(compiler)


@compiles(extra_text, "mysql")
@compiles(extra_text, "mariadb")
def _extra_text_mysql(element: extra_text, compiler: SQLCompiler, **kw: Any) -> str:
    # JSON_VALUE gives NULL for '' (not JSON), a missing key, a JSON null or an object.
    extra = compiler.process(element.clauses, **kw)
    return _first([f"NULLIF(JSON_VALUE({extra}, '$.\"{key}\"'), '')" for key in element.keys])


@compiles(extra_text, "postgresql")
def _extra_text_postgresql(element: extra_text, compiler: SQLCompiler, **kw: Any) -> str:
    # A cast of '' to json is an error: only a JSON object is cast (CASE runs in order).
    extra = compiler.process(element.clauses, **kw)
    parsed = f"(CASE WHEN {extra} LIKE '{{%' THEN CAST({extra} AS JSON) END)"
    return _first([f"NULLIF({parsed} ->> '{key}', '')" for key in element.keys])


# -- addresses in text ----------------------------------------------------------------------


class _TextAddress(FunctionElement[int]):
    type = BigInteger()
    inherit_cache = True


class text_address_low(_TextAddress):
    """IPv4 as its number, IPv6 its low 64 bits as a signed number, else NULL."""

    name = "text_address_low"


class text_address_high(_TextAddress):
    """0 for IPv4, IPv6 its high 64 bits as a signed number, else NULL."""

    name = "text_address_high"


@compiles(text_address_low)
@compiles(text_address_high)
def _text_address_default(element: _TextAddress, compiler: SQLCompiler, **kw: Any) -> str:
    raise _other_dialect(compiler)


# The 32 hex digits of an IPv4-mapped IPv6 address start so (::ffff:a.b.c.d).
_MAPPED_HEX = "00000000000000000000FFFF"


def _mysql_hex(element: _TextAddress, compiler: SQLCompiler, **kw: Any) -> str:
    # INET6_ATON gives 4 bytes for IPv4, 16 for IPv6 ('' gives NULL). Padded to 32 hex
    # digits, IPv4 reads as ::a.b.c.d, whose halves are the SMS's IPv4 numbers too.
    text = compiler.process(element.clauses, **kw)
    return f"LPAD(HEX(INET6_ATON(REGEXP_SUBSTR({text}, '{ADDRESS_PATTERN}'))), 32, '0')"


@compiles(text_address_low, "mysql")
@compiles(text_address_low, "mariadb")
def _text_address_low_mysql(element: _TextAddress, compiler: SQLCompiler, **kw: Any) -> str:
    # CONV(hex, 16, -10) reads up to 16 hex digits as a signed 64-bit number; of an
    # IPv4-mapped address only the last 8 digits are the SMS's number.
    digits = _mysql_hex(element, compiler, **kw)
    return (
        f"CAST(CONV(RIGHT({digits}, IF(LEFT({digits}, 24) = '{_MAPPED_HEX}', 8, 16)), 16, -10) "
        "AS SIGNED)"
    )


@compiles(text_address_high, "mysql")
@compiles(text_address_high, "mariadb")
def _text_address_high_mysql(element: _TextAddress, compiler: SQLCompiler, **kw: Any) -> str:
    # The high 64 bits of IPv4 (padded) and of IPv4-mapped IPv6 are 0, as the SMS's.
    digits = _mysql_hex(element, compiler, **kw)
    return f"CAST(CONV(LEFT({digits}, 16), 16, -10) AS SIGNED)"


def _postgresql_inet(element: _TextAddress, compiler: SQLCompiler, **kw: Any) -> str:
    text = compiler.process(element.clauses, **kw)
    return f"CAST(substring({text} from '{ADDRESS_PATTERN}') AS INET)"


@compiles(text_address_low, "postgresql")
def _text_address_low_postgresql(element: _TextAddress, compiler: SQLCompiler, **kw: Any) -> str:
    # inet - inet is a BIGINT: an IPv4 number fits; the low 64 bits minus 2**63 fit, and
    # flipping the sign bit (XOR with -2**63) of that gives the signed low half.
    address = _postgresql_inet(element, compiler, **kw)
    low_bits = f"({address} & INET '::ffff:ffff:ffff:ffff')"
    return (
        f"(CASE WHEN family({address}) = 4 THEN {address} - INET '0.0.0.0' "
        f"WHEN {address} << INET '::ffff:0:0/96' THEN {address} - INET '::ffff:0.0.0.0' "
        f"ELSE ({low_bits} - INET '::8000:0:0:0') # (-9223372036854775807 - 1) END)"
    )


@compiles(text_address_high, "postgresql")
def _text_address_high_postgresql(element: _TextAddress, compiler: SQLCompiler, **kw: Any) -> str:
    # The high 64 bits alone print as 'g1:g2::' (the zero low half is always the longest
    # run of zeros, so it is the one '::' stands for): the first four groups, padded, are
    # the 16 hex digits, and bit(64) -> bigint reads them as a signed number. IPv4 and
    # IPv4-mapped addresses have 0 (<< between families is false, not an error).
    address = _postgresql_inet(element, compiler, **kw)
    high = f"host({address} & INET 'ffff:ffff:ffff:ffff::')"
    digits = " || ".join(f"lpad(split_part({high}, ':', {n}), 4, '0')" for n in range(1, 5))
    return (
        f"(CASE WHEN family({address}) = 4 OR {address} << INET '::ffff:0:0/96' THEN 0 "
        f"ELSE CAST(CAST('x' || {digits} AS BIT(64)) AS BIGINT) END)"
    )


# -- rates ----------------------------------------------------------------------------------


# As `garrison.datatables.extra.rate_text` and the built-in action set "Rate Limit 1 Mbps".
KBPS_PER_MBPS = 1024


class rate_text(FunctionElement[str]):
    """A whole kbps number as ``<n> Kbps``, ``<n> Mbps`` when whole Mbps; NULL for 0."""

    type = String()
    name = "rate_text"
    inherit_cache = True


def _number_and(number: str, unit: str, dialect: str) -> str:
    """``number`` as text followed by ``unit`` (whole numbers only)."""
    if dialect in ("mysql", "mariadb"):
        return f"CONCAT({number}, '{unit}')"
    return f"CAST({number} AS VARCHAR(20)) || '{unit}'"


@compiles(rate_text)
def _rate_text(element: rate_text, compiler: SQLCompiler, **kw: Any) -> str:
    # Integer division: DIV on MariaDB (its / gives a decimal), / on PostgreSQL.
    kbps = compiler.process(element.clauses, **kw)
    dialect = compiler.dialect.name
    divide = "DIV" if dialect in ("mysql", "mariadb") else "/"
    mbps = _number_and(f"{kbps} {divide} {KBPS_PER_MBPS}", " Mbps", dialect)
    return (
        f"(CASE WHEN {kbps} = 0 THEN NULL WHEN MOD({kbps}, {KBPS_PER_MBPS}) = 0 THEN {mbps} "
        f"ELSE {_number_and(kbps, ' Kbps', dialect)} END)"
    )
