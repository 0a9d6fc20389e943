"""The api_keys table."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from garrison.store.models import ApiKey
from garrison.store.records import ApiKeyRecord, record_of


def _record(row: ApiKey) -> ApiKeyRecord:
    return record_of(ApiKeyRecord, row)


class ApiKeys:
    def __init__(self, session: Session) -> None:
        self._session = session

    def add(
        self, *, user_id: int, name: str, prefix: str, digest: str, expires_at: datetime | None
    ) -> ApiKeyRecord:
        row = ApiKey(
            user_id=user_id, name=name, prefix=prefix, digest=digest, expires_at=expires_at
        )
        self._session.add(row)
        self._session.flush()
        return _record(row)

    def get(self, key_id: int) -> ApiKeyRecord | None:
        row = self._session.get(ApiKey, key_id)
        return None if row is None else _record(row)

    def by_digest(self, digest: str) -> ApiKeyRecord | None:
        row = self._session.scalar(select(ApiKey).where(ApiKey.digest == digest))
        return None if row is None else _record(row)

    def for_user(self, user_id: int | None) -> list[ApiKeyRecord]:
        query = select(ApiKey).order_by(ApiKey.id)
        if user_id is not None:
            query = query.where(ApiKey.user_id == user_id)
        return [_record(r) for r in self._session.scalars(query)]

    def touch(self, key_id: int, when: datetime) -> None:
        row = self._session.get(ApiKey, key_id)
        if row is not None:
            row.last_used_at = when

    def revoke(self, key_id: int, when: datetime) -> ApiKeyRecord | None:
        row = self._session.get(ApiKey, key_id)
        if row is None:
            return None
        if row.revoked_at is None:
            row.revoked_at = when
        self._session.flush()
        return _record(row)
