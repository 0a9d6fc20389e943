"""The SMS Web services on the HTTPS listener, beside ``/api/v1``.

`WebServices` is an ASGI middleware inside the FastAPI app: a request whose first path
segment names an SMS service (``/quarantine/...``, ``/repEntries/...``; see
`paths.SMS_SERVICES`) is served here, every other request goes on to FastAPI untouched.
A middleware rather than a mounted router, because sloppy paths (``//quarantine/...``,
``quarantine/quarantine&ip=...``) must be recognised before any routing, and because
these paths must stay out of the OpenAPI document.

Every call: normalise the path (the scope is rewritten in place, so the access log and
the metrics see ``/quarantine/quarantine`` and never the credentials of a ``&`` tail),
read the body (bounded), merge the parameters, authenticate (401), authorize (403), find
the method (404), run it, and write one audit row, action ``webservices.<service>.<method>``,
before the answer leaves, so a caller that sees the answer can see the row. Any
unexpected exception is a 500 with a one-line text body; the traceback goes to the log.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from garrison.auth import Principal
from garrison.errors import GarrisonError, Unauthorized
from garrison.services import Services
from garrison.webservices import (
    auth,
    dbaccess,
    device_admin,
    pcaps,
    profiles,
    quarantine,
    reputation,
    responses,
    sms_admin,
    taxii,
    virtual_segments,
    vulnscanner,
)
from garrison.webservices.params import ParamError, Params, parse
from garrison.webservices.paths import ServletPath, is_servlet_path, normalise
from garrison.webservices.responses import WebServiceError

log = logging.getLogger("garrison.webservices")

# The SMS takes multi-megabyte uploads (vulnerability scans, reputation imports); a body
# larger than this is refused before it is held in memory.
MAX_BODY_BYTES = 100 * 1024 * 1024
VERBS = ("GET", "POST")
ANONYMOUS = "anonymous"


@dataclass
class Call:
    """One Web service call, as a method handler sees it. A handler names what it acted on
    in ``target`` (``address:10.0.0.5``) and adds to ``detail``; both go to the audit log."""

    request: Request
    params: Params
    principal: Principal
    services: Services
    target: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[Call], Awaitable[Response]]

# service -> method -> handler: one line a service. A service whose methods are a tree of
# resources rather than a flat list (TAXII) names a catch-all handler under "*".
SERVICES: dict[str, dict[str, Handler]] = {
    "quarantine": quarantine.METHODS,
    "repEntries": reputation.METHODS,
    "taxii": taxii.METHODS,
    "dbAccess": dbaccess.METHODS,
    "vulnscanner": vulnscanner.METHODS,
    "pcaps": pcaps.METHODS,
    "deviceAdmin": device_admin.METHODS,
    "smsAdmin": sms_admin.METHODS,
    "virtualsegment": virtual_segments.METHODS,
    "ipsProfileMgmt": profiles.METHODS,
}
CATCH_ALL = "*"

ErrorAnswer = Callable[[ServletPath, int, str, "dict[str, str] | None"], Response]


def _taxii_error(
    path: ServletPath, status: int, message: str, headers: dict[str, str] | None
) -> Response:
    return taxii.error_answer(status, message, headers)


def _virtual_segment_error(
    path: ServletPath, status: int, message: str, headers: dict[str, str] | None
) -> Response:
    answer = virtual_segments.error_answer(path.method or "-", status, responses.one_line(message))
    answer.headers.update(headers or {})
    return answer


# How a service words the errors found before its method runs (credentials, capability,
# an unknown method), where not as one line of text: TAXII answers JSON, and
# virtualsegment callers read every answer's smsResponse envelope.
ERROR_ANSWERS: dict[str, ErrorAnswer] = {
    "taxii": _taxii_error,
    "virtualsegment": _virtual_segment_error,
}


@dataclass
class _Trail:
    """The audit row of a call in the making."""

    action: str
    actor: str = ANONYMOUS
    target: str = ""
    detail: dict[str, Any] = field(default_factory=dict)


def _handler(path: ServletPath) -> Handler | None:
    methods = SERVICES.get(path.service, {})
    return methods.get(path.method) or methods.get(CATCH_ALL)


def _error(
    path: ServletPath, status: int, message: str, headers: dict[str, str] | None = None
) -> Response:
    shaped = ERROR_ANSWERS.get(path.service)
    if shaped is None:
        return responses.error(status, message, headers=headers)
    return shaped(path, status, message, headers)


def _action(path: ServletPath) -> str:
    method = path.method.replace("/", ".") or "-"
    return f"webservices.{path.service}.{method}"[:64]


class WebServices:
    """Serves the SMS servlet paths; passes every other request to ``app``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
        path = normalise(raw_path.partition(b"?")[0], scope.get("query_string", b""))
        if not is_servlet_path(path):
            await self.app(scope, receive, send)
            return
        # In place, as Starlette's router does: the outer middleware logs and counts this.
        scope["path"] = path.path
        scope["raw_path"] = quote(path.path).encode("ascii")
        scope["query_string"] = path.query
        handler = _handler(path)
        if handler is not None:
            scope["endpoint"] = handler  # the metrics label, bounded by the handlers
        request = Request(scope, receive)
        trail = _Trail(action=_action(path))
        try:
            answer = await self._answer(request, path, handler, trail)
        except Exception:
            log.exception("Web service %s failed", path.path)
            trail.detail["reason"] = "internal error"
            answer = _error(path, 500, responses.INTERNAL_ERROR)
        await self._audit(request, trail, answer.status_code)
        await answer(scope, receive, send)

    async def _answer(
        self, request: Request, path: ServletPath, handler: Handler | None, trail: _Trail
    ) -> Response:
        svc: Services = request.app.state.services
        client = request.client.host if request.client else ""
        try:
            if request.method not in VERBS:
                raise WebServiceError(405, f"{request.method} is not served here; use GET or POST")
            body = await _read_body(request)
            params = parse(path.query, request.headers.get("content-type", ""), body)
            # Whom the caller claims to be, for the audit row even of malformed credentials.
            trail.actor = (params.get(auth.USER_PARAM) or ANONYMOUS)[:64]
            credentials = auth.credentials_of(
                request.headers.getlist("authorization"),
                request.headers.getlist(auth.API_KEY_HEADER),
                params,
            )
            trail.actor = (credentials.claimed_user or ANONYMOUS)[:64]
            try:
                principal = await run_in_threadpool(
                    auth.authenticate, svc.auth, credentials, client
                )
            except Unauthorized as exc:
                svc.metrics.auth_failures.labels(reason=str(exc).split(":")[0][:40]).inc()
                raise
            trail.actor = principal.username
            auth.authorize(principal)
            if handler is None:
                raise WebServiceError(404, _unknown(path))
            call = Call(request=request, params=params, principal=principal, services=svc)
            try:
                return await handler(call)
            finally:
                trail.target, trail.detail = call.target, call.detail
        except Unauthorized as exc:
            trail.detail["reason"] = str(exc)
            return _error(path, 401, str(exc), headers=auth.CHALLENGE)
        except GarrisonError as exc:
            trail.detail["reason"] = str(exc)
            return _error(path, responses.status_of(exc), str(exc))
        except ParamError as exc:
            trail.detail["reason"] = str(exc)
            return _error(path, 400, str(exc))
        except WebServiceError as exc:
            trail.detail["reason"] = exc.message
            headers = {"Allow": ", ".join(VERBS)} if exc.status == 405 else None
            return _error(path, exc.status, exc.message, headers=headers)

    async def _audit(self, request: Request, trail: _Trail, status: int) -> None:
        svc: Services = request.app.state.services
        detail = {"status": status, "method": request.method, **trail.detail}
        client = request.client.host if request.client else ""

        def write() -> None:
            with svc.store.transaction() as tx:
                tx.audit.add(
                    actor=trail.actor,
                    action=trail.action,
                    target=trail.target[:255],
                    outcome="success" if status < 400 else "failure",
                    client_address=client[:64],
                    detail=json.dumps(detail, default=str),
                )

        try:
            await run_in_threadpool(write)
        except Exception:  # the call's answer still goes out; the log says what was lost
            log.exception("could not write the audit row of %s", trail.action)


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise WebServiceError(400, f"request body over the {MAX_BODY_BYTES // 2**20} MiB limit")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise WebServiceError(400, f"request body over the {MAX_BODY_BYTES // 2**20} MiB limit")
        chunks.append(chunk)
    return b"".join(chunks)


def _unknown(path: ServletPath) -> str:
    if not path.method:
        return f"{path.service} needs a method: /{path.service}/<method>"
    known = ", ".join(sorted(set(SERVICES.get(path.service, {})) - {CATCH_ALL}))
    offered = f"; it offers {known}" if known else "; it is not available in this release"
    return f"no Web service method {path.service}/{path.method}{offered}"


def mount(app: FastAPI) -> None:
    """Serve the SMS Web services in ``app`` (call before the outermost middleware is added,
    so that one logs and counts these calls too)."""
    app.add_middleware(WebServices)
