"""``/taxii/...``: STIX/TAXII 2.0 feeding the reputation store (facts sheet §1.2).

The one Web service that answers JSON (``application/vnd.oasis.taxii+json; version=2.0``),
its errors included: TAXII error messages with ``title``, ``description`` and
``http_status``. Its paths are a tree of resources, so one catch-all handler serves them
all; the framework has already dropped trailing slashes and collapsed ``//``::

    GET  /taxii/                                     discovery
    GET  /taxii/feeds/                               the API root
    GET  /taxii/feeds/collections/                   the one collection (can_write false)
    GET  /taxii/feeds/collections/<id>/              that collection (can_write true)
    POST /taxii/feeds/collections/<id>/objects/      a STIX 2.0 bundle -> 202 + status
    GET  /taxii/feeds/status/<status-id>/            the status of an earlier POST
    GET  .../objects/, .../objects/<id>/, .../manifest/   always 404, as on the SMS

A read resource answers POST as GET (tolerance rule 1: GET and POST on every path).
Credentials, the capability check and the audit row are the framework's, as for every
Web service. docs/webservices/taxii.md has the details.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from garrison.errors import GarrisonError
from garrison.stix import resources
from garrison.stix.bundle import BundleError, parse_bundle
from garrison.stix.importer import Outcome, import_decisions
from garrison.stix.status import Status, StatusBoard
from garrison.store.models import utcnow
from garrison.webservices.responses import status_of

if TYPE_CHECKING:
    from garrison.auth import Principal
    from garrison.reputation.service import ReputationService
    from garrison.webservices.app import Call, Handler

log = logging.getLogger("garrison.webservices.taxii")

STATE_KEY = "taxii_statuses"  # the app.state attribute holding this server's StatusBoard
NOT_SERVED = (
    "this server does not serve STIX objects for reading; POST bundles to "
    "/taxii/feeds/collections/{id}/objects/"
)


class TaxiiError(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def taxii_json(body: dict[str, Any], status: int = 200) -> Response:
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
    return Response(text, status_code=status, media_type=resources.TAXII_MEDIA_TYPE)


def error_answer(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """A TAXII error message as an answer (also for the shared layer's 401/403/405, should
    it ask each service how to word its errors)."""
    answer = taxii_json(resources.error(status, message), status)
    answer.headers.update(headers or {})
    return answer


def _host(call: Call) -> str:
    host = call.request.headers.get("host", "").strip()
    if host:
        return host
    server = call.request.scope.get("server") or ("localhost", 443)
    return f"{server[0]}:{server[1]}"


def _board(call: Call) -> StatusBoard:
    state = call.request.app.state
    board: StatusBoard | None = getattr(state, STATE_KEY, None)
    if board is None:
        board = StatusBoard()
        setattr(state, STATE_KEY, board)
    return board


def _check_collection(call: Call, given: str) -> None:
    if given.lower() != resources.COLLECTION_ID:
        raise TaxiiError(
            404, f"no collection {given[:64]!r}; this server has {resources.COLLECTION_ID}"
        )
    call.target = f"collection:{resources.COLLECTION_ID}"


async def serve(call: Call) -> Response:
    """Every ``/taxii`` path: the resource it names, or a TAXII error."""
    # The audit action is cut at 64 characters, which a collection id overruns: the row
    # keeps the whole path here.
    call.detail["resource"] = str(call.request.scope["path"])[:255]
    try:
        return await _dispatch(call)
    except TaxiiError as exc:
        status, description = exc.status, exc.description
    except GarrisonError as exc:  # Forbidden (403) from the reputation service, mostly
        status, description = status_of(exc), str(exc)
    except Exception:
        log.exception("TAXII %s failed", call.request.scope.get("path"))
        status, description = 500, "internal error; the server log has the details"
    call.detail["reason"] = description
    return error_answer(status, description)


async def _dispatch(call: Call) -> Response:
    parts = str(call.request.scope["path"]).strip("/").split("/")[1:]
    verb = call.request.method
    match parts:
        case []:
            return taxii_json(resources.discovery(_host(call)))
        case [resources.API_ROOT]:
            return taxii_json(resources.api_root())
        case [resources.API_ROOT, "collections"]:
            return taxii_json(resources.collections())
        case [resources.API_ROOT, "collections", given]:
            _check_collection(call, given)
            return taxii_json(resources.collection(can_write=True))
        case [resources.API_ROOT, "collections", given, "objects"] if verb == "POST":
            _check_collection(call, given)
            return await _post_objects(call)
        case [resources.API_ROOT, "collections", given, "objects" | "manifest", *_]:
            _check_collection(call, given)
            raise TaxiiError(404, NOT_SERVED.format(id=resources.COLLECTION_ID))
        case [resources.API_ROOT, "status", status_id]:
            return _status(call, status_id)
    raise TaxiiError(404, f"no TAXII resource at {str(call.request.scope['path'])[:200]}/")


def _status(call: Call, status_id: str) -> Response:
    call.target = f"taxii-status:{status_id[:64]}"
    status = _board(call).get(status_id)
    if status is None:
        raise TaxiiError(
            404,
            f"no status {status_id[:64]!r}: unknown, or older than the newest statuses kept",
        )
    return taxii_json(status.to_json())


def _import(service: ReputationService, actor: Principal, body: bytes) -> Outcome:
    return import_decisions(service, actor, parse_bundle(body))


async def _post_objects(call: Call) -> Response:
    body = call.params.body
    if len(body) > resources.MAX_CONTENT_LENGTH:
        raise TaxiiError(
            413,
            f"the body is {len(body)} bytes; this API root takes at most "
            f"{resources.MAX_CONTENT_LENGTH} (max_content_length)",
        )
    problem = resources.stix_media_problem(call.request.headers.get("content-type", ""))
    if problem is not None:
        raise TaxiiError(415, problem)
    received = utcnow()
    try:
        outcome = await run_in_threadpool(_import, call.services.reputation, call.principal, body)
    except BundleError as exc:
        raise TaxiiError(400, str(exc)) from None
    status = Status(
        id=str(uuid.uuid4()),
        request_timestamp=received,
        successes=tuple(outcome.successes),
        failures=tuple(outcome.failures),
    )
    _board(call).add(status)
    call.detail.update(
        taxii_status=status.id,
        imported=outcome.imported,
        skipped=outcome.skipped,
        deleted=outcome.deleted,
        failed=len(outcome.failures),
    )
    return taxii_json(status.to_json(), 202)


METHODS: dict[str, Handler] = {"*": serve}
