"""Devices and device groups: list, read, create, change, delete; health history; poll now.

Secrets (community, SNMPv3 keys, management secret) are write-only: requests may set them,
answers only say whether one is set (``has_community`` and the like).
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from garrison.api.deps import CurrentPrincipal, services
from garrison.api.routes import PathId, error_responses
from garrison.api.schemas import MAX_ID, RowId
from garrison.api.schemas import Request as Body
from garrison.auth import Capability
from garrison.devices.model import AuthProtocol, DeviceState, PrivProtocol, SnmpVersion
from garrison.devices.poller import DevicePoller
from garrison.errors import Invalid, NotFound
from garrison.services import Services
from garrison.store.devices import DeviceGroupRecord, DeviceRecord, HealthRecord

router = APIRouter(tags=["devices"])

Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
Address = Annotated[
    str,
    Field(min_length=2, max_length=45, description="IPv4 or IPv6 address", examples=["10.0.0.1"]),
]
Secret = Annotated[str, Field(min_length=1, max_length=255)]
V3Key = Annotated[str, Field(min_length=8, max_length=255)]


# -- bodies ---------------------------------------------------------------------------------


class DeviceCreate(Body):
    name: Name
    address: Address
    location: str = Field("", max_length=128)
    group_id: RowId | None = None
    snmp_port: int = Field(161, ge=1, le=65535)
    snmp_version: SnmpVersion = SnmpVersion.V2C
    snmp_community: Secret | None = Field(None, description="v2c; write-only")
    snmp_user: str | None = Field(None, min_length=1, max_length=32, description="v3")
    snmp_auth_protocol: AuthProtocol | None = None
    snmp_auth_key: V3Key | None = Field(None, description="v3; write-only")
    snmp_priv_protocol: PrivProtocol | None = None
    snmp_priv_key: V3Key | None = Field(None, description="v3; write-only")
    mgmt_url: str = Field("", max_length=255, description="HTTPS management API base URL")
    mgmt_username: str = Field("", max_length=64)
    mgmt_secret: Secret | None = Field(None, description="write-only")


class DeviceUpdate(Body):
    """Only the fields sent change; ``group_id: null`` takes the device out of its group."""

    name: Name | None = None
    address: Address | None = None
    location: str | None = Field(None, max_length=128)
    group_id: RowId | None = None
    snmp_port: int | None = Field(None, ge=1, le=65535)
    snmp_version: SnmpVersion | None = None
    snmp_community: Secret | None = None
    snmp_user: str | None = Field(None, min_length=1, max_length=32)
    snmp_auth_protocol: AuthProtocol | None = None
    snmp_auth_key: V3Key | None = None
    snmp_priv_protocol: PrivProtocol | None = None
    snmp_priv_key: V3Key | None = None
    mgmt_url: str | None = Field(None, max_length=255)
    mgmt_username: str | None = Field(None, max_length=64)
    mgmt_secret: str | None = Field(None, max_length=255, description="empty clears it")


class GroupCreate(Body):
    name: Name
    description: str = Field("", max_length=255)


class GroupUpdate(Body):
    name: Name | None = None
    description: str | None = Field(None, max_length=255)


# -- answers --------------------------------------------------------------------------------


class DeviceOut(BaseModel):
    id: int
    name: str
    address: str
    location: str
    group_id: int | None
    snmp_port: int
    snmp_version: str
    snmp_user: str
    snmp_auth_protocol: str
    snmp_priv_protocol: str
    has_community: bool
    has_auth_key: bool
    has_priv_key: bool
    mgmt_url: str
    mgmt_username: str
    has_mgmt_secret: bool
    sys_name: str
    sys_descr: str
    sys_object_id: str
    model: str
    serial: str
    os_version: str
    filter_package_version: str = Field(
        description="the Digital Vaccine version, from the device's management API"
    )
    state: DeviceState
    state_reason: str
    last_polled_at: datetime | None
    last_change_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, d: DeviceRecord) -> DeviceOut:
        return cls(
            id=d.id,
            name=d.name,
            address=d.address,
            location=d.location,
            group_id=d.group_id,
            snmp_port=d.snmp_port,
            snmp_version=d.snmp_version,
            snmp_user=d.snmp_user,
            snmp_auth_protocol=d.snmp_auth_protocol,
            snmp_priv_protocol=d.snmp_priv_protocol,
            has_community=bool(d.snmp_community),
            has_auth_key=bool(d.snmp_auth_key),
            has_priv_key=bool(d.snmp_priv_key),
            mgmt_url=d.mgmt_url,
            mgmt_username=d.mgmt_username,
            has_mgmt_secret=bool(d.mgmt_secret),
            sys_name=d.sys_name,
            sys_descr=d.sys_descr,
            sys_object_id=d.sys_object_id,
            model=d.model,
            serial=d.serial,
            os_version=d.os_version,
            filter_package_version=d.filter_package_version,
            state=DeviceState(d.state),
            state_reason=d.state_reason,
            last_polled_at=d.last_polled_at,
            last_change_at=d.last_change_at,
            created_at=d.created_at,
            updated_at=d.updated_at,
        )


class HealthOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    at: datetime
    reachable: bool
    state: DeviceState
    reason: str
    rtt_ms: float | None
    cpu_percent: float | None
    memory_percent: float | None
    uptime_seconds: int | None
    if_up: int | None
    if_down: int | None
    trha_state: str

    @classmethod
    def of(cls, h: HealthRecord) -> HealthOut:
        return cls.model_validate(h)


class GroupOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    device_count: int
    created_at: datetime

    @classmethod
    def of(cls, g: DeviceGroupRecord) -> GroupOut:
        return cls.model_validate(g)


def _set_fields(body: Body) -> dict[str, Any]:
    """The fields the client sent, with enums as their text."""
    return {
        name: (
            str(value) if isinstance(value, (SnmpVersion, AuthProtocol, PrivProtocol)) else value
        )
        for name, value in body.model_dump(exclude_unset=True).items()
    }


# -- devices --------------------------------------------------------------------------------


@router.get("/devices", response_model=list[DeviceOut], responses=error_responses(403))
def list_devices(
    principal: CurrentPrincipal,
    svc: Services = Depends(services),
    group_id: int | None = Query(None, ge=1, le=MAX_ID, description="only this group's"),
    state: DeviceState | None = Query(None, description="only devices in this state"),
    name: str | None = Query(None, max_length=64, description="name contains this"),
    offset: int = Query(0, ge=0, le=1_000_000),
    limit: int = Query(100, ge=1, le=1000),
) -> list[DeviceOut]:
    devices = svc.devices.list_devices(
        principal, group_id=group_id, state=state, name_contains=name, offset=offset, limit=limit
    )
    return [DeviceOut.of(d) for d in devices]


@router.post(
    "/devices", response_model=DeviceOut, status_code=201, responses=error_responses(403, 404, 409)
)
def create_device(
    body: DeviceCreate, principal: CurrentPrincipal, svc: Services = Depends(services)
) -> DeviceOut:
    fields = {k: v for k, v in _set_fields(body).items() if v is not None}
    return DeviceOut.of(svc.devices.create_device(principal, **fields))


@router.get("/devices/{device_id}", response_model=DeviceOut, responses=error_responses(403, 404))
def get_device(
    device_id: PathId, principal: CurrentPrincipal, svc: Services = Depends(services)
) -> DeviceOut:
    return DeviceOut.of(svc.devices.get_device(principal, device_id))


@router.patch(
    "/devices/{device_id}", response_model=DeviceOut, responses=error_responses(403, 404, 409)
)
def update_device(
    device_id: PathId,
    body: DeviceUpdate,
    principal: CurrentPrincipal,
    svc: Services = Depends(services),
) -> DeviceOut:
    fields = _set_fields(body)
    for name, value in fields.items():
        if value is None and name != "group_id":
            raise Invalid(f"{name} cannot be null")
    return DeviceOut.of(svc.devices.update_device(principal, device_id, **fields))


@router.delete(
    "/devices/{device_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(403, 404),
)
def delete_device(
    device_id: PathId, principal: CurrentPrincipal, svc: Services = Depends(services)
) -> Response:
    svc.devices.delete_device(principal, device_id)
    return Response(status_code=204)


@router.get(
    "/devices/{device_id}/health",
    response_model=list[HealthOut],
    responses=error_responses(403, 404),
)
def device_health(
    device_id: PathId,
    principal: CurrentPrincipal,
    svc: Services = Depends(services),
    since: datetime | None = Query(None, description="ISO 8601 with a time zone"),
    until: datetime | None = Query(None, description="ISO 8601 with a time zone"),
    offset: int = Query(0, ge=0, le=1_000_000),
    limit: int = Query(100, ge=1, le=10_000),
) -> list[HealthOut]:
    """Health samples, newest first."""
    for value in (since, until):
        if value is not None and value.tzinfo is None:
            raise Invalid("since and until need a time zone, e.g. 2027-01-01T00:00:00Z")
    samples = svc.devices.health_history(
        principal, device_id, since=since, until=until, offset=offset, limit=limit
    )
    return [HealthOut.of(h) for h in samples]


@router.post(
    "/devices/{device_id}/poll", response_model=HealthOut, responses=error_responses(403, 404)
)
async def poll_device(
    device_id: PathId, principal: CurrentPrincipal, request: Request
) -> HealthOut:
    """Poll the device now and return the sample (also stored, and an event raised if its
    state changed). Takes up to the poll timeout when the device does not answer."""
    svc = services(request)
    principal.require(Capability.DEVICES_WRITE)
    device = await asyncio.to_thread(svc.devices.get_device, principal, device_id)
    # A poller of its own, closed after: its SNMP engine must not outlive the request
    # (the server's loop may stop before the next one). Making one costs milliseconds.
    poller = DevicePoller.of(svc)
    try:
        sample = await poller.poll_device(device)
    except LookupError:
        raise NotFound(f"no device with id {device_id}") from None
    finally:
        poller.client.close()
    return HealthOut.of(sample)


# -- groups ---------------------------------------------------------------------------------


@router.get("/device-groups", response_model=list[GroupOut], responses=error_responses(403))
def list_groups(principal: CurrentPrincipal, svc: Services = Depends(services)) -> list[GroupOut]:
    return [GroupOut.of(g) for g in svc.devices.list_groups(principal)]


@router.post(
    "/device-groups", response_model=GroupOut, status_code=201, responses=error_responses(403, 409)
)
def create_group(
    body: GroupCreate, principal: CurrentPrincipal, svc: Services = Depends(services)
) -> GroupOut:
    group = svc.devices.create_group(principal, name=body.name, description=body.description)
    return GroupOut.of(group)


@router.get(
    "/device-groups/{group_id}", response_model=GroupOut, responses=error_responses(403, 404)
)
def get_group(
    group_id: PathId, principal: CurrentPrincipal, svc: Services = Depends(services)
) -> GroupOut:
    return GroupOut.of(svc.devices.get_group(principal, group_id))


@router.patch(
    "/device-groups/{group_id}", response_model=GroupOut, responses=error_responses(403, 404, 409)
)
def update_group(
    group_id: PathId,
    body: GroupUpdate,
    principal: CurrentPrincipal,
    svc: Services = Depends(services),
) -> GroupOut:
    group = svc.devices.update_group(
        principal, group_id, name=body.name, description=body.description
    )
    return GroupOut.of(group)


@router.delete(
    "/device-groups/{group_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(403, 404),
)
def delete_group(
    group_id: PathId, principal: CurrentPrincipal, svc: Services = Depends(services)
) -> Response:
    """Delete the group; its devices stay, without a group."""
    svc.devices.delete_group(principal, group_id)
    return Response(status_code=204)
