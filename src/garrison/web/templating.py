"""Rendering the console's pages: one Jinja2 environment, autoescaped, templates in
``templates/`` (a page extends ``base.html``; form fields come from ``macros/forms.html``).

Every page gets ``user`` (a `ConsoleUser`, or None on the login page), ``csrf_token``,
the menu (``sections``, only those the user's role may see, and ``section``, the current
one), ``version``, and what the page passes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from garrison import __version__
from garrison.web import nav
from garrison.web.session import ConsoleUser


def _when(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A time in UTC as operators read it; blank for none."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime(fmt)


def _number(value: int | float | None) -> str:
    return "" if value is None else f"{value:,}"


ENVIRONMENT = Environment(
    loader=PackageLoader("garrison.web", "templates"),
    autoescape=select_autoescape(("html", "svg", "xml")),
    undefined=StrictUndefined,  # a typo in a template fails the test, not silently blank
    trim_blocks=True,
    lstrip_blocks=True,
)
ENVIRONMENT.filters["when"] = _when
ENVIRONMENT.filters["number"] = _number


def render(
    request: Request,
    template: str,
    user: ConsoleUser | None,
    *,
    status: int = 200,
    title: str = "",
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    sections = [
        s for s in nav.SECTIONS if user and (s.capability is None or user.can(s.capability))
    ]
    page = ENVIRONMENT.get_template(template).render(
        request=request,
        user=user,
        csrf_token=user.csrf_token if user else "",
        sections=sections,
        section=nav.current(request.url.path),
        title=title,
        version=__version__,
        **context,
    )
    # Pages carry a user's data: never stored by a shared cache or kept after logout.
    all_headers = {"Cache-Control": "no-store", **(headers or {})}
    return HTMLResponse(page, status_code=status, headers=all_headers)
