"""The answers of the Web services: text, CSV and XML bodies with the SMS's content types,
and errors as one line of text with the SMS's status codes (never JSON: that is TAXII's
alone, tolerance rule 5).

Status codes (facts sheet §0): 400 malformed request, 401 missing or bad credentials,
403 no Web services capability, 404 unknown resource, 412 precondition failed (the request
is sound but the server cannot do it now), 500 an unexpected error. Garrison adds only
405 for a verb other than GET and POST.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import AsyncIterable, Iterable

from starlette.responses import Response, StreamingResponse

from garrison.errors import Conflict, Forbidden, GarrisonError, Invalid, NotFound, Unauthorized

TEXT = "text/plain; charset=utf-8"
CSV = "text/csv; charset=utf-8"
XML = "text/xml; charset=utf-8"
INTERNAL_ERROR = "internal error; the server log has the details"

# How the errors of Garrison's services read to a Web services caller. A handler that
# knows better (an unknown policy named in a parameter is a bad request, not a missing
# resource) catches the error and raises WebServiceError itself.
STATUS_OF: tuple[tuple[type[GarrisonError], int], ...] = (
    (Invalid, 400),
    (Unauthorized, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 412),
)


class WebServiceError(Exception):
    """An answer other than success: ``status`` and a one-line reason for the caller."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def status_of(error: GarrisonError) -> int:
    return next((status for kind, status in STATUS_OF if isinstance(error, kind)), 400)


def one_line(message: str) -> str:
    return " ".join(message.split()) or "error"


def text(body: str, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A text/plain answer; the body ends with a newline, as a shell user expects."""
    if body and not body.endswith("\n"):
        body += "\n"
    return Response(body, status_code=status, media_type=TEXT, headers=headers)


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return text(one_line(message), status=status, headers=headers)


def csv(content: str | Iterable[str] | AsyncIterable[str], status: int = 200) -> Response:
    """A text/csv answer; an iterable of chunks is streamed, never held whole in memory."""
    if isinstance(content, str):
        return Response(content, status_code=status, media_type=CSV)
    return StreamingResponse(content, status_code=status, media_type=CSV)


def xml(document: ET.Element | str | bytes, status: int = 200, media_type: str = XML) -> Response:
    """An XML answer (text/xml by default; pass ``application/xml`` where the SMS uses it).
    An element is serialised with its XML declaration."""
    if isinstance(document, ET.Element):
        document = ET.tostring(document, encoding="utf-8", xml_declaration=True)
    return Response(document, status_code=status, media_type=media_type)
