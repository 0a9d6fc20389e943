"""The console's reputation pages: search the store, add, edit, delete and expire
entries, import a file in the SMS's format, and manage tag categories.

Everything goes through `ReputationService` (capability-checked and audited), so an entry
added here is answered by ``repEntries/query`` and ``/api/v1/reputation`` at once; the
two writes it lacks (an edit that replaces the tags whole, and "expire now") are in
`reputation_edit`. Reading needs ``reputation.read``; every form that changes something
needs ``reputation.write``: its buttons are hidden from roles without it, and its POST
answers them with a 403 page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Depends, Query
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from garrison.api.routes.reputation import MAX_IMPORT_BYTES
from garrison.auth import Capability
from garrison.errors import Conflict, Invalid, NotFound
from garrison.reputation.model import TTL_CATEGORY, EntryKind
from garrison.reputation.service import EntryInput, ReputationService
from garrison.reputation.wire import WireError, parse_entry_type, parse_import
from garrison.store.reputation import ReputationEntryRecord
from garrison.web.pages import reputation_forms as forms
from garrison.web.pages.page_flow import back, call, done_message, lists, texts
from garrison.web.pages.reputation_edit import expire_entry, replace_entry
from garrison.web.routing import console_router
from garrison.web.session import ConsoleUser, allowed
from garrison.web.templating import render

router = console_router()

Reader = Annotated[ConsoleUser, Depends(allowed(Capability.REPUTATION_READ))]
Writer = Annotated[ConsoleUser, Depends(allowed(Capability.REPUTATION_WRITE))]
PAGE = 50
ENTRY_KINDS = ("ipv4", "ipv6", "dns", "url")
# What a redirect's ``done`` says on the page it lands on.
DONE = {
    "added": "Added {value}.",
    "updated": "Saved {value}.",
    "deleted": "Deleted {value}.",
    "expired": "{value} has expired: it no longer matches, and the expiry sweep removes it.",
    "category-added": "Tag category {value} created.",
    "category-deleted": "Tag category {value} deleted.",
    "imported": "Imported {value}.",
}


def _service(request: Request) -> ReputationService:
    return request.app.state.services.reputation


# -- search -----------------------------------------------------------------------------------


@router.get("/reputation")
async def search(
    request: Request,
    user: Reader,
    q: Annotated[str, Query(max_length=2048)] = "",
    kind: Annotated[str, Query(max_length=8)] = "",
    after: Annotated[int, Query(ge=0)] = 0,
) -> Response:
    """One box: an address or block (the entries containing it), a DNS name (the
    entries matching it), or a URL. Empty: every entry, a page at a time."""
    reputation = _service(request)
    errors: forms.Errors = {}
    records: list[ReputationEntryRecord] = []
    next_after = None
    asked = forms.search_kind(q) if q.strip() else ""
    try:
        if asked == "ip":
            records = await call(reputation.query_addresses, user.principal, [q.strip()])
        elif asked == "dns":
            records = await call(reputation.query_names, user.principal, [q.strip()])
        elif asked == "url":
            records = await call(reputation.query_exact, user.principal, [q.strip()], kind="url")
        else:
            chosen = kind if kind in ENTRY_KINDS else None
            records = await call(
                reputation.list_entries, user.principal, after=after, limit=PAGE + 1, kind=chosen
            )
            if len(records) > PAGE:
                records = records[:PAGE]
                next_after = records[-1].id
    except Invalid as exc:
        errors["q"] = forms.plain(exc)
    return render(
        request,
        "reputation/search.html",
        user,
        status=400 if errors else 200,
        title="Reputation",
        q=q,
        asked=asked,
        kind=kind if kind in ENTRY_KINDS else "",
        kinds=ENTRY_KINDS,
        records=records,
        next_after=next_after,
        after=after,
        errors=errors,
        done=done_message(request, DONE),
        can_write=user.can(Capability.REPUTATION_WRITE),
    )


# -- add and edit ------------------------------------------------------------------------------


def _entry_page(
    request: Request,
    user: ConsoleUser,
    *,
    editing: bool,
    entry: forms.EntryForm,
    categories: list[Any],
    status: int = 200,
    record: ReputationEntryRecord | None = None,
) -> Response:
    return render(
        request,
        "reputation/entry.html",
        user,
        status=status,
        title=f"Edit {entry.value}" if editing else "Add a reputation entry",
        editing=editing,
        entry=entry,
        record=record,
        tags=forms.tag_fields(categories, entry.tags),
        kinds=forms.KIND_CHOICES,
        has_ttl=any(c.name == TTL_CATEGORY for c in categories),
        errors=entry.errors,
    )


@router.get("/reputation/new")
async def new_entry(request: Request, user: Writer, value: str = "", kind: str = "") -> Response:
    categories = await call(_service(request).list_categories, user.principal)
    entry = forms.EntryForm(value=value[:2048], kind=kind if kind in ENTRY_KINDS else "")
    return _entry_page(request, user, editing=False, entry=entry, categories=categories)


@router.get("/reputation/edit")
async def edit_entry(
    request: Request,
    user: Reader,
    value: Annotated[str, Query(max_length=2048)],
    kind: Annotated[str, Query(max_length=8)] = "",
) -> Response:
    reputation = _service(request)
    chosen = kind if kind in ENTRY_KINDS else None
    try:
        record = await call(reputation.get, user.principal, value, kind=chosen)
    except Invalid as exc:
        raise NotFound(forms.plain(exc)) from None
    if record is None:
        raise NotFound(f"{value.strip()[:200]} is not in the reputation store (or has expired).")
    if not user.can(Capability.REPUTATION_WRITE):
        return render(request, "reputation/view.html", user, title=record.value, record=record)
    categories = await call(reputation.list_categories, user.principal)
    entry = forms.EntryForm(
        value=record.value,
        kind=record.kind,
        expires=forms.expiry_text(record.expires_at),
        tags=dict(record.tags),
    )
    return _entry_page(
        request, user, editing=True, entry=entry, categories=categories, record=record
    )


async def _save(request: Request, user: ConsoleUser, *, editing: bool) -> Response:
    reputation = _service(request)
    form = await request.form()
    categories = await call(reputation.list_categories, user.principal)
    entry = forms.read_entry_form(texts(form), lists(form), categories)
    if not entry.errors:
        item = EntryInput(
            value=entry.value,
            tags=entry.tags,
            kind=entry.kind or None,
            expires_at=forms.read_expiry(entry.expires),
        )
        try:
            if editing:
                value = await call(replace_entry, reputation, user.principal, item)
                return back("/reputation", q=value, done="updated", value=value)
            outcome = await call(reputation.add_many, user.principal, [item])
        except Invalid as exc:
            entry.errors["form"] = forms.plain(exc)
        else:
            record = await call(
                reputation.get, user.principal, entry.value, kind=entry.kind or None
            )
            value = record.value if record else entry.value
            done = "added" if outcome.added else "updated"
            return back("/reputation", q=value, done=done, value=value)
    return _entry_page(
        request, user, editing=editing, entry=entry, categories=categories, status=400
    )


@router.post("/reputation/new")
async def add_entry(request: Request, user: Writer) -> Response:
    return await _save(request, user, editing=False)


@router.post("/reputation/edit")
async def save_entry(request: Request, user: Writer) -> Response:
    return await _save(request, user, editing=True)


async def _named(request: Request) -> tuple[str, str | None]:
    form = texts(await request.form())
    kind = form.get("kind", "").strip().lower()
    return form.get("value", "").strip(), kind if kind in ENTRY_KINDS else None


@router.post("/reputation/delete")
async def delete_entry(request: Request, user: Writer) -> Response:
    value, kind = await _named(request)
    if not value:
        raise Invalid("name the entry to delete")
    deleted = await call(_service(request).delete, user.principal, [value], kind=kind)
    if not deleted:
        raise NotFound(f"{value[:200]} is not in the reputation store")
    return back("/reputation", done="deleted", value=value)


@router.post("/reputation/expire")
async def expire_now(request: Request, user: Writer) -> Response:
    value, kind = await _named(request)
    if not value:
        raise Invalid("name the entry to expire")
    text = await call(expire_entry, _service(request), user.principal, value, kind)
    return back("/reputation", done="expired", value=text)


# -- import -----------------------------------------------------------------------------------


def _import_page(
    request: Request, user: ConsoleUser, *, kind: str = "ipv4", errors: forms.Errors, status: int
) -> Response:
    return render(
        request,
        "reputation/import.html",
        user,
        status=status,
        title="Import reputation entries",
        kind=kind,
        kinds=ENTRY_KINDS,
        errors=errors,
        limit_mib=MAX_IMPORT_BYTES // 2**20,
    )


@router.get("/reputation/import")
def import_form(request: Request, user: Writer) -> Response:
    return _import_page(request, user, errors={}, status=200)


@router.post("/reputation/import")
async def import_file(request: Request, user: Writer) -> Response:
    """The file in the SMS's import format, all or nothing: a bad line is named and no
    line is imported."""
    form = await request.form()
    kind_text = str(form.get("type") or "ipv4")
    upload = form.get("file")
    errors: forms.Errors = {}
    try:
        kind = parse_entry_type(kind_text)
    except WireError:
        errors["type"] = "Choose ipv4, ipv6, dns or url."
        kind = EntryKind.IPV4
    data = b""
    if not isinstance(upload, UploadFile) or not upload.filename:
        errors["file"] = "Choose a file to import."
    elif upload.size is not None and upload.size > MAX_IMPORT_BYTES:
        errors["file"] = f"The file is over the {MAX_IMPORT_BYTES // 2**20} MiB limit."
    else:
        data = await upload.read()
    if not errors:
        try:
            outcome, count = await call(_import, _service(request), user, data, kind)
        except Invalid as exc:
            errors["file"] = f"{forms.plain(exc)} Nothing was imported."
        else:
            message = f"{count} entries ({outcome.added} added, {outcome.updated} updated)"
            return back("/reputation", done="imported", value=message)
    return _import_page(request, user, kind=str(kind), errors=errors, status=400)


def _import(
    reputation: ReputationService, user: ConsoleUser, data: bytes, kind: EntryKind
) -> tuple[Any, int]:
    lines = parse_import(data, kind)
    if not lines:
        raise Invalid("the file holds no entries")
    items = [EntryInput(line.value, line.tags, kind=kind, line=line.line) for line in lines]
    return reputation.add_many(user.principal, items), len(items)


# -- tag categories ----------------------------------------------------------------------------


def _categories_page(
    request: Request,
    user: ConsoleUser,
    categories: list[Any],
    *,
    draft: forms.CategoryForm | None = None,
    delete_errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response:
    draft = draft or forms.CategoryForm()
    return render(
        request,
        "reputation/categories.html",
        user,
        status=status,
        title="Tag categories",
        categories=categories,
        draft=draft,
        errors=draft.errors,
        delete_errors=delete_errors or {},
        kinds=forms.CATEGORY_KINDS,
        ttl=TTL_CATEGORY,
        done=done_message(request, DONE),
        can_write=user.can(Capability.REPUTATION_WRITE),
    )


@router.get("/reputation/categories")
async def categories(request: Request, user: Reader) -> Response:
    listed = await call(_service(request).list_categories, user.principal)
    return _categories_page(request, user, listed)


@router.post("/reputation/categories")
async def create_category(request: Request, user: Writer) -> Response:
    reputation = _service(request)
    draft = forms.read_category_form(texts(await request.form()))
    if draft.category is not None:
        made = draft.category
        try:
            await call(
                reputation.create_category,
                user.principal,
                made.name,
                made.kind,
                description=made.description,
                minimum=made.minimum,
                maximum=made.maximum,
                values=made.choices,
                multiple=made.multiple,
            )
        except (Conflict, Invalid) as exc:
            draft.errors["name"] = forms.plain(exc)
        else:
            return back("/reputation/categories", done="category-added", value=made.name)
    listed = await call(reputation.list_categories, user.principal)
    return _categories_page(request, user, listed, draft=draft, status=400)


@router.post("/reputation/categories/delete")
async def delete_category(request: Request, user: Writer) -> Response:
    reputation = _service(request)
    form = texts(await request.form())
    name = form.get("name", "").strip()
    force = form.get("force", "") == "on"
    try:
        await call(reputation.delete_category, user.principal, name, force=force)
    except (Conflict, Invalid) as exc:
        message = forms.plain(exc)
        if isinstance(exc, Conflict):
            message = (
                f"Entries are tagged with {name}. Tick “also remove its tags” to delete it "
                "and those tags."
            )
        listed = await call(reputation.list_categories, user.principal)
        return _categories_page(request, user, listed, delete_errors={name: message}, status=409)
    return back("/reputation/categories", done="category-deleted", value=name)
