"""Who is acting: the user behind a request or a local command."""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from garrison.auth.roles import Capability, Role, has
from garrison.errors import Forbidden


@dataclass(frozen=True, slots=True)
class Principal:
    username: str
    role: Role
    via: str  # "api-key", "session", "password" or "cli"
    client_address: str = ""
    user_id: int | None = None  # None for the local command line
    api_key_id: int | None = None

    def can(self, capability: Capability) -> bool:
        return has(self.role, capability)

    def require(self, capability: Capability) -> None:
        """Raise Forbidden unless this principal's role has ``capability``."""
        if not self.can(capability):
            raise Forbidden(f"role {self.role} may not do this (needs {capability})")

    @classmethod
    def local_cli(cls) -> Principal:
        """Someone at the server's own shell: they own the data directory, so they act as
        superuser, and the audit trail names their OS account."""
        return cls(
            username=f"cli:{getpass.getuser()}",
            role=Role.SUPERUSER,
            via="cli",
            client_address="local",
        )
