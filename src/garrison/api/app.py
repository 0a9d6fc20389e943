"""The FastAPI application: /api/v1 (REST, OpenAPI) and /metrics."""

from __future__ import annotations

import logging
import time

from fastapi import APIRouter, Depends, FastAPI, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from garrison import __version__
from garrison.api import errors
from garrison.api.deps import require, services
from garrison.api.routes import (
    api_keys,
    audit,
    devices,
    error_responses,
    events,
    reputation,
    responder,
    session,
    system,
    users,
    vulnerabilities,
)
from garrison.auth import Capability
from garrison.services import Services
from garrison.web import app as console
from garrison.webservices import app as webservices

API_PREFIX = "/api/v1"
log = logging.getLogger("garrison.http")


class ObserveRequests:
    """Counts and times every request and logs one line for it. The query string is
    never logged: SMS clients put credentials there."""

    def __init__(self, app: ASGIApp, services: Services, listener: str) -> None:
        self.app = app
        self.metrics = services.metrics
        self.listener = listener

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            elapsed = time.perf_counter() - started
            # The handler's name, not the raw path, keeps label cardinality bounded.
            endpoint = scope.get("endpoint")
            handler = getattr(endpoint, "__name__", "unmatched")
            self.metrics.http_requests.labels(
                self.listener, scope["method"], handler, str(status)
            ).inc()
            self.metrics.http_duration.labels(self.listener, handler).observe(elapsed)
            client = scope.get("client") or ("-", 0)
            log.info(
                "%s %s %s %d %.1fms",
                client[0],
                scope["method"],
                scope["path"],
                status,
                elapsed * 1000,
            )


def create_app(svc: Services, *, listener: str = "https") -> FastAPI:
    """The app one listener serves; ``listener`` labels its metrics."""
    app = FastAPI(
        title="Garrison",
        version=__version__,
        summary="Security Management System for fleets of network IPS devices",
        description="Send an API key in the `X-SMS-API-KEY` header (or as a Bearer token).",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.services = svc
    errors.install(app)
    v1 = APIRouter(prefix=API_PREFIX)
    # One line a resource.
    v1.include_router(system.router)
    v1.include_router(users.router)
    v1.include_router(api_keys.router)
    v1.include_router(audit.router)
    v1.include_router(session.router)
    v1.include_router(events.router)
    v1.include_router(devices.router)
    v1.include_router(responder.router)
    v1.include_router(reputation.router)
    v1.include_router(vulnerabilities.router)
    app.include_router(v1)

    @app.get(
        "/metrics",
        tags=["system"],
        response_class=Response,
        responses={**error_responses(403), 200: {"content": {"text/plain": {}}}},
        dependencies=[Depends(require(Capability.METRICS_READ))],
    )
    def metrics(svc: Services = Depends(services)) -> Response:
        """Prometheus metrics; needs an API key like every other path."""
        return Response(svc.metrics.render(), media_type="text/plain; version=0.0.4")

    if listener == "https":  # the SMS serves its Web services and console on 443 only
        webservices.mount(app)
        console.mount(app)
    app.add_middleware(ObserveRequests, services=svc, listener=listener)
    return app
