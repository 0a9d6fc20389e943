"""The console_sessions table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from garrison.store.models import ConsoleSession
from garrison.store.records import SessionRecord, record_of


def _record(row: ConsoleSession) -> SessionRecord:
    return record_of(SessionRecord, row)


class ConsoleSessions:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(
        self, *, user_id: int, digest: str, client_address: str, expires_at: datetime
    ) -> SessionRecord:
        row = ConsoleSession(
            user_id=user_id, digest=digest, client_address=client_address, expires_at=expires_at
        )
        self._session.add(row)
        self._session.flush()
        return _record(row)

    def by_digest(self, digest: str) -> SessionRecord | None:
        row = self._session.scalar(select(ConsoleSession).where(ConsoleSession.digest == digest))
        return None if row is None else _record(row)

    def revoke(self, session_id: int, when: datetime) -> None:
        row = self._session.get(ConsoleSession, session_id)
        if row is not None and row.revoked_at is None:
            row.revoked_at = when

    def revoke_for_user(self, user_id: int, when: datetime) -> None:
        self._session.execute(
            update(ConsoleSession)
            .where(ConsoleSession.user_id == user_id, ConsoleSession.revoked_at.is_(None))
            .values(revoked_at=when)
        )
