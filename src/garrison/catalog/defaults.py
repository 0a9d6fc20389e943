"""What every SMS ships with: the built-in action sets, one profile and the "Default"
segment group. Ids are deterministic (UUID 5 of the name), so every Garrison database
gives the same row the same id and the migration and the code agree without a lookup.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

# Garrison's own namespace for the ids of built-in and learned catalog rows.
NAMESPACE = uuid.UUID("6f1c3a52-6a0e-5b1e-9a55-0c7e2b7a9d10")


def catalog_id(kind: str, name: str) -> str:
    """The id of a catalog row that has no id of its own (an action set, a segment)."""
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{name}"))


@dataclass(frozen=True, slots=True)
class ActionSetDefault:
    name: str
    flow_control: str  # ALLOW, DENY, TRUST or RATE (ACTIONSET.FLOW_CONTROL)
    rate: int | None = None  # kbps, for RATE

    @property
    def id(self) -> str:
        return catalog_id("action-set", self.name)


# The action sets a TippingPoint SMS offers out of the box.
ACTION_SETS = (
    ActionSetDefault("Recommended", "DENY"),
    ActionSetDefault("Block", "DENY"),
    ActionSetDefault("Block / Notify", "DENY"),
    ActionSetDefault("Block / Notify / Trace", "DENY"),
    ActionSetDefault("Block + TCP Reset", "DENY"),
    ActionSetDefault("Permit", "ALLOW"),
    ActionSetDefault("Permit / Notify", "ALLOW"),
    ActionSetDefault("Permit / Notify / Trace", "ALLOW"),
    ActionSetDefault("Trust", "TRUST"),
    ActionSetDefault("Rate Limit 64 Kbps", "RATE", 64),
    ActionSetDefault("Rate Limit 1 Mbps", "RATE", 1024),
    ActionSetDefault("IPS Quarantine Response (Hidden) Action", "DENY"),
)

DEFAULT_PROFILE = "Default Security Profile"
DEFAULT_PROFILE_VERSION = "1.0"
DEFAULT_PROFILE_ID = catalog_id("profile", DEFAULT_PROFILE)
DEFAULT_SEGMENT_GROUP = "Default"
DEFAULT_SEGMENT_GROUP_ID = catalog_id("segment-group", DEFAULT_SEGMENT_GROUP)
