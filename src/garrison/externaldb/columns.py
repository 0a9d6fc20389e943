"""Where an external database view's column differs from the data-access Web service's,
keyed by (table, column):

* `TRANSLATIONS`: the columns `garrison.datatables` computes in Python (a `Conversion` of
  the event's ``extra`` text) as SQL over the same input, built from `sqltext`;
* `DIFFERENCES`: what the SMS's ExternalAccess database does differently from its data
  servlet (facts sheet §1.2, "External database"): in ALERTS, DEVICE_ID is an integer
  (Garrison's device number, DEVICE.SHORT_ID) and the high 64 bits of the source and
  destination addresses are in SRC_IP_ADDR_2 / DST_IP_ADDR_2 (the servlet's
  SRC_IP_ADDR_HIGH / DST_IP_ADDR_HIGH; the client, XFF and True-Client-IP addresses
  keep their _HIGH names, as the facts sheet names no other change).

The extra keys below are the ones `garrison.datatables.alerts` reads; the tests check
every view value against the Web service's, so a key changed there and not here fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func

from garrison.datatables.alerts import CLIENT_IP, TCIP_IP, XFF_IP
from garrison.datatables.model import INTEGER
from garrison.datatables.sqlfuncs import whole_number
from garrison.externaldb.sqltext import (
    extra_text,
    rate_text,
    text_address_high,
    text_address_low,
)
from garrison.store.events import EVENTS

Translation = Callable[[ColumnElement[Any]], ColumnElement[Any]]


def text(*keys: str) -> Translation:
    return lambda extra: extra_text(extra, keys)


def number(*keys: str) -> Translation:
    return lambda extra: whole_number(func.trim(extra_text(extra, keys)))


def rate(*keys: str) -> Translation:
    return lambda extra: rate_text(whole_number(func.trim(extra_text(extra, keys))))


def address_low(*keys: str) -> Translation:
    return lambda extra: text_address_low(extra_text(extra, keys))


def address_high(*keys: str) -> Translation:
    return lambda extra: text_address_high(extra_text(extra, keys))


TRANSLATIONS: dict[tuple[str, str], Translation] = {
    ("ALERTS", "VIRTUAL_SEGMENT_INDEX"): number("tptPolicyNotifyVirtualSegment"),
    ("ALERTS", "DEVICE_TRACE_BUCKET"): number("tptPolicyNotifyTraceBucket"),
    ("ALERTS", "DEVICE_TRACE_BEGIN_SEQ"): number("tptPolicyNotifyTraceBegin"),
    ("ALERTS", "DEVICE_TRACE_END_SEQ"): number("tptPolicyNotifyTraceEnd"),
    ("ALERTS", "RATE_LIMIT_RATE"): rate("tptPolicyNotifyRate"),
    ("ALERTS", "CLIENT_IP_ADDR"): address_low(*CLIENT_IP),
    ("ALERTS", "CLIENT_IP_ADDR_HIGH"): address_high(*CLIENT_IP),
    ("ALERTS", "XFF_IP_ADDR"): address_low(*XFF_IP),
    ("ALERTS", "XFF_IP_ADDR_HIGH"): address_high(*XFF_IP),
    ("ALERTS", "TCIP_IP_ADDR"): address_low(*TCIP_IP),
    ("ALERTS", "TCIP_IP_ADDR_HIGH"): address_high(*TCIP_IP),
    ("ALERTS", "URI_METHOD"): text("requestMethod", "uriMethod"),
    ("ALERTS", "URI_HOST"): text("requestHost", "uriHost"),
    ("ALERTS", "URI_STRING"): text("request", "uriString"),
    ("ALERTS", "SRC_USER_NAME"): text("suser"),
    ("ALERTS", "SRC_DOMAIN"): text("sntdom"),
    ("ALERTS", "SRC_MACHINE"): text("shost"),
    ("ALERTS", "DST_USER_NAME"): text("duser"),
    ("ALERTS", "DST_DOMAIN"): text("dntdom"),
    ("ALERTS", "DST_MACHINE"): text("dhost"),
}


@dataclass(frozen=True, slots=True)
class Difference:
    """The view's column instead of the Web service's: another name, and/or another
    value (``sql`` over the same source tables) of another SMS type."""

    name: str | None = None
    sql: ColumnElement[Any] | None = None
    type: str | None = None


DIFFERENCES: dict[tuple[str, str], Difference] = {
    ("ALERTS", "DEVICE_ID"): Difference(sql=EVENTS.c.device_id, type=INTEGER),
    ("ALERTS", "SRC_IP_ADDR_HIGH"): Difference(name="SRC_IP_ADDR_2"),
    ("ALERTS", "DST_IP_ADDR_HIGH"): Difference(name="DST_IP_ADDR_2"),
}
