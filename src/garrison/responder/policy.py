"""A Responder policy: the document an operator writes (``PolicySpec``, validated by
pydantic; the API takes and returns it, the store keeps it as JSON) and its compiled form
(``Policy``: parsed address sets, event filter, checked action settings) that the engine
uses. Every rule that can be checked before a policy is saved is checked in ``compile``,
with a message that names the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from garrison.errors import Invalid
from garrison.events.filters import EventFilters, parse_filters
from garrison.responder.actions.base import ActionConfig
from garrison.responder.actions.registry import parse_config
from garrison.responder.addresses import AddressSet
from garrison.responder.graph import check_graph

DEFAULT_POLICY = "Default Response"
MAX_ACTIONS = 32


class Initiation(StrEnum):
    """How a response under this policy may be opened."""

    THRESHOLD = "threshold"  # correlation of the event stream
    MANUAL = "manual"  # an operator, from the API, CLI or console
    EXTERNAL = "external"  # "an SNMP Trap or Web Service call may invoke this Policy"
    ESCALATION = "escalation"  # escalation of an IPS quarantine into a network-wide response


class Trigger(StrEnum):
    """What actually opened a response (kept with it)."""

    THRESHOLD = "threshold"
    MANUAL = "manual"
    WEB_SERVICE = "web-service"
    NMS_TRAP = "nms-trap"
    ESCALATION = "escalation"

    @property
    def initiation(self) -> Initiation:
        return {
            Trigger.THRESHOLD: Initiation.THRESHOLD,
            Trigger.MANUAL: Initiation.MANUAL,
            Trigger.WEB_SERVICE: Initiation.EXTERNAL,
            Trigger.NMS_TRAP: Initiation.EXTERNAL,
            Trigger.ESCALATION: Initiation.ESCALATION,
        }[self]


class Retrigger(StrEnum):
    """What to do when an address with an open response under the policy triggers again."""

    EXTEND = "extend"  # push its expiry out by the policy's timeout
    IGNORE = "ignore"  # leave it as it is
    REOPEN = "reopen"  # close it (running its timeout actions) and open a new one


class Condition(StrEnum):
    ALWAYS = "always"
    SUCCEEDED = "succeeded"  # run only if the dependency succeeded
    FAILED = "failed"  # run only if the dependency failed


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ActionSpec(_Doc):
    """One action of a policy, as written."""

    name: str = Field(min_length=1, max_length=64, description="unique in its list")
    type: str = Field(description="email, snmp-trap, nms-trap, syslog, web, ips-quarantine, ...")
    priority: int = Field(100, ge=0, le=10_000, description="lower starts first")
    depends_on: str | None = Field(None, description="name of an action in the same list")
    condition: Condition = Condition.ALWAYS
    time_limit_seconds: float = Field(30.0, gt=0, le=3600)
    retries: int = Field(2, ge=0, le=20)
    backoff_seconds: float = Field(1.0, ge=0, le=3600, description="doubles after each retry")
    settings: dict[str, Any] = Field(default_factory=dict)


class ThresholdFilter(_Doc):
    """Which events are qualified filter hits (values as the events API takes them)."""

    severity: list[str] = Field(default_factory=list)
    min_severity: str | None = None
    signature: list[str] = Field(default_factory=list)
    category: list[str] = Field(default_factory=list)
    device: list[str] = Field(default_factory=list)
    action: list[str] = Field(default_factory=list)


class Notification(_Doc):
    """Where a threshold hit is announced (syslog and SNMP, as the SMS offers)."""

    type: str = Field(description="syslog or snmp-trap")
    settings: dict[str, Any] = Field(default_factory=dict)


class Threshold(_Doc):
    hits: int = Field(10, ge=1, le=10_000, description="qualified filter hits")
    period_seconds: float = Field(60.0, gt=0, le=7 * 86400, description="within this period")
    quiet_seconds: float = Field(
        0.0, ge=0, le=30 * 86400, description="after a response fires, per address"
    )
    filter: ThresholdFilter = Field(default_factory=ThresholdFilter)
    notifications: list[Notification] = Field(default_factory=list)


class PolicySpec(_Doc):
    name: str = Field(min_length=1, max_length=128)
    description: str = Field("", max_length=1000)
    enabled: bool = True
    initiation: list[Initiation] = Field(default_factory=lambda: [Initiation.MANUAL])
    timeout_seconds: int | None = Field(
        3600, ge=1, le=3650 * 86400, description="automatic timeout; null: none"
    )
    allow: list[str] = Field(default_factory=list, description="empty: every address")
    never: list[str] = Field(default_factory=list, description="Never Respond: wins over allow")
    threshold: Threshold | None = None
    retrigger: Retrigger = Retrigger.EXTEND
    max_open: int | None = Field(None, ge=1, le=10_000_000)
    initial_actions: list[ActionSpec] = Field(default_factory=list)
    timeout_actions: list[ActionSpec] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if value != value.strip() or any(ord(c) < 32 for c in value):
            raise ValueError("no leading or trailing spaces or control characters")
        return value


@dataclass(frozen=True)
class CompiledAction:
    spec: ActionSpec
    config: ActionConfig


@dataclass(frozen=True)
class Policy:
    id: int
    spec: PolicySpec
    allow: AddressSet
    never: AddressSet
    qualifies: EventFilters | None
    initial: tuple[CompiledAction, ...]
    timeout: tuple[CompiledAction, ...]
    builtin: bool = False

    @property
    def name(self) -> str:
        return self.spec.name

    def allows(self, initiation: Initiation) -> bool:
        return initiation in self.spec.initiation

    def refusal(self, address: str) -> str | None:
        """Why this policy will not respond to ``address``, or None. Never Respond wins."""
        if address in self.never:
            return f"{address} is in policy {self.name!r}'s Never Respond set"
        if self.allow and address not in self.allow:
            return f"{address} is outside policy {self.name!r}'s Allow Active Response set"
        return None


def parse_spec(document: dict[str, Any]) -> PolicySpec:
    try:
        return PolicySpec.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "policy"
        raise Invalid(f"{where}: {first['msg'].removeprefix('Value error, ')}") from None


def compile_policy(spec: PolicySpec, policy_id: int = 0, *, builtin: bool = False) -> Policy:
    """Check every rule of a policy; raise ``Invalid`` naming the first broken one."""
    if Initiation.THRESHOLD in spec.initiation and spec.threshold is None:
        raise Invalid("threshold: a policy opened by threshold correlation needs a threshold")
    qualifies = None
    if spec.threshold is not None:
        f = spec.threshold.filter
        try:
            qualifies = parse_filters(
                severity=f.severity or None,
                min_severity=f.min_severity,
                signature=f.signature or None,
                category=f.category or None,
                device=f.device or None,
                action=f.action or None,
            )
        except Invalid as exc:
            raise Invalid(f"threshold.filter.{exc}") from None
        for index, note in enumerate(spec.threshold.notifications):
            if note.type not in ("syslog", "snmp-trap"):
                raise Invalid(
                    f"threshold.notifications[{index}].type: {note.type!r} "
                    "is not syslog or snmp-trap"
                )
            parse_config(note.type, note.settings, f"threshold.notifications[{index}]")
    initial = _compile_actions(spec.initial_actions, "initial_actions")
    timeout = _compile_actions(spec.timeout_actions, "timeout_actions")
    return Policy(
        id=policy_id,
        spec=spec,
        allow=AddressSet.parse(spec.allow, "allow"),
        never=AddressSet.parse(spec.never, "never"),
        qualifies=qualifies,
        initial=initial,
        timeout=timeout,
        builtin=builtin,
    )


def _compile_actions(specs: list[ActionSpec], where: str) -> tuple[CompiledAction, ...]:
    if len(specs) > MAX_ACTIONS:
        raise Invalid(f"{where}: {len(specs)} actions, at most {MAX_ACTIONS}")
    check_graph([(s.name, s.depends_on) for s in specs], where)
    compiled = []
    for spec in specs:
        config = parse_config(spec.type, spec.settings, f"{where}.{spec.name}")
        compiled.append(CompiledAction(spec, config))
    return tuple(compiled)


def default_policy_spec() -> PolicySpec:
    """The built-in "Default Response" policy, used for manual responses: it opens a
    response for an hour and runs no action until an operator adds some."""
    return PolicySpec(
        name=DEFAULT_POLICY,
        description="Built in: used for manual responses.",
        initiation=[Initiation.MANUAL],
        timeout_seconds=3600,
    )
