"""Users, roles, passwords, API keys, console sessions and the audit trail."""

from garrison.auth.principal import Principal
from garrison.auth.roles import Capability, Role
from garrison.auth.service import AuthService, NewApiKey, NewSession

__all__ = ["AuthService", "Capability", "NewApiKey", "NewSession", "Principal", "Role"]
