"""Users: list, read, create, change, unlock, delete."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Response

from garrison.api.deps import CurrentPrincipal, services
from garrison.api.routes import PathId, error_responses
from garrison.api.schemas import UserCreate, UserOut, UserUpdate
from garrison.errors import NotFound
from garrison.services import Services

router = APIRouter(prefix="/users", tags=["users"])


@router.get("", response_model=list[UserOut], responses=error_responses(403))
def list_users(
    principal: CurrentPrincipal,
    svc: Services = Depends(services),
    offset: int = Query(0, ge=0, le=1_000_000),
    limit: int = Query(100, ge=1, le=1000),
) -> list[UserOut]:
    return [UserOut.of(u) for u in svc.auth.list_users(principal, offset=offset, limit=limit)]


@router.post("", response_model=UserOut, status_code=201, responses=error_responses(403, 409))
def create_user(
    body: UserCreate, principal: CurrentPrincipal, svc: Services = Depends(services)
) -> UserOut:
    user = svc.auth.create_user(
        principal,
        username=body.username,
        password=body.password,
        role=body.role,
        display_name=body.display_name,
        email=body.email,
    )
    return UserOut.of(user)


@router.get("/me", response_model=UserOut, responses=error_responses(403, 404))
def me(principal: CurrentPrincipal, svc: Services = Depends(services)) -> UserOut:
    if principal.user_id is None:
        raise NotFound("the caller is not a stored user")
    return UserOut.of(svc.auth.get_user(principal, principal.user_id))


@router.get("/{user_id}", response_model=UserOut, responses=error_responses(403, 404))
def get_user(
    user_id: PathId, principal: CurrentPrincipal, svc: Services = Depends(services)
) -> UserOut:
    return UserOut.of(svc.auth.get_user(principal, user_id))


@router.patch("/{user_id}", response_model=UserOut, responses=error_responses(403, 404, 409))
def update_user(
    user_id: PathId,
    body: UserUpdate,
    principal: CurrentPrincipal,
    svc: Services = Depends(services),
) -> UserOut:
    user = svc.auth.update_user(
        principal,
        user_id,
        role=body.role,
        display_name=body.display_name,
        email=body.email,
        active=body.active,
        password=body.password,
    )
    return UserOut.of(user)


@router.post("/{user_id}/unlock", response_model=UserOut, responses=error_responses(403, 404))
def unlock_user(
    user_id: PathId, principal: CurrentPrincipal, svc: Services = Depends(services)
) -> UserOut:
    return UserOut.of(svc.auth.unlock_user(principal, user_id))


@router.delete(
    "/{user_id}", status_code=204, response_class=Response, responses=error_responses(403, 404, 409)
)
def delete_user(
    user_id: PathId, principal: CurrentPrincipal, svc: Services = Depends(services)
) -> Response:
    svc.auth.delete_user(principal, user_id)
    return Response(status_code=204)
