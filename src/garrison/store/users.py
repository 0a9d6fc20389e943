"""The users table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from garrison.store.models import User
from garrison.store.records import UserRecord, record_of, update_row


def _record(row: User) -> UserRecord:
    return record_of(UserRecord, row)


class Users:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(
        self,
        *,
        username: str,
        role: str,
        password_hash: str,
        display_name: str = "",
        email: str = "",
    ) -> UserRecord:
        row = User(
            username=username,
            role=role,
            password_hash=password_hash,
            display_name=display_name,
            email=email,
            active=True,
            failed_logins=0,
        )
        self._session.add(row)
        self._session.flush()
        return _record(row)

    def get(self, user_id: int) -> UserRecord | None:
        row = self._session.get(User, user_id)
        return None if row is None else _record(row)

    def by_name(self, username: str) -> UserRecord | None:
        row = self._session.scalar(select(User).where(User.username == username))
        return None if row is None else _record(row)

    def list(self, *, offset: int = 0, limit: int = 100) -> list[UserRecord]:
        rows = self._session.scalars(select(User).order_by(User.id).offset(offset).limit(limit))
        return [_record(r) for r in rows]

    def count(self) -> int:
        return self._session.scalar(select(func.count(User.id))) or 0

    def count_role(self, role: str) -> int:
        query = select(func.count(User.id)).where(User.role == role, User.active.is_(True))
        return self._session.scalar(query) or 0

    def update(self, user_id: int, **fields: Any) -> UserRecord | None:
        row = update_row(self._session, User, user_id, fields)
        return None if row is None else _record(row)

    def record_failure(self, user_id: int, *, locked_until: datetime | None) -> int:
        """Count one failed login (and lock if asked); returns the new failure count."""
        row = self._session.get(User, user_id, with_for_update=True)
        if row is None:
            return 0
        row.failed_logins += 1
        if locked_until is not None:
            row.locked_until = locked_until
        self._session.flush()
        return row.failed_logins

    def delete(self, user_id: int) -> bool:
        row = self._session.get(User, user_id)
        if row is None:
            return False
        self._session.delete(row)
        self._session.flush()
        return True
