"""The port catalog page: every row of the SMS port reference (port, protocol, service,
who connects to whom and why) and, for the services Garrison offers, whether it is
listening on that port now.

The port is the one the settings give the row (`Settings.port`: the catalog's, an
override, or moved up by 10000 when low ports are shifted). "Listening now" is this
process's own sockets (`admin_listening`). A row configured as port 0 binds any free port
and cannot be matched, except the HTTPS listener: it is the one serving this page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query
from starlette.requests import Request
from starlette.responses import Response

from garrison.auth import Capability
from garrison.ports.catalog import CATALOG, PortEntry
from garrison.services import Services
from garrison.web.pages.admin_listening import listening
from garrison.web.pages.page_flow import call
from garrison.web.routing import console_router
from garrison.web.session import ConsoleUser, allowed
from garrison.web.templating import render

router = console_router()

Auditor = Annotated[ConsoleUser, Depends(allowed(Capability.AUDIT_READ))]
CONSOLE_KEY = "https"  # the listener the console is served on


@dataclass(frozen=True, slots=True)
class PortRow:
    entry: PortEntry
    port: int | None  # where Garrison binds it; None: any free port (unknown here)
    state: str  # "listening", "not-listening", "unknown", or "" for a peer's port

    @property
    def direction(self) -> str:
        """Which way the row's connections go, seen from Garrison (the "SMS server")."""
        if self.entry.listener or self.entry.destination.lower().startswith("sms server"):
            return "inbound"
        if self.entry.source.lower().startswith("sms server"):
            return "outbound"
        return "between peers"


def rows(
    entries: tuple[PortEntry, ...],
    port_of: dict[str, int],
    open_now: set[tuple[str, int]] | None,
    serving: int | None,
) -> list[PortRow]:
    """Each catalog row with its port and state; ``serving`` is the port of the HTTPS
    listener this page came through."""
    found = []
    for entry in entries:
        if not entry.listener:
            found.append(PortRow(entry, entry.port, ""))
            continue
        port: int | None = port_of[entry.key]
        if port == 0:
            port = serving if entry.key == CONSOLE_KEY else None
        if port is None or open_now is None:
            state = "unknown"
        else:
            state = "listening" if (entry.transport, port) in open_now else "not-listening"
        found.append(PortRow(entry, port, state))
    return found


@router.get("/admin/ports")
async def ports(
    request: Request, user: Auditor, only: Annotated[str, Query(max_length=16)] = ""
) -> Response:
    svc: Services = request.app.state.services
    entries = tuple(e for e in CATALOG if e.listener) if only == "garrison" else CATALOG
    port_of = {e.key: svc.settings.port(e.key) for e in entries if e.listener}
    server = request.scope.get("server")
    serving = server[1] if server else None
    found = rows(entries, port_of, await call(listening), serving)
    return render(
        request,
        "admin/ports.html",
        user,
        title="Ports",
        rows=found,
        only=only == "garrison",
        listening_count=sum(r.state == "listening" for r in found),
        unknown=any(r.state == "unknown" for r in found),
    )
