"""The one shape every Responder action has (CrowdSec's acquisition modules are the
model): a pydantic ``Config`` that validates the policy's settings for it, and a
``run(context)`` coroutine that does the work once.

The engine owns everything around a run: the time limit, retries with backoff, the
dependency conditions, recording each attempt in the store. An action only says what
happened: it returns an ``ActionResult`` or raises ``ActionFailed`` with the reason in
words an operator understands. Adding an action type is a copy of an existing module's
form plus one line in ``registry``.
"""

from __future__ import annotations

import ssl
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict

from garrison.events.model import Event

if TYPE_CHECKING:
    from garrison.config import Settings
    from garrison.devices.service import DeviceService
    from garrison.metrics import Metrics


class ActionConfig(BaseModel):
    """Base of every action's settings: unknown keys are refused, values are checked.

    ``TEMPLATES`` names the fields that are templates (``{address}``, ...); the policy
    check refuses a template naming an unknown field before the policy is saved.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)
    TEMPLATES: ClassVar[tuple[str, ...]] = ()


class ActionFailed(Exception):
    """The action did not do its job. ``reason`` is shown in the response history;
    ``retryable=False`` tells the engine another attempt cannot help (a refused login, a
    malformed address), so it stops retrying."""

    def __init__(self, reason: str, *, retryable: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What a successful run did, in words (``detail``), and values later actions of the
    same response may need (``data``: the devices that quarantined the host, so the
    timeout action releases it there)."""

    detail: str
    data: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ActionContext:
    """Everything an action knows about the response it runs for."""

    response_id: int
    policy: str
    address: str
    phase: str  # "initial" or "timeout"
    trigger: str
    opened_at: datetime
    expires_at: datetime | None = None
    mac: str = ""
    user: str = ""
    notify_id: int = 0
    reason: str = ""
    events: tuple[Event, ...] = ()
    # Results of this response's earlier actions: action name -> its ``ActionResult.data``.
    earlier: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def values(self) -> dict[str, str]:
        """The template fields (see ``garrison.responder.templates.TEMPLATE_FIELDS``)."""
        first = self.events[0] if self.events else None
        return {
            "address": self.address,
            "mac": self.mac,
            "user": self.user,
            "policy": self.policy,
            "trigger": self.trigger,
            "response_id": str(self.response_id),
            "phase": self.phase,
            "opened_at": self.opened_at.isoformat(),
            "expires_at": self.expires_at.isoformat() if self.expires_at else "",
            "notify_id": str(self.notify_id),
            "event_count": str(len(self.events)),
            "events": "\n".join(_event_line(e) for e in self.events),
            "signature": first.name if first else "",
            "signature_number": str(first.signature_number or "") if first else "",
            "severity": first.severity.name.lower() if first else "",
            "device": first.device_name if first else "",
            "destination": first.dst_ip if first else "",
            "reason": self.reason,
        }


def _event_line(event: Event) -> str:
    target = f"{event.dst_ip}:{event.dst_port}" if event.dst_port else event.dst_ip
    return (
        f"{event.received_at.isoformat()} {event.device_name or event.source_address} "
        f"{event.signature_number or ''} {event.name} {event.src_ip} -> {target}".strip()
    )


class QuarantineRegistry(Protocol):
    """Who is quarantined right now (the engine keeps it): the RADIUS proxy rejects
    these MACs and users, the switch-disconnect action looks up sessions here."""

    def blocks(self, *, mac: str = "", user: str = "") -> bool: ...


@dataclass
class ActionServices:
    """What actions may use besides their own settings. Built once by the engine."""

    settings: Settings
    devices: DeviceService | None = None
    metrics: Metrics | None = None
    # The reputation store's batched writer (``garrison.reputation``), when present.
    reputation: Any = None
    # The RADIUS proxy's session table, when the proxy runs (switch disconnect uses it).
    radius_sessions: Any = None
    # TLS context for outbound HTTPS/STARTTLS/syslog-TLS where the action does not set
    # its own; verifies peers by default.
    client_tls: ssl.SSLContext | None = None
    extra: dict[str, Any] = field(default_factory=dict)


C = TypeVar("C", bound=ActionConfig)


class ActionType(ABC, Generic[C]):
    """One action of a policy, configured. ``kind`` is the name policies use."""

    kind: ClassVar[str]
    title: ClassVar[str]  # one line for --help and the console
    config_type: ClassVar[type[ActionConfig]]

    def __init__(self, config: C, services: ActionServices) -> None:
        self.config = config
        self.services = services

    @abstractmethod
    async def run(self, context: ActionContext) -> ActionResult:
        """Do the work once; raise ``ActionFailed`` with the reason on failure."""

    async def close(self) -> None:
        """Release what ``run`` kept open (connections, sockets)."""
