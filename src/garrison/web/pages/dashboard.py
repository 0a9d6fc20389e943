"""The dashboard. Stub: being written (issue 6)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from garrison.web.routing import console_router
from garrison.web.session import Console
from garrison.web.templating import render

router = console_router()


@router.get("/")
def dashboard(request: Request, user: Console) -> Response:
    return render(request, "dashboard.html", user, title="Dashboard")
