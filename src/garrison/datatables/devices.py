"""DEVICE and TPT_DEVICE: Garrison's device inventory as the SMS's device tables.

ID is the UUID-style device ID of `garrison.datatables.identifiers`; SHORT_ID is
Garrison's device number (what ``pcaps/getByDevice?deviceId=`` takes). Every device in
the inventory is managed (MANAGED 1). DV_VERSION is the filter package (Digital Vaccine)
version the poller read from the device's management API, NULL while unknown.
"""

from __future__ import annotations

from sqlalchemy import Integer, func, literal

from garrison.datatables.identifiers import device_id
from garrison.datatables.model import INTEGER, STRING, Column, Table
from garrison.store.devices import Device, DeviceGroup

D = Device.__table__.c
G = DeviceGroup.__table__.c
DEVICES = Device.__table__.outerjoin(DeviceGroup.__table__, D.group_id == G.id)

DEVICE = Table(
    "DEVICE",
    (
        Column("ID", STRING, 36, device_id(D.id)),
        Column("SHORT_ID", INTEGER, sql=D.id),
        Column("NAME", STRING, 64, D.name),
        Column("MODEL", STRING, 128, D.model),
        Column("SERIAL_NUMBER", STRING, 64, D.serial),
        Column("IP_ADDRESS", STRING, 45, D.address),
        Column("LOCATION", STRING, 128, D.location),
        Column("DV_VERSION", STRING, 32, func.nullif(D.filter_package_version, "")),
        Column("OS_VERSION", STRING, 64, D.os_version),
        Column("DEVICE_GROUP", STRING, 64, G.name),
        Column("MANAGED", INTEGER, sql=literal(1, Integer)),
    ),
    key=("ID",),
    source=DEVICES,
    page_key=D.id,
    description="Managed devices.",
)

TPT_DEVICE = Table(
    "TPT_DEVICE",
    (
        Column("ID", STRING, 36, device_id(D.id)),
        Column("SHORT_ID", INTEGER, sql=D.id),
        Column("DISPLAY_NAME", STRING, 64, D.name),
        Column("DEVICE_MODEL", STRING, 128, D.model),
        Column("IP_ADDRESS", STRING, 45, D.address),
        Column("LOCATION", STRING, 128, D.location),
    ),
    key=("ID",),
    source=Device.__table__,
    page_key=D.id,
    description="Managed devices (the guide's second device table).",
)
