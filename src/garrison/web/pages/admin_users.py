"""Users: the list with each account's state (active, disabled, locked after failed
logins), adding one with a role and a password, disabling and enabling, unlocking, and
resetting a password. Every change goes through `AuthService`, which checks who may
manage whom (an admin never touches a superuser) and writes the audit line.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path
from starlette.requests import Request
from starlette.responses import Response

from garrison.auth import Capability, Role
from garrison.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from garrison.auth.roles import may_manage
from garrison.errors import Conflict, Forbidden, Invalid
from garrison.services import Services
from garrison.store import UserRecord
from garrison.store.models import utcnow
from garrison.web.pages.page_flow import Errors, back, call, done_message, texts
from garrison.web.routing import console_router
from garrison.web.session import ConsoleUser, allowed
from garrison.web.templating import render

router = console_router()

Reader = Annotated[ConsoleUser, Depends(allowed(Capability.USERS_READ))]
Writer = Annotated[ConsoleUser, Depends(allowed(Capability.USERS_WRITE))]
UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]
LIMIT = 1000  # users listed; a site has dozens
ROLE_NAMES = {  # lowest first
    Role.AUDITOR: "Auditor",
    Role.OPERATOR: "Operator",
    Role.ADMIN: "Admin",
    Role.SUPERUSER: "Superuser",
}
DONE = {
    "added": "User {value} added. They can log in now.",
    "disabled": "{value} is disabled: their sessions ended and they cannot log in.",
    "enabled": "{value} is enabled again.",
    "unlocked": "{value} is unlocked.",
    "password": "The password of {value} is changed; their sessions ended.",
}


def _services(request: Request) -> Services:
    return request.app.state.services


def manageable_roles(user: ConsoleUser) -> list[tuple[str, str]]:
    """The roles ``user`` may give, as (value, label), lowest first."""
    return [(str(r), name) for r, name in ROLE_NAMES.items() if may_manage(user.principal.role, r)]


def _page(
    request: Request,
    user: ConsoleUser,
    *,
    draft: dict[str, str] | None = None,
    errors: Errors | None = None,
    status: int = 200,
) -> Response:
    users: list[UserRecord] = _services(request).auth.list_users(user.principal, limit=LIMIT)
    return render(
        request,
        "admin/users.html",
        user,
        status=status,
        title="Users",
        users=users,
        now=utcnow(),
        draft=draft or {"role": str(Role.OPERATOR)},
        errors=errors or {},
        roles=manageable_roles(user),
        done=done_message(request, DONE),
        can_write=user.can(Capability.USERS_WRITE),
        may_manage=lambda role: may_manage(user.principal.role, role),
        min_password=MIN_PASSWORD_LENGTH,
    )


@router.get("/admin/users")
async def users(request: Request, user: Reader) -> Response:
    return await call(_page, request, user)


def _password_errors(form: dict[str, str], errors: Errors) -> str:
    password = form.get("password", "")
    if not password:
        errors["password"] = "Enter a password."
    elif len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = f"Use at least {MIN_PASSWORD_LENGTH} characters."
    elif len(password) > MAX_PASSWORD_LENGTH:
        errors["password"] = f"Use at most {MAX_PASSWORD_LENGTH} characters."
    elif form.get("confirm", "") != password:
        errors["confirm"] = "The two passwords differ."
    return password


def _sentence(error: Exception) -> str:
    text = str(error).strip()
    return text[:1].upper() + text[1:].rstrip(".") + "."


@router.post("/admin/users")
async def add_user(request: Request, user: Writer) -> Response:
    form = texts(await request.form())
    draft = {k: form.get(k, "").strip() for k in ("username", "display_name", "email", "role")}
    errors: Errors = {}
    if not draft["username"]:
        errors["username"] = "Enter a user name."
    if draft["role"] not in {value for value, _ in manageable_roles(user)}:
        errors["role"] = "Choose one of the listed roles."
    password = _password_errors(form, errors)
    if not errors:
        try:
            await call(
                _services(request).auth.create_user,
                user.principal,
                username=draft["username"],
                password=password,
                role=draft["role"],
                display_name=draft["display_name"],
                email=draft["email"],
            )
        except Conflict as exc:
            errors["username"] = _sentence(exc)
        except Forbidden as exc:
            errors["role"] = _sentence(exc)
        except Invalid as exc:
            where = "username" if str(exc).startswith("username") else "password"
            errors[where] = _sentence(exc)
        else:
            return back("/admin/users", done="added", value=draft["username"])
    return await call(_page, request, user, draft=draft, errors=errors, status=400)


@router.post("/admin/users/{user_id}/active")
async def set_active(request: Request, user: Writer, user_id: UserId) -> Response:
    active = texts(await request.form()).get("active") == "yes"
    changed = await call(
        _services(request).auth.update_user, user.principal, user_id, active=active
    )
    return back("/admin/users", done="enabled" if active else "disabled", value=changed.username)


@router.post("/admin/users/{user_id}/unlock")
async def unlock(request: Request, user: Writer, user_id: UserId) -> Response:
    changed = await call(_services(request).auth.unlock_user, user.principal, user_id)
    return back("/admin/users", done="unlocked", value=changed.username)


def _account_page(
    request: Request, user: ConsoleUser, user_id: int, *, errors: Errors, status: int = 200
) -> Response:
    account = _services(request).auth.get_user(user.principal, user_id)
    return render(
        request,
        "admin/user.html",
        user,
        status=status,
        title=f"User {account.username}",
        account=account,
        now=utcnow(),
        errors=errors,
        can_change=user.can(Capability.USERS_WRITE)
        and may_manage(user.principal.role, account.role),
        min_password=MIN_PASSWORD_LENGTH,
    )


@router.get("/admin/users/{user_id}")
async def account(request: Request, user: Reader, user_id: UserId) -> Response:
    return await call(_account_page, request, user, user_id, errors={})


@router.post("/admin/users/{user_id}/password")
async def reset_password(request: Request, user: Writer, user_id: UserId) -> Response:
    errors: Errors = {}
    password = _password_errors(texts(await request.form()), errors)
    if not errors:
        try:
            changed = await call(
                _services(request).auth.update_user, user.principal, user_id, password=password
            )
        except Invalid as exc:
            errors["password"] = _sentence(exc)
        else:
            return back("/admin/users", done="password", value=changed.username)
    return await call(_account_page, request, user, user_id, errors=errors, status=400)
