"""ALERTS: Garrison's stored IPS events (kinds ``alert`` and ``quarantine``) as the SMS's
events table, every column in the facts sheet's order.

Choices where Garrison's events and the SMS's columns differ (docs/webservices/dbAccess.md
has them for users):

* DEVICE_ID is the device's UUID-style ID (`garrison.datatables.identifiers`), the same
  as DEVICE.ID, so the two join; NULL for an event from a sender not in the inventory.
* END_TIME is the device's alert time; an event that came without one (a quarantine trap
  carries none) has its arrival time. BEGIN_TIME falls back to END_TIME. GetData selects
  by END_TIME: by ``end_time`` for events with a device time, by ``received_at`` for the
  others (two time slices, each with its index).
* SIGNATURE_ID: the signature UUID the device sent, else the one its filter number names.
* QUARANTINE_ACTION: ``Added`` or ``Removed`` for quarantine events, else NULL.
* ACTION_SET_UUID is the ACTIONSET row of the event's action set name (the catalog learns
  every one the fleet reports), so the two join; FLOW_CONTROL is that row's, else the
  action's: block and quarantine DENY, permit and alert ALLOW, rate-limit RATE, trust
  TRUST.
* The columns from the event's ``extra`` (trace buckets, rate, client,
  XFF and True-Client-IP addresses, URI and user-identity fields) are computed per row in
  Python (`garrison.datatables.extra`), from the trap's varbind names and the CEF
  extension keys listed below.
"""

from __future__ import annotations

from sqlalchemy import and_, case, func, null

from garrison.datatables import extra
from garrison.datatables.identifiers import SIGNATURE_PREFIX, device_id, numbered
from garrison.datatables.model import (
    INTEGER,
    LONG,
    STRING,
    Column,
    Conversion,
    Table,
    TimeSlice,
)
from garrison.datatables.sqlfuncs import address_high, address_low, epoch_ms
from garrison.store.catalog import ACTION_SETS
from garrison.store.events import EVENTS

E = EVENTS.c
ALERT_KINDS = ("alert", "quarantine")
# As `garrison.catalog.learner` sets ACTIONSET.FLOW_CONTROL, for an unknown action set.
FLOW_CONTROL = {
    "block": "DENY",
    "quarantine": "DENY",
    "permit": "ALLOW",
    "alert": "ALLOW",
    "rate-limit": "RATE",
    "trust": "TRUST",
}
# Where the extra-sourced columns come from: the trap's varbind names, CEF extension keys,
# and plain names an ingest client may use.
CLIENT_IP = ("tptPolicyNotifyClientip", "clientIp")
XFF_IP = ("xffIp", "xff")
TCIP_IP = ("tcipIp", "trueClientIp")

# The action set by name: the catalog learns every action set the fleet reports.
SOURCE = EVENTS.outerjoin(ACTION_SETS, ACTION_SETS.c.name == E.action_set)
A = ACTION_SETS.c
END = func.coalesce(E.end_time, E.received_at)
BEGIN = func.coalesce(E.begin_time, E.end_time, E.received_at)


def _extra(name: str, type_: str, conversion: Conversion, size: int | None = None) -> Column:
    return Column(name, type_, size, E.extra, conversion)


ALERTS = Table(
    "ALERTS",
    (
        Column("SEQUENCE_NUM", LONG, sql=E.sequence),
        Column("DEVICE_ID", STRING, 36, device_id(E.device_id)),
        Column("ALERT_TYPE_ID", INTEGER, sql=E.alert_type),
        Column("POLICY_ID", STRING, 64, E.policy_id),
        Column(
            "SIGNATURE_ID",
            STRING,
            64,
            case(
                (
                    and_(E.signature_id == "", E.signature_number.is_not(None)),
                    numbered(SIGNATURE_PREFIX, E.signature_number),
                ),
                else_=E.signature_id,
            ),
        ),
        Column("BEGIN_TIME", LONG, sql=epoch_ms(BEGIN)),
        Column("END_TIME", LONG, sql=epoch_ms(END)),
        Column("HIT_COUNT", INTEGER, sql=E.hit_count),
        Column("SRC_IP_ADDR", LONG, sql=address_low(E.src_ip_hi, E.src_ip_lo)),
        Column("SRC_IP_ADDR_HIGH", LONG, sql=address_high(E.src_ip_hi, E.src_ip_lo)),
        Column("SRC_PORT", INTEGER, sql=E.src_port),
        Column("DST_IP_ADDR", LONG, sql=address_low(E.dst_ip_hi, E.dst_ip_lo)),
        Column("DST_IP_ADDR_HIGH", LONG, sql=address_high(E.dst_ip_hi, E.dst_ip_lo)),
        Column("DST_PORT", INTEGER, sql=E.dst_port),
        _extra("VIRTUAL_SEGMENT_INDEX", INTEGER, extra.number("tptPolicyNotifyVirtualSegment")),
        Column("PHYSICAL_PORT_IN", INTEGER, sql=E.physical_port_in),
        Column("VLAN_TAG", INTEGER, sql=E.vlan),
        Column("SEVERITY", INTEGER, sql=E.severity),
        Column("PACKET_TRACE", INTEGER, sql=case((E.packet_trace, 1), else_=0)),
        _extra("DEVICE_TRACE_BUCKET", INTEGER, extra.number("tptPolicyNotifyTraceBucket")),
        _extra("DEVICE_TRACE_BEGIN_SEQ", LONG, extra.number("tptPolicyNotifyTraceBegin")),
        _extra("DEVICE_TRACE_END_SEQ", LONG, extra.number("tptPolicyNotifyTraceEnd")),
        Column("MESSAGE_PARMS", STRING, None, E.message_params),
        Column(
            "QUARANTINE_ACTION",
            STRING,
            16,
            case(
                (E.kind != "quarantine", null()),
                (E.action == "quarantine", "Added"),
                else_="Removed",
            ),
        ),
        Column(
            "FLOW_CONTROL",
            STRING,
            8,
            func.coalesce(A.flow_control, case(FLOW_CONTROL, value=E.action, else_=null())),
        ),
        Column("ACTION_SET_UUID", STRING, 36, A.id),
        Column("ACTION_SET_NAME", STRING, 128, E.action_set),
        _extra("RATE_LIMIT_RATE", STRING, extra.rate("tptPolicyNotifyRate"), 32),
        _extra("CLIENT_IP_ADDR", LONG, extra.address_low(*CLIENT_IP)),
        _extra("CLIENT_IP_ADDR_HIGH", LONG, extra.address_high(*CLIENT_IP)),
        _extra("XFF_IP_ADDR", LONG, extra.address_low(*XFF_IP)),
        _extra("XFF_IP_ADDR_HIGH", LONG, extra.address_high(*XFF_IP)),
        _extra("TCIP_IP_ADDR", LONG, extra.address_low(*TCIP_IP)),
        _extra("TCIP_IP_ADDR_HIGH", LONG, extra.address_high(*TCIP_IP)),
        _extra("URI_METHOD", STRING, extra.text("requestMethod", "uriMethod"), 16),
        _extra("URI_HOST", STRING, extra.text("requestHost", "uriHost"), 255),
        _extra("URI_STRING", STRING, extra.text("request", "uriString")),
        _extra("SRC_USER_NAME", STRING, extra.text("suser"), 255),
        _extra("SRC_DOMAIN", STRING, extra.text("sntdom"), 255),
        _extra("SRC_MACHINE", STRING, extra.text("shost"), 255),
        _extra("DST_USER_NAME", STRING, extra.text("duser"), 255),
        _extra("DST_DOMAIN", STRING, extra.text("dntdom"), 255),
        _extra("DST_MACHINE", STRING, extra.text("dhost"), 255),
    ),
    key=("DEVICE_ID", "ALERT_TYPE_ID", "SEQUENCE_NUM", "END_TIME"),
    source=SOURCE,
    where=E.kind.in_(ALERT_KINDS),
    page_key=E.id,
    time_column="END_TIME",
    slices=(
        TimeSlice(time=E.end_time, where=E.end_time.is_not(None)),
        TimeSlice(time=E.received_at, where=E.end_time.is_(None)),
    ),
    description="IPS events: filter hits and quarantine changes.",
)
