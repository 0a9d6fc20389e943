"""Logging in and out of the console.

The login form is the one page without a session. It is guarded against forgery by the
same-origin check (there is no session yet to derive a token from) and answers a wrong
password, a locked or disabled account with the reason `garrison.auth` gives, next to
the form. A successful login sets the session cookie (HttpOnly, Secure, SameSite=Strict)
and goes to ``next`` (a local path only) or the dashboard.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from garrison.api.deps import (
    SESSION_COOKIE,
    clear_session_cookie,
    client_address,
    set_session_cookie,
)
from garrison.errors import Unauthorized
from garrison.services import Services
from garrison.web import csrf
from garrison.web.routing import console_router, error_page
from garrison.web.session import Console, safe_next
from garrison.web.templating import render

router = console_router()


@router.get("/login")
def login_form(request: Request, next: str = "/") -> Response:
    return render(request, "login.html", None, title="Log in", next=safe_next(next), errors={})


@router.post("/login")
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2048)] = "/",
) -> Response:
    headers = request.headers
    if not csrf.same_origin(headers.get("host"), headers.get("origin"), headers.get("referer")):
        return error_page(request, 403, "This form cannot be sent", "log in from Garrison's page")
    svc: Services = request.app.state.services
    target = safe_next(next)
    errors: dict[str, str] = {}
    if not username.strip():
        errors["username"] = "Enter your user name."
    if not password:
        errors["password"] = "Enter your password."
    if not errors:
        address = client_address(request)
        try:
            user = await run_in_threadpool(svc.auth.login, username.strip(), password, address)
        except Unauthorized as exc:
            errors["form"] = str(exc).capitalize() + "."
        else:
            session = await run_in_threadpool(svc.auth.open_session, user, address)
            answer = RedirectResponse(target, status_code=303)
            set_session_cookie(answer, session.token, session.expires_at)
            return answer
    return render(
        request,
        "login.html",
        None,
        status=400 if errors.keys() - {"form"} else 401,
        title="Log in",
        next=target,
        username=username,
        errors=errors,
    )


@router.post("/logout")
async def logout(request: Request, user: Console) -> Response:
    svc: Services = request.app.state.services
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await run_in_threadpool(svc.auth.close_session, token, user.principal)
    answer = RedirectResponse("/login", status_code=303)
    clear_session_cookie(answer)
    return answer
