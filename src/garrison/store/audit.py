"""The audit_log table: appended to, never updated."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from garrison.store.models import AuditEntry
from garrison.store.records import AuditRecord, record_of


def _record(row: AuditEntry) -> AuditRecord:
    return record_of(AuditRecord, row)


class AuditLog:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(
        self,
        *,
        actor: str,
        action: str,
        target: str = "",
        outcome: str = "success",
        client_address: str = "",
        detail: str = "",
    ) -> AuditRecord:
        row = AuditEntry(
            actor=actor,
            action=action,
            target=target,
            outcome=outcome,
            client_address=client_address,
            detail=detail,
        )
        self._session.add(row)
        self._session.flush()
        return _record(row)

    def query(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> list[AuditRecord]:
        """Newest first."""
        query = select(AuditEntry)
        if actor is not None:
            query = query.where(AuditEntry.actor == actor)
        if action is not None:
            query = query.where(AuditEntry.action == action)
        if since is not None:
            query = query.where(AuditEntry.at >= since)
        if until is not None:
            query = query.where(AuditEntry.at < until)
        query = query.order_by(AuditEntry.id.desc()).offset(offset).limit(limit)
        return [_record(r) for r in self._session.scalars(query)]
