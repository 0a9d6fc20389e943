"""TippingPoint notifications as SNMP varbinds (TPT-POLICY-MIB, TPT-HIGH-AVAIL-MIB,
TPT-MISC-NOTIFY-MIB), and a Notifier that sends them as v2c or v3 authPriv traps.

Trap OIDs are 1.3.6.1.4.1.10734.3.3.3.0.n, their objects 1.3.6.1.4.1.10734.3.3.3.1.n, with
the SNMP types of the MIB: strings are OCTET STRING, ports/counts/times Unsigned32 (Gauge32 on
the wire), the sequence Counter64, enumerations INTEGER.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass

from ipsim import ber
from ipsim.ber import Oid, Value
from ipsim.device import (
    SYSLOG_SEVERITIES,
    DeviceState,
    QuarantineEntry,
    SystemLogEntry,
    stable_uuid,
)
from ipsim.snmp_agent import SnmpAgent
from ipsim.traffic import AttackEvent
from ipsim.usm import UsmUser

log = logging.getLogger("ipsim.traps")

NOTIFICATIONS = (1, 3, 6, 1, 4, 1, 10734, 3, 3, 3, 0)
OBJECTS = (1, 3, 6, 1, 4, 1, 10734, 3, 3, 3, 1)

TPT_POLICY_NOTIFY = (*NOTIFICATIONS, 8)
TPT_SYSTEM_LOG_NOTIFY = (*NOTIFICATIONS, 16)
TPT_TRHA_NOTIFY = (*NOTIFICATIONS, 18)
TPT_QUARANTINE_NOTIFY = (*NOTIFICATIONS, 20)

SEVERITY_CODES = {"Low": 1, "Minor": 2, "Major": 3, "Critical": 4}  # warning/minor/major/critical
ALERT_ACTIONS = {"Block": 1, "Permit": 2, "Rate Limit": 3}  # deny/allow/ratelimit
COMPONENT_IDS = {"Block": 8, "Permit": 7, "Rate Limit": 8}  # block/alert/block
FLOW_CONTROL = {"Block": "DENY", "Permit": "ALLOW", "Rate Limit": "RATE"}
ACTION_SET_NAMES = {
    "Block": "Block / Notify",
    "Permit": "Permit / Notify",
    "Rate Limit": "Rate Limit 1 Mbps",
}
ALERT_TYPE_ALERT = 0x1
ALERT_TYPE_BLOCK = 0x2
ALERT_TYPE_P2P = 0x20


def o(n: int) -> Oid:
    return (*OBJECTS, n)


def zone_uuid(state: DeviceState, port: str) -> str:
    return stable_uuid(state.identity.serial, "zone", port)


def policy_varbinds(state: DeviceState, event: AttackEvent) -> list[tuple[Oid, Value]]:
    """tptPolicyNotify's objects, in the MIB's OBJECTS order."""
    seconds, nanos = divmod(event.time_ns, 1_000_000_000)
    start_seconds = seconds - event.aggregation_minutes * 60
    alert_type = ALERT_TYPE_BLOCK if event.action in ("Block", "Rate Limit") else ALERT_TYPE_ALERT
    if event.category == "Peer to Peer":
        alert_type |= ALERT_TYPE_P2P
    ports = state.identity.segment_ports()
    v6 = bytes(16)  # IPv4 events carry all-zero IPv6 addresses
    trace_seq = event.seq & 0xFFFFFFFF if event.packet_trace else 0
    return [
        (o(11), ber.octets(state.identity.name)),  # DeviceID
        (o(12), ber.octets(event.policy_uuid)),  # PolicyID
        (o(13), ber.octets(event.signature_uuid)),  # SignatureID
        (
            o(59),
            ber.octets(f"{zone_uuid(state, event.in_port)}:{zone_uuid(state, event.out_port)}"),
        ),
        (o(57), ber.unsigned32(ports.index(event.in_port) + 1)),  # InputMphy
        (o(58), ber.unsigned32(event.vlan)),  # VlanTag
        (o(15), ber.ip_address(event.src_ip)),
        (o(16), ber.unsigned32(event.src_port)),
        (o(17), ber.ip_address(event.dst_ip)),
        (o(18), ber.unsigned32(event.dst_port)),
        (o(26), ber.octets(event.protocol)),
        (o(39), ber.octets(event.message_params)),
        (o(23), ber.unsigned32(event.hit_count)),
        (o(24), ber.unsigned32(event.aggregation_minutes)),
        (o(19), ber.unsigned32(start_seconds)),
        (o(40), ber.unsigned32(nanos)),
        (o(27), ber.unsigned32(seconds)),
        (o(28), ber.unsigned32(nanos)),
        (o(29), ber.integer(int(event.packet_trace))),  # PacketTrace
        # ipsim keeps one trace per event, under the event's own sequence number.
        (o(36), ber.unsigned32(int(event.packet_trace))),  # TraceBucket
        (o(37), ber.unsigned32(trace_seq)),  # TraceBegin
        (o(38), ber.unsigned32(trace_seq)),  # TraceEnd
        (o(20), ber.integer(ALERT_ACTIONS[event.action])),  # AlertAction
        (o(21), ber.integer(ALERT_ACTIONS[event.action])),  # ConfigAction
        (o(22), ber.integer(COMPONENT_IDS[event.action])),  # ComponentID
        (o(41), ber.unsigned32(alert_type)),
        (o(25), ber.integer(SEVERITY_CODES[event.severity])),
        (o(30), ber.counter64(event.seq)),  # Sequence
        (o(128), ber.octets(v6)),  # SrcNetAddrV6
        (o(129), ber.octets(v6)),  # DestNetAddrV6
        (
            o(130),
            ber.octets(f"00000003-0003-0003-0003-{ALERT_ACTIONS[event.action]:012d}"),
        ),  # ActionSetID
        (o(131), ber.integer(1024 if event.action == "Rate Limit" else 0)),  # Rate, kbps
        (o(137), ber.octets(FLOW_CONTROL[event.action])),
        (o(138), ber.octets(ACTION_SET_NAMES[event.action])),
        (o(139), ber.octets("")),  # Clientip (X-Forwarded-For), none
        (o(140), ber.octets("")),  # Metadata
        (o(180), ber.integer(2)),  # SslInspected: no
    ]


def trha_varbinds(state: DeviceState, new_state: int, time_ns: int) -> list[tuple[Oid, Value]]:
    return [
        (o(86), ber.octets(state.identity.name)),  # TrhaDeviceID
        (o(87), ber.unsigned32(time_ns // 1_000_000_000)),  # TimeStamp
        (o(88), ber.integer(new_state)),  # NewState
    ]


def quarantine_varbinds(entry: QuarantineEntry, added: bool) -> list[tuple[Oid, Value]]:
    address = ipaddress.ip_address(entry.ip)
    v4 = address if address.version == 4 else ipaddress.IPv4Address(0)
    v6 = address.packed if address.version == 6 else bytes(16)
    return [
        (o(132), ber.ip_address(str(v4))),  # HostNetAddr
        (o(133), ber.octets(entry.reason)),  # Reason
        (o(134), ber.octets(entry.segment)),  # SegmentName
        (o(135), ber.integer(1 if added else 2)),  # Action: add/remove
        (o(136), ber.octets(v6)),  # HostNetAddrV6
        (o(181), ber.integer(2)),  # SslInspected: no
    ]


def system_log_varbinds(entry: SystemLogEntry) -> list[tuple[Oid, Value]]:
    seconds, nanos = divmod(entry.time_ns, 1_000_000_000)
    return [
        (o(92), ber.octets(entry.text[:1024])),
        (o(93), ber.counter64(entry.seq)),
        (o(94), ber.integer(SYSLOG_SEVERITIES[entry.severity])),
        (o(95), ber.unsigned32(seconds)),
        (o(96), ber.unsigned32(nanos)),
    ]


@dataclass
class TrapTarget:
    host: str
    port: int
    community: str = "public"
    user: UsmUser | None = None  # set: v3 authPriv; unset: v2c


class TrapNotifier:
    """Sends a device's notifications as traps from that device's own agent socket."""

    def __init__(self, agent: SnmpAgent, target: TrapTarget) -> None:
        self.agent = agent
        self.target = target
        self.sent = 0

    def _send(self, trap_oid: Oid, varbinds: list[tuple[Oid, Value]]) -> None:
        self.agent.send_trap(
            (self.target.host, self.target.port),
            trap_oid,
            varbinds,
            community=self.target.community,
            user=self.target.user,
        )
        self.sent += 1

    def policy(self, state: DeviceState, event: AttackEvent) -> None:
        self._send(TPT_POLICY_NOTIFY, policy_varbinds(state, event))

    def trha(self, state: DeviceState, new_state: int, time_ns: int) -> None:
        self._send(TPT_TRHA_NOTIFY, trha_varbinds(state, new_state, time_ns))

    def quarantine(self, state: DeviceState, entry: QuarantineEntry, added: bool) -> None:
        self._send(TPT_QUARANTINE_NOTIFY, quarantine_varbinds(entry, added))

    def system_log(self, state: DeviceState, entry: SystemLogEntry) -> None:
        self._send(TPT_SYSTEM_LOG_NOTIFY, system_log_varbinds(entry))
