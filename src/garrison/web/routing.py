"""The console's routes answer in HTML, errors included.

`ConsoleRouter` is an APIRouter whose routes turn the errors of a page (and of its
dependencies) into what a person in a browser should see: no session, a redirect to the
login page that comes back here; a form from elsewhere or a role that may not, a 403
page; a missing thing, a 404 page; a refused value not handled by the page's form, a 400
page. Console routes stay out of the OpenAPI document.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from garrison.errors import Conflict, Forbidden, GarrisonError, Invalid, NotFound
from garrison.web.session import BadForm, LoginRequired, login_url
from garrison.web.templating import render

log = logging.getLogger("garrison.web")

ERROR_PAGES: tuple[tuple[type[Exception], int, str], ...] = (
    (BadForm, 403, "This form cannot be sent"),
    (Forbidden, 403, "Not allowed"),
    (NotFound, 404, "Not found"),
    (Conflict, 409, "Cannot do that now"),
    (Invalid, 400, "Cannot do that"),
)


def error_page(request: Request, status: int, heading: str, message: str) -> Response:
    user = getattr(request.state, "console_user", None)
    return render(
        request, "error.html", user, status=status, title=heading, heading=heading, message=message
    )


class ConsoleRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired as exc:
                return RedirectResponse(login_url(exc.next_path), status_code=303)
            except (BadForm, GarrisonError) as exc:
                for kind, status, heading in ERROR_PAGES:
                    if isinstance(exc, kind):
                        return error_page(request, status, heading, str(exc))
                raise

        return answer


def console_router(**options: Any) -> APIRouter:
    return APIRouter(route_class=ConsoleRoute, include_in_schema=False, **options)
