"""/api/v1 vulnerabilities. Stub: being written (issue 5)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["vulnerabilities"])
