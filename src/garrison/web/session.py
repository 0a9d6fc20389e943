"""Who is using the console: the session cookie of `garrison.auth`, checked on every page.

A page asks for `Console` (a logged-in user) or `Allowed(capability)`. Without a valid
session the browser is sent to ``/login?next=<the page>`` (a stale session comes back to
the page it was on after logging in again); a user whose role lacks the capability gets a
403 page. A state-changing request (POST) must also pass `csrf`: same origin, and the
form's token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request

from garrison.api.deps import SESSION_COOKIE, client_address
from garrison.auth import Capability, Principal
from garrison.errors import Forbidden, Unauthorized
from garrison.services import Services
from garrison.web import csrf


class LoginRequired(Exception):
    """No valid session: answered with a redirect to the login page."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class BadForm(Exception):
    """A POST that did not come from Garrison's own form: answered 403."""


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    principal: Principal
    csrf_token: str

    @property
    def name(self) -> str:
        return self.principal.username

    def can(self, capability: Capability) -> bool:
        return self.principal.can(capability)


def next_target(request: Request) -> str:
    """Where to come back to after logging in: this page, path and query."""
    url = request.url
    return url.path + (f"?{url.query}" if url.query else "")


def safe_next(value: str | None) -> str:
    """A local path to go to after login; anything else (another host, a scheme, ``//``)
    becomes the dashboard, so the login page cannot send a user elsewhere."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


def login_url(next_path: str) -> str:
    return "/login" if next_path in ("", "/") else f"/login?next={quote(next_path, safe='/')}"


async def console_user(request: Request) -> ConsoleUser:
    svc: Services = request.app.state.services
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired(next_target(request))
    try:
        principal = svc.auth.authenticate_session(token, client_address(request))
    except Unauthorized:
        raise LoginRequired(next_target(request)) from None
    if request.method not in csrf.SAFE_METHODS:
        await _check_form(request, token)
    request.state.principal = principal
    user = ConsoleUser(principal=principal, csrf_token=csrf.token_for(token))
    request.state.console_user = user  # for the error pages
    return user


async def _check_form(request: Request, session_token: str) -> None:
    headers = request.headers
    if not csrf.same_origin(headers.get("host"), headers.get("origin"), headers.get("referer")):
        raise BadForm("the request did not come from a Garrison page")
    offered = headers.get(csrf.HEADER)
    if offered is None:
        form = await request.form()
        value = form.get(csrf.FIELD)
        offered = value if isinstance(value, str) else None
    if not csrf.token_matches(session_token, offered):
        raise BadForm("the form has expired; reload the page and try again")


Console = Annotated[ConsoleUser, Depends(console_user)]


def allowed(capability: Capability) -> Callable[[ConsoleUser], ConsoleUser]:
    """A dependency: a logged-in user whose role has ``capability``, else a 403 page."""

    def check(user: Console) -> ConsoleUser:
        if not user.can(capability):
            raise Forbidden(f"your role ({user.principal.role}) may not do this")
        return user

    return check
