"""The Responder over REST: policies (create, read, change, delete), the action types a
policy may use, and responses (list, read, open by hand, close, extend).

Opening, closing and extending need the running engine; the local CLI and a server whose
Responder is off answer 503 for those, and reads still work.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from garrison.api.deps import CurrentPrincipal, services
from garrison.api.routes import PathId, error_responses
from garrison.api.schemas import Request as Body
from garrison.auth import Capability
from garrison.errors import GarrisonError, Invalid
from garrison.responder.actions.registry import action_types
from garrison.responder.policy import PolicySpec
from garrison.services import Services
from garrison.store.responder import PolicyRecord, ResponseActionRecord, ResponseRecord

router = APIRouter(tags=["responder"])

MAX_TIMEOUT_SECONDS = 3650 * 86400


class ResponderNotRunning(GarrisonError):
    """The engine is not running in this process."""

    status = 503


class PolicyOut(BaseModel):
    id: int
    name: str
    builtin: bool
    enabled: bool
    created_at: datetime
    updated_at: datetime
    policy: PolicySpec

    @classmethod
    def of(cls, record: PolicyRecord) -> PolicyOut:
        return cls(
            id=record.id,
            name=record.name,
            builtin=record.builtin,
            enabled=record.enabled,
            created_at=record.created_at,
            updated_at=record.updated_at,
            policy=PolicySpec.model_validate(record.document),
        )


class ActionTypeOut(BaseModel):
    type: str
    title: str
    settings_schema: dict[str, Any]


class ActionOut(BaseModel):
    phase: str
    name: str
    type: str
    state: str = Field(description="pending, running, succeeded, failed or skipped")
    attempts: int
    detail: str
    started_at: datetime | None
    finished_at: datetime | None

    @classmethod
    def of(cls, record: ResponseActionRecord) -> ActionOut:
        return cls(
            phase=record.phase,
            name=record.name,
            type=record.kind,
            state=record.state,
            attempts=record.attempts,
            detail=record.detail,
            started_at=record.started_at,
            finished_at=record.finished_at,
        )


class ResponseOut(BaseModel):
    id: int = Field(description="the Response History ID (quarantine/unquarantine?id=)")
    policy: str
    address: str
    mac: str
    user: str
    trigger: str
    authority: str
    reason: str
    state: str = Field(description="open, closing or closed")
    host_state: str = Field(description="INITIAL, QUARANTINED, UNQUARANTINED or ERROR")
    opened_at: datetime
    expires_at: datetime | None
    closed_at: datetime | None
    close_reason: str
    updated_at: datetime
    evidence: list[dict[str, Any]]
    actions: list[ActionOut]

    @classmethod
    def of(cls, record: ResponseRecord) -> ResponseOut:
        return cls(
            id=record.id,
            policy=record.policy,
            address=record.address,
            mac=record.mac,
            user=record.user,
            trigger=record.trigger,
            authority=record.authority,
            reason=record.reason,
            state=record.state,
            host_state=record.host_state,
            opened_at=record.opened_at,
            expires_at=record.expires_at,
            closed_at=record.closed_at,
            close_reason=record.close_reason,
            updated_at=record.updated_at,
            evidence=record.evidence,
            actions=[ActionOut.of(a) for a in record.actions],
        )


class ResponseOpen(Body):
    policy: str = Field("Default Response", min_length=1, max_length=128)
    address: str = Field(min_length=2, max_length=45, examples=["203.0.113.9"])
    mac: str = Field("", max_length=17)
    user: str = Field("", max_length=255)
    reason: str = Field("", max_length=1000)
    timeout_seconds: int | None = Field(
        None, ge=1, le=MAX_TIMEOUT_SECONDS, description="overrides the policy's timeout"
    )


class ResponseClose(Body):
    reason: str = Field("closed by hand", min_length=1, max_length=255)


class ResponseExtend(Body):
    until: datetime | None = Field(None, description="new expiry, with a time zone")
    seconds: int | None = Field(
        None, ge=1, le=MAX_TIMEOUT_SECONDS, description="or: expire this long from now"
    )


def _engine(svc: Services) -> Any:
    if svc.responder is None:
        raise ResponderNotRunning("the Responder is not running in this server")
    return svc.responder


async def _reload(svc: Services) -> None:
    if svc.responder is not None:
        await svc.responder.reload_policies()


# -- policies ---------------------------------------------------------------------------


@router.get("/responder/policies", response_model=list[PolicyOut], responses=error_responses(403))
def list_policies(
    principal: CurrentPrincipal, svc: Services = Depends(services)
) -> list[PolicyOut]:
    return [PolicyOut.of(p) for p in svc.policies.list_policies(principal)]


@router.post(
    "/responder/policies",
    response_model=PolicyOut,
    status_code=201,
    responses=error_responses(403, 409),
)
async def create_policy(
    body: PolicySpec, principal: CurrentPrincipal, request: Request
) -> PolicyOut:
    """Create a policy. Every rule is checked first: address sets, the threshold filter,
    each action's settings and templates, and the action graph (no cycles, no unknown
    dependency)."""
    svc = services(request)
    document = body.model_dump(mode="json")
    record = await asyncio.to_thread(svc.policies.create_policy, principal, document)
    await _reload(svc)
    return PolicyOut.of(record)


@router.get(
    "/responder/policies/{policy_id}",
    response_model=PolicyOut,
    responses=error_responses(403, 404),
)
def get_policy(
    policy_id: PathId, principal: CurrentPrincipal, svc: Services = Depends(services)
) -> PolicyOut:
    return PolicyOut.of(svc.policies.get_policy(principal, policy_id))


@router.put(
    "/responder/policies/{policy_id}",
    response_model=PolicyOut,
    responses=error_responses(403, 404, 409),
)
async def replace_policy(
    policy_id: PathId, body: PolicySpec, principal: CurrentPrincipal, request: Request
) -> PolicyOut:
    """Replace the policy. Open responses keep the actions they opened with."""
    svc = services(request)
    document = body.model_dump(mode="json")
    record = await asyncio.to_thread(svc.policies.update_policy, principal, policy_id, document)
    await _reload(svc)
    return PolicyOut.of(record)


@router.delete(
    "/responder/policies/{policy_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(403, 404, 409),
)
async def delete_policy(
    policy_id: PathId, principal: CurrentPrincipal, request: Request
) -> Response:
    """Delete a policy without open responses (the built-in one cannot be deleted)."""
    svc = services(request)
    await asyncio.to_thread(svc.policies.delete_policy, principal, policy_id)
    await _reload(svc)
    return Response(status_code=204)


@router.get(
    "/responder/action-types",
    response_model=list[ActionTypeOut],
    responses=error_responses(403),
)
def list_action_types(principal: CurrentPrincipal) -> list[ActionTypeOut]:
    """The action types a policy may use, with the JSON schema of their settings."""
    principal.require(Capability.RESPONDER_READ)
    return [
        ActionTypeOut(type=kind, title=t.title, settings_schema=t.config_type.model_json_schema())
        for kind, t in sorted(action_types().items())
    ]


# -- responses --------------------------------------------------------------------------


@router.get("/responses", response_model=list[ResponseOut], responses=error_responses(403))
def list_responses(
    principal: CurrentPrincipal,
    svc: Services = Depends(services),
    state: list[str] = Query(default=[], description="open, closing, closed; several allowed"),
    policy: str | None = Query(None, max_length=128),
    address: str | None = Query(None, max_length=45),
    trigger: str | None = Query(
        None, max_length=16, description="threshold, manual, web-service, nms-trap, escalation"
    ),
    since: datetime | None = Query(None, description="opened at or after"),
    until: datetime | None = Query(None, description="opened before"),
    offset: int = Query(0, ge=0, le=10_000_000),
    limit: int = Query(100, ge=1, le=1000),
) -> list[ResponseOut]:
    """Newest first."""
    for value in (since, until):
        if value is not None and value.tzinfo is None:
            raise Invalid("since and until need a time zone, e.g. 2027-01-01T00:00:00Z")
    records = svc.policies.list_responses(
        principal,
        states=state,
        policy=policy,
        address=address,
        trigger=trigger,
        since=since,
        until=until,
        offset=offset,
        limit=limit,
    )
    return [ResponseOut.of(r) for r in records]


@router.post(
    "/responses",
    response_model=ResponseOut,
    status_code=201,
    responses=error_responses(403, 404, 409, 503),
)
async def open_response(
    body: ResponseOpen, principal: CurrentPrincipal, request: Request
) -> ResponseOut:
    """Open a response by hand (the SMS's *Create Manual Response*); the policy must allow
    manual responses. If the address already has an open response under the policy, the
    policy's retrigger rule applies and that response is returned."""
    svc = services(request)
    engine = _engine(svc)
    options: dict[str, Any] = {}
    if body.timeout_seconds is not None:
        options["timeout_seconds"] = body.timeout_seconds
    record = await engine.open(
        policy=body.policy,
        address=body.address,
        trigger="manual",
        actor=principal,
        mac=body.mac,
        user=body.user,
        reason=body.reason or f"opened by {principal.username}",
        **options,
    )
    return ResponseOut.of(record)


@router.get(
    "/responses/{response_id}", response_model=ResponseOut, responses=error_responses(403, 404)
)
def get_response(
    response_id: PathId, principal: CurrentPrincipal, svc: Services = Depends(services)
) -> ResponseOut:
    return ResponseOut.of(svc.policies.get_response(principal, response_id))


@router.post(
    "/responses/{response_id}/close",
    response_model=ResponseOut,
    responses=error_responses(403, 404, 503),
)
async def close_response(
    response_id: PathId, principal: CurrentPrincipal, request: Request, body: ResponseClose
) -> ResponseOut:
    """Close the response now: its timeout actions run. Closing one that is not open
    changes nothing."""
    engine = _engine(services(request))
    record = await engine.close(response_id, actor=principal, reason=body.reason)
    return ResponseOut.of(record)


@router.post(
    "/responses/{response_id}/extend",
    response_model=ResponseOut,
    responses=error_responses(403, 404, 409, 503),
)
async def extend_response(
    response_id: PathId, principal: CurrentPrincipal, request: Request, body: ResponseExtend
) -> ResponseOut:
    """Move the response's expiry: to ``until``, or ``seconds`` from now."""
    if (body.until is None) == (body.seconds is None):
        raise Invalid("give exactly one of until and seconds")
    until = body.until or datetime.now().astimezone() + timedelta(seconds=body.seconds or 0)
    engine = _engine(services(request))
    record = await engine.extend(response_id, until=until, actor=principal)
    return ResponseOut.of(record)
