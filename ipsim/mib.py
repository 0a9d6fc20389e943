"""A device's MIB view: a sorted table of (OID, value) built from its state, walked by the agent.

Covers the MIB-2 system group, IF-MIB (ifTable, ifXTable) for the segment ports,
HOST-RESOURCES-MIB (hrSystemUptime, hrMemorySize, the RAM row of hrStorageTable,
hrProcessorTable) and TPT-HIGH-AVAIL-MIB (1.3.6.1.4.1.10734.3.3.2.6).
"""

from __future__ import annotations

import bisect
import time

from ipsim import ber
from ipsim.ber import Oid, Value
from ipsim.device import DeviceState

SYSTEM = (1, 3, 6, 1, 2, 1, 1)
IF_NUMBER = (1, 3, 6, 1, 2, 1, 2, 1, 0)
IF_ENTRY = (1, 3, 6, 1, 2, 1, 2, 2, 1)
IFX_ENTRY = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)
HR_SYSTEM_UPTIME = (1, 3, 6, 1, 2, 1, 25, 1, 1, 0)
HR_MEMORY_SIZE = (1, 3, 6, 1, 2, 1, 25, 2, 2, 0)
HR_STORAGE_ENTRY = (1, 3, 6, 1, 2, 1, 25, 2, 3, 1)
HR_STORAGE_RAM = (1, 3, 6, 1, 2, 1, 25, 2, 1, 2)
HR_PROCESSOR_ENTRY = (1, 3, 6, 1, 2, 1, 25, 3, 3, 1)
HIGH_AVAIL = (1, 3, 6, 1, 4, 1, 10734, 3, 3, 2, 6)

# HOST-RESOURCES indexes: hrDeviceIndex of the CPU (type processor), hrStorageIndex of RAM.
CPU_DEVICE_INDEX = 196608
RAM_STORAGE_INDEX = 1
ETHERNET_CSMACD = 6

# How long a built table is reused; a walk of ~150 objects sees one consistent snapshot.
SNAPSHOT_SECONDS = 0.5


def build_table(state: DeviceState) -> list[tuple[Oid, Value]]:
    ident = state.identity
    ticks = state.uptime_ticks()
    rows: list[tuple[Oid, Value]] = [
        ((*SYSTEM, 1, 0), ber.octets(ident.sys_descr)),
        ((*SYSTEM, 2, 0), ber.object_id(ident.model.sys_object_id)),
        ((*SYSTEM, 3, 0), ber.timeticks(ticks)),
        ((*SYSTEM, 4, 0), ber.octets(ident.contact)),
        ((*SYSTEM, 5, 0), ber.octets(ident.name)),
        ((*SYSTEM, 6, 0), ber.octets(ident.location)),
        ((*SYSTEM, 7, 0), ber.integer(2)),  # datalink/subnetwork: a bump-in-the-wire IPS
    ]
    ports = ident.segment_ports()
    rows.append((IF_NUMBER, ber.integer(len(ports))))
    mbps = ident.model.port_mbps
    for index, port in enumerate(ports, start=1):
        octets, packets = state.port_counters(port)
        half = octets // 2  # what comes in on a port of a segment goes out of its peer
        mac = bytes([0x00, 0x13, 0xBF]) + ident.serial.encode()[-2:] + bytes([index])
        columns = {
            1: ber.integer(index),
            2: ber.octets(f"Port {port}"),
            3: ber.integer(ETHERNET_CSMACD),
            4: ber.integer(1500),
            5: ber.gauge32(min(mbps * 1_000_000, 2**32 - 1)),
            6: ber.octets(mac),
            7: ber.integer(1),  # up
            8: ber.integer(1),
            9: ber.timeticks(0),
            10: ber.counter32(half),
            11: ber.counter32(packets // 2),
            13: ber.counter32(0),
            14: ber.counter32(packets // 1_000_000),
            16: ber.counter32(octets - half),
            17: ber.counter32(packets - packets // 2),
            19: ber.counter32(0),
            20: ber.counter32(0),
        }
        rows += [((*IF_ENTRY, col, index), value) for col, value in columns.items()]
        xcolumns = {
            1: ber.octets(port),
            6: ber.counter64(half),
            7: ber.counter64(packets // 2),
            10: ber.counter64(octets - half),
            11: ber.counter64(packets - packets // 2),
            15: ber.gauge32(mbps),
            18: ber.octets(f"Segment {(index + 1) // 2} port {port}"),
        }
        rows += [((*IFX_ENTRY, col, index), value) for col, value in xcolumns.items()]
    total_kb = state.memory_total_kb
    rows += [
        (HR_SYSTEM_UPTIME, ber.timeticks(ticks)),
        (HR_MEMORY_SIZE, ber.integer(total_kb)),
        ((*HR_STORAGE_ENTRY, 1, RAM_STORAGE_INDEX), ber.integer(RAM_STORAGE_INDEX)),
        ((*HR_STORAGE_ENTRY, 2, RAM_STORAGE_INDEX), ber.object_id(HR_STORAGE_RAM)),
        ((*HR_STORAGE_ENTRY, 3, RAM_STORAGE_INDEX), ber.octets("Physical memory")),
        ((*HR_STORAGE_ENTRY, 4, RAM_STORAGE_INDEX), ber.integer(1024)),
        ((*HR_STORAGE_ENTRY, 5, RAM_STORAGE_INDEX), ber.integer(total_kb)),
        ((*HR_STORAGE_ENTRY, 6, RAM_STORAGE_INDEX), ber.integer(state.memory_used_kb())),
        ((*HR_PROCESSOR_ENTRY, 1, CPU_DEVICE_INDEX), ber.object_id((0, 0))),
        ((*HR_PROCESSOR_ENTRY, 2, CPU_DEVICE_INDEX), ber.integer(state.cpu_load())),
    ]
    rows += [
        ((*HIGH_AVAIL, 1, 0), ber.unsigned32(state.trha_changed_wall)),  # highAvailTimeStamp
        ((*HIGH_AVAIL, 2, 0), ber.integer(int(state.layer2_fallback))),  # FaultState: 1 fallback
        ((*HIGH_AVAIL, 3, 0), ber.integer(0)),  # highAvailFaultCause: none
        ((*HIGH_AVAIL, 4, 0), ber.integer(1)),  # highAvailThresholdEnabled
        ((*HIGH_AVAIL, 5, 0), ber.integer(50)),  # highAvailThresholdPercent
        ((*HIGH_AVAIL, 6, 0), ber.integer(1)),  # highAvailEnabled (intrinsic HA)
        ((*HIGH_AVAIL, 7, 0), ber.integer(state.trha_state)),  # highAvailTransparentState
        ((*HIGH_AVAIL, 8, 0), ber.integer(int(state.trha_enabled))),  # highAvailTransparentEnabled
        ((*HIGH_AVAIL, 9, 0), ber.octets(state.ha_partner)),  # highAvailTransparentPartner
        ((*HIGH_AVAIL, 10, 0), ber.integer(0)),  # highAvailZeroPowerState: normal
        ((*HIGH_AVAIL, 11, 0), ber.unsigned32(0)),  # highAvailZeroPowerQuantity
        ((*HIGH_AVAIL, 13, 0), ber.integer(0)),  # highAvailZeroPowerPresence: absent
    ]
    rows.sort(key=lambda row: row[0])
    return rows


class MibView:
    """Lookup over a device's table, rebuilt at most every SNAPSHOT_SECONDS."""

    def __init__(self, state: DeviceState) -> None:
        self.state = state
        self._built_at = -1.0
        self._oids: list[Oid] = []
        self._values: list[Value] = []

    def _refresh(self) -> None:
        now = time.monotonic()
        if now - self._built_at >= SNAPSHOT_SECONDS:
            rows = build_table(self.state)
            self._oids = [oid for oid, _ in rows]
            self._values = [value for _, value in rows]
            self._built_at = now

    def get(self, oid: Oid) -> Value:
        self._refresh()
        i = bisect.bisect_left(self._oids, oid)
        if i < len(self._oids) and self._oids[i] == oid:
            return self._values[i]
        # An instance of a known object, or not an object at all (RFC 3416 4.2.1).
        if i < len(self._oids) and self._oids[i][: len(oid) - 1] == oid[:-1] and len(oid) > 1:
            return ber.NO_SUCH_INSTANCE_VALUE
        return ber.NO_SUCH_OBJECT_VALUE

    def get_next(self, oid: Oid) -> tuple[Oid, Value]:
        self._refresh()
        i = bisect.bisect_right(self._oids, oid)
        if i < len(self._oids):
            return self._oids[i], self._values[i]
        return oid, ber.END_OF_MIB_VIEW_VALUE
