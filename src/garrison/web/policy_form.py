"""The console's Responder policy form as typed: filled from a saved policy
(``PolicySpec``) or from a sent form, and the help for each action type's settings.
``policy_checks`` turns it into the document the API takes, or into errors.

Pure. The form keeps every value as typed (strings), so a refused form comes back exactly
as it was sent. Field names are the keys of the errors, as ``macros/forms.html`` expects;
an action's fields are named ``<phase>-<row>-<field>`` (``initial-0-name``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from pydantic import BaseModel

from garrison.responder.actions.registry import action_types
from garrison.responder.policy import MAX_ACTIONS, PolicySpec

PHASES = ("initial", "timeout")
UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
SEVERITIES = ("low", "minor", "major", "critical")


@dataclass
class ActionRow:
    """One row of a phase's action table, as typed."""

    name: str = ""
    type: str = ""
    priority: str = "100"
    depends_on: str = ""
    condition: str = "always"
    time_limit: str = "30"
    retries: str = "2"
    backoff: str = "1"
    settings: str = "{}"
    remove: bool = False

    @property
    def blank(self) -> bool:
        """A row left empty: not an action, ignored."""
        return not self.name.strip() and not self.type and self.settings.strip() in ("", "{}")


@dataclass
class PolicyForm:
    """Every field of the policy editor, as typed."""

    name: str = ""
    description: str = ""
    enabled: bool = True
    initiation: tuple[str, ...] = ("manual",)
    timeout_value: str = "1"
    timeout_unit: str = "hours"  # or "never"
    allow: str = ""
    never: str = ""
    hits: str = "10"
    period: str = "60"
    quiet: str = "0"
    min_severity: str = ""
    severities: str = ""
    signatures: str = ""
    categories: str = ""
    devices: str = ""
    device_actions: str = ""
    notifications: str = ""
    retrigger: str = "extend"
    max_open: str = ""
    actions: dict[str, list[ActionRow]] = field(default_factory=lambda: {p: [] for p in PHASES})

    def with_blank_rows(self, extra: Mapping[str, int] | None = None) -> PolicyForm:
        """The form to show: its rows in order without removed ones, ending with at
        least one empty row a phase to fill in (and ``extra`` more where asked), within
        the policy's limit. Errors are keyed by the rows of this form."""
        rows = {}
        for phase in PHASES:
            kept = [r for r in self.actions[phase] if not r.remove]
            if not kept or not kept[-1].blank:
                kept.append(ActionRow())
            kept += [ActionRow() for _ in range((extra or {}).get(phase, 0))]
            rows[phase] = kept[: MAX_ACTIONS + 1]
        return replace(self, actions=rows)


# -- from a saved policy and from a sent form ---------------------------------------------


def _timeout_fields(seconds: int | None) -> tuple[str, str]:
    if seconds is None:
        return "", "never"
    for unit in ("days", "hours", "minutes", "seconds"):
        if seconds % UNITS[unit] == 0:
            return str(seconds // UNITS[unit]), unit
    return str(seconds), "seconds"


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def from_spec(spec: PolicySpec) -> PolicyForm:
    """The form showing a saved policy."""
    value, unit = _timeout_fields(spec.timeout_seconds)
    form = PolicyForm(
        name=spec.name,
        description=spec.description,
        enabled=spec.enabled,
        initiation=tuple(str(i) for i in spec.initiation),
        timeout_value=value,
        timeout_unit=unit,
        allow="\n".join(spec.allow),
        never="\n".join(spec.never),
        retrigger=str(spec.retrigger),
        max_open="" if spec.max_open is None else str(spec.max_open),
    )
    if spec.threshold is not None:
        t = spec.threshold
        form.hits = str(t.hits)
        form.period = _number_text(t.period_seconds)
        form.quiet = _number_text(t.quiet_seconds)
        form.min_severity = t.filter.min_severity or ""
        form.severities = ", ".join(t.filter.severity)
        form.signatures = ", ".join(t.filter.signature)
        form.categories = ", ".join(t.filter.category)
        form.devices = ", ".join(t.filter.device)
        form.device_actions = ", ".join(t.filter.action)
        if t.notifications:
            notes = [n.model_dump(mode="json") for n in t.notifications]
            form.notifications = json.dumps(notes, indent=2)
    for phase in PHASES:
        specs = spec.initial_actions if phase == "initial" else spec.timeout_actions
        form.actions[phase] = [
            ActionRow(
                name=a.name,
                type=a.type,
                priority=str(a.priority),
                depends_on=a.depends_on or "",
                condition=str(a.condition),
                time_limit=_number_text(a.time_limit_seconds),
                retries=str(a.retries),
                backoff=_number_text(a.backoff_seconds),
                settings=json.dumps(a.settings, indent=2) if a.settings else "{}",
            )
            for a in specs
        ]
    return form


class FormData(Protocol):
    """What ``request.form()`` gives (starlette's ``FormData``), as far as read here."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def getlist(self, key: str) -> list[Any]: ...


def _text(values: FormData, name: str, limit: int = 100_000) -> str:
    value = values.get(name)
    return value[:limit] if isinstance(value, str) else ""


def from_form(values: FormData) -> PolicyForm:
    """The form as sent."""
    form = PolicyForm(
        name=_text(values, "name", 200),
        description=_text(values, "description", 2000),
        enabled=values.get("enabled") is not None,
        initiation=tuple(v for v in values.getlist("initiation") if isinstance(v, str)),
        timeout_value=_text(values, "timeout_value", 40),
        timeout_unit=_text(values, "timeout_unit", 20),
        allow=_text(values, "allow"),
        never=_text(values, "never"),
        hits=_text(values, "hits", 40),
        period=_text(values, "period", 40),
        quiet=_text(values, "quiet", 40),
        min_severity=_text(values, "min_severity", 20),
        severities=_text(values, "severities", 2000),
        signatures=_text(values, "signatures", 20_000),
        categories=_text(values, "categories", 20_000),
        devices=_text(values, "devices", 20_000),
        device_actions=_text(values, "device_actions", 2000),
        notifications=_text(values, "notifications"),
        retrigger=_text(values, "retrigger", 20),
        max_open=_text(values, "max_open", 40),
    )
    for phase in PHASES:
        count = _text(values, f"{phase}_rows", 4)
        rows = min(int(count), MAX_ACTIONS + 1) if count.isdigit() else 0
        form.actions[phase] = [_row(values, f"{phase}-{i}-") for i in range(rows)]
    return form


def _row(values: FormData, prefix: str) -> ActionRow:
    return ActionRow(
        name=_text(values, prefix + "name", 200),
        type=_text(values, prefix + "type", 64),
        priority=_text(values, prefix + "priority", 40),
        depends_on=_text(values, prefix + "depends_on", 200),
        condition=_text(values, prefix + "condition", 20),
        time_limit=_text(values, prefix + "time_limit", 40),
        retries=_text(values, prefix + "retries", 40),
        backoff=_text(values, prefix + "backoff", 40),
        settings=_text(values, prefix + "settings"),
        remove=values.get(prefix + "remove") is not None,
    )


# -- help for the settings of each action type ---------------------------------------------


@dataclass(frozen=True, slots=True)
class SettingHelp:
    name: str
    required: bool
    description: str


@dataclass(frozen=True, slots=True)
class TypeHelp:
    kind: str
    title: str
    settings: tuple[SettingHelp, ...]


def _settings_of(model: type[BaseModel]) -> tuple[SettingHelp, ...]:
    return tuple(
        SettingHelp(name, info.is_required(), info.description or "")
        for name, info in model.model_fields.items()
    )


def type_help() -> list[TypeHelp]:
    """Every registered action type with its settings, for the form's help."""
    return [
        TypeHelp(kind, t.title, _settings_of(t.config_type))
        for kind, t in sorted(action_types().items())
    ]
