"""ALERTS values that live in an event's ``extra`` JSON text (the trap's remaining varbinds,
a CEF line's extension keys): read in Python, one parse per row, because JSON in SQL is
three different dialects and a parse per column per row.

Each function builds a `Conversion` whose input is the ``extra`` column; the parsed text
is cached, so the dozen ALERTS columns that read it parse each row's text once.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from garrison.datatables.model import Conversion
from garrison.datatables.sqlfuncs import sms_address

MAX_DIGITS = 18  # a whole number that surely fits a signed 64-bit column


@lru_cache(maxsize=8)
def parse(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:  # written by hand, not by Garrison
        return {}
    return value if isinstance(value, dict) else {}


def first(text: str | None, keys: tuple[str, ...]) -> str | None:
    """The first non-blank value among ``keys`` of the ``extra`` text, as text."""
    if not text:
        return None
    found = parse(text)
    for key in keys:
        value = found.get(key)
        if value not in (None, ""):
            return str(value)
    return None


def _named(keys: tuple[str, ...]) -> str:
    return " or ".join(repr(k) for k in keys)


def text(*keys: str) -> Conversion:
    return Conversion(lambda v: first(v, keys), f"the text of extra key {_named(keys)}")


def whole_number(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) <= MAX_DIGITS else None


def number(*keys: str) -> Conversion:
    return Conversion(
        lambda v: whole_number(first(v, keys)),
        f"the whole number in extra key {_named(keys)}, else NULL",
    )


def address_low(*keys: str) -> Conversion:
    return Conversion(
        lambda v: sms_address(first(v, keys) or "")[0],
        f"the address in extra key {_named(keys)}: IPv4 as its number, IPv6 its low "
        "64 bits as a signed number",
    )


def address_high(*keys: str) -> Conversion:
    return Conversion(
        lambda v: sms_address(first(v, keys) or "")[1],
        f"the address in extra key {_named(keys)}: 0 for IPv4, IPv6 its high 64 bits "
        "as a signed number",
    )


def rate_text(kbps: int | None) -> str | None:
    """``64 Kbps``, ``2 Mbps``: the SMS's RATE_LIMIT_RATE (a Mbps is 1024 Kbps, as in the
    built-in action set "Rate Limit 1 Mbps")."""
    if not kbps:
        return None
    if kbps % 1024 == 0:
        return f"{kbps // 1024} Mbps"
    return f"{kbps} Kbps"


def rate(*keys: str) -> Conversion:
    return Conversion(
        lambda v: rate_text(whole_number(first(v, keys))),
        f"the kbps in extra key {_named(keys)} as '<n> Kbps', or '<n> Mbps' for a "
        "whole multiple of 1024",
    )
