"""``pcaps/getByDevice`` and ``pcaps/getByEventIds``: packet traces as one pcap file
(facts sheet §1.2, "Packet trace").

    pcaps/getByDevice?deviceId=<DEVICE.SHORT_ID>          -> every trace the device keeps
    pcaps/getByEventIds  + ids (file, parameter or body)  -> the traces of those events

Devices keep the traces (the management API's ``GET /packet-traces``); Garrison asks each
device concerned at once, merges what they send into one capture (one header, packets in
time order; `garrison.devices.pcap`) and streams it as ``application/octet-stream``. The
ids are read by `event_ids` from, in this order: the first uploaded file (any field name),
the values of the call's other parameters (``-F "ids=<ids.txt"``, ``?eventIds=1,2``), or
the raw body (``--data-binary @ids.txt``, any content type).

Errors: 400 for no or malformed ids or deviceId; 404 for an unknown event or device, and
when no trace of what was asked for is kept any more; 412 when a device cannot be asked
(unreachable, credentials refused, no management URL) or sends something that is not a
pcap file. Each is one line of text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from garrison.auth import Capability
from garrison.devices import pcap
from garrison.devices.management import ManagementPool, PacketTraces
from garrison.store.devices import DeviceRecord
from garrison.store.events import EventRows, StoredEvent
from garrison.webservices.auth import CREDENTIAL_PARAMS
from garrison.webservices.device_calls import (
    device_label,
    management_pool,
    on_devices,
    raise_failures,
)
from garrison.webservices.event_ids import WantedTraces, parse_event_ids
from garrison.webservices.params import FORM, MULTIPART, media_type
from garrison.webservices.responses import WebServiceError

if TYPE_CHECKING:
    from garrison.services import Services
    from garrison.webservices.app import Call

MEDIA_TYPE = "application/octet-stream"  # facts sheet tolerance rule 5: pcap or octet-stream
NAMED = 5  # ids named in an error line before "and N more"


def _listed(items: Sequence[str]) -> str:
    shown = ", ".join(items[:NAMED])
    return shown + (f" and {len(items) - NAMED} more" if len(items) > NAMED else "")


def _pcap_answer(capture: pcap.Capture, filename: str) -> Response:
    return StreamingResponse(
        pcap.chunks(capture),
        media_type=MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _merge(devices: Sequence[DeviceRecord], traces: Sequence[PacketTraces]) -> pcap.Capture:
    captures = []
    for device, found in zip(devices, traces, strict=True):
        for data in found.files:
            try:
                captures.append(pcap.parse(data))
            except pcap.PcapError as exc:
                raise WebServiceError(
                    412,
                    f"device {device_label(device)} sent a packet trace that is not usable: {exc}",
                ) from None
    try:
        return pcap.merge(captures)
    except pcap.PcapError as exc:
        raise WebServiceError(412, str(exc)) from None


async def _fetch(
    call: Call, devices: Sequence[DeviceRecord], sequences: Sequence[Iterable[int] | None]
) -> tuple[pcap.Capture, int]:
    """Every device's traces (of its ``sequences``; all when None), merged, and how many
    event traces that is."""
    wanted = dict(zip((d.id for d in devices), sequences, strict=True))

    async def fetch(device: DeviceRecord, pool: ManagementPool) -> PacketTraces:
        return await pool.client(device).packet_traces(wanted[device.id])

    async with management_pool(call) as pool:
        results = await on_devices(pool, devices, fetch)
    raise_failures(devices, results)
    traces = [r for r in results if isinstance(r, PacketTraces)]
    count = sum(t.count for t in traces)
    call.detail["traces"] = count
    return await run_in_threadpool(_merge, devices, traces), count


# -- getByDevice ------------------------------------------------------------------------


def _device_id(value: str | None) -> int:
    if value is None:
        raise WebServiceError(400, "deviceId is required: the device's id (DEVICE.SHORT_ID)")
    if not value.isascii() or not value.isdigit() or int(value) >= 2**31:
        shown = repr(value[:40])
        raise WebServiceError(400, f"deviceId {shown} is not a device id (a whole number)")
    return int(value)


async def get_by_device(call: Call) -> Response:
    """Every packet trace ``deviceId`` keeps."""
    device_id = _device_id(call.params.single("deviceId"))
    call.target = f"device:{device_id}"
    call.principal.require(Capability.EVENTS_READ)
    device = await run_in_threadpool(call.services.devices.get_device, call.principal, device_id)
    capture, count = await _fetch(call, [device], [None])
    if not count:
        raise WebServiceError(404, f"device {device_label(device)} keeps no packet traces")
    return _pcap_answer(capture, f"device-{device.id}.pcap")


# -- getByEventIds ----------------------------------------------------------------------


def ids_text(call: Call) -> str:
    """Where the ids are: an uploaded file, other parameters' values, or the raw body."""
    upload = call.params.first_file()
    if upload is not None:
        return upload.data.decode("utf-8", "replace")
    values = [v for k, v in call.params.pairs if k not in CREDENTIAL_PARAMS and v.strip()]
    if values:
        return "\n".join(values)
    body = call.params.body
    kind = media_type(call.request.headers.get("content-type", ""))
    if kind == MULTIPART or (kind == FORM and b"=" in body):
        return ""  # a form without ids (its fields were the parameters above)
    return body.decode("utf-8", "replace")


def _lookup(services: Services, event_ids: Sequence[int]) -> dict[int, StoredEvent]:
    # One transaction for up to MAX_IDS lookups by primary key.
    with services.store.transaction() as tx:
        rows = EventRows(tx.session)
        found = {i: rows.get(i) for i in event_ids}
    return {i: stored for i, stored in found.items() if stored is not None}


class Inventory:
    """The devices, by id and by name."""

    def __init__(self, devices: Iterable[DeviceRecord]) -> None:
        self.by_id = {d.id: d for d in devices}
        self.by_name = {d.name: d for d in self.by_id.values()}

    def holder(self, stored: StoredEvent) -> DeviceRecord | None:
        """The device that keeps an event's trace: the one the event names, else the one
        its sender's address maps to (devices sharing an address differ by name)."""
        event = stored.event
        named = self.by_name.get(event.device_name)
        if named is not None or event.device_id is None:
            return named
        return self.by_id.get(event.device_id)


def plan(
    wanted: WantedTraces, events: dict[int, StoredEvent], inventory: Inventory
) -> tuple[dict[int, set[int]], list[str]]:
    """device id -> sequence numbers to ask for, and the ids asked for that have no trace
    to ask for; WebServiceError 404 for an unknown event or device."""
    unknown = [str(i) for i in wanted.event_ids if i not in events]
    unknown += [
        f"{d}:{s}" for d, seqs in wanted.sequences.items() if d not in inventory.by_id for s in seqs
    ]
    if unknown:
        raise WebServiceError(404, f"no such event: {_listed(unknown)}")
    asks: dict[int, set[int]] = {d: set(seqs) for d, seqs in wanted.sequences.items()}
    untraced: list[str] = []
    for event_id in wanted.event_ids:
        stored = events[event_id]
        device = inventory.holder(stored)
        if not stored.event.packet_trace or stored.event.sequence is None or device is None:
            untraced.append(str(event_id))
        else:
            asks.setdefault(device.id, set()).add(stored.event.sequence)
    return asks, untraced


async def get_by_event_ids(call: Call) -> Response:
    """The traces of the events the call names, in one pcap file."""
    wanted = parse_event_ids(ids_text(call))
    call.target = "events"
    call.detail["ids"] = len(wanted)
    call.principal.require(Capability.EVENTS_READ)
    call.principal.require(Capability.DEVICES_READ)
    svc = call.services
    events = await run_in_threadpool(_lookup, svc, wanted.event_ids)
    inventory = Inventory(await run_in_threadpool(svc.devices.all_devices))
    asks, untraced = plan(wanted, events, inventory)
    if untraced:
        call.detail["without_trace"] = len(untraced)
    if not asks:
        raise WebServiceError(404, f"no packet trace for event {_listed(untraced)}")
    devices = [inventory.by_id[d] for d in sorted(asks)]
    call.detail["devices"] = [d.id for d in devices]
    capture, count = await _fetch(call, devices, [sorted(asks[d.id]) for d in devices])
    if not count:
        raise WebServiceError(
            404, "the devices no longer keep the packet traces of these events (oldest go first)"
        )
    return _pcap_answer(capture, "events.pcap")


METHODS = {"getByDevice": get_by_device, "getByEventIds": get_by_event_ids}
