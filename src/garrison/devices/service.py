"""The device inventory: devices and groups, their health history; every change audited.

The API and the CLI both call this; like `AuthService` it checks the caller's capability,
takes and returns plain records and raises the errors of `garrison.errors`. Secrets are
never written to the audit trail: only the names of the fields that changed.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from garrison.auth import Capability, Principal
from garrison.auth.audit import audited
from garrison.devices.directory import DeviceDirectory
from garrison.devices.model import DEVICE_FIELDS, DeviceState
from garrison.devices.validate import check_device, check_name, check_text
from garrison.errors import Conflict, Invalid, NotFound
from garrison.store import Store, Transaction
from garrison.store.devices import (
    DeviceGroupRecord,
    DeviceGroups,
    DeviceHealthLog,
    DeviceRecord,
    Devices,
    HealthRecord,
    NewSample,
    StateChange,
)
from garrison.store.models import utcnow


class DeviceService:
    def __init__(self, store: Store, directory: DeviceDirectory | None = None) -> None:
        self.store = store
        self.directory = directory if directory is not None else DeviceDirectory(self._addresses)

    # -- plumbing -----------------------------------------------------------------------

    @contextmanager
    def _change(
        self, actor: Principal, capability: Capability, action: str, target: str, **detail: Any
    ) -> Iterator[Transaction]:
        """A checked, audited transaction; then the address directory is refreshed."""
        actor.require(capability)
        with audited(self.store, actor, action, target, **detail) as tx:
            yield tx
        self.refresh_directory()

    def refresh_directory(self) -> None:
        self.directory.load(self._addresses())

    def _addresses(self) -> list[tuple[str, int]]:
        with self.store.transaction() as tx:
            return Devices(tx.session).addresses()

    @staticmethod
    def _device(tx: Transaction, device_id: int) -> DeviceRecord:
        device = Devices(tx.session).get(device_id)
        if device is None:
            raise NotFound(f"no device with id {device_id}")
        return device

    @staticmethod
    def _group(tx: Transaction, group_id: int) -> DeviceGroupRecord:
        group = DeviceGroups(tx.session).get(group_id)
        if group is None:
            raise NotFound(f"no device group with id {group_id}")
        return group

    # -- devices ------------------------------------------------------------------------

    def create_device(self, actor: Principal, **fields: Any) -> DeviceRecord:
        """Add a device. ``fields`` are those of `DEVICE_FIELDS`; name and address are
        required, and the SNMP credentials of the chosen version."""
        unknown = set(fields) - DEVICE_FIELDS
        if unknown:
            raise Invalid(f"unknown device fields: {', '.join(sorted(unknown))}")
        for required in ("name", "address"):
            if not fields.get(required):
                raise Invalid(f"a device needs a {required}")
        actor.require(Capability.DEVICES_WRITE)
        values = check_device(fields)
        with self._change(
            actor,
            Capability.DEVICES_WRITE,
            "device.create",
            f"device:{values['name']}",
            address=values["address"],
            snmp_version=values["snmp_version"],
        ) as tx:
            devices = Devices(tx.session)
            if devices.by_name(values["name"]) is not None:
                raise Conflict(f"a device named {values['name']!r} already exists")
            if values.get("group_id") is not None:
                self._group(tx, values["group_id"])
            return devices.add(**values)

    def update_device(self, actor: Principal, device_id: int, **changes: Any) -> DeviceRecord:
        """Change some of a device's settings; only the keys given change (``group_id``
        None takes the device out of its group)."""
        unknown = set(changes) - DEVICE_FIELDS
        if unknown:
            raise Invalid(f"unknown device fields: {', '.join(sorted(unknown))}")
        actor.require(Capability.DEVICES_WRITE)
        with self.store.transaction() as tx:
            current = self._device(tx, device_id)
        merged = {name: getattr(current, name) for name in DEVICE_FIELDS}
        merged.update(changes)
        values = check_device(merged)
        fields = {k: v for k, v in values.items() if getattr(current, k) != v}
        with self._change(
            actor,
            Capability.DEVICES_WRITE,
            "device.update",
            f"device:{current.name}",
            fields=sorted(fields),
        ) as tx:
            devices = Devices(tx.session)
            if "name" in fields:
                other = devices.by_name(fields["name"])
                if other is not None and other.id != device_id:
                    raise Conflict(f"a device named {fields['name']!r} already exists")
            if fields.get("group_id") is not None:
                self._group(tx, fields["group_id"])
            updated = devices.update(device_id, **fields) if fields else current
            if updated is None:
                raise NotFound(f"no device with id {device_id}")
            return updated

    def delete_device(self, actor: Principal, device_id: int) -> None:
        actor.require(Capability.DEVICES_WRITE)
        with self.store.transaction() as tx:
            device = self._device(tx, device_id)
        with self._change(
            actor, Capability.DEVICES_WRITE, "device.delete", f"device:{device.name}"
        ) as tx:
            Devices(tx.session).delete(device_id)

    def get_device(self, actor: Principal, device_id: int) -> DeviceRecord:
        actor.require(Capability.DEVICES_READ)
        with self.store.transaction() as tx:
            return self._device(tx, device_id)

    def find_device(self, actor: Principal, name: str) -> DeviceRecord:
        actor.require(Capability.DEVICES_READ)
        with self.store.transaction() as tx:
            device = Devices(tx.session).by_name(name)
        if device is None:
            raise NotFound(f"no device named {name!r}")
        return device

    def list_devices(
        self,
        actor: Principal,
        *,
        group_id: int | None = None,
        state: DeviceState | str | None = None,
        name_contains: str | None = None,
        offset: int = 0,
        limit: int | None = 100,
    ) -> list[DeviceRecord]:
        """Devices by name; filters combine."""
        actor.require(Capability.DEVICES_READ)
        if state is not None:
            try:
                state = DeviceState(state)
            except ValueError:
                raise Invalid(f"state must be one of {', '.join(DeviceState)}") from None
        if name_contains is not None:
            check_text(name_contains, "name filter", 64)
        with self.store.transaction() as tx:
            return Devices(tx.session).list(
                group_id=group_id,
                state=state,
                name_contains=name_contains,
                offset=offset,
                limit=limit,
            )

    def health_history(
        self,
        actor: Principal,
        device_id: int,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> list[HealthRecord]:
        """A device's health samples, newest first."""
        actor.require(Capability.DEVICES_READ)
        with self.store.transaction() as tx:
            self._device(tx, device_id)
            return DeviceHealthLog(tx.session).history(
                device_id, since=since, until=until, offset=offset, limit=limit
            )

    # -- groups -------------------------------------------------------------------------

    def create_group(
        self, actor: Principal, *, name: str, description: str = ""
    ) -> DeviceGroupRecord:
        check_name(name, "group name")
        check_text(description, "description", 255)
        with self._change(
            actor, Capability.DEVICES_WRITE, "device-group.create", f"device-group:{name}"
        ) as tx:
            groups = DeviceGroups(tx.session)
            if groups.by_name(name) is not None:
                raise Conflict(f"a device group named {name!r} already exists")
            return groups.add(name=name, description=description)

    def update_group(
        self,
        actor: Principal,
        group_id: int,
        *,
        name: str | None = None,
        description: str | None = None,
    ) -> DeviceGroupRecord:
        fields: dict[str, Any] = {}
        if name is not None:
            fields["name"] = check_name(name, "group name")
        if description is not None:
            fields["description"] = check_text(description, "description", 255)
        actor.require(Capability.DEVICES_WRITE)
        with self.store.transaction() as tx:
            group = self._group(tx, group_id)
        with self._change(
            actor,
            Capability.DEVICES_WRITE,
            "device-group.update",
            f"device-group:{group.name}",
            fields=sorted(fields),
        ) as tx:
            groups = DeviceGroups(tx.session)
            if name is not None and name != group.name and groups.by_name(name) is not None:
                raise Conflict(f"a device group named {name!r} already exists")
            updated = groups.update(group_id, **fields)
            if updated is None:
                raise NotFound(f"no device group with id {group_id}")
            return updated

    def delete_group(self, actor: Principal, group_id: int) -> None:
        """Delete a group; its devices stay, without a group."""
        actor.require(Capability.DEVICES_WRITE)
        with self.store.transaction() as tx:
            group = self._group(tx, group_id)
        with self._change(
            actor, Capability.DEVICES_WRITE, "device-group.delete", f"device-group:{group.name}"
        ) as tx:
            DeviceGroups(tx.session).delete(group_id)

    def get_group(self, actor: Principal, group_id: int) -> DeviceGroupRecord:
        actor.require(Capability.DEVICES_READ)
        with self.store.transaction() as tx:
            return self._group(tx, group_id)

    def find_group(self, actor: Principal, name: str) -> DeviceGroupRecord:
        actor.require(Capability.DEVICES_READ)
        with self.store.transaction() as tx:
            group = DeviceGroups(tx.session).by_name(name)
        if group is None:
            raise NotFound(f"no device group named {name!r}")
        return group

    def list_groups(self, actor: Principal) -> list[DeviceGroupRecord]:
        actor.require(Capability.DEVICES_READ)
        with self.store.transaction() as tx:
            return DeviceGroups(tx.session).list()

    # -- for the poller (no caller to check: the server itself acts) ---------------------

    def all_devices(self) -> list[DeviceRecord]:
        with self.store.transaction() as tx:
            return Devices(tx.session).list(limit=None)

    def device(self, device_id: int) -> DeviceRecord | None:
        with self.store.transaction() as tx:
            return Devices(tx.session).get(device_id)

    def all_groups(self) -> list[DeviceGroupRecord]:
        """Every device group (the Responder resolves action targets with it)."""
        with self.store.transaction() as tx:
            return DeviceGroups(tx.session).list()

    def record_samples(self, samples: Sequence[NewSample]) -> list[StateChange]:
        """Store a batch of samples and the states they set, in one transaction."""
        with self.store.transaction() as tx:
            return DeviceHealthLog(tx.session).record(samples)

    def last_sample(self, device_id: int) -> HealthRecord | None:
        with self.store.transaction() as tx:
            return DeviceHealthLog(tx.session).last(device_id)

    def count_by_state(self) -> dict[str, int]:
        with self.store.transaction() as tx:
            return Devices(tx.session).count_by_state()

    def prune_history(self, days: int) -> int:
        """Delete health samples older than ``days``."""
        with self.store.transaction() as tx:
            return DeviceHealthLog(tx.session).prune(utcnow() - timedelta(days=days))
