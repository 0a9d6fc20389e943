"""QUARANTINE_HOSTS: the Responder's responses, one row each, as the SMS's quarantine
table. STATE is the response's host state as the Responder derives it (INITIAL while its
actions run, QUARANTINED, UNQUARANTINED once closed, ERROR when a quarantine action
failed). GetData's begin_time/end_time select by LAST_UPDATE, so a poller sees every
response that changed in its window.
"""

from __future__ import annotations

from garrison.datatables.model import LONG, STRING, Column, Table, TimeSlice
from garrison.datatables.sqlfuncs import epoch_ms
from garrison.store.responder import Response

R = Response.__table__.c

QUARANTINE_HOSTS = Table(
    "QUARANTINE_HOSTS",
    (
        Column("ID", LONG, sql=R.id),
        Column("QUARANTINED_IP", STRING, 45, R.address),
        Column("QUARANTINED_MAC", STRING, 17, R.mac),
        Column("POLICY_NAME", STRING, 128, R.policy_name),
        Column("STATE", STRING, 16, R.host_state),
        Column("AUTHORITY", STRING, 64, R.authority),
        Column("CREATE_TIME", LONG, sql=epoch_ms(R.opened_at)),
        Column("LAST_UPDATE", LONG, sql=epoch_ms(R.updated_at)),
    ),
    key=("ID",),
    source=Response.__table__,
    page_key=R.id,
    time_column="LAST_UPDATE",
    slices=(TimeSlice(time=R.updated_at),),
    description="Responder responses: quarantined hosts and their state.",
)
