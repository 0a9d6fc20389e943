"""Who is calling: credentials from the X-SMS-API-KEY header, a Bearer token or the
console session cookie, checked on every request except health. A change (any verb but
GET, HEAD, OPTIONS) made with the session cookie also needs the console's CSRF token in
the X-CSRF-Token header."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request, Response
from fastapi.security import APIKeyCookie, APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from garrison.auth import Capability, Principal
from garrison.errors import Forbidden, Unauthorized
from garrison.services import Services
from garrison.web import csrf

API_KEY_HEADER = "X-SMS-API-KEY"
SESSION_COOKIE = "garrison_session"

api_key_header = APIKeyHeader(
    name=API_KEY_HEADER, auto_error=False, description="An API key, as the SMS Web services take it"
)
bearer = HTTPBearer(auto_error=False, description="An API key as a Bearer token")
session_cookie = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="The console session"
)


def set_session_cookie(response: Response, token: str, expires: datetime) -> None:
    """The console session cookie: never readable by scripts, sent only over TLS and
    only with requests from Garrison's own pages."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        secure=True,
        samesite="strict",
        expires=expires,
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="strict")


def services(request: Request) -> Services:
    return request.app.state.services


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""


def current_principal(
    request: Request,
    api_key: Annotated[str | None, Depends(api_key_header)],
    token: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    session: Annotated[str | None, Depends(session_cookie)],
) -> Principal:
    svc = services(request)
    address = client_address(request)
    try:
        if api_key:
            principal = svc.auth.authenticate_api_key(api_key, address)
        elif token is not None:
            principal = svc.auth.authenticate_api_key(token.credentials, address)
        elif session:
            principal = svc.auth.authenticate_session(session, address)
            # A cookie goes along with any request the browser makes, a forged one too:
            # a change made with it must carry the console's token (garrison.web.csrf).
            if request.method not in csrf.SAFE_METHODS and not csrf.token_matches(
                session, request.headers.get(csrf.HEADER)
            ):
                raise Forbidden(
                    f"a change made with the session cookie needs the {csrf.HEADER} header"
                )
        else:
            raise Unauthorized(f"authentication required: send an {API_KEY_HEADER} header")
    except Unauthorized as exc:
        svc.metrics.auth_failures.labels(reason=str(exc).split(":")[0][:40]).inc()
        raise
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require(capability: Capability) -> Callable[[Principal], Principal]:
    """A dependency that lets through only callers whose role has ``capability``."""

    def check(principal: CurrentPrincipal) -> Principal:
        if not principal.can(capability):
            raise Forbidden(f"role {principal.role} may not do this (needs {capability})")
        return principal

    return check
