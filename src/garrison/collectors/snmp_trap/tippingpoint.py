"""TippingPoint traps (TPT-TPA MIBs, spec/sms-facts.md §3.2) into Garrison events.

Pure: a decoded :class:`TrapMessage` in, an :class:`Event` out. The mapping is data:
``OBJECTS`` says where each varbind of ``1.3.6.1.4.1.10734.3.3.3.1.<n>`` goes (an Event
field, a working value that ``finish`` combines, or ``extra`` under its MIB name), and
``TRAPS`` says which event kind each trap becomes. Any trap not in ``TRAPS`` is kept as a
generic :attr:`EventKind.TRAP` event with every varbind in ``extra`` (OID → text).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from socket import AF_INET6, inet_ntop
from typing import Any

from garrison.collectors.snmp_trap.messages import V1, TrapMessage, Value
from garrison.events.model import Action, Event, EventKind, Severity

COLLECTOR = "snmp-trap"
TRAP_PREFIX = "1.3.6.1.4.1.10734.3.3.3.0."
OBJECT_PREFIX = "1.3.6.1.4.1.10734.3.3.3.1."
POLICY_NOTIFY = TRAP_PREFIX + "8"
SYSTEM_LOG_NOTIFY = TRAP_PREFIX + "16"
TRHA_NOTIFY = TRAP_PREFIX + "18"
QUARANTINE_NOTIFY = TRAP_PREFIX + "20"

# RFC 3584 names for what a v1 Trap-PDU carried outside its varbinds.
SNMP_TRAP_ADDRESS = "1.3.6.1.6.3.18.1.3.0"
SNMP_TRAP_ENTERPRISE = "1.3.6.1.6.3.1.1.4.3.0"


# --- value converters: a varbind value as the Event field wants it -----------------


def text(value: Value) -> str:
    if value.__class__ is bytes:
        return value.decode("utf-8", "replace").rstrip("\x00")  # type: ignore[union-attr]
    return "" if value is None else str(value)


def number(value: Value) -> int | None:
    if value.__class__ is int:
        return value  # type: ignore[return-value]
    digits = text(value).strip()
    return int(digits) if digits.isdigit() else None


def ipv6(value: Value) -> str:
    """InetAddressIPv6 is 16 octets; some agents send the text form instead."""
    if isinstance(value, bytes) and len(value) == 16:
        return "" if value == _UNSPECIFIED else inet_ntop(AF_INET6, value)
    return text(value)


_UNSPECIFIED = bytes(16)


def flag(value: Value) -> bool:
    return number(value) == 1


def severity(value: Value) -> Severity:
    # tptPolicyNotifySeverity: warning 1, minor 2, major 3, critical 4, as Severity is.
    return _SEVERITIES.get(number(value), Severity.LOW)  # type: ignore[arg-type]


_SEVERITIES = {s.value: s for s in Severity}


def printable(value: Value) -> str:
    """A varbind of a trap we do not know, as text: strings as they read when they are
    printable, otherwise hex (``0x...``) so binary values survive."""
    if isinstance(value, bytes):
        try:
            decoded = value.decode("utf-8")
        except UnicodeDecodeError:
            return "0x" + value.hex()
        if decoded.isprintable() or all(c.isprintable() or c in "\r\n\t" for c in decoded):
            return decoded
        return "0x" + value.hex()
    return "" if value is None else str(value)


# --- where each varbind goes -----------------------------------------------------

Convert = Callable[[Value], Any]


@dataclass(frozen=True, slots=True)
class Target:
    name: str  # the MIB object's name
    field: str  # an Event field, "_working" value for finish(), or "" for extra
    convert: Convert = text


OBJECTS: dict[int, Target] = {
    # tptPolicyNotify (.8)
    11: Target("tptPolicyNotifyDeviceID", "device_name"),
    12: Target("tptPolicyNotifyPolicyID", "policy_id"),
    13: Target("tptPolicyNotifySignatureID", "signature_id"),
    14: Target("tptPolicyNotifySegmentName", "_segment_name"),
    15: Target("tptPolicyNotifySrcNetAddr", "src_ip"),
    16: Target("tptPolicyNotifySrcNetPort", "src_port", number),
    17: Target("tptPolicyNotifyDestNetAddr", "dst_ip"),
    18: Target("tptPolicyNotifyDestNetPort", "dst_port", number),
    19: Target("tptPolicyNotifyStartTimeSec", "_start_sec", number),
    20: Target("tptPolicyNotifyAlertAction", "_alert_action", number),
    21: Target("tptPolicyNotifyConfigAction", ""),
    22: Target("tptPolicyNotifyComponentID", ""),
    23: Target("tptPolicyNotifyHitCount", "hit_count", number),
    24: Target("tptPolicyNotifyAggregationPeriod", ""),
    25: Target("tptPolicyNotifySeverity", "severity", severity),
    26: Target("tptPolicyNotifyProtocol", "protocol"),
    27: Target("tptPolicyNotifyAlertTimeSec", "_alert_sec", number),
    28: Target("tptPolicyNotifyAlertTimeNano", "_alert_nano", number),
    29: Target("tptPolicyNotifyPacketTrace", "packet_trace", flag),
    30: Target("tptPolicyNotifySequence", "sequence", number),
    36: Target("tptPolicyNotifyTraceBucket", ""),
    37: Target("tptPolicyNotifyTraceBegin", ""),
    38: Target("tptPolicyNotifyTraceEnd", ""),
    39: Target("tptPolicyNotifyMessageParams", "message_params"),
    40: Target("tptPolicyNotifyStartTimeNano", "_start_nano", number),
    41: Target("tptPolicyNotifyAlertType", "alert_type", number),
    57: Target("tptPolicyNotifyInputMphy", "physical_port_in", number),
    58: Target("tptPolicyNotifyVlanTag", "vlan", number),
    59: Target("tptPolicyNotifyZonePair", "_zone_pair"),
    128: Target("tptPolicyNotifySrcNetAddrV6", "_src_v6", ipv6),
    129: Target("tptPolicyNotifyDestNetAddrV6", "_dst_v6", ipv6),
    130: Target("tptPolicyNotifyActionSetID", ""),
    131: Target("tptPolicyNotifyRate", ""),
    137: Target("tptPolicyNotifyFlowControl", ""),
    138: Target("tptPolicyNotifyActionSetName", "action_set"),
    139: Target("tptPolicyNotifyClientip", ""),
    140: Target("tptPolicyNotifyMetadata", ""),
    180: Target("tptPolicyNotifySslInspected", ""),
    182: Target("tptPolicyNotifyVirtualSegment", ""),
    # tptTrhaNotify (.18)
    86: Target("tptTrhaDeviceID", "device_name"),
    87: Target("tptTrhaTimeStamp", ""),
    88: Target("tptTrhaNewState", "_trha_state", number),
    # tptSystemLogNotify (.16)
    92: Target("tptSystemLogNotifyText", "message"),
    93: Target("tptSystemLogNotifySequence", "sequence", number),
    94: Target("tptSystemLogNotifySeverity", "_log_severity", number),
    95: Target("tptSystemLogNotifyTimeSec", "_start_sec", number),
    96: Target("tptSystemLogNotifyTimeNano", "_start_nano", number),
    # tptQuarantineNotify (.20)
    132: Target("tptQuarantineNotifyHostNetAddr", "src_ip"),
    133: Target("tptQuarantineNotifyReason", "message"),
    134: Target("tptQuarantineNotifySegmentName", "segment"),
    135: Target("tptQuarantineNotifyAction", "_quarantine_action", number),
    136: Target("tptQuarantineNotifyHostNetAddrV6", "_src_v6", ipv6),
    181: Target("tptQuarantineNotifySslInspected", ""),
}

# tptPolicyNotifyAlertAction: deny 1, allow 2, ratelimit 3.
ALERT_ACTIONS = {1: Action.BLOCK, 2: Action.PERMIT, 3: Action.RATE_LIMIT}
# tptPolicyNotifyAlertType bits, when the AlertAction is missing.
ALERT_TYPE_BLOCK = 0x2
ALERT_TYPE_ALERT = 0x1
# tptTrhaNewState.
TRHA_STATES = {0: "not-connected", 1: "unresponsive", 2: "connected"}
TRHA_SEVERITY = {0: Severity.MAJOR, 1: Severity.MAJOR, 2: Severity.LOW}
# tptSystemLogNotifySeverity: critical 1, error 2, emergency 3, warning 4, alert 5,
# notice 6, info 7, debug 8.
LOG_SEVERITY = {
    1: Severity.CRITICAL,
    3: Severity.CRITICAL,
    5: Severity.CRITICAL,
    2: Severity.MAJOR,
    4: Severity.MINOR,
}
LOG_SEVERITY_NAMES = {
    1: "critical",
    2: "error",
    3: "emergency",
    4: "warning",
    5: "alert",
    6: "notice",
    7: "info",
    8: "debug",
}
# tptQuarantineNotifyAction: add 1, remove 2.
QUARANTINE_ACTIONS = {1: "added", 2: "removed"}

V6_OBJECTS = (
    ("src_ip", "_src_v6", "tptPolicyNotifySrcNetAddrV6"),
    ("dst_ip", "_dst_v6", "tptPolicyNotifyDestNetAddrV6"),
)
# Filter numbers ride in the last group of a signature or policy UUID of this form.
NUMBERED_UUID = re.compile(r"^[0-9]{8}-0001-0001-0001-([0-9]{12})$")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _time(seconds: int | None, nanos: int | None) -> datetime | None:
    if seconds is None or seconds < 0:
        return None
    micros = nanos // 1000 if nanos and 0 < nanos < 1_000_000_000 else 0
    try:
        # The epoch plus a timedelta is datetime.fromtimestamp(seconds, UTC) with the
        # microseconds set, at a fraction of the cost (positional timedelta arguments).
        return _EPOCH + timedelta(0, seconds, micros)
    except OverflowError:  # past year 9999
        return None


def _finish_policy(fields: dict[str, Any], extra: dict[str, str]) -> None:
    fields["begin_time"] = _time(fields.pop("_start_sec", None), fields.pop("_start_nano", None))
    fields["end_time"] = _time(fields.pop("_alert_sec", None), fields.pop("_alert_nano", None))
    # A v6 flow leaves the v4 address 0.0.0.0 (or out) and fills the V6 object.
    for v4, v6, name in V6_OBJECTS:
        six = fields.pop(v6, "")
        if six and fields.get(v4, "0.0.0.0") in ("", "0.0.0.0"):
            fields[v4] = six
        elif six:
            extra[name] = six  # both given: keep the v6 one too
    # The zone pair names the in and out zones; older devices give the segment.
    zones = fields.pop("_zone_pair", "")
    segment = fields.pop("_segment_name", "")
    fields["segment"] = zones or segment
    if zones and segment:
        extra["tptPolicyNotifySegmentName"] = segment
    alert_type = fields.get("alert_type") or 0
    action = ALERT_ACTIONS.get(fields.pop("_alert_action", None) or 0)
    if action is None:
        if alert_type & ALERT_TYPE_BLOCK:
            action = Action.BLOCK
        elif alert_type & ALERT_TYPE_ALERT:
            action = Action.ALERT
        else:
            action = Action.NONE
    elif action is Action.PERMIT and alert_type & ALERT_TYPE_ALERT:
        action = Action.ALERT  # permitted and notified
    fields["action"] = action
    for key in ("signature_id", "policy_id"):
        match = NUMBERED_UUID.match(fields.get(key, ""))
        if match:
            fields["signature_number"] = int(match.group(1))
            break


def _finish_trha(fields: dict[str, Any], extra: dict[str, str]) -> None:
    state = fields.pop("_trha_state", None)
    name = TRHA_STATES.get(state, f"state {state}") if state is not None else "unknown"
    fields["message"] = f"transparent HA {name}"
    fields["severity"] = TRHA_SEVERITY.get(state, Severity.MINOR)
    extra["tptTrhaNewState"] = name


def _finish_system_log(fields: dict[str, Any], extra: dict[str, str]) -> None:
    fields["begin_time"] = _time(fields.pop("_start_sec", None), fields.pop("_start_nano", None))
    level = fields.pop("_log_severity", None)
    fields["severity"] = LOG_SEVERITY.get(level, Severity.LOW)
    if level is not None:
        extra["tptSystemLogNotifySeverity"] = LOG_SEVERITY_NAMES.get(level, str(level))


def _finish_quarantine(fields: dict[str, Any], extra: dict[str, str]) -> None:
    six = fields.pop("_src_v6", "")
    if six and fields.get("src_ip", "0.0.0.0") in ("", "0.0.0.0"):
        fields["src_ip"] = six
    change = fields.pop("_quarantine_action", None)
    fields["action"] = Action.QUARANTINE if change == 1 else Action.NONE
    if change is not None:
        extra["tptQuarantineNotifyAction"] = QUARANTINE_ACTIONS.get(change, str(change))


@dataclass(frozen=True, slots=True)
class TrapKind:
    kind: EventKind
    name: str
    finish: Callable[[dict[str, Any], dict[str, str]], None]


TRAPS: dict[str, TrapKind] = {
    POLICY_NOTIFY: TrapKind(EventKind.ALERT, "", _finish_policy),
    TRHA_NOTIFY: TrapKind(EventKind.TRHA, "tptTrhaNotify", _finish_trha),
    QUARANTINE_NOTIFY: TrapKind(EventKind.QUARANTINE, "tptQuarantineNotify", _finish_quarantine),
    SYSTEM_LOG_NOTIFY: TrapKind(EventKind.DEVICE_LOG, "tptSystemLogNotify", _finish_system_log),
}

# Names for the summary line of generic trap events.
TRAP_NAMES: dict[str, str] = {
    "1.3.6.1.6.3.1.1.5.1": "coldStart",
    "1.3.6.1.6.3.1.1.5.2": "warmStart",
    "1.3.6.1.6.3.1.1.5.3": "linkDown",
    "1.3.6.1.6.3.1.1.5.4": "linkUp",
    "1.3.6.1.6.3.1.1.5.5": "authenticationFailure",
    "1.3.6.1.6.3.1.1.5.6": "egpNeighborLoss",
    TRAP_PREFIX + "9": "tptManagedNotify",
    TRAP_PREFIX + "10": "tptUnmanagedNotify",
    TRAP_PREFIX + "11": "tptRolloverNotify",
    TRAP_PREFIX + "15": "tptIhaNotify",
    TRAP_PREFIX + "19": "tptPolicyLogNotify",
    TRAP_PREFIX + "21": "tptPerfProtNotify",
    TRAP_PREFIX + "24": "tptZphaNotify",
    TRAP_PREFIX + "25": "tptCongestionThresholdNotify",
    TRAP_PREFIX + "27": "tptPolicySslInspNotify",
    TRAP_PREFIX + "60": "tptAuditLogNotify",
    TRAP_PREFIX + "61": "tptAuditLogCapacityNotify",
    TRAP_PREFIX + "62": "tptLoggingFailureNotify",
}

# A working value's MIB name (the first object that fills it), for one left over.
WORKING_NAMES: dict[str, str] = {}
for _target in OBJECTS.values():
    if _target.field.startswith("_"):
        WORKING_NAMES.setdefault(_target.field, _target.name)

# Varbind OID -> its Target, resolved once per distinct OID (instances such as ".0"
# follow the object number, so the number is the arc after OBJECT_PREFIX).
_TARGETS: dict[str, Target | None] = {}


def _resolve(oid: str) -> Target | None:
    target = None
    if oid.startswith(OBJECT_PREFIX):
        head = oid[len(OBJECT_PREFIX) :].split(".", 1)[0]
        if head.isdigit():
            target = OBJECTS.get(int(head))
    if len(_TARGETS) >= 4096:
        _TARGETS.clear()
    _TARGETS[oid] = target
    return target


_UNRESOLVED = Target("", "")


def to_event(message: TrapMessage, source_address: str, device_id: int | None = None) -> Event:
    """The event a trap becomes."""
    spec = TRAPS.get(message.trap_oid)
    if spec is None:
        return generic_event(message, source_address, device_id)
    fields: dict[str, Any] = {}
    extra: dict[str, str] = {}
    targets = _TARGETS.get
    # The hot loop of the mapping: one dict lookup per varbind once OIDs are known.
    for oid, value in message.varbinds:
        target = targets(oid, _UNRESOLVED)
        if target is _UNRESOLVED:
            target = _resolve(oid)
        if target is None:
            extra[oid] = printable(value)
        elif target.field:
            fields[target.field] = target.convert(value)
        else:
            extra[target.name] = target.convert(value)
    return finish_event(spec, fields, extra, source_address, device_id)


def finish_event(
    spec: TrapKind,
    fields: dict[str, Any],
    extra: dict[str, str],
    source_address: str,
    device_id: int | None,
) -> Event:
    """The event of a known trap once its varbinds are sorted into ``fields`` and
    ``extra`` (shared with the one-pass decoder in `fastpath`)."""
    spec.finish(fields, extra)
    if fields.get("hit_count") is None:
        fields.pop("hit_count", None)
    if spec.name:
        fields.setdefault("name", spec.name)
    try:
        return Event(
            kind=spec.kind,
            collector=COLLECTOR,
            source_address=source_address,
            device_id=device_id,
            extra=extra,
            **fields,
        )
    except TypeError:
        # A working value another trap's finish() combines (a sender put, say, the
        # quarantine action into a policy trap): kept in extra under its MIB name.
        leftovers = [key for key in fields if key.startswith("_")]
        if not leftovers:
            raise
        for key in leftovers:
            value = fields.pop(key)
            extra[WORKING_NAMES[key]] = "" if value is None else str(value)
        return Event(
            kind=spec.kind,
            collector=COLLECTOR,
            source_address=source_address,
            device_id=device_id,
            extra=extra,
            **fields,
        )


def generic_event(message: TrapMessage, source_address: str, device_id: int | None) -> Event:
    extra = {oid: printable(value) for oid, value in message.varbinds}
    if message.version == V1:
        extra[SNMP_TRAP_ADDRESS] = message.agent_address
        extra[SNMP_TRAP_ENTERPRISE] = message.enterprise
    return Event(
        kind=EventKind.TRAP,
        collector=COLLECTOR,
        source_address=source_address,
        device_id=device_id,
        name=TRAP_NAMES.get(message.trap_oid, message.trap_oid),
        message=message.trap_oid,
        extra=extra,
    )
