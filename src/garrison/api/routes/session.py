"""Console login and logout: a session cookie (HttpOnly, Secure, SameSite=Strict)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from garrison.api.deps import (
    SESSION_COOKIE,
    CurrentPrincipal,
    clear_session_cookie,
    client_address,
    services,
    set_session_cookie,
)
from garrison.api.routes import error_responses
from garrison.api.schemas import Login, SessionOut
from garrison.auth import Role
from garrison.services import Services

router = APIRouter(prefix="/session", tags=["session"])


@router.post("", response_model=SessionOut, responses=error_responses())
def login(
    body: Login, request: Request, response: Response, svc: Services = Depends(services)
) -> SessionOut:
    user = svc.auth.login(body.username, body.password, client_address(request))
    session = svc.auth.open_session(user, client_address(request))
    set_session_cookie(response, session.token, session.expires_at)
    return SessionOut(
        username=user.username, role=Role(user.role), via="session", expires_at=session.expires_at
    )


@router.get("", response_model=SessionOut, responses=error_responses())
def whoami(principal: CurrentPrincipal) -> SessionOut:
    return SessionOut(username=principal.username, role=principal.role, via=principal.via)


@router.delete("", status_code=204, response_class=Response, responses=error_responses())
def logout(
    request: Request, principal: CurrentPrincipal, svc: Services = Depends(services)
) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        svc.auth.close_session(token, principal)
    response = Response(status_code=204)
    clear_session_cookie(response)
    return response
