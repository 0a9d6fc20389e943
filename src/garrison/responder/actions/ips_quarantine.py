"""IPS quarantine: quarantine the host on IPS devices, or release it, through each device's
HTTPS management API (``garrison.devices.management``; docs/device-protocol.md section 4).

Targets are ``all`` managed devices (those with a management URL), the devices of one
``group``, or named ``devices`` (names or ids; a name wins over an id when a device is named
with digits). ``operation = "auto"`` quarantines in the initial phase and releases in the
timeout phase, so the same settings serve as a policy's initial action and as its matching
timeout action.

Releasing: on ``all`` it releases on every managed device (the SMS's escalation rule: when
the response closes, the host is released everywhere). On a group or named devices it
releases there *and* on every device an earlier quarantine of the same response recorded in
its result (``data["devices"]``), so a device moved out of the group meanwhile is not left
blocking the host. A device that answers "not quarantined" counts as released.

The devices are asked concurrently (``concurrency`` at once, each within
``timeout_seconds``). The action succeeds when every target device did. Otherwise it fails
with a reason naming each failed device and why, and remembers the devices that succeeded
(by response and phase): the engine retries by calling ``run`` again on this instance, and
a retry only asks the devices that have not succeeded yet. ``data["host_state"]`` is the
host's QUARANTINE_HOSTS state: QUARANTINED, UNQUARANTINED, or ERROR (on a partial failure,
in the data of the ``QuarantineIncomplete`` exception).
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from garrison.devices.management import ManagementError, ManagementPool, PinStore
from garrison.devices.service import DeviceService
from garrison.responder.actions.base import (
    ActionConfig,
    ActionContext,
    ActionFailed,
    ActionResult,
    ActionServices,
    ActionType,
)
from garrison.responder.actions.registry import register
from garrison.responder.templates import render
from garrison.store.devices import DeviceRecord

KIND = "ips-quarantine"
QUARANTINED, UNQUARANTINED, ERROR = "QUARANTINED", "UNQUARANTINED", "ERROR"
# Responses whose progress is remembered for retries; the oldest is forgotten beyond this
# (a response the engine gave up on long ago).
MAX_TRACKED_RUNS = 10_000
LISTED_DEVICES = 20  # devices named one by one in a detail or reason, then "and N more"
POOL_KEY = "device_management"  # ActionServices.extra: a shared ManagementPool, if any


class IpsQuarantineConfig(ActionConfig):
    TEMPLATES: ClassVar[tuple[str, ...]] = ("reason",)

    target: Literal["all", "device", "group"] = "all"
    devices: tuple[str, ...] = Field((), description="names or ids, for target = device")
    group: str = Field("", description="name or id, for target = group")
    operation: Literal["auto", "quarantine", "release"] = "auto"
    reason: str = Field("Garrison response {response_id}: policy {policy}", max_length=255)
    segment: str = Field("", max_length=64, description="empty: the device's default")
    timeout_seconds: float = Field(10.0, gt=0, le=300, description="per device")
    concurrency: int = Field(32, ge=1, le=1000, description="devices asked at once")

    @field_validator("devices", mode="before")
    @classmethod
    def _device_refs(cls, value: Any) -> Any:
        # TOML and JSON give ids as numbers; keep every reference as text.
        if isinstance(value, list | tuple):
            return tuple(
                str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value
            )
        return value

    @field_validator("group", mode="before")
    @classmethod
    def _group_ref(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _target_fields(self) -> IpsQuarantineConfig:
        if self.target == "device" and not self.devices:
            raise ValueError("target 'device' needs 'devices': a list of device names or ids")
        if self.target == "group" and not self.group.strip():
            raise ValueError("target 'group' needs 'group': a device group name or id")
        if self.target != "device" and self.devices:
            raise ValueError("'devices' is only for target 'device'")
        if self.target != "group" and self.group:
            raise ValueError("'group' is only for target 'group'")
        return self


@dataclass(frozen=True, slots=True)
class Outcome:
    device: DeviceRecord
    ok: bool
    text: str  # "added", "already quarantined", "released", "not quarantined", or why not
    retryable: bool = True


class QuarantineIncomplete(ActionFailed):
    """Some target devices failed. ``data`` holds what did happen (the devices that did
    succeed, ``host_state`` ERROR) for an engine that records it."""

    def __init__(self, reason: str, *, retryable: bool, data: Mapping[str, str]) -> None:
        super().__init__(reason, retryable=retryable)
        self.data = dict(data)


def _label(device: DeviceRecord) -> str:
    return f"{device.name} (#{device.id})"


def _listing(items: Sequence[str]) -> str:
    shown = ", ".join(items[:LISTED_DEVICES])
    more = len(items) - LISTED_DEVICES
    return f"{shown} and {more} more" if more > 0 else shown


def quarantined_earlier(earlier: Mapping[str, Mapping[str, str]]) -> set[int]:
    """Ids of the devices an earlier quarantine of this response reported."""
    ids: set[int] = set()
    for data in earlier.values():
        if data.get("kind") != KIND or data.get("operation") != "quarantine":
            continue
        for part in data.get("devices", "").split(","):
            if part.strip().isdigit():
                ids.add(int(part))
    return ids


@register
class IpsQuarantine(ActionType[IpsQuarantineConfig]):
    kind: ClassVar[str] = KIND
    title: ClassVar[str] = "quarantine or release the host on IPS devices (management API)"
    config_type: ClassVar[type[ActionConfig]] = IpsQuarantineConfig

    def __init__(self, config: IpsQuarantineConfig, services: ActionServices) -> None:
        super().__init__(config, services)
        self._pool: ManagementPool | None = None
        self._owns_pool = False
        # (response id, phase) -> {device id: what was done}, for the devices that succeeded.
        self._progress: OrderedDict[tuple[int, str], dict[int, str]] = OrderedDict()

    # -- the run ------------------------------------------------------------------------

    def operation_for(self, context: ActionContext) -> str:
        if self.config.operation != "auto":
            return self.config.operation
        return "release" if context.phase == "timeout" else "quarantine"

    async def run(self, context: ActionContext) -> ActionResult:
        operation = self.operation_for(context)
        try:
            address = str(ipaddress.ip_address(context.address.strip()))
        except ValueError:
            raise ActionFailed(
                f"{context.address[:64]!r} is not an IP address", retryable=False
            ) from None
        service = self.services.devices
        if service is None:
            raise ActionFailed("the device inventory is not available here", retryable=False)
        targets = await asyncio.to_thread(self.targets, service, operation, context.earlier)
        key = (context.response_id, context.phase)
        done = self._progress.setdefault(key, {})
        self._progress.move_to_end(key)
        while len(self._progress) > MAX_TRACKED_RUNS:
            self._progress.popitem(last=False)
        pending = [d for d in targets if d.id not in done]
        reason = render(self.config.reason, context.values())[:255]
        outcomes = await self._ask(pending, operation, address, reason, done)
        failed = [o for o in outcomes if not o.ok]
        names = {d.id: d.name for d in targets}
        if failed:
            raise self._incomplete(operation, address, targets, failed, done)
        self._progress.pop(key, None)
        return self._result(operation, address, done, names)

    def targets(
        self, service: DeviceService, operation: str, earlier: Mapping[str, Mapping[str, str]]
    ) -> list[DeviceRecord]:
        """The devices to ask, by name. Raises a non-retryable ActionFailed when the
        settings name nothing that can be asked."""
        everything = service.all_devices()
        managed = [d for d in everything if d.mgmt_url]
        config = self.config
        if config.target == "all":
            if not managed:
                raise ActionFailed(
                    "no managed devices: no device has a management URL", retryable=False
                )
            return sorted(managed, key=lambda d: d.name)
        if config.target == "group":
            group_id, group_name = self._group(service)
            chosen = [d for d in managed if d.group_id == group_id]
            where = f"in group {group_name}"
        else:
            chosen = self._named(everything)
            where = "named"
        if operation == "release":
            # Also where an earlier quarantine of this response put the host.
            have = {d.id for d in chosen}
            recorded = quarantined_earlier(earlier)
            chosen += [d for d in managed if d.id in recorded and d.id not in have]
        if not chosen:
            raise ActionFailed(f"no managed devices {where}", retryable=False)
        return sorted(chosen, key=lambda d: d.name)

    def _group(self, service: DeviceService) -> tuple[int, str]:
        ref = self.config.group.strip()
        groups = service.all_groups()
        for group in groups:
            if group.name == ref:
                return group.id, group.name
        for group in groups:
            if ref.isdigit() and group.id == int(ref):
                return group.id, group.name
        raise ActionFailed(f"no device group named {ref!r} (nor with that id)", retryable=False)

    def _named(self, everything: list[DeviceRecord]) -> list[DeviceRecord]:
        by_name = {d.name: d for d in everything}
        by_id = {d.id: d for d in everything}
        chosen: dict[int, DeviceRecord] = {}
        unknown: list[str] = []
        unmanaged: list[str] = []
        for ref in self.config.devices:
            ref = ref.strip()
            device = by_name.get(ref) or (by_id.get(int(ref)) if ref.isdigit() else None)
            if device is None:
                unknown.append(ref)
            elif not device.mgmt_url:
                unmanaged.append(device.name)
            else:
                chosen[device.id] = device
        problems = []
        if unknown:
            problems.append(f"no such device: {', '.join(unknown)}")
        if unmanaged:
            problems.append(f"no management URL on: {', '.join(unmanaged)}")
        if problems:
            raise ActionFailed("; ".join(problems), retryable=False)
        return list(chosen.values())

    async def _ask(
        self,
        devices: list[DeviceRecord],
        operation: str,
        address: str,
        reason: str,
        done: dict[int, str],
    ) -> list[Outcome]:
        pool = self._management()
        limit = asyncio.Semaphore(self.config.concurrency)
        timeout = self.config.timeout_seconds

        async def one(device: DeviceRecord) -> Outcome:
            async with limit:
                try:
                    client = pool.client(device, timeout=timeout)
                    if operation == "quarantine":
                        call = client.quarantine_add(address, reason, self.config.segment)
                        created = await asyncio.wait_for(call, timeout)
                        text = "added" if created else "already quarantined"
                    else:
                        removed = await asyncio.wait_for(client.quarantine_remove(address), timeout)
                        text = "released" if removed else "not quarantined"
                except ManagementError as exc:
                    return Outcome(device, False, exc.reason, exc.retryable)
                except TimeoutError:
                    return Outcome(device, False, f"timed out after {timeout:g} s")
            # Recorded at once: if the engine cancels the run at its time limit, the
            # devices that finished are not asked again.
            done[device.id] = text
            return Outcome(device, True, text)

        return list(await asyncio.gather(*(one(d) for d in devices)))

    # -- what to report -----------------------------------------------------------------

    def _result(
        self, operation: str, address: str, done: Mapping[int, str], names: Mapping[int, str]
    ) -> ActionResult:
        ids = sorted(done)
        labels = [f"{names.get(i, f'#{i}')} ({done[i]})" for i in ids]
        verb = "quarantined" if operation == "quarantine" else "released"
        plural = "s" if len(ids) != 1 else ""
        return ActionResult(
            detail=f"{verb} {address} on {len(ids)} device{plural}: {_listing(labels)}",
            data={
                "kind": KIND,
                "operation": operation,
                "address": address,
                "devices": ",".join(str(i) for i in ids),
                "device_names": ",".join(names.get(i, str(i)) for i in ids),
                "host_state": QUARANTINED if operation == "quarantine" else UNQUARANTINED,
            },
        )

    def _incomplete(
        self,
        operation: str,
        address: str,
        targets: list[DeviceRecord],
        failed: list[Outcome],
        done: Mapping[int, str],
    ) -> QuarantineIncomplete:
        names = {d.id: d.name for d in targets}
        succeeded = [f"{names.get(i, f'#{i}')} ({done[i]})" for i in sorted(done)]
        failures = [f"{_label(o.device)}: {o.text}" for o in failed]
        retryable = any(o.retryable for o in failed)
        text = (
            f"{operation} of {address} failed on {len(failed)} of {len(targets)} devices: "
            f"{_listing(failures)}"
        )
        if succeeded:
            text += f"; succeeded on {_listing(succeeded)}"
            if retryable:
                text += " (a retry asks only the devices that failed)"
        return QuarantineIncomplete(
            text,
            retryable=retryable,
            data={
                "kind": KIND,
                "operation": operation,
                "address": address,
                "devices": ",".join(str(i) for i in sorted(done)),
                "failed_devices": ",".join(str(o.device.id) for o in failed),
                "host_state": ERROR,
            },
        )

    # -- lifetime -----------------------------------------------------------------------

    def _management(self) -> ManagementPool:
        if self._pool is None:
            shared = self.services.extra.get(POOL_KEY)
            if isinstance(shared, ManagementPool):
                self._pool = shared
            else:
                settings = self.services.settings
                self._pool = ManagementPool(
                    pins=PinStore(settings.tls_dir / "device-pins.json"),
                    tls_profile=settings.tls.profile,
                    timeout=self.config.timeout_seconds,
                )
                self._owns_pool = True
        return self._pool

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None and self._owns_pool:
            await pool.close()
