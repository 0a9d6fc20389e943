"""The audit log, newest first."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query

from garrison.api.deps import CurrentPrincipal, services
from garrison.api.routes import error_responses
from garrison.api.schemas import AuditOut
from garrison.errors import Invalid
from garrison.services import Services

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=list[AuditOut], responses=error_responses(403))
def query_audit(
    principal: CurrentPrincipal,
    svc: Services = Depends(services),
    actor: str | None = Query(None, max_length=64),
    action: str | None = Query(None, max_length=64),
    since: datetime | None = Query(None, description="ISO 8601 with a zone"),
    until: datetime | None = Query(None, description="ISO 8601 with a zone"),
    offset: int = Query(0, ge=0, le=10_000_000),
    limit: int = Query(100, ge=1, le=1000),
) -> list[AuditOut]:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise Invalid(f"{name} needs a time zone, e.g. 2026-01-01T00:00:00Z")
    entries = svc.auth.query_audit(
        principal, actor=actor, action=action, since=since, until=until, offset=offset, limit=limit
    )
    return [AuditOut.of(e) for e in entries]
