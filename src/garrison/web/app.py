"""Adding the console to the HTTPS app: its pages, its static files, and the security
headers. Only the HTTPS listener (443, or 10443 unprivileged) serves the console."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from garrison.web.pages import admin, dashboard, devices, events, login, reputation, responder
from garrison.web.security import SecurityHeaders

STATIC = Path(__file__).parent / "static"

# One line an area.
ROUTERS = (
    login.router,
    dashboard.router,
    devices.router,
    events.router,
    responder.router,
    reputation.router,
    admin.router,
)


def mount(app: FastAPI) -> None:
    for router in ROUTERS:
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(SecurityHeaders)
