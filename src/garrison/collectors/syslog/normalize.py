"""A parsed syslog message -> the one Event type: TippingPoint CEF becomes an ALERT with the
same fields its tptPolicyNotify trap gives, anything else a SYSLOG event.

Field meanings follow garrison/events/model.py; docs/syslog.md has the table.
"""

from __future__ import annotations

from datetime import UTC, datetime

from garrison.collectors.syslog.cef import CefRecord, find_cef, parse_cef
from garrison.collectors.syslog.message import FACILITIES, SEVERITIES, SyslogMessage
from garrison.events.model import Action, Event, EventKind, Severity

COLLECTOR = "syslog"
# What a TippingPoint device or SMS writes in the CEF header (Trend Micro bought the line).
TIPPINGPOINT_VENDORS = frozenset({"tippingpoint", "trend micro"})
TIPPINGPOINT_PRODUCTS = frozenset({"unityone"})

# The TippingPoint scale sits at CEF 1, 4, 7 and 10; other numbers go to the nearest.
_CEF_BUCKETS = (
    (1, Severity.LOW),
    (4, Severity.MINOR),
    (7, Severity.MAJOR),
    (10, Severity.CRITICAL),
)
_CEF_NAMED = {
    "low": Severity.LOW,
    "medium": Severity.MINOR,
    "high": Severity.MAJOR,
    "very-high": Severity.CRITICAL,
}
_ACTIONS = {
    "block": Action.BLOCK,
    "deny": Action.BLOCK,
    "drop": Action.BLOCK,
    "permit": Action.PERMIT,
    "allow": Action.PERMIT,
    "ratelimit": Action.RATE_LIMIT,
    "alert": Action.ALERT,
    "quarantine": Action.QUARANTINE,
    "trust": Action.TRUST,
}
# tptPolicyNotifyAlertType bits, so an alert reads the same whichever way it came.
ALERT_TYPE_ALERT = 0x1
ALERT_TYPE_BLOCK = 0x2

# Extension keys an ALERT takes into its own fields (the IPv6 ones only when used).
_MAPPED = frozenset(
    {
        "act", "cnt", "src", "spt", "dst", "dpt", "cn1", "cn2", "cn3", "cs1", "cs2", "cs3",
        "cs4", "cs6", "dvchost", "externalId", "rt", "cat", "proto", "deviceInboundInterface",
    }
)  # fmt: skip
# Extension keys renamed in `extra` for what they mean on a TippingPoint.
_EXTRA_NAMES = {"cn2": "taxonomy", "cs1": "profile_name"}


def to_event(
    message: SyslogMessage,
    *,
    source_address: str,
    device_id: int | None = None,
    received_at: datetime | None = None,
) -> Event:
    """The Event for one message; raises ParseError (BAD_CEF) when it carries a CEF record
    that does not parse."""
    received = received_at or datetime.now(UTC)
    if find_cef(message.message) >= 0:
        record = parse_cef(message.message)
        if is_tippingpoint(record):
            return alert_event(record, message, source_address, device_id, received)
        return foreign_cef_event(record, message, source_address, device_id, received)
    return syslog_event(message, source_address, device_id, received)


def is_tippingpoint(record: CefRecord) -> bool:
    return (
        record.vendor.strip().lower() in TIPPINGPOINT_VENDORS
        and record.product.strip().lower() in TIPPINGPOINT_PRODUCTS
    )


def alert_event(
    record: CefRecord,
    message: SyslogMessage,
    source_address: str,
    device_id: int | None,
    received_at: datetime,
) -> Event:
    ext = record.extension
    when = epoch_ms(ext.get("rt", "")) or message.timestamp
    action = to_action(ext.get("act", ""))
    if action is Action.PERMIT:
        # A CEF line is itself the notification, so a permitted flow here is "permitted
        # and notified": what the trap receiver makes of AlertAction allow + the alert bit.
        action = Action.ALERT
    src_ip = ext.get("src", "") or ext.get("c6a2", "")
    dst_ip = ext.get("dst", "") or ext.get("c6a3", "")
    used = set(_MAPPED)
    if not ext.get("src") and ext.get("c6a2"):
        used.add("c6a2")
    if not ext.get("dst") and ext.get("c6a3"):
        used.add("c6a3")
    extra: dict[str, str] = {}
    for key, value in ext.items():
        if key in used and key not in _EXTRA_NAMES:
            continue
        base = key[: -len("Label")] if key.endswith("Label") else ""
        if base and (base in used or not ext.get(base)):
            continue  # the label of a field mapped above, or of an empty one, says nothing
        if value:
            extra[_EXTRA_NAMES.get(key, key)] = value
    extra["device_version"] = record.device_version
    if record.prefix:
        extra["cef_prefix"] = record.prefix
    if record.unparsed:
        extra["cef_unparsed"] = record.unparsed
    if message.hostname:
        extra["syslog_host"] = message.hostname
    return Event(
        kind=EventKind.ALERT,
        collector=COLLECTOR,
        source_address=source_address,
        received_at=received_at,
        severity=cef_severity(record.severity) or pri_severity(message.severity),
        device_id=device_id,
        device_name=ext.get("dvchost", ""),
        sequence=to_int(ext.get("externalId", "")),
        alert_type=_alert_type(action),
        policy_id=ext.get("cs2", ""),
        signature_id=ext.get("cs3", ""),
        signature_number=to_int(record.signature_id),
        name=record.name,
        category=ext.get("cat", ""),
        begin_time=when,
        end_time=when,
        hit_count=max(to_int(ext.get("cnt", "")) or 1, 1),
        protocol=ext.get("proto", "").strip().lower(),
        src_ip=src_ip,
        src_port=to_int(ext.get("spt", "")),
        dst_ip=dst_ip,
        dst_port=to_int(ext.get("dpt", "")),
        vlan=to_int(ext.get("cn1", "")),
        segment=ext.get("cs4", ""),
        physical_port_in=to_int(ext.get("deviceInboundInterface", "")),
        action=action,
        packet_trace=ext.get("cn3", "").strip() not in ("", "0"),
        message_params=ext.get("cs6", ""),
        extra=extra,
    )


def foreign_cef_event(
    record: CefRecord,
    message: SyslogMessage,
    source_address: str,
    device_id: int | None,
    received_at: datetime,
) -> Event:
    """Another vendor's CEF: a SYSLOG event that keeps the CEF fields in ``extra``."""
    event = syslog_event(message, source_address, device_id, received_at)
    event.name = record.name
    event.extra.update(
        {
            "cef_vendor": record.vendor,
            "cef_product": record.product,
            "cef_device_version": record.device_version,
            "cef_signature_id": record.signature_id,
            "cef_severity": record.severity,
        }
    )
    for key, value in record.extension.items():
        if value:
            event.extra[f"cef.{key}"] = value
    return event


def syslog_event(
    message: SyslogMessage, source_address: str, device_id: int | None, received_at: datetime
) -> Event:
    extra = {
        "host": message.hostname,
        "app": message.app_name,
        "procid": message.procid,
        "msgid": message.msgid,
        "facility": FACILITIES[message.facility],
        "syslog_severity": SEVERITIES[message.severity],
    }
    extra = {key: value for key, value in extra.items() if value}
    for sd_id, params in message.structured_data.items():
        for name, value in params.items():
            extra[f"sd.{sd_id}.{name}"] = value
    return Event(
        kind=EventKind.SYSLOG,
        collector=COLLECTOR,
        source_address=source_address,
        received_at=received_at,
        severity=pri_severity(message.severity),
        device_id=device_id,
        begin_time=message.timestamp,
        end_time=message.timestamp,
        message=message.message,
        extra=extra,
    )


def pri_severity(severity: int) -> Severity:
    """Syslog severity (0 emerg .. 7 debug) on the TippingPoint scale."""
    if severity <= 2:
        return Severity.CRITICAL
    if severity == 3:
        return Severity.MAJOR
    if severity == 4:
        return Severity.MINOR
    return Severity.LOW


def cef_severity(value: str) -> Severity | None:
    """CEF severity 0..10 (or Low/Medium/High/Very-High) on the TippingPoint scale; None
    when it is neither."""
    value = value.strip()
    if value.isascii() and value.isdigit():
        number = int(value)
        return min(_CEF_BUCKETS, key=lambda bucket: abs(bucket[0] - number))[1]
    return _CEF_NAMED.get(value.lower())


def to_action(value: str) -> Action:
    key = value.strip().lower().replace(" ", "").replace("-", "").replace("_", "")
    return _ACTIONS.get(key, Action.NONE)


def to_int(value: str) -> int | None:
    value = value.strip()
    if not value or not value.isascii():
        return None
    try:
        return int(value)
    except ValueError:
        return None


def epoch_ms(value: str) -> datetime | None:
    """CEF ``rt`` as milliseconds since the epoch (what a TippingPoint sends)."""
    number = to_int(value)
    if number is None:
        return None
    try:
        return datetime.fromtimestamp(number / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _alert_type(action: Action) -> int | None:
    if action is Action.BLOCK:
        return ALERT_TYPE_BLOCK
    if action in (Action.PERMIT, Action.ALERT):
        return ALERT_TYPE_ALERT
    return None
