"""Every error becomes JSON ``{"error": {"code", "message", "details"}}`` and a log line."""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from garrison.errors import Conflict, Forbidden, GarrisonError, Invalid, NotFound, Unauthorized

log = logging.getLogger("garrison.api")

STATUS_OF: dict[type[GarrisonError], int] = {
    NotFound: 404,
    Conflict: 409,
    Invalid: 422,
    Unauthorized: 401,
    Forbidden: 403,
}


def error_response(
    status: int, code: str, message: str, details: list[dict[str, object]] | None = None
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details}}
    headers = {"WWW-Authenticate": 'Bearer realm="garrison"'} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def _code(status: int) -> str:
    return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")


async def _garrison_error(request: Request, exc: Exception) -> JSONResponse:
    status = next((s for kind, s in STATUS_OF.items() if isinstance(exc, kind)), None)
    if status is None:
        status = getattr(exc, "status", 400)
    log.info("%s %s -> %d: %s", request.method, request.url.path, status, exc)
    return error_response(status, _code(status), str(exc))


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    details = [
        {
            "location": ".".join(str(p) for p in err["loc"]),
            "message": err["msg"],
            "type": err["type"],
        }
        for err in exc.errors()
    ]
    summary = "; ".join(f"{d['location']}: {d['message']}" for d in details)
    log.info("%s %s -> 422: %s", request.method, request.url.path, summary)
    return error_response(422, "validation_error", f"invalid request: {summary}", details)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    log.info("%s %s -> %d: %s", request.method, request.url.path, exc.status_code, exc.detail)
    return error_response(exc.status_code, _code(exc.status_code), str(exc.detail))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("%s %s -> 500", request.method, request.url.path)
    return error_response(500, "internal_error", "internal error; the server log has the details")


def install(app: FastAPI) -> None:
    app.add_exception_handler(GarrisonError, _garrison_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
