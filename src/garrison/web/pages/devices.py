"""The devices pages: the inventory with each device's health, a device's page with its
health history as charts, the add and edit forms, removal, and device groups.

Seeing needs ``devices.read``; adding, changing and removing need ``devices.write`` (an
auditor sees every page without their buttons, and a POST of theirs is refused with a 403
page before anything changes). Forms post back here; a refused form comes back with status
400 and each message next to its field (`garrison.web.device_form`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import Depends
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from garrison.auth import Capability
from garrison.devices.model import DeviceState
from garrison.devices.validate import check_name, check_text
from garrison.errors import Conflict, Invalid, NotFound
from garrison.services import Services
from garrison.store.devices import DeviceGroupRecord, DeviceRecord
from garrison.web import device_charts, device_form
from garrison.web.device_form import DeviceForm, sentence
from garrison.web.routing import console_router
from garrison.web.session import ConsoleUser, allowed
from garrison.web.templating import render

router = console_router()

Reader = Depends(allowed(Capability.DEVICES_READ))
Writer = Depends(allowed(Capability.DEVICES_WRITE))
PAGE = 100
STATES = [str(s) for s in DeviceState]


def _services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


# -- the list ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ListQuery:
    """The list's filters as the query string carries them (text: a bad value is
    ignored, not answered with an error page)."""

    state: str = ""
    group: str = ""
    name: str = ""
    offset: str = ""


def _list_context(svc: Services, user: ConsoleUser, q: ListQuery) -> dict[str, Any]:
    actor = user.principal
    groups = svc.devices.list_groups(actor)
    state = q.state if q.state in STATES else None
    group_id = int(q.group) if q.group.isdigit() and len(q.group) < 10 else None
    name = q.name.strip()[:64]
    offset = min(int(q.offset), 1_000_000) if q.offset.isdigit() and len(q.offset) < 8 else 0
    try:
        devices = svc.devices.list_devices(
            actor,
            state=state,
            group_id=group_id,
            name_contains=name or None,
            offset=offset,
            limit=PAGE + 1,  # one more tells whether there is a next page
        )
    except Invalid as exc:  # a name filter with control characters
        devices, error = [], sentence(str(exc))
    else:
        error = ""
    filters = {"state": state or "", "group": "" if group_id is None else str(group_id)}
    filters["name"] = name
    return {
        "devices": devices[:PAGE],
        "more": len(devices) > PAGE,
        "offset": offset,
        "page": PAGE,
        "groups": {g.id: g for g in groups},
        "group_list": groups,
        "states": STATES,
        "filters": filters,
        "filter_error": error,
        "query_of": _query_string,
    }


def _query_string(filters: dict[str, str], offset: int = 0) -> str:
    pairs = {k: v for k, v in filters.items() if v}
    if offset:
        pairs["offset"] = str(offset)
    return urlencode(pairs)


@router.get("/devices")
async def device_list(
    request: Request, user: ConsoleUser = Reader, q: ListQuery = Depends(), removed: str = ""
) -> Response:
    context = await run_in_threadpool(_list_context, _services(request), user, q)
    return render(
        request,
        "devices/list.html",
        user,
        title="Devices",
        notice="Device removed." if removed else "",
        query=_query_string(context["filters"], context["offset"]),
        **context,
    )


@router.get("/devices/_list")
async def device_rows(
    request: Request, user: ConsoleUser = Reader, q: ListQuery = Depends()
) -> Response:
    """The list's table alone: what the list page refreshes every few seconds."""
    context = await run_in_threadpool(_list_context, _services(request), user, q)
    return render(request, "devices/table.html", user, **context)


# -- adding and editing -------------------------------------------------------------------


def _form_page(
    request: Request,
    user: ConsoleUser,
    groups: list[DeviceGroupRecord],
    form: DeviceForm,
    *,
    device: DeviceRecord | None,
    status: int = 200,
) -> Response:
    title = f"Edit {device.name}" if device else "Add a device"
    return render(
        request,
        "devices/form.html",
        user,
        status=status,
        title=title,
        heading=title,
        device=device,
        values=form.values,
        errors=form.errors,
        group_options=[("", "No group")] + [(str(g.id), g.name) for g in groups],
        version_options=device_form.VERSION_CHOICES,
        auth_options=device_form.AUTH_CHOICES,
        priv_options=device_form.PRIV_CHOICES,
    )


@router.get("/devices/new")
async def new_device(request: Request, user: ConsoleUser = Writer) -> Response:
    svc = _services(request)
    groups = await run_in_threadpool(svc.devices.list_groups, user.principal)
    form = DeviceForm(values=device_form.blank_values())
    return _form_page(request, user, groups, form, device=None)


async def _save(
    request: Request, user: ConsoleUser, device: DeviceRecord | None
) -> tuple[DeviceForm, DeviceRecord | None]:
    """Check the posted form and hand it to the service; the form carries any errors."""
    svc = _services(request)
    form = device_form.read(await request.form(), creating=device is None)
    if form.errors:
        return form, None
    try:
        if device is None:
            saved = await run_in_threadpool(
                lambda: svc.devices.create_device(user.principal, **form.fields)
            )
        else:
            saved = await run_in_threadpool(
                lambda: svc.devices.update_device(user.principal, device.id, **form.fields)
            )
    except (Invalid, Conflict) as exc:
        form.refuse(str(exc))
        return form, None
    except NotFound as exc:
        if "group" not in str(exc):
            raise
        form.refuse(str(exc))
        return form, None
    return form, saved


@router.post("/devices/new")
async def create_device(request: Request, user: ConsoleUser = Writer) -> Response:
    form, saved = await _save(request, user, None)
    if saved is not None:
        return RedirectResponse(f"/devices/{saved.id}?added=1", status_code=303)
    groups = await run_in_threadpool(_services(request).devices.list_groups, user.principal)
    return _form_page(request, user, groups, form, device=None, status=400)


@router.get("/devices/{device_id:int}/edit")
async def edit_device(request: Request, device_id: int, user: ConsoleUser = Writer) -> Response:
    svc = _services(request)
    device = await run_in_threadpool(svc.devices.get_device, user.principal, device_id)
    groups = await run_in_threadpool(svc.devices.list_groups, user.principal)
    form = DeviceForm(values=device_form.values_of(device))
    return _form_page(request, user, groups, form, device=device)


@router.post("/devices/{device_id:int}/edit")
async def update_device(request: Request, device_id: int, user: ConsoleUser = Writer) -> Response:
    svc = _services(request)
    device = await run_in_threadpool(svc.devices.get_device, user.principal, device_id)
    form, saved = await _save(request, user, device)
    if saved is not None:
        return RedirectResponse(f"/devices/{saved.id}?saved=1", status_code=303)
    groups = await run_in_threadpool(svc.devices.list_groups, user.principal)
    return _form_page(request, user, groups, form, device=device, status=400)


@router.post("/devices/{device_id:int}/delete")
async def delete_device(request: Request, device_id: int, user: ConsoleUser = Writer) -> Response:
    svc = _services(request)
    await run_in_threadpool(svc.devices.delete_device, user.principal, device_id)
    return RedirectResponse("/devices?removed=1", status_code=303)


# -- one device ---------------------------------------------------------------------------


def _device_context(
    svc: Services, user: ConsoleUser, device_id: int, range_key: str | None
) -> dict[str, Any]:
    actor = user.principal
    device = svc.devices.get_device(actor, device_id)
    group = None
    if device.group_id is not None:
        try:
            group = svc.devices.get_group(actor, device.group_id)
        except NotFound:  # removed a moment ago
            group = None
    span, offered = device_charts.pick(svc.settings.poller.history_days, range_key)
    charts = device_charts.health_charts(svc, actor, device_id, span, device_charts.utc_now())
    return {
        "device": device,
        "group": group,
        "charts": charts,
        "ranges": offered,
    }


@router.get("/devices/{device_id:int}")
async def device_page(
    request: Request,
    device_id: int,
    user: ConsoleUser = Reader,
    range: str | None = None,
    added: str = "",
    saved: str = "",
) -> Response:
    context = await run_in_threadpool(_device_context, _services(request), user, device_id, range)
    notice = "Device added." if added else "Changes saved." if saved else ""
    return render(
        request,
        "devices/device.html",
        user,
        title=context["device"].name,
        notice=notice,
        **context,
    )


@router.get("/devices/{device_id:int}/_summary")
async def device_summary(request: Request, device_id: int, user: ConsoleUser = Reader) -> Response:
    """The device's state and last poll: what its page refreshes every few seconds."""
    svc = _services(request)
    device = await run_in_threadpool(svc.devices.get_device, user.principal, device_id)
    return render(request, "devices/summary.html", user, device=device)


# -- groups ------------------------------------------------------------------------------


async def _groups_page(
    request: Request,
    user: ConsoleUser,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
    notice: str = "",
) -> Response:
    groups = await run_in_threadpool(_services(request).devices.list_groups, user.principal)
    return render(
        request,
        "devices/groups.html",
        user,
        status=status,
        title="Device groups",
        groups=groups,
        errors=errors or {},
        values=values or {"name": "", "description": ""},
        notice=notice,
    )


@router.get("/devices/groups")
async def group_list(
    request: Request, user: ConsoleUser = Reader, added: str = "", removed: str = ""
) -> Response:
    notice = "Group added." if added else "Group removed." if removed else ""
    return await _groups_page(request, user, notice=notice)


@router.post("/devices/groups")
async def create_group(request: Request, user: ConsoleUser = Writer) -> Response:
    form = await request.form()
    name = str(form.get("name", "")).strip()
    description = str(form.get("description", ""))
    values = {"name": name, "description": description}
    errors: dict[str, str] = {}
    if not name:
        errors["name"] = "Enter a name for the group."
    else:
        try:
            check_name(name, "group name")
        except Invalid as exc:
            errors["name"] = sentence(str(exc))
    try:
        check_text(description, "description", 255)
    except Invalid as exc:
        errors["description"] = sentence(str(exc))
    if not errors:
        svc = _services(request)
        try:
            await run_in_threadpool(
                lambda: svc.devices.create_group(user.principal, name=name, description=description)
            )
        except (Invalid, Conflict) as exc:
            errors["name"] = sentence(str(exc))
        else:
            return RedirectResponse("/devices/groups?added=1", status_code=303)
    return await _groups_page(request, user, errors=errors, values=values, status=400)


@router.post("/devices/groups/{group_id:int}/delete")
async def delete_group(request: Request, group_id: int, user: ConsoleUser = Writer) -> Response:
    await run_in_threadpool(_services(request).devices.delete_group, user.principal, group_id)
    return RedirectResponse("/devices/groups?removed=1", status_code=303)
