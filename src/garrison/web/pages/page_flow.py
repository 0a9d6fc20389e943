"""What the reputation and administration pages share about a form's round trip.

Blocking service calls run off the event loop (`call`); a successful POST redirects
(`back`) with a ``done`` key and a value, which the page it lands on turns into one line
from its own table of messages (`done_message`): the value is the user's own data and is
escaped like everything else, the wording is fixed here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse

from garrison.errors import Invalid

Errors = dict[str, str]


async def call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """A blocking service call, in the thread pool."""
    return await run_in_threadpool(function, *args, **kwargs)


def back(path: str, **params: str) -> RedirectResponse:
    """The answer to a POST that worked: see ``path`` (Post/Redirect/Get)."""
    query = urlencode({k: v for k, v in params.items() if v != ""})
    return RedirectResponse(f"{path}?{query}" if query else path, status_code=303)


def done_message(request: Request, messages: Mapping[str, str]) -> str:
    """The line a redirect's ``done`` and ``value`` ask for; blank for none."""
    template = messages.get(request.query_params.get("done", ""))
    return template.format(value=request.query_params.get("value", "")) if template else ""


def texts(form: FormData) -> dict[str, str]:
    """A form's text fields (the last of a repeated one); uploads left out."""
    return {key: value for key, value in form.items() if isinstance(value, str)}


def lists(form: FormData) -> dict[str, list[str]]:
    """Every text value of each field (a multiple select sends several)."""
    return {key: [v for v in form.getlist(key) if isinstance(v, str)] for key in form}


def utc_moment(text: str) -> datetime | None:
    """A date and time typed in a form (``2026-10-25T07:15`` from a date-time input, or
    with a space, seconds or a zone), in UTC; no zone means UTC; blank is None. Raises
    `Invalid` in words for the field."""
    value = text.strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid("give a date and time in UTC, such as 2026-10-25 07:15") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
