"""``deviceAdmin/getFallback`` and ``deviceAdmin/setFallback``: a device's layer-2 fallback
(facts sheet §1.2, "Device administration").

    deviceAdmin/getFallback?deviceName=N | deviceGroupName=G          -> "N=false"
    deviceAdmin/setFallback?deviceName=N | deviceGroupName=G&L2FB=true -> "N=true"

In layer-2 fallback a device passes traffic without inspecting it. The answer is one line,
``name=true|false`` a device, comma-separated for a group (its devices by name), as the
SMS prints it; setFallback answers the states after the change. The state lives on the
device and is read and set over its management API (``GET/PUT /api/v1/fallback``).

Errors: 400 for neither or both of deviceName and deviceGroupName, a missing or bad L2FB;
404 for an unknown device or group; 412 for a group without devices, and for a device
that cannot be asked (the line names it; on a group, the devices that were set are named
too, so a caller knows where things stand).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from garrison.auth import Capability
from garrison.devices.management import ManagementPool
from garrison.store.devices import DeviceRecord
from garrison.webservices.device_calls import management_pool, on_devices, raise_failures
from garrison.webservices.responses import WebServiceError, text

if TYPE_CHECKING:
    from garrison.webservices.app import Call

L2FB_VALUES = {"true": True, "false": False}


def states_line(devices: Sequence[DeviceRecord], states: Sequence[bool]) -> str:
    """``dev1=false,dev2=true``."""
    return ",".join(f"{d.name}={str(s).lower()}" for d, s in zip(devices, states, strict=True))


def parse_l2fb(value: str | None) -> bool:
    if value is None:
        raise WebServiceError(400, "L2FB is required: true or false")
    try:
        return L2FB_VALUES[value.lower()]
    except KeyError:
        raise WebServiceError(400, f"L2FB {value[:40]!r} must be true or false") from None


async def _targets(call: Call) -> list[DeviceRecord]:
    """The devices the call names, by deviceName or deviceGroupName (exactly one)."""
    name = call.params.single("deviceName")
    group = call.params.single("deviceGroupName")
    if (name is None) == (group is None):
        raise WebServiceError(400, "give deviceName or deviceGroupName (one of them)")
    devices = call.services.devices
    if name is not None:
        call.target = f"device:{name}"
        return [await run_in_threadpool(devices.find_device, call.principal, name)]
    assert group is not None
    call.target = f"device-group:{group}"
    found = await run_in_threadpool(devices.find_group, call.principal, group)
    members = await run_in_threadpool(
        lambda: devices.list_devices(call.principal, group_id=found.id, limit=None)
    )
    if not members:
        raise WebServiceError(412, f"device group {group!r} has no devices")
    return members


async def get_fallback(call: Call) -> Response:
    devices = await _targets(call)

    async def ask(device: DeviceRecord, pool: ManagementPool) -> bool:
        return await pool.client(device).fallback()

    async with management_pool(call) as pool:
        results = await on_devices(pool, devices, ask)
    raise_failures(devices, results)
    states = [bool(r) for r in results]
    call.detail["l2fb"] = states_line(devices, states)
    return text(states_line(devices, states))


async def set_fallback(call: Call) -> Response:
    wanted = parse_l2fb(call.params.single("L2FB"))
    call.principal.require(Capability.DEVICES_WRITE)
    devices = await _targets(call)
    call.detail["l2fb"] = wanted

    async def put(device: DeviceRecord, pool: ManagementPool) -> bool:
        return await pool.client(device).set_fallback(wanted)

    async with management_pool(call) as pool:
        results = await on_devices(pool, devices, put)
    done = [d for d, r in zip(devices, results, strict=True) if isinstance(r, bool)]
    call.detail["changed"] = [d.name for d, r in zip(devices, results, strict=True) if r is True]
    set_line = states_line(done, [wanted] * len(done))
    raise_failures(devices, results, f"set: {set_line}" if done else "")
    return text(set_line)


METHODS = {"getFallback": get_fallback, "setFallback": set_fallback}
