"""The shape every long-running part of Garrison has."""

from __future__ import annotations

from typing import Protocol


class Component(Protocol):
    """``start()`` binds and returns; ``stop()`` drains and closes. Both are idempotent
    enough that a failed start can be followed by stop."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...
