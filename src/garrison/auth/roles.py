"""Roles and what each may do. Pure policy, no I/O."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    SUPERUSER = "superuser"
    ADMIN = "admin"
    OPERATOR = "operator"
    AUDITOR = "auditor"


class Capability(StrEnum):
    USERS_READ = "users.read"
    USERS_WRITE = "users.write"
    API_KEYS_ANY = "api-keys.any"  # manage other users' keys, not only one's own
    AUDIT_READ = "audit.read"
    METRICS_READ = "metrics.read"
    WEB_SERVICES = "web-services"  # the SMS's "access Web services" capability
    DEVICES_READ = "devices.read"
    DEVICES_WRITE = "devices.write"
    EVENTS_READ = "events.read"  # query, export and stream stored events
    EVENTS_INGEST = "events.ingest"  # push events over HTTPS, as a device does
    RESPONDER_READ = "responder.read"  # see policies and responses
    RESPONDER_RESPOND = "responder.respond"  # open, close and extend responses
    RESPONDER_POLICIES = "responder.policies"  # create, change and delete policies
    REPUTATION_READ = "reputation.read"  # query entries, list tag categories
    REPUTATION_WRITE = "reputation.write"  # add, delete, import entries; manage categories


ROLE_CAPABILITIES: dict[Role, frozenset[Capability]] = {
    Role.SUPERUSER: frozenset(Capability),
    Role.ADMIN: frozenset(Capability),
    Role.OPERATOR: frozenset(
        {
            Capability.METRICS_READ,
            Capability.WEB_SERVICES,
            Capability.DEVICES_READ,
            Capability.DEVICES_WRITE,
            Capability.EVENTS_READ,
            Capability.EVENTS_INGEST,
            Capability.RESPONDER_READ,
            Capability.RESPONDER_RESPOND,
            Capability.REPUTATION_READ,
            Capability.REPUTATION_WRITE,
        }
    ),
    Role.AUDITOR: frozenset(
        {
            Capability.USERS_READ,
            Capability.AUDIT_READ,
            Capability.METRICS_READ,
            Capability.DEVICES_READ,
            Capability.EVENTS_READ,
            Capability.RESPONDER_READ,
            Capability.REPUTATION_READ,
        }
    ),
}

# Higher rank may manage lower rank; only a superuser may create or change a superuser.
_RANK = {Role.AUDITOR: 0, Role.OPERATOR: 1, Role.ADMIN: 2, Role.SUPERUSER: 3}


def has(role: Role | str, capability: Capability) -> bool:
    return capability in ROLE_CAPABILITIES[Role(role)]


def may_manage(actor: Role | str, target: Role | str) -> bool:
    """Whether a user of role ``actor`` may create, change or delete one of role ``target``.

    Admins manage everyone but superusers, so no admin can raise anyone (or themselves)
    to superuser.
    """
    actor, target = Role(actor), Role(target)
    if actor is Role.SUPERUSER:
        return True
    return has(actor, Capability.USERS_WRITE) and _RANK[target] < _RANK[Role.SUPERUSER]
