"""The /api/v1 routers, one file a resource."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from garrison.api.schemas import MAX_ID, ErrorBody

PathId = Annotated[int, Path(ge=1, le=MAX_ID, description="row id")]


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error bodies a route may answer with."""
    return {status: {"model": ErrorBody} for status in (401, 422, *statuses)}
