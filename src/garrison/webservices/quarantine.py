"""``quarantine/quarantine`` and ``quarantine/unquarantine``: the Responder's Web service
trigger (facts sheet §1.2, "Active response").

    quarantine/quarantine?ip=ADDR&policy=NAME[&timeout=MINUTES]   -> 200 "<response id>"
    quarantine/unquarantine?ip=ADDR   or   ?id=RESPONSE_ID       -> 200 "<response id>" a line

The policy name is case-sensitive and the policy must allow "an SNMP Trap or Web Service
call to invoke this Policy"; ``timeout`` (whole minutes) overrides the policy's automatic
timeout. ``unquarantine`` ignores ``policy`` and ``timeout``. docs/webservices/quarantine.md has the
status codes and reasons.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from starlette.responses import Response

from garrison.auth import Principal
from garrison.errors import NotFound
from garrison.webservices.responses import WebServiceError, text

if TYPE_CHECKING:
    from garrison.webservices.app import Call

TRIGGER = "web-service"
# Ten years: long enough for "until someone releases it", short enough to stay a date.
MAX_TIMEOUT_MINUTES = 10 * 365 * 24 * 60


class ResponseLike(Protocol):
    """What these methods read of a `garrison.responder` response record."""

    id: int
    policy: str
    address: str
    state: str
    expires_at: datetime | None


class ResponderLike(Protocol):
    """The part of the Responder engine these methods call (`garrison.responder.engine`)."""

    async def open(
        self, *, policy: str, address: str, trigger: str, actor: Principal | None, **more: Any
    ) -> ResponseLike: ...

    async def close(
        self, response_id: int, *, actor: Principal | None, reason: str
    ) -> ResponseLike: ...

    async def close_host(
        self, address: str, *, actor: Principal | None, reason: str, **more: Any
    ) -> list[ResponseLike]: ...


def _shown(value: str) -> str:
    return repr(value if len(value) <= 64 else value[:64] + "...")


def parse_address(value: str | None) -> str:
    """A host's address, IPv4 or IPv6, in its canonical form."""
    if value is None:
        raise WebServiceError(400, "ip is required: the IPv4 or IPv6 address of the host")
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        raise WebServiceError(
            400, f"ip {_shown(value)} is not an IPv4 or IPv6 host address"
        ) from None


def parse_timeout(value: str | None) -> int | None:
    """Whole minutes from 1 to ten years; None (absent or blank) keeps the policy's."""
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) <= MAX_TIMEOUT_MINUTES:
        raise WebServiceError(
            400,
            f"timeout {_shown(value)} is not a whole number of minutes "
            f"from 1 to {MAX_TIMEOUT_MINUTES}",
        )
    return int(value)


def parse_response_id(value: str) -> int:
    if not value.isascii() or not value.isdigit() or not 1 <= int(value) < 2**63:
        raise WebServiceError(400, f"id {_shown(value)} is not a response id (a whole number)")
    return int(value)


def _responder(call: Call) -> ResponderLike:
    # Set by the engine while it runs; None when it is disabled or stopped.
    responder: ResponderLike | None = call.services.responder
    if responder is None:
        raise WebServiceError(412, "the Responder is not running")
    return responder


def _reason(call: Call, method: str) -> str:
    return f"Web service quarantine/{method} by {call.principal.username}"


async def quarantine(call: Call) -> Response:
    """Open a response for ``ip`` under ``policy``."""
    address = parse_address(call.params.single("ip"))
    call.target = f"address:{address}"
    policy = call.params.single("policy")
    if policy is None:
        raise WebServiceError(
            400, "policy is required: the name of a policy that Web service calls may invoke"
        )
    minutes = parse_timeout(call.params.single("timeout"))
    call.detail.update(policy=policy, timeout_minutes=minutes)
    responder = _responder(call)
    # Passing no timeout at all keeps the policy's, so no "keep" sentinel is needed here.
    timeout = {} if minutes is None else {"timeout_seconds": minutes * 60}
    try:
        record = await responder.open(
            policy=policy,
            address=address,
            trigger=TRIGGER,
            actor=call.principal,
            reason=_reason(call, "quarantine"),
            **timeout,
        )
    except NotFound as exc:  # the policy is a parameter: naming a wrong one is a bad request
        raise WebServiceError(400, str(exc)) from None
    call.detail["response"] = record.id
    return text(str(record.id))


async def unquarantine(call: Call) -> Response:
    """Close one response by ``id``, or every open response of ``ip``."""
    raw_ip, raw_id = call.params.single("ip"), call.params.single("id")
    if raw_ip is not None and raw_id is not None:
        raise WebServiceError(400, "give ip or id, not both")
    if raw_id is not None:
        response_id = parse_response_id(raw_id)
        call.target = f"response:{response_id}"
        responder = _responder(call)
        # An unknown id is an unknown resource: NotFound answers 404.
        record = await responder.close(
            response_id, actor=call.principal, reason=_reason(call, "unquarantine")
        )
        call.detail["responses"] = [record.id]
        return text(str(record.id))
    if raw_ip is None:
        raise WebServiceError(400, "ip or id is required: the host's address or a response id")
    address = parse_address(raw_ip)
    call.target = f"address:{address}"
    responder = _responder(call)
    records = await responder.close_host(
        address, actor=call.principal, reason=_reason(call, "unquarantine")
    )
    if not records:
        raise WebServiceError(404, f"no open response for {address}")
    call.detail["responses"] = [r.id for r in records]
    return text("\n".join(str(r.id) for r in records))


METHODS = {"quarantine": quarantine, "unquarantine": unquarantine}
