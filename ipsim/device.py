"""A device's state: what it runs, what it has seen, and how busy it is. No sockets here.

Changes that a real IPS would announce (an attack, a TRHA transition, a quarantine, a system
log line) go to a Notifier, which the fleet wires to SNMP traps or CEF syslog.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import random
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Protocol

from ipsim.identity import Identity
from ipsim.traces import TraceLog, pcap_of
from ipsim.traffic import AttackEvent, AttackGenerator, ProfilePolicy, TrafficConfig

EVENT_LOG_SIZE = 50_000
SYSTEM_LOG_SIZE = 5_000

TRHA_NOT_CONNECTED = 0
TRHA_UNRESPONSIVE = 1
TRHA_CONNECTED = 2
TRHA_NAMES = {0: "not-connected", 1: "unresponsive", 2: "connected"}

# tptSystemLogNotifySeverity values (TPT-MISC-NOTIFY-MIB)
SYSLOG_SEVERITIES = {
    "critical": 1,
    "error": 2,
    "emergency": 3,
    "warning": 4,
    "alert": 5,
    "notice": 6,
    "info": 7,
    "debug": 8,
}


@dataclass
class SystemLogEntry:
    seq: int
    time_ns: int
    severity: str  # a key of SYSLOG_SEVERITIES
    text: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class QuarantineEntry:
    ip: str
    reason: str
    segment: str
    added_ns: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class FilterPackage:
    version: str
    sha256: str
    size: int
    installed_ns: int

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class AppliedProfile:
    name: str
    version: str
    uuid: str
    applied_ns: int
    policy: ProfilePolicy = field(repr=False)

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "version": self.version,
            "uuid": self.uuid,
            "applied_ns": self.applied_ns,
            "filters": {str(k): v for k, v in self.policy.filters.items()},
            "categories": dict(self.policy.categories),
        }


class Notifier(Protocol):
    """Where a device's announcements go (traps, CEF syslog, or nowhere)."""

    def policy(self, state: DeviceState, event: AttackEvent) -> None: ...
    def trha(self, state: DeviceState, new_state: int, time_ns: int) -> None: ...
    def quarantine(self, state: DeviceState, entry: QuarantineEntry, added: bool) -> None: ...
    def system_log(self, state: DeviceState, entry: SystemLogEntry) -> None: ...


class NullNotifier:
    def policy(self, state: DeviceState, event: AttackEvent) -> None:
        pass

    def trha(self, state: DeviceState, new_state: int, time_ns: int) -> None:
        pass

    def quarantine(self, state: DeviceState, entry: QuarantineEntry, added: bool) -> None:
        pass

    def system_log(self, state: DeviceState, entry: SystemLogEntry) -> None:
        pass


class DeviceState:
    def __init__(
        self,
        identity: Identity,
        *,
        seed: int,
        traffic: TrafficConfig | None = None,
        notifier: Notifier | None = None,
        ha_partner: str = "",
    ) -> None:
        self.identity = identity
        self.notifier: Notifier = notifier or NullNotifier()
        self.rng = random.Random(f"{seed}:{identity.serial}:state")
        self.generator = AttackGenerator(
            traffic or TrafficConfig(),
            seed=self.rng.randrange(2**31),
            segments=identity.model.segments,
        )
        self.started_wall = time.time()
        self.started_mono = time.monotonic()
        self.events: deque[AttackEvent] = deque(maxlen=EVENT_LOG_SIZE)
        self.traces = TraceLog()
        # Layer-2 fallback: the device passes traffic without inspecting it (no events)
        # until management turns it off again.
        self.layer2_fallback = False
        self.layer2_fallback_changed_ns = 0
        self.system_log_entries: deque[SystemLogEntry] = deque(maxlen=SYSTEM_LOG_SIZE)
        self.system_seq = 0
        self.quarantined: dict[str, QuarantineEntry] = {}
        self.profile = AppliedProfile(
            "Default Security Profile",
            "1.0",
            stable_uuid(identity.serial, "profile"),
            time.time_ns(),
            ProfilePolicy(),
        )
        self.filter_package = FilterPackage(
            "3.2.0.9130", hashlib.sha256(b"factory DV").hexdigest(), 0, time.time_ns()
        )
        self.trha_enabled = bool(ha_partner)
        self.trha_state = TRHA_CONNECTED if ha_partner else TRHA_NOT_CONNECTED
        self.trha_changed_wall = 0
        self.ha_partner = ha_partner
        # Per-port traffic: bytes/s and mean packet size; counters are rate x time, so they
        # grow smoothly and wrap like real Counter32s.
        self.port_rates = {
            port: (
                self.rng.uniform(0.02, 0.3) * identity.model.port_mbps * 125_000,
                self.rng.uniform(400, 1100),
            )
            for port in identity.segment_ports()
        }
        self.cpu_base = self.rng.uniform(8, 35)
        self.cpu_phase = self.rng.uniform(0, 2 * math.pi)
        self.memory_total_kb = {"vtps": 8 * 1024 * 1024}.get(
            identity.model.family, 16 * 1024 * 1024
        )
        self.memory_base = self.rng.uniform(0.35, 0.55)

    # --- clocks and gauges -------------------------------------------------------------------

    def uptime(self) -> float:
        return time.monotonic() - self.started_mono

    def uptime_ticks(self) -> int:
        return int(self.uptime() * 100)

    def cpu_load(self) -> int:
        """Percent busy: a slow daily-like wave, plus the load of the current event rate."""
        t = self.uptime()
        wave = 10 * math.sin(t / 600 + self.cpu_phase) + 3 * math.sin(t / 37 + self.cpu_phase * 2)
        busy = min(30.0, self.generator.config.rate / 10)
        return int(max(1, min(99, self.cpu_base + wave + busy)))

    def memory_used_kb(self) -> int:
        t = self.uptime()
        frac = (
            self.memory_base
            + 0.05 * math.sin(t / 900 + self.cpu_phase)
            + min(0.1, len(self.events) / 500_000)
        )
        return int(self.memory_total_kb * frac)

    def port_counters(self, port: str) -> tuple[int, int]:
        """(octets, packets) through a port since start."""
        bytes_per_s, packet_size = self.port_rates[port]
        octets = int(bytes_per_s * self.uptime())
        return octets, int(octets / packet_size)

    # --- events ------------------------------------------------------------------------------

    def record_attack(self) -> AttackEvent | None:
        if self.layer2_fallback:
            return None  # traffic passes uninspected: nothing fires
        event = self.generator.next_event(time.time_ns(), self.profile.policy)
        if event is not None:
            self.events.append(event)
            if event.packet_trace:
                self.traces.add(event)
            self.notifier.policy(self, event)
        return event

    def packet_traces(self, seqs: list[int] | None = None) -> tuple[bytes, int]:
        """A pcap of the retained traces of ``seqs`` (all retained ones when None), and
        how many traces it holds."""
        events = self.traces.all() if seqs is None else self.traces.get(seqs)
        return pcap_of(events, salt=self.identity.serial), len(events)

    def events_since(self, since: int, limit: int) -> list[AttackEvent]:
        """Events with seq > since, oldest first; the log keeps the last EVENT_LOG_SIZE."""
        if not self.events or since >= self.events[-1].seq:
            return []
        first = self.events[0].seq
        start = max(0, since - first + 1)
        return [self.events[i] for i in range(start, min(len(self.events), start + limit))]

    def last_seq(self) -> int:
        return self.events[-1].seq if self.events else self.generator.seq

    def log(self, severity: str, text: str) -> SystemLogEntry:
        self.system_seq += 1
        entry = SystemLogEntry(self.system_seq, time.time_ns(), severity, text[:1024])
        self.system_log_entries.append(entry)
        self.notifier.system_log(self, entry)
        return entry

    def system_log_since(self, since: int, limit: int) -> list[SystemLogEntry]:
        return [e for e in self.system_log_entries if e.seq > since][:limit]

    def set_trha(self, new_state: int) -> bool:
        if new_state == self.trha_state:
            return False
        self.trha_state = new_state
        self.trha_changed_wall = int(time.time())
        self.notifier.trha(self, new_state, time.time_ns())
        return True

    # --- management actions ------------------------------------------------------------------

    def set_layer2_fallback(self, enabled: bool) -> bool:
        """Enter or leave layer-2 fallback; True when that changed the state."""
        if enabled == self.layer2_fallback:
            return False
        self.layer2_fallback = enabled
        self.layer2_fallback_changed_ns = time.time_ns()
        if enabled:
            self.log("warning", "Layer-2 fallback entered by management: traffic not inspected")
        else:
            self.log("notice", "Layer-2 fallback cleared by management: inspection resumed")
        return True

    def quarantine_add(self, ip: str, reason: str, segment: str) -> tuple[QuarantineEntry, bool]:
        ip = str(ipaddress.ip_address(ip))
        existing = self.quarantined.get(ip)
        if existing is not None:
            return existing, False
        entry = QuarantineEntry(ip, reason[:255], segment, time.time_ns())
        self.quarantined[ip] = entry
        self.notifier.quarantine(self, entry, True)
        self.log("notice", f"Quarantine: host {ip} added ({reason})")
        return entry, True

    def quarantine_remove(self, ip: str) -> QuarantineEntry | None:
        ip = str(ipaddress.ip_address(ip))
        entry = self.quarantined.pop(ip, None)
        if entry is not None:
            self.notifier.quarantine(self, entry, False)
            self.log("notice", f"Quarantine: host {ip} removed")
        return entry

    def apply_profile(
        self, name: str, version: str, uuid: str | None, policy: ProfilePolicy
    ) -> AppliedProfile:
        self.profile = AppliedProfile(
            name,
            version,
            uuid or stable_uuid(self.identity.serial, name, version),
            time.time_ns(),
            policy,
        )
        self.log("info", f"Profile '{name}' version {version} activated")
        return self.profile

    def install_filter_package(self, version: str, sha256: str, size: int) -> FilterPackage:
        self.filter_package = FilterPackage(version, sha256, size, time.time_ns())
        self.log("info", f"Digital Vaccine package {version} installed ({size} bytes)")
        return self.filter_package


def stable_uuid(*parts: str) -> str:
    h = hashlib.sha256(":".join(parts).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"
