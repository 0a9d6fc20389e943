"""``virtualsegment/get|create|update|delete``: the SMS's virtual segments, every answer in
the ``smsResponse`` envelope (facts sheet §1.2 "Virtual segments").

    virtualsegment/get[?vs=NAME]                  -> every virtual segment (or one), in order
    virtualsegment/create     + <virtualSegment>  -> deviceResults
    virtualsegment/update?vs=NAME + <virtualSegment> -> deviceResults (NAME may be renamed)
    virtualsegment/delete?vs=NAME                 -> deviceResults

The document comes as the first file part of a multipart body under any field name, as a
form field whose value is XML (``curl -F 'file=<vs.xml'``), or as the raw body (``curl
--data-binary @vs.xml``, whatever its Content-Type). The result code says what went wrong
and sets the HTTP status (`ResultCode.http_status`); ``resultDetails`` then holds a
one-line reason. docs/webservices/virtualsegment.md has the whole contract.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from garrison.catalog import virtual_segment_xml as vsxml
from garrison.catalog.virtual_segment_xml import (
    DeviceResult,
    ResultCode,
    VirtualSegmentError,
    VirtualSegmentSpec,
)
from garrison.errors import Conflict, GarrisonError, Invalid, NotFound
from garrison.store.virtual_segments import Change, Placement, VirtualSegments
from garrison.webservices import responses
from garrison.webservices.params import FORM, MULTIPART, ParamError, media_type

if TYPE_CHECKING:
    from garrison.webservices.app import Call, Handler

log = logging.getLogger("garrison.webservices.virtualsegment")

NAME_PARAM = "vs"
TARGET = "virtual-segment:"
_BOM = b"\xef\xbb\xbf"

# What the store's errors are, as result codes.
CODE_OF: tuple[tuple[type[Exception], ResultCode], ...] = (
    (NotFound, ResultCode.RESOURCE),
    (Conflict, ResultCode.OPERATION),
    (Invalid, ResultCode.VALIDATION),
    (ParamError, ResultCode.MISSING_PARAMETER),
    (GarrisonError, ResultCode.OPERATION),
)


def answer(operation: str, code: ResultCode, details: ET.Element | str | None = None) -> Response:
    return responses.xml(vsxml.envelope(operation, code, details), status=code.http_status)


def error_answer(operation: str, status: int, message: str) -> Response:
    """The envelope for an error the framework finds before a method runs (bad or missing
    credentials, no Web services capability, an unknown method), so that callers who read
    ``resultCode`` see one there too."""
    code = {
        401: ResultCode.AUTHENTICATION,
        403: ResultCode.AUTHENTICATION,
        400: ResultCode.MISSING_PARAMETER,
        500: ResultCode.UNEXPECTED,
    }.get(status, ResultCode.OPERATION)
    response = answer(operation, code, message)
    response.status_code = status  # the framework's status stands (401 keeps its challenge)
    return response


def _looks_like_xml(data: bytes | str) -> bool:
    raw = data.encode("utf-8", "replace") if isinstance(data, str) else data
    return raw.lstrip().removeprefix(_BOM).lstrip().startswith(b"<")


def document_of(call: Call, operation: str) -> bytes:
    """The uploaded ``<virtualSegment>`` document: a file part, an XML form field, or the
    raw body."""
    upload = call.params.first_file()
    if upload is not None:
        return upload.data
    body = call.params.body
    kind = media_type(call.request.headers.get("content-type", ""))
    if body.strip() and (kind not in (FORM, MULTIPART) or _looks_like_xml(body)):
        return body
    field = next((v for _, v in call.params.pairs if _looks_like_xml(v)), None)
    if field is not None:
        return field.encode("utf-8")
    raise VirtualSegmentError(
        ResultCode.MISSING_PARAMETER,
        f"{operation} needs a <virtualSegment> XML document: upload it as a multipart file "
        "(curl -F file=@vs.xml) or send it as the request body",
    )


def required_name(call: Call, operation: str) -> str:
    name = call.params.single(NAME_PARAM)
    if name is None:
        raise VirtualSegmentError(
            ResultCode.MISSING_PARAMETER,
            f"{operation} needs {NAME_PARAM}=<name of the virtual segment>",
        )
    return name


def device_results(now: Iterable[Placement], before: Iterable[Placement]) -> ET.Element:
    """One ``deviceResult`` a device the segment is on now or was on before, saying which
    physical segments it was assigned to and which it left."""
    messages: dict[int, tuple[str, list[str]]] = {}
    placed: dict[int, set[str]] = {}
    for placement in now:
        placed[placement.device_id] = set(placement.segments)
        lines = messages.setdefault(placement.device_id, (placement.device_name, []))[1]
        lines.extend(f"assigned to {segment}" for segment in placement.segments)
    for placement in before:
        gone = [s for s in placement.segments if s not in placed.get(placement.device_id, ())]
        if gone:
            lines = messages.setdefault(placement.device_id, (placement.device_name, []))[1]
            lines.extend(f"removed from {segment}" for segment in gone)
    return vsxml.device_results(
        DeviceResult(name, True, tuple(lines)) for name, lines in messages.values()
    )


def _failure(exc: Exception, operation: str) -> tuple[ResultCode, str]:
    if isinstance(exc, VirtualSegmentError):
        return exc.code, exc.message
    code = next((c for kind, c in CODE_OF if isinstance(exc, kind)), None)
    if code is not None:
        return code, str(exc)
    log.exception("virtualsegment/%s failed", operation)
    return ResultCode.UNEXPECTED, responses.INTERNAL_ERROR


Body = Callable[["Call"], Awaitable[ET.Element]]


def _operation(operation: str, body: Body) -> Handler:
    """A method: run ``body``, answer its details in the envelope, or the failure's code."""

    async def handler(call: Call) -> Response:
        call.detail["operation"] = operation
        try:
            details = await body(call)
        except Exception as exc:
            code, message = _failure(exc, operation)
            call.detail.update(result_code=int(code), reason=message)
            return answer(operation, code, message)
        call.detail["result_code"] = int(ResultCode.OK)
        return answer(operation, ResultCode.OK, details)

    return handler


async def _change(call: Call, work: Callable[[VirtualSegments], Change]) -> Change:
    store = call.services.store

    def run() -> Change:
        with store.write_turn(), store.transaction() as tx:
            return work(VirtualSegments(tx.session))

    return await run_in_threadpool(run)


def _spec(call: Call, operation: str) -> VirtualSegmentSpec:
    spec = vsxml.parse_virtual_segment(document_of(call, operation))
    call.detail["name"] = spec.name
    return spec


async def get(call: Call) -> ET.Element:
    name = call.params.single(NAME_PARAM)
    call.target = TARGET + (name if name is not None else "*")

    def read() -> list[VirtualSegmentSpec]:
        with call.services.store.transaction() as tx:
            segments = VirtualSegments(tx.session)
            records = segments.list() if name is None else [segments.get(name)]
        return [record.spec() for record in records]

    specs = await run_in_threadpool(read)
    try:
        return vsxml.get_details(specs)
    except Exception as exc:
        log.exception("virtualsegment/get could not write its answer")
        raise VirtualSegmentError(
            ResultCode.OUTPUT_FILE, "the answer could not be written; the server log has why"
        ) from exc


async def create(call: Call) -> ET.Element:
    spec = _spec(call, "create")
    call.target = TARGET + spec.name
    change = await _change(call, lambda segments: segments.create(spec))
    return device_results(change.record.placements, ())


async def update(call: Call) -> ET.Element:
    name = required_name(call, "update")
    call.target = TARGET + name
    spec = _spec(call, "update")
    change = await _change(call, lambda segments: segments.update(name, spec))
    return device_results(change.record.placements, change.previous)


async def delete(call: Call) -> ET.Element:
    name = required_name(call, "delete")
    call.target = TARGET + name
    change = await _change(call, lambda segments: segments.delete(name))
    return device_results((), change.previous)


METHODS: dict[str, Handler] = {
    "get": _operation("get", get),
    "create": _operation("create", create),
    "update": _operation("update", update),
    "delete": _operation("delete", delete),
}
