"""From MIB values to a health sample and a state. Pure: no I/O, no clock.

A device is *reachable* when it answers; *degraded* when it answers but its CPU or memory
is at or above a threshold, an interface that is administratively up has no link, or its
transparent-HA partner is not connected; *unreachable* when it does not answer usably.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from garrison.devices import mib
from garrison.devices.model import DeviceState

Value = int | str
Scalars = Mapping[str, Value]
Columns = Mapping[str, Mapping[str, Value]]


class DecodeError(ValueError):
    """The device answered with values of the wrong type."""


@dataclass(frozen=True, slots=True)
class Thresholds:
    cpu_percent: float = 90.0
    memory_percent: float = 90.0
    interfaces: bool = True  # an admin-up interface without link degrades the device


@dataclass(frozen=True, slots=True)
class CpuTicks:
    """UCD raw CPU counters at one poll: busy and total ticks."""

    busy: int
    total: int


@dataclass(frozen=True, slots=True)
class Health:
    cpu_percent: float | None = None
    memory_percent: float | None = None
    uptime_seconds: int | None = None
    if_up: int | None = None
    if_down: int | None = None
    trha_state: str = ""  # "", or not-connected / unresponsive / connected when enabled
    cpu_ticks: CpuTicks | None = None
    identity: dict[str, str] = field(default_factory=dict)


def _int(value: Value | None, what: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int):
        raise DecodeError(f"{what}: expected an integer, got {value!r:.40}")
    return value


def _str(value: Value | None) -> str:
    return "" if value is None else str(value).strip()


def _cpu(
    scalars: Scalars, columns: Columns, previous: CpuTicks | None
) -> tuple[float | None, CpuTicks | None]:
    loads = [_int(v, "hrProcessorLoad") for v in columns.get(mib.HR_PROCESSOR_LOAD, {}).values()]
    raw = [_int(scalars.get(oid), "ssCpuRaw") for oid in mib.CPU_RAW]
    ticks = None
    if all(v is not None for v in raw[:4]):
        user, nice, system, idle = (v or 0 for v in raw[:4])
        wait = raw[4] or 0
        ticks = CpuTicks(busy=user + nice + system, total=user + nice + system + idle + wait)
    if loads:
        return round(sum(v or 0 for v in loads) / len(loads), 1), ticks
    if ticks is not None and previous is not None:
        busy, total = ticks.busy - previous.busy, ticks.total - previous.total
        if total > 0 and 0 <= busy <= total:  # counters that wrapped or reset say nothing
            return round(100.0 * busy / total, 1), ticks
    return None, ticks


def _memory(columns: Columns) -> float | None:
    types = columns.get(mib.HR_STORAGE_TYPE, {})
    sizes = columns.get(mib.HR_STORAGE_SIZE, {})
    used = columns.get(mib.HR_STORAGE_USED, {})
    size_total = used_total = 0
    for index, kind in types.items():
        if kind != mib.HR_STORAGE_RAM:
            continue
        size = _int(sizes.get(index), "hrStorageSize")
        in_use = _int(used.get(index), "hrStorageUsed")
        if size and in_use is not None:
            size_total += size  # same allocation units on both sides: they cancel out
            used_total += in_use
    if size_total <= 0:
        return None
    return round(100.0 * used_total / size_total, 1)


def _interfaces(columns: Columns) -> tuple[int | None, int | None]:
    admin = columns.get(mib.IF_ADMIN_STATUS, {})
    oper = columns.get(mib.IF_OPER_STATUS, {})
    if not admin or not oper:
        return None, None
    up = down = 0
    for index, status in admin.items():
        if _int(status, "ifAdminStatus") != mib.IF_UP:
            continue
        state = _int(oper.get(index), "ifOperStatus")
        if state == mib.IF_UP:
            up += 1
        elif state in mib.IF_DOWN_STATES:
            down += 1
    return up, down


def _trha(scalars: Scalars) -> str:
    enabled = _int(scalars.get(mib.TRHA_ENABLED), "highAvailTransparentEnabled")
    state = _int(scalars.get(mib.TRHA_STATE), "highAvailTransparentState")
    if state is None or enabled == 0:
        return ""
    return mib.TRHA_STATES.get(state, f"state-{state}")


def summarize(scalars: Scalars, columns: Columns, previous: CpuTicks | None = None) -> Health:
    """The health of one answer; ``previous`` is the CPU tick count of the last poll, for
    agents that only give raw counters."""
    uptime = _int(scalars.get(mib.SYS_UPTIME), "sysUpTime")
    cpu, ticks = _cpu(scalars, columns, previous)
    if_up, if_down = _interfaces(columns)
    identity = {
        "sys_descr": _str(scalars.get(mib.SYS_DESCR)),
        "sys_object_id": _str(scalars.get(mib.SYS_OBJECT_ID)),
        "sys_name": _str(scalars.get(mib.SYS_NAME)),
        "model": _str(scalars.get(mib.ENT_MODEL)),
        "serial": _str(scalars.get(mib.ENT_SERIAL)),
        "os_version": _str(scalars.get(mib.ENT_SOFTWARE_REV)),
    }
    return Health(
        cpu_percent=cpu,
        memory_percent=_memory(columns),
        uptime_seconds=None if uptime is None else uptime // 100,
        if_up=if_up,
        if_down=if_down,
        trha_state=_trha(scalars),
        cpu_ticks=ticks,
        identity={k: v for k, v in identity.items() if v},
    )


def assess(health: Health, thresholds: Thresholds) -> tuple[DeviceState, str]:
    """The state of a device that answered, and why when it is degraded."""
    reasons: list[str] = []
    if health.cpu_percent is not None and health.cpu_percent >= thresholds.cpu_percent:
        reasons.append(f"CPU {health.cpu_percent:g}% (threshold {thresholds.cpu_percent:g}%)")
    if health.memory_percent is not None and health.memory_percent >= thresholds.memory_percent:
        reasons.append(
            f"memory {health.memory_percent:g}% (threshold {thresholds.memory_percent:g}%)"
        )
    if thresholds.interfaces and health.if_down:
        reasons.append(f"{health.if_down} interface(s) up but without link")
    if health.trha_state and health.trha_state != "connected":
        reasons.append(f"transparent HA partner {health.trha_state}")
    if reasons:
        return DeviceState.DEGRADED, "; ".join(reasons)
    return DeviceState.REACHABLE, ""
