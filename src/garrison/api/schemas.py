"""Request and response bodies of /api/v1. Requests refuse unknown fields."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from garrison.auth import Role
from garrison.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from garrison.store import ApiKeyRecord, AuditRecord, UserRecord
from garrison.store.models import utcnow

# Row ids fit a 32-bit signed integer on every backend; larger ones cannot exist.
MAX_ID = 2**31 - 1
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    code: str = Field(description="machine-readable kind, e.g. not_found, validation_error")
    message: str
    details: list[dict[str, Any]] | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


class Health(BaseModel):
    status: str


class Version(BaseModel):
    name: str
    version: str
    database: str
    database_revision: str | None
    tls_profile: str


class UserCreate(Request):
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._@-]+$")
    password: str = Field(min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH)
    role: Role
    display_name: str = Field("", max_length=128)
    email: str = Field("", max_length=254)


class UserUpdate(Request):
    role: Role | None = None
    display_name: str | None = Field(None, max_length=128)
    email: str | None = Field(None, max_length=254)
    active: bool | None = None
    password: str | None = Field(
        None, min_length=MIN_PASSWORD_LENGTH, max_length=MAX_PASSWORD_LENGTH
    )


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    email: str
    role: Role
    active: bool
    locked: bool
    locked_until: datetime | None
    failed_logins: int
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, user: UserRecord) -> UserOut:
        locked = user.locked_until is not None and user.locked_until > utcnow()
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            email=user.email,
            role=Role(user.role),
            active=user.active,
            locked=locked,
            locked_until=user.locked_until if locked else None,
            failed_logins=user.failed_logins,
            last_login_at=user.last_login_at,
            created_at=user.created_at,
            updated_at=user.updated_at,
        )


class ApiKeyCreate(Request):
    name: str = Field(min_length=1, max_length=128)
    user_id: RowId | None = Field(None, description="owner; default: the caller")
    expires_at: datetime | None = Field(None, description="ISO 8601 with a time zone")


class ApiKeyOut(BaseModel):
    id: int
    user_id: int
    name: str
    prefix: str = Field(description="the key's first characters, to recognise it")
    active: bool
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, key: ApiKeyRecord) -> ApiKeyOut:
        expired = key.expires_at is not None and key.expires_at <= utcnow()
        return cls(
            id=key.id,
            user_id=key.user_id,
            name=key.name,
            prefix=key.prefix,
            active=key.revoked_at is None and not expired,
            created_at=key.created_at,
            expires_at=key.expires_at,
            last_used_at=key.last_used_at,
            revoked_at=key.revoked_at,
        )


class ApiKeyCreated(ApiKeyOut):
    secret: str = Field(description="send it as X-SMS-API-KEY; shown this once only")


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor: str
    action: str
    target: str
    outcome: str
    client_address: str
    detail: dict[str, Any] | None

    @classmethod
    def of(cls, entry: AuditRecord) -> AuditOut:
        detail = json.loads(entry.detail) if entry.detail else None
        return cls(
            id=entry.id,
            at=entry.at,
            actor=entry.actor,
            action=entry.action,
            target=entry.target,
            outcome=entry.outcome,
            client_address=entry.client_address,
            detail=detail,
        )


class Login(Request):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class SessionOut(BaseModel):
    username: str
    role: Role
    via: str
    expires_at: datetime | None = None
