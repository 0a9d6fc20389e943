"""The console's devices pages. Stub: being written (issue 6)."""

from __future__ import annotations

from garrison.web.routing import console_router

router = console_router()
