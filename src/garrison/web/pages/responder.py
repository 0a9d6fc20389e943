"""The console's Responder pages: the policies and their editor (with the action graph),
open responses with Close and Extend, and the history of responses with each action's
result.

Reading needs ``responder.read``; changing a policy ``responder.policies``; closing and
extending a response ``responder.respond`` (buttons a role cannot use are not shown, and
their POSTs are refused). Policies are saved through `ResponderService` exactly as the
API saves them, then the running engine reloads them; closing and extending go through
the engine (``services.responder``), as the API's routes do. Without a running engine
the pages say so and offer no Close or Extend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from garrison.auth import Capability
from garrison.errors import Conflict, Invalid, NotFound
from garrison.responder.policy import MAX_ACTIONS, PolicySpec
from garrison.services import Services
from garrison.store.responder import PolicyRecord, ResponseRecord, Responses
from garrison.web import policy_checks, policy_form
from garrison.web.graphs import GraphAction, Phase, action_graph
from garrison.web.routing import console_router, error_page
from garrison.web.session import ConsoleUser, allowed
from garrison.web.templating import render

router = console_router()

Reader = Annotated[ConsoleUser, Depends(allowed(Capability.RESPONDER_READ))]
Editor = Annotated[ConsoleUser, Depends(allowed(Capability.RESPONDER_POLICIES))]
Operator = Annotated[ConsoleUser, Depends(allowed(Capability.RESPONDER_RESPOND))]

OPEN_LIMIT = 200  # open responses shown at once (the newest)
HISTORY_PAGE = 50
HISTORY_PAGES = 200  # deepest page of the history; older ones through the API
MAX_EXTEND_MINUTES = 3650 * 24 * 60
INITIATION_WORDS = {
    "threshold": "threshold",
    "manual": "manual",
    "external": "SNMP trap or Web service",
    "escalation": "escalation",
}
SEVERITY_NAMES = {1: "low", 2: "minor", 3: "major", 4: "critical"}


def _services(request: Request) -> Services:
    return request.app.state.services


def _number(text: str, what: str) -> int:
    """A row id from the path; anything else is a page that does not exist."""
    if not text.isdigit() or len(text) > 18:
        raise NotFound(f"no {what} {text[:40]!r}")
    return int(text)


def duration_words(seconds: float | None) -> str:
    if seconds is None:
        return "never"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count:,} {unit}{'' if count == 1 else 's'}"
    return f"{seconds:g} second{'' if seconds == 1 else 's'}"


# -- policies -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PolicyRow:
    id: int
    name: str
    builtin: bool
    enabled: bool
    initiation: str
    timeout: str
    initial_actions: int
    timeout_actions: int
    open_responses: int


def _open_counts(svc: Services, ids: Sequence[int]) -> dict[int, int]:
    """Open responses a policy (an indexed count each; policies are few)."""
    with svc.store.transaction() as tx:
        responses = Responses(tx.session)
        return {i: responses.open_count(i) for i in ids}


def _policy_row(record: PolicyRecord, open_responses: int) -> PolicyRow:
    spec = PolicySpec.model_validate(record.document)
    return PolicyRow(
        id=record.id,
        name=record.name,
        builtin=record.builtin,
        enabled=spec.enabled,
        initiation=", ".join(INITIATION_WORDS.get(str(i), str(i)) for i in spec.initiation),
        timeout=duration_words(spec.timeout_seconds),
        initial_actions=len(spec.initial_actions),
        timeout_actions=len(spec.timeout_actions),
        open_responses=open_responses,
    )


@router.get("/responder")
async def policies(request: Request, user: Reader, deleted: str = "") -> Response:
    svc = _services(request)
    records = await run_in_threadpool(svc.policies.list_policies, user.principal)
    counts = await run_in_threadpool(_open_counts, svc, [r.id for r in records])
    return render(
        request,
        "responder/policies.html",
        user,
        title="Responder policies",
        rows=[_policy_row(r, counts.get(r.id, 0)) for r in records],
        can_edit=user.can(Capability.RESPONDER_POLICIES),
        running=svc.responder is not None,
        deleted=bool(deleted),
        tab="policies",
    )


def _graph(spec: PolicySpec) -> Any:
    phases = []
    for phase in policy_form.PHASES:
        specs = spec.initial_actions if phase == "initial" else spec.timeout_actions
        actions = [
            GraphAction(a.name, a.type, a.depends_on, str(a.condition), a.priority) for a in specs
        ]
        phases.append(Phase(_phase_title(phase), actions))
    return action_graph(phases, label=f"Action graph of policy {spec.name}")


def _phase_title(phase: str) -> str:
    return {
        "initial": "Initial actions (when a response opens)",
        "timeout": "Timeout actions (when it closes)",
    }[phase]


@dataclass(frozen=True, slots=True)
class RowView:
    """One action row of the editor: its fields' prefix and the actions it may depend on
    (the other named rows of its phase, and whatever it names now, so an error about it
    shows with the value that caused it)."""

    prefix: str
    row: policy_form.ActionRow
    depends_options: list[tuple[str, str]]


def _row_views(form: policy_form.PolicyForm) -> dict[str, list[RowView]]:
    views: dict[str, list[RowView]] = {}
    for phase in policy_form.PHASES:
        rows = form.actions[phase]
        names = list(dict.fromkeys(r.name.strip() for r in rows if r.name.strip()))
        views[phase] = []
        for index, row in enumerate(rows):
            options = [("", "Nothing: starts at once")]
            options += [(n, n) for n in names if n != row.name.strip()]
            if row.depends_on and row.depends_on not in names:
                options.append((row.depends_on, f"{row.depends_on} (not in this list)"))
            views[phase].append(RowView(f"{phase}-{index}-", row, options))
    return views


def _editor(
    request: Request,
    user: ConsoleUser,
    form: policy_form.PolicyForm,
    *,
    record: PolicyRecord | None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    saved: bool = False,
    open_responses: int = 0,
) -> Response:
    spec = PolicySpec.model_validate(record.document) if record else None
    types = policy_form.type_help()
    return render(
        request,
        "responder/policy.html",
        user,
        status=status,
        title=record.name if record else "New policy",
        record=record,
        form=form,
        errors=errors or {},
        graph=_graph(spec) if spec else None,
        types=types,
        types_by_kind={t.kind: t for t in types},
        type_options=[("", "Choose a type"), *((t.kind, t.kind) for t in types)],
        severity_options=[("", "any severity"), *((s, s) for s in policy_form.SEVERITIES)],
        action_rows=_row_views(form),
        phases=policy_form.PHASES,
        phase_titles={p: _phase_title(p) for p in policy_form.PHASES},
        can_edit=user.can(Capability.RESPONDER_POLICIES),
        running=_services(request).responder is not None,
        saved=saved,
        open_responses=open_responses,
        tab="policies",
    )


@router.get("/responder/policies/new")
def new_policy(request: Request, user: Editor) -> Response:
    form = policy_form.PolicyForm().with_blank_rows({"initial": 1})
    return _editor(request, user, form, record=None)


@router.get("/responder/policies/{policy_id}")
async def show_policy(request: Request, policy_id: str, user: Reader, saved: str = "") -> Response:
    svc = _services(request)
    key = _number(policy_id, "policy")
    record = await run_in_threadpool(svc.policies.get_policy, user.principal, key)
    counts = await run_in_threadpool(_open_counts, svc, [record.id])
    form = policy_form.from_spec(PolicySpec.model_validate(record.document)).with_blank_rows()
    return _editor(
        request, user, form, record=record, saved=bool(saved), open_responses=counts[record.id]
    )


@router.post("/responder/policies/new")
async def create_policy(request: Request, user: Editor) -> Response:
    return await _save(request, user, None)


@router.post("/responder/policies/{policy_id}")
async def update_policy(request: Request, policy_id: str, user: Editor) -> Response:
    svc = _services(request)
    key = _number(policy_id, "policy")
    record = await run_in_threadpool(svc.policies.get_policy, user.principal, key)
    return await _save(request, user, record)


async def _save(request: Request, user: ConsoleUser, record: PolicyRecord | None) -> Response:
    """Save the policy the form describes, or show the form again: with one more action
    row ("Add another action"), or with its problems next to their fields."""
    svc = _services(request)
    sent = await request.form()
    form = policy_form.from_form(sent)
    asked = str(sent.get("do", "save"))
    for phase in policy_form.PHASES:
        if asked == f"add-{phase}":
            errors: dict[str, str] = {}
            if len([r for r in form.actions[phase] if not r.remove]) > MAX_ACTIONS:
                errors[f"{phase}_actions"] = f"A policy has at most {MAX_ACTIONS} {phase} actions."
            shown = form.with_blank_rows({phase: 0 if errors else 1})
            return _editor(request, user, shown, record=record, errors=errors)
    shown = form.with_blank_rows()
    checked = policy_checks.check(shown)
    if checked.document is not None:
        try:
            saved = await run_in_threadpool(_store_policy, svc, user, record, checked.document)
        except Conflict as exc:  # the name is taken
            checked.errors["name"] = policy_checks.place(str(exc))[1]
        except Invalid as exc:
            checked.errors.update([policy_checks.place(str(exc))])
        else:
            if svc.responder is not None:
                await svc.responder.reload_policies()
            return RedirectResponse(f"/responder/policies/{saved.id}?saved=1", status_code=303)
    return _editor(request, user, shown, record=record, errors=checked.errors, status=400)


def _store_policy(
    svc: Services, user: ConsoleUser, record: PolicyRecord | None, document: dict[str, Any]
) -> PolicyRecord:
    if record is None:
        return svc.policies.create_policy(user.principal, document)
    return svc.policies.update_policy(user.principal, record.id, document)


@router.post("/responder/policies/{policy_id}/delete")
async def delete_policy(request: Request, policy_id: str, user: Editor) -> Response:
    svc = _services(request)
    key = _number(policy_id, "policy")
    await run_in_threadpool(svc.policies.delete_policy, user.principal, key)
    if svc.responder is not None:
        await svc.responder.reload_policies()
    return RedirectResponse("/responder?deleted=1", status_code=303)


# -- responses ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EvidenceRow:
    time: datetime | None
    device: str
    filter: str
    severity: int
    severity_name: str
    category: str
    source: str
    destination: str
    action: str
    hits: int


def _evidence(event: dict[str, Any]) -> EvidenceRow:
    def endpoint(ip: str, port: Any) -> str:
        return f"{ip}:{port}" if port not in (None, "") else ip

    received = event.get("received_at")
    try:
        time = datetime.fromisoformat(received) if isinstance(received, str) else None
    except ValueError:
        time = None
    severity = event.get("severity", 1)
    severity = severity if isinstance(severity, int) and 1 <= severity <= 4 else 1
    number = event.get("signature_number")
    return EvidenceRow(
        time=time,
        device=str(event.get("device_name") or event.get("source_address") or ""),
        filter=" ".join(str(p) for p in (number, event.get("name")) if p),
        severity=severity,
        severity_name=SEVERITY_NAMES[severity],
        category=str(event.get("category", "")),
        source=endpoint(str(event.get("src_ip", "")), event.get("src_port")),
        destination=endpoint(str(event.get("dst_ip", "")), event.get("dst_port")),
        action=str(event.get("action", "")),
        hits=int(event.get("hit_count", 1) or 1),
    )


def _filters(policy: str, address: str) -> dict[str, str]:
    return {k: v for k, v in (("policy", policy[:128]), ("address", address[:45])) if v.strip()}


def _open_context(svc: Services, user: ConsoleUser, filters: dict[str, str]) -> dict[str, Any]:
    """What the open-responses table shows (also its live fragment)."""
    found = svc.policies.list_responses(
        user.principal, states=["open"], limit=OPEN_LIMIT + 1, **filters
    )
    total = (
        svc.policies.count_responses(user.principal, states=["open"])
        if len(found) > OPEN_LIMIT and not filters
        else None
    )
    return {
        "open_rows": found[:OPEN_LIMIT],
        "open_more": len(found) > OPEN_LIMIT,
        "open_total": total,
        "can_respond": user.can(Capability.RESPONDER_RESPOND) and svc.responder is not None,
        "fragment_url": "/responder/responses/_open"
        + (f"?{urlencode(filters)}" if filters else ""),
    }


@router.get("/responder/responses")
async def responses(
    request: Request,
    user: Reader,
    policy: str = "",
    address: str = "",
    page: str = "1",
    closed: str = "",
    extended: str = "",
) -> Response:
    svc = _services(request)
    filters = _filters(policy, address)
    number = min(int(page), HISTORY_PAGES) if page.isdigit() and int(page) >= 1 else 1
    opened = await run_in_threadpool(_open_context, svc, user, filters)
    history = await run_in_threadpool(
        lambda: svc.policies.list_responses(
            user.principal,
            states=["closing", "closed"],
            offset=(number - 1) * HISTORY_PAGE,
            limit=HISTORY_PAGE + 1,
            **filters,
        )
    )

    def page_url(to: int) -> str:
        return "/responder/responses?" + urlencode({**filters, "page": str(to)})

    return render(
        request,
        "responder/responses.html",
        user,
        title="Responses",
        filters=filters,
        history=history[:HISTORY_PAGE],
        newer_url=page_url(number - 1) if number > 1 else "",
        older_url=page_url(number + 1)
        if len(history) > HISTORY_PAGE and number < HISTORY_PAGES
        else "",
        page=number,
        running=svc.responder is not None,
        closed=int(closed) if closed.isdigit() else None,
        extended=int(extended) if extended.isdigit() else None,
        tab="responses",
        **opened,
    )


@router.get("/responder/responses/_open")
async def open_fragment(
    request: Request, user: Reader, policy: str = "", address: str = ""
) -> Response:
    svc = _services(request)
    opened = await run_in_threadpool(_open_context, svc, user, _filters(policy, address))
    return render(request, "responder/_open.html", user, **opened)


def _plan_graph(record: ResponseRecord) -> Any:
    states = {(a.phase, a.name): a.state for a in record.actions}
    phases = []
    for phase in policy_form.PHASES:
        actions = [
            GraphAction(
                name=str(a.get("name", "")),
                type=str(a.get("type", "")),
                depends_on=a.get("depends_on"),
                condition=str(a.get("condition", "always")),
                priority=int(a.get("priority", 100)),
                state=states.get((phase, str(a.get("name", "")))),
            )
            for a in record.plan.get(phase, [])
        ]
        phases.append(Phase(_phase_title(phase), actions))
    return action_graph(phases, label=f"Actions of response {record.id}")


@router.get("/responder/responses/{response_id}")
async def response_page(
    request: Request, response_id: str, user: Reader, closed: str = "", extended: str = ""
) -> Response:
    svc = _services(request)
    key = _number(response_id, "response")
    record = await run_in_threadpool(svc.policies.get_response, user.principal, key)
    return render(
        request,
        "responder/response.html",
        user,
        title=f"Response {record.id}",
        response=record,
        evidence=[_evidence(e) for e in record.evidence if isinstance(e, dict)],
        phases=policy_form.PHASES,
        phase_titles={p: _phase_title(p) for p in policy_form.PHASES},
        graph=_plan_graph(record),
        can_respond=user.can(Capability.RESPONDER_RESPOND) and svc.responder is not None,
        running=svc.responder is not None,
        closed=bool(closed),
        extended=bool(extended),
        tab="responses",
    )


def _back(sent: Any, response_id: int, done: str) -> RedirectResponse:
    """After Close or Extend: back to the page the button was on, saying what happened."""
    if sent.get("back") == "detail":
        return RedirectResponse(f"/responder/responses/{response_id}?{done}=1", status_code=303)
    return RedirectResponse(f"/responder/responses?{done}={response_id}", status_code=303)


def _not_running(request: Request) -> Response:
    return error_page(
        request,
        503,
        "The Responder is not running",
        "The Responder is not running in this server, so responses cannot be closed or "
        "extended here. Turn it on ([responder] enabled) and restart Garrison.",
    )


@router.post("/responder/responses/{response_id}/close")
async def close_response(request: Request, response_id: str, user: Operator) -> Response:
    svc = _services(request)
    key = _number(response_id, "response")
    if svc.responder is None:
        return _not_running(request)
    sent = await request.form()
    await svc.responder.close(key, actor=user.principal, reason=f"closed by {user.name}")
    return _back(sent, key, "closed")


@router.post("/responder/responses/{response_id}/extend")
async def extend_response(request: Request, response_id: str, user: Operator) -> Response:
    """Push the expiry out by the minutes given (from now, if it has passed already)."""
    svc = _services(request)
    key = _number(response_id, "response")
    if svc.responder is None:
        return _not_running(request)
    sent = await request.form()
    text = str(sent.get("minutes", "")).strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_EXTEND_MINUTES:
        raise Invalid(
            f"Minutes to add: a whole number from 1 to {MAX_EXTEND_MINUTES:,} (ten years)."
        )
    record = await run_in_threadpool(svc.policies.get_response, user.principal, key)
    if record.expires_at is None:
        raise Invalid(f"response {key} never expires: there is nothing to extend")
    # Times read from the store are aware (UTC).
    until = max(record.expires_at, datetime.now(UTC)) + timedelta(minutes=int(text))
    await svc.responder.extend(key, until=until, actor=user.principal)
    return _back(sent, key, "extended")
