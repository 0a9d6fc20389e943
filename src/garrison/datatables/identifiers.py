"""The SMS's UUID-style identifiers for things Garrison numbers with integers.

The SMS names devices, signatures and policies by 36-character UUIDs; Garrison numbers
devices 1, 2, 3 (DEVICE.SHORT_ID) and knows a filter by its number. The identifiers here
are fixed functions of those numbers, so SQL computes them (an external database view
too) and the same device has the same ID in DEVICE, ALERTS.DEVICE_ID and SEGMENT.DEVICE_ID:

* a signature: ``00000001-0001-0001-0001-<number, 12 digits>`` (the DV's own form);
* a device: ``00000004-0004-0004-0004-<short id, 12 digits>`` (Garrison's choice).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, String, literal

from garrison.datatables.sqlfuncs import zero_pad

SIGNATURE_PREFIX = "00000001-0001-0001-0001-"
DEVICE_PREFIX = "00000004-0004-0004-0004-"
DIGITS = 12


def numbered(prefix: str, number: ColumnElement[Any]) -> ColumnElement[str]:
    """``prefix`` and ``number`` zero-padded: NULL when the number is NULL."""
    return literal(prefix, String) + zero_pad(number, DIGITS)


def device_id(short_id: ColumnElement[Any]) -> ColumnElement[str]:
    return numbered(DEVICE_PREFIX, short_id)


def device_uuid(short_id: int) -> str:
    """The same in Python."""
    return f"{DEVICE_PREFIX}{short_id:0{DIGITS}d}"


def signature_uuid(number: int) -> str:
    return f"{SIGNATURE_PREFIX}{number:0{DIGITS}d}"
