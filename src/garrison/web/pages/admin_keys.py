"""API keys: every logged-in user lists, makes and revokes their own; a role with
``api-keys.any`` sees and manages everyone's.

A new key's secret is on the answer page of the POST that made it, in a marked box, and
nowhere else: it is not in a redirect, not stored (the store keeps a digest and the first
characters), and the list shows only that prefix. The answer is ``no-store`` like every
console page, so going back does not show it again from a cache.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from starlette.requests import Request
from starlette.responses import Response

from garrison.auth import Capability
from garrison.errors import Invalid
from garrison.services import Services
from garrison.store import ApiKeyRecord
from garrison.store.models import utcnow
from garrison.web.pages.page_flow import Errors, back, call, done_message, texts
from garrison.web.pages.reputation_forms import read_expiry
from garrison.web.routing import console_router
from garrison.web.session import Console, ConsoleUser
from garrison.web.templating import render

router = console_router()

KeyId = Annotated[int, Path(ge=1, le=2**63 - 1)]
DONE = {"revoked": "The key {value}… is revoked: it no longer works."}


def _services(request: Request) -> Services:
    return request.app.state.services


def _owners(svc: Services, user: ConsoleUser) -> dict[int, str]:
    """User id -> name, for the owner column and select (only for those who see all)."""
    if not user.can(Capability.API_KEYS_ANY) or not user.can(Capability.USERS_READ):
        return {}
    return {u.id: u.username for u in svc.auth.list_users(user.principal, limit=1000)}


def _page(
    request: Request,
    user: ConsoleUser,
    *,
    every: bool,
    draft: dict[str, str] | None = None,
    errors: Errors | None = None,
    status: int = 200,
) -> Response:
    svc = _services(request)
    every = every and user.can(Capability.API_KEYS_ANY)
    keys: list[ApiKeyRecord] = svc.auth.list_api_keys(
        user.principal, None if every else user.principal.user_id
    )
    keys.sort(key=lambda k: k.id, reverse=True)
    return render(
        request,
        "admin/api_keys.html",
        user,
        status=status,
        title="API keys",
        keys=keys,
        every=every,
        owners=_owners(svc, user),
        now=utcnow(),
        draft=draft or {"owner": str(user.principal.user_id)},
        errors=errors or {},
        done=done_message(request, DONE),
        can_any=user.can(Capability.API_KEYS_ANY),
    )


@router.get("/admin/api-keys")
async def api_keys(
    request: Request, user: Console, every: Annotated[bool, Query(alias="all")] = False
) -> Response:
    return await call(_page, request, user, every=every)


@router.post("/admin/api-keys")
async def create_key(request: Request, user: Console) -> Response:
    """Make a key; the answer shows its secret, once."""
    svc = _services(request)
    form = texts(await request.form())
    draft = {k: form.get(k, "").strip() for k in ("name", "expires", "owner")}
    errors: Errors = {}
    owner = user.principal.user_id
    if draft["owner"] and draft["owner"] != str(owner):
        if not user.can(Capability.API_KEYS_ANY) or not draft["owner"].isdigit():
            errors["owner"] = "You may only make keys for yourself."
        else:
            owner = int(draft["owner"])
    if not draft["name"]:
        errors["name"] = "Name the key after what will use it, such as “nightly export”."
    elif len(draft["name"]) > 128:
        errors["name"] = "Use at most 128 characters."
    expires = None
    try:
        expires = read_expiry(draft["expires"])
    except Invalid as exc:
        errors["expires"] = str(exc)[:1].upper() + str(exc)[1:] + "."
    if owner is None:
        errors["owner"] = "This account cannot own keys."
    if errors or owner is None:
        return await call(_page, request, user, every=False, draft=draft, errors=errors, status=400)
    new = await call(
        svc.auth.create_api_key,
        user.principal,
        user_id=owner,
        name=draft["name"],
        expires_at=expires,
    )
    owners = await call(_owners, svc, user)
    return render(
        request,
        "admin/api_key_created.html",
        user,
        title="New API key",
        key=new.record,
        secret=new.secret,
        owner=owners.get(new.record.user_id, user.name),
    )


@router.post("/admin/api-keys/{key_id}/revoke")
async def revoke_key(request: Request, user: Console, key_id: KeyId) -> Response:
    revoked = await call(_services(request).auth.revoke_api_key, user.principal, key_id)
    every = texts(await request.form()).get("all") == "1"
    return back("/admin/api-keys", all="1" if every else "", done="revoked", value=revoked.prefix)
