"""Plain typed records the store hands to services; no SQLAlchemy object leaves the store."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, TypeVar

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    username: str
    display_name: str
    email: str
    role: str
    password_hash: str
    active: bool
    failed_logins: int
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKeyRecord:
    id: int
    user_id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class SessionRecord:
    id: int
    user_id: int
    client_address: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class AuditRecord:
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    outcome: str
    client_address: str
    detail: str


def record_of(kind: type[R], row: Any) -> R:
    """The record of type ``kind`` holding the same-named attributes of an ORM ``row``."""
    return kind(**{f.name: getattr(row, f.name) for f in fields(kind)})  # type: ignore[arg-type]


def update_row(session: Any, model: type[Any], row_id: int, fields: dict[str, Any]) -> Any:
    """Set ``fields`` on the row ``row_id`` of ``model``; the row, or None if missing."""
    row = session.get(model, row_id)
    if row is None:
        return None
    for name, value in fields.items():
        setattr(row, name, value)
    session.flush()
    return row
