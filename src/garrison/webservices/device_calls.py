"""Web service methods that talk to devices (``pcaps/*``, ``deviceAdmin/*``): where their
management clients come from, and how a device's failure reads to the caller.

The clients: the running Responder's pool when there is one (it lives as long as the
server, so a script calling every minute reuses its TLS connections), else a pool made for
the call and closed after it. Both trust device certificates the same way, through the
shared pin file ``<data_dir>/tls/device-pins.json`` (see `garrison.devices.management`).

A device that cannot be reached, refuses Garrison's credentials or answers off-protocol is
a precondition the caller cannot fix by changing the request: 412, naming the device and
saying why in the client's words.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, TypeVar

from garrison.devices.management import ManagementError, ManagementPool, PinStore
from garrison.store.devices import DeviceRecord
from garrison.webservices.responses import WebServiceError

if TYPE_CHECKING:
    from garrison.webservices.app import Call

T = TypeVar("T")


@asynccontextmanager
async def management_pool(call: Call) -> AsyncIterator[ManagementPool]:
    shared = getattr(call.services.responder, "management", None)
    if isinstance(shared, ManagementPool):
        yield shared
        return
    settings = call.services.settings
    pool = ManagementPool(
        pins=PinStore(settings.tls_dir / "device-pins.json"), tls_profile=settings.tls.profile
    )
    try:
        yield pool
    finally:
        await pool.close()


def device_label(device: DeviceRecord) -> str:
    return f"{device.name} (id {device.id})"


def failure_text(device: DeviceRecord, error: ManagementError) -> str:
    return f"device {device_label(device)}: {error.reason}"


async def on_devices(
    pool: ManagementPool,
    devices: Sequence[DeviceRecord],
    act: Callable[[DeviceRecord, ManagementPool], Awaitable[T]],
) -> list[T | ManagementError]:
    """``act`` on every device at once; each device's result or its ManagementError, in
    the order of ``devices``."""

    async def one(device: DeviceRecord) -> T | ManagementError:
        try:
            return await act(device, pool)
        except ManagementError as exc:
            return exc

    return list(await asyncio.gather(*(one(d) for d in devices)))


def raise_failures(
    devices: Sequence[DeviceRecord], results: Sequence[object], done: str = ""
) -> None:
    """412 naming every device whose result is a failure (and, in ``done``, what was
    carried out on the others); nothing when all succeeded."""
    failed = [
        failure_text(device, result)
        for device, result in zip(devices, results, strict=True)
        if isinstance(result, ManagementError)
    ]
    if failed:
        tail = f"; {done}" if done else ""
        raise WebServiceError(412, "; ".join(failed) + tail)
