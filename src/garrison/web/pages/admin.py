"""The console's administration pages: an overview linking to users, API keys, the
audit log and the port catalog, each in a module of its own (``admin_*``), all served
by this router.

Who sees what: users need ``users.read`` (changing them ``users.write``); the audit log
and the port catalog ``audit.read``; every logged-in user manages their own API keys
(``api-keys.any``: everyone's). An auditor reads and exports everything here and changes
nothing: the buttons are not shown, and a POST answers 403.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from garrison.auth import Capability
from garrison.web.pages import admin_audit, admin_keys, admin_ports, admin_users
from garrison.web.routing import console_router
from garrison.web.session import Console
from garrison.web.templating import render

router = console_router()
router.include_router(admin_users.router)
router.include_router(admin_keys.router)
router.include_router(admin_audit.router)
router.include_router(admin_ports.router)

# (path, title, what it is for, the capability it needs; None: everyone)
PAGES = (
    ("/admin/users", "Users", "Accounts, roles, passwords and lockouts.", Capability.USERS_READ),
    (
        "/admin/api-keys",
        "API keys",
        "Keys for scripts and the Web services (X-SMS-API-KEY).",
        None,
    ),
    (
        "/admin/audit",
        "Audit log",
        "Who did what, when and from where; filter and export.",
        Capability.AUDIT_READ,
    ),
    (
        "/admin/ports",
        "Ports",
        "The port catalog, and which ports Garrison is listening on now.",
        Capability.AUDIT_READ,
    ),
)


@router.get("/admin")
def overview(request: Request, user: Console) -> Response:
    pages = [(p, t, d) for p, t, d, need in PAGES if need is None or user.can(need)]
    return render(request, "admin/overview.html", user, title="Administration", pages=pages)
