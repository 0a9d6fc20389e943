"""The catalog tables (`garrison.store.catalog`) as the SMS's SIGNATURE, ACTIONSET,
PROFILE, SEGMENT_GROUP, SEGMENT, TPT_SEGMENT and VIRTUAL_SEGMENT.

* SIGNATURE has column NUM, as the SMS has in practice (the guide says NUMBER); CLASS is
  empty; PRODUCT_CATEGORY_ID is the PRODUCT_CATEGORY row named by the signature's
  category (NULL for a category not in that table).
* ACTIONSET is ID, NAME, FLOW_CONTROL, RATE: scripts written against an SMS read the flow
  control at position 2 of an XML row (the guide lists RATE before FLOW_CONTROL; CSV
  readers go by name and see no difference).
* SEGMENT.IP_ADDRESS (obsolete in the SMS) is NULL; TPT_SEGMENT.IP_ADDRESS is the
  device's management address. VIRTUAL_SEGMENT.DEVICE_ID is NULL: a Garrison virtual
  segment is placed on segments of any number of devices.
"""

from __future__ import annotations

from sqlalchemy import String, case, func, literal, null

from garrison.datatables.constants import PRODUCT_CATEGORY_NAMES
from garrison.datatables.identifiers import device_id
from garrison.datatables.model import INTEGER, LONG, STRING, Column, Table
from garrison.store.catalog import (
    ActionSetRow,
    ProfileRow,
    SegmentGroupRow,
    SegmentRow,
    SignatureRow,
    VirtualSegmentRow,
)
from garrison.store.devices import Device

S = SignatureRow.__table__.c
A = ActionSetRow.__table__.c
P = ProfileRow.__table__.c
G = SegmentGroupRow.__table__.c
SEG = SegmentRow.__table__.c
V = VirtualSegmentRow.__table__.c
D = Device.__table__.c

PRODUCT_CATEGORY_IDS = {name.lower(): n for n, name in enumerate(PRODUCT_CATEGORY_NAMES, 1)}

SIGNATURE = Table(
    "SIGNATURE",
    (
        Column("ID", STRING, 36, S.id),
        Column("NUM", INTEGER, sql=S.number),
        Column("SEVERITY_ID", INTEGER, sql=S.severity),
        Column("NAME", STRING, 255, S.name),
        Column("CLASS", STRING, 64, literal("", String)),
        Column(
            "PRODUCT_CATEGORY_ID",
            INTEGER,
            sql=case(PRODUCT_CATEGORY_IDS, value=func.lower(S.category), else_=null()),
        ),
        Column("PROTOCOL", STRING, 32, S.protocol),
        Column("TAXONOMY_ID", LONG, sql=S.taxonomy_id),
        Column("CVE_ID", STRING, 255, S.cve),
        Column("BUGTRAQ_ID", STRING, 255, S.bugtraq),
        Column("DESCRIPTION", STRING, None, S.description),
        Column("MESSAGE", STRING, None, S.message),
    ),
    key=("ID",),
    source=SignatureRow.__table__,
    page_key=S.id,
    description="Filters (signatures) of the Digital Vaccine, as learned from the fleet.",
)

ACTIONSET = Table(
    "ACTIONSET",
    (
        Column("ID", STRING, 36, A.id),
        Column("NAME", STRING, 128, A.name),
        Column("FLOW_CONTROL", STRING, 8, A.flow_control),
        Column("RATE", INTEGER, sql=A.rate),
    ),
    key=("ID",),
    source=ActionSetRow.__table__,
    page_key=A.id,
    description="Action sets: FLOW_CONTROL ALLOW, DENY, TRUST or RATE; RATE in kbps.",
)

PROFILE = Table(
    "PROFILE",
    (
        Column("ID", STRING, 36, P.id),
        Column("VERSION", STRING, 32, P.version),
        Column("NAME", STRING, 128, P.name),
        Column("DESCRIPTION", STRING, 255, P.description),
    ),
    key=("ID",),
    source=ProfileRow.__table__,
    page_key=P.id,
    description="Security profiles.",
)

SEGMENT_GROUP = Table(
    "SEGMENT_GROUP",
    (Column("ID", STRING, 36, G.id), Column("NAME", STRING, 64, G.name)),
    key=("ID",),
    source=SegmentGroupRow.__table__,
    page_key=G.id,
    description="Segment groups: distribution targets.",
)

SEGMENT = Table(
    "SEGMENT",
    (
        Column("ID", STRING, 36, SEG.id),
        Column("DEVICE_ID", STRING, 36, device_id(SEG.device_id)),
        Column("NAME", STRING, 64, SEG.name),
        Column("IP_ADDRESS", STRING, 45, null().cast(String(45))),
        Column("SLOT_INDEX", INTEGER, sql=SEG.slot_index),
        Column("SEGMENT_INDEX", INTEGER, sql=SEG.segment_index),
    ),
    key=("ID",),
    source=SegmentRow.__table__,
    page_key=SEG.id,
    description="Physical segments of the devices (slot 3).",
)

TPT_SEGMENT = Table(
    "TPT_SEGMENT",
    (
        Column("ID", STRING, 36, SEG.id),
        Column("DEVICE_ID", STRING, 36, device_id(SEG.device_id)),
        Column("DEVICE_SHORT_ID", INTEGER, sql=SEG.device_id),
        Column("DISPLAY_NAME", STRING, 64, SEG.name),
        Column("IP_ADDRESS", STRING, 45, D.address),
        Column("SEGMENT_SLOT", INTEGER, sql=SEG.slot_index),
        Column("SEGMENT_INDEX", INTEGER, sql=SEG.segment_index),
    ),
    key=("ID",),
    source=SegmentRow.__table__.join(Device.__table__, SEG.device_id == D.id),
    page_key=SEG.id,
    description="Physical segments with their device (the guide's second segment table).",
)

VIRTUAL_SEGMENT = Table(
    "VIRTUAL_SEGMENT",
    (
        Column("ID", STRING, 36, V.id),
        Column("DEVICE_ID", STRING, 36, null().cast(String(36))),
        Column("SEGMENT_GROUP_ID", STRING, 36, V.segment_group_id),
        Column("NAME", STRING, 127, V.name),
    ),
    key=("ID",),
    source=VirtualSegmentRow.__table__,
    page_key=V.id,
    description="Virtual segments: traffic definitions placed on physical segments.",
)

CATALOG_TABLES = (
    ACTIONSET,
    PROFILE,
    SEGMENT,
    SEGMENT_GROUP,
    SIGNATURE,
    TPT_SEGMENT,
    VIRTUAL_SEGMENT,
)
