"""The audit log page: filters (who, what, how it ended, when), newest first, a page at a
time by keyset (`admin_audit_log`), and the same view as a CSV file.

The API's ``/api/v1/audit`` answers JSON only, so the export is the console's own: the
filtered rows, newest first, at most `EXPORT_LIMIT` of them, each column as stored.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Query
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from garrison.auth import Capability
from garrison.errors import Invalid
from garrison.services import Services
from garrison.store import AuditRecord
from garrison.web.pages import admin_audit_log as log
from garrison.web.pages.page_flow import Errors, call, utc_moment
from garrison.web.routing import console_router
from garrison.web.session import ConsoleUser, allowed
from garrison.web.templating import render

router = console_router()

Auditor = Annotated[ConsoleUser, Depends(allowed(Capability.AUDIT_READ))]
PAGE = 100
OUTCOMES = (("", "Any outcome"), ("success", "Succeeded"), ("failure", "Failed"))
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = ("id", "at", "actor", "action", "target", "outcome", "client_address", "detail")


Text = Annotated[str, Query(max_length=64)]


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """The filters as typed (to show again and to carry to the next page and the
    export), as checked, and what is wrong with them."""

    typed: dict[str, str]
    wanted: log.AuditFilter
    errors: Errors


def _moment(text: str, name: str, errors: Errors) -> datetime | None:
    try:
        return utc_moment(text)
    except Invalid as exc:
        errors[name] = str(exc)[:1].upper() + str(exc)[1:] + "."
        return None


def audit_query(
    actor: Text = "", action: Text = "", outcome: Text = "", since: Text = "", until: Text = ""
) -> AuditQuery:
    """The filters of the page and of its export (a dependency of both)."""
    errors: Errors = {}
    typed = {"actor": actor, "action": action, "outcome": outcome, "since": since, "until": until}
    if outcome not in {value for value, _ in OUTCOMES}:
        errors["outcome"] = "Choose one of the listed outcomes."
        outcome = ""
    wanted = log.AuditFilter(
        actor=actor.strip(),
        action=action.strip(),
        outcome=outcome,
        since=_moment(since, "since", errors),
        until=_moment(until, "until", errors),
    )
    if wanted.since and wanted.until and wanted.since >= wanted.until:
        errors["until"] = "This must be later than “From”."
    return AuditQuery(typed=typed, wanted=wanted, errors=errors)


Filters = Annotated[AuditQuery, Depends(audit_query)]


@router.get("/admin/audit")
async def audit(
    request: Request,
    user: Auditor,
    asked: Filters,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Response:
    svc: Services = request.app.state.services
    errors = asked.errors
    page = log.AuditPage(rows=[], older=None, searched_to=None)
    if not errors:
        page = await call(log.page, svc.store, asked.wanted, before=before, limit=PAGE)
    return render(
        request,
        "admin/audit.html",
        user,
        status=400 if errors else 200,
        title="Audit log",
        page=page,
        filters=asked.typed,
        query={k: v for k, v in asked.typed.items() if v},
        filtered=asked.wanted.any,
        before=before,
        errors=errors,
        outcomes=OUTCOMES,
        window=log.WINDOW,
        export_limit=log.EXPORT_LIMIT,
    )


def cell(text: str) -> str:
    """A text cell a spreadsheet shows as text: one starting as a formula would (``=``,
    ``+``, ``-``, ``@``; a failed login's user name is whatever was typed) gets a quote."""
    return "'" + text if text[:1] in FORMULA_STARTS else text


def _csv_lines(rows: Iterable[AuditRecord]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        texts = [cell(getattr(row, c)) for c in CSV_COLUMNS[2:]]
        writer.writerow([row.id, row.at.astimezone(UTC).isoformat(), *texts])
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@router.get("/admin/audit.csv")
async def audit_csv(request: Request, user: Auditor, asked: Filters) -> Response:
    svc: Services = request.app.state.services
    if asked.errors:
        raise Invalid(" ".join(asked.errors.values()))
    rows = await call(lambda: list(log.export(svc.store, asked.wanted)))
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return StreamingResponse(
        _csv_lines(rows),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="garrison-audit-{stamp}.csv"',
            "Cache-Control": "no-store",
        },
    )
