"""The port catalog (`catalog`), firewall rules (`firewall`) and the service probe (`probe`)."""

from garrison.ports.catalog import (
    CATALOG,
    CIPHER_POLICY,
    CipherPolicy,
    Direction,
    PortEntry,
    Role,
    Table,
    by_table,
    for_role,
    get,
    listeners,
)

__all__ = [
    "CATALOG",
    "CIPHER_POLICY",
    "CipherPolicy",
    "Direction",
    "PortEntry",
    "Role",
    "Table",
    "by_table",
    "for_role",
    "get",
    "listeners",
]
