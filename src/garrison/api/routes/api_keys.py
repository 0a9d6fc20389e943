"""API keys: make one (the secret is shown once), list, revoke."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from garrison.api.deps import CurrentPrincipal, services
from garrison.api.routes import PathId, error_responses
from garrison.api.schemas import MAX_ID, ApiKeyCreate, ApiKeyCreated, ApiKeyOut
from garrison.errors import Invalid
from garrison.services import Services

router = APIRouter(prefix="/api-keys", tags=["api keys"])


@router.get("", response_model=list[ApiKeyOut], responses=error_responses(403))
def list_keys(
    principal: CurrentPrincipal,
    svc: Services = Depends(services),
    user_id: int | None = Query(None, ge=1, le=MAX_ID, description="only this user's keys"),
    all_users: bool = Query(False, alias="all", description="every user's keys (admins)"),
) -> list[ApiKeyOut]:
    owner = None if all_users else (user_id if user_id is not None else principal.user_id)
    return [ApiKeyOut.of(k) for k in svc.auth.list_api_keys(principal, owner)]


@router.post("", response_model=ApiKeyCreated, status_code=201, responses=error_responses(403, 404))
def create_key(
    body: ApiKeyCreate, principal: CurrentPrincipal, svc: Services = Depends(services)
) -> ApiKeyCreated:
    owner = body.user_id if body.user_id is not None else principal.user_id
    if owner is None:
        raise Invalid("user_id is required when the caller is not a stored user")
    if body.expires_at is not None and body.expires_at.tzinfo is None:
        raise Invalid("expires_at needs a time zone, e.g. 2027-01-01T00:00:00Z")
    new = svc.auth.create_api_key(
        principal, user_id=owner, name=body.name, expires_at=body.expires_at
    )
    return ApiKeyCreated(**ApiKeyOut.of(new.record).model_dump(), secret=new.secret)


@router.delete("/{key_id}", response_model=ApiKeyOut, responses=error_responses(403, 404))
def revoke_key(
    key_id: PathId, principal: CurrentPrincipal, svc: Services = Depends(services)
) -> ApiKeyOut:
    return ApiKeyOut.of(svc.auth.revoke_api_key(principal, key_id))
