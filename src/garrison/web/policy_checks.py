"""Checking the console's Responder policy form: the policy document it describes, checked
by every rule the Responder has (the same ``PolicySpec``, address sets, action settings
and action graph that the API uses), with each problem put next to the field it is about,
in words a person understands ("Action 'notify' depends on 'lookup', which is not in this
policy."). Every check runs, so one answer shows every problem; a field keeps its first.

Pure: a `PolicyForm` in, a document or errors (by form field name) out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from garrison.errors import Invalid
from garrison.responder.actions.registry import action_types, parse_config
from garrison.responder.addresses import MAX_ENTRIES, parse_entry
from garrison.responder.graph import check_graph
from garrison.responder.policy import MAX_ACTIONS, PolicySpec, compile_policy
from garrison.web.policy_form import PHASES, UNITS, ActionRow, PolicyForm

MAX_TIMEOUT = 3650 * 86400

# What a form field is called in messages, by its form name (action fields by their last part).
LABELS = {
    "name": "Name",
    "description": "Description",
    "timeout_value": "Timeout",
    "hits": "Qualified hits",
    "period": "Period",
    "quiet": "Quiet period",
    "max_open": "Most open responses",
    "priority": "Priority",
    "time_limit": "Time limit",
    "retries": "Retries",
    "backoff": "Retry wait",
    "initiation": "Initiation",
    "retrigger": "When an address triggers again",
    "min_severity": "Minimum severity",
    "severities": "Only these severities",
    "signatures": "Filters",
    "categories": "Categories",
    "devices": "Devices",
    "device_actions": "Device actions",
    "notifications": "Notifications",
    "allow": "Allow Active Response",
    "never": "Never Respond",
    "type": "Type",
    "depends_on": "Depends on",
    "condition": "Condition",
    "settings": "Settings",
}
# PolicySpec's fields (pydantic locations) -> form field names.
SPEC_FIELDS = {
    ("name",): "name",
    ("description",): "description",
    ("enabled",): "enabled",
    ("initiation",): "initiation",
    ("timeout_seconds",): "timeout_value",
    ("allow",): "allow",
    ("never",): "never",
    ("retrigger",): "retrigger",
    ("max_open",): "max_open",
    ("threshold",): "initiation",
    ("threshold", "hits"): "hits",
    ("threshold", "period_seconds"): "period",
    ("threshold", "quiet_seconds"): "quiet",
    ("threshold", "filter", "severity"): "severities",
    ("threshold", "filter", "min_severity"): "min_severity",
    ("threshold", "filter", "signature"): "signatures",
    ("threshold", "filter", "category"): "categories",
    ("threshold", "filter", "device"): "devices",
    ("threshold", "filter", "action"): "device_actions",
    ("threshold", "notifications"): "notifications",
    ("initial_actions",): "initial_actions",
    ("timeout_actions",): "timeout_actions",
}
ACTION_FIELDS = {
    "name": "name",
    "type": "type",
    "priority": "priority",
    "depends_on": "depends_on",
    "condition": "condition",
    "time_limit_seconds": "time_limit",
    "retries": "retries",
    "backoff_seconds": "backoff",
    "settings": "settings",
}


class _Problems:
    """The errors found so far, the first for each field kept."""

    def __init__(self) -> None:
        self.by_field: dict[str, str] = {}

    def add(self, key: str, message: str) -> None:
        self.by_field.setdefault(key, message)


def _label(key: str) -> str:
    return LABELS.get(key.rsplit("-", 1)[-1], "This value")


def _number(
    text: str, key: str, problems: _Problems, *, whole: bool = True, blank: Any = ...
) -> Any:
    """A number from a field, or a problem in words; ``blank`` is what an empty field
    means (a problem if not given)."""
    text = text.strip().replace(",", "")
    if not text:
        if blank is ...:
            problems.add(key, f"{_label(key)}: enter a number.")
        return None if blank is ... else blank
    try:
        return int(text) if whole else float(text)
    except ValueError:
        kind = "a whole number" if whole else "a number"
        problems.add(key, f"{_label(key)}: {text[:20]!r} is not {kind}.")
        return None


def _list(text: str) -> list[str]:
    """Values separated by commas or lines."""
    return [v.strip() for v in re.split(r"[,\n]", text) if v.strip()]


def _lines(text: str) -> list[str]:
    return [v.strip() for v in text.splitlines() if v.strip()]


def _address_set(text: str, key: str, problems: _Problems) -> list[str]:
    entries = _lines(text)
    if len(entries) > MAX_ENTRIES:
        problems.add(key, f"{len(entries):,} entries; at most {MAX_ENTRIES:,}.")
    for number, entry in enumerate(entries, 1):
        try:
            parse_entry(entry)
        except Invalid as exc:
            problems.add(key, f"Line {number}: {exc}")
            break
    return entries


def _timeout(form: PolicyForm, problems: _Problems) -> int | None:
    if form.timeout_unit == "never":
        return None
    if form.timeout_unit not in UNITS:
        problems.add("timeout_value", "Choose the timeout's unit, or no timeout.")
        return None
    value = _number(form.timeout_value, "timeout_value", problems)
    if value is None:
        return None
    seconds = value * UNITS[form.timeout_unit]
    if not 1 <= seconds <= MAX_TIMEOUT:
        problems.add("timeout_value", "Timeout: from 1 second to 3,650 days (ten years).")
    return seconds


def _notifications(text: str, problems: _Problems) -> list[Any]:
    if not text.strip():
        return []
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        problems.add("notifications", f"Not valid JSON: {exc.msg} (line {exc.lineno}).")
        return []
    if not isinstance(value, list):
        problems.add("notifications", 'A JSON list, e.g. [{"type": "syslog", "settings": {}}].')
        return []
    return value


def _action(row: ActionRow, key: str, problems: _Problems) -> dict[str, Any]:
    if not row.name.strip():
        problems.add(key + "name", "Give this action a name.")
    if not row.type:
        problems.add(key + "type", "Choose the action's type.")
    elif row.type not in action_types():
        problems.add(key + "type", f"{row.type[:40]!r} is not an action type.")
    settings: Any = {}
    if row.settings.strip():
        try:
            settings = json.loads(row.settings)
        except json.JSONDecodeError as exc:
            problems.add(
                key + "settings", f"Settings are not valid JSON: {exc.msg} (line {exc.lineno})."
            )
        else:
            if not isinstance(settings, dict):
                problems.add(key + "settings", 'Settings are a JSON object: {"name": value}.')
                settings = {}
    return {
        "name": row.name.strip(),
        "type": row.type,
        "priority": _number(row.priority, key + "priority", problems, blank=100),
        "depends_on": row.depends_on.strip() or None,
        "condition": row.condition or "always",
        "time_limit_seconds": _number(
            row.time_limit, key + "time_limit", problems, whole=False, blank=30
        ),
        "retries": _number(row.retries, key + "retries", problems, blank=2),
        "backoff_seconds": _number(row.backoff, key + "backoff", problems, whole=False, blank=1),
        "settings": settings,
    }


@dataclass
class Checked:
    """The outcome of checking a form: the document to save, or the problems."""

    document: dict[str, Any] | None
    errors: dict[str, str]


def check(form: PolicyForm) -> Checked:
    """The policy document the form describes, checked by every rule the Responder has,
    or the problems next to their fields."""
    problems = _Problems()
    name = form.name.strip()
    if not name:
        problems.add("name", "Give the policy a name.")
    document: dict[str, Any] = {
        "name": name,
        "description": form.description.strip(),
        "enabled": form.enabled,
        "initiation": list(dict.fromkeys(form.initiation)),
        "timeout_seconds": _timeout(form, problems),
        "allow": _address_set(form.allow, "allow", problems),
        "never": _address_set(form.never, "never", problems),
        "retrigger": form.retrigger or "extend",
        "max_open": _number(form.max_open, "max_open", problems, blank=None),
    }
    if "threshold" in form.initiation:
        document["threshold"] = {
            "hits": _number(form.hits, "hits", problems),
            "period_seconds": _number(form.period, "period", problems, whole=False),
            "quiet_seconds": _number(form.quiet, "quiet", problems, whole=False, blank=0),
            "filter": {
                "severity": _list(form.severities),
                "min_severity": form.min_severity or None,
                "signature": _list(form.signatures),
                "category": _list(form.categories),
                "device": _list(form.devices),
                "action": _list(form.device_actions),
            },
            "notifications": _notifications(form.notifications, problems),
        }
    # Which form row each action of the document came from, by phase.
    rows: dict[str, list[int]] = {}
    for phase in PHASES:
        chosen = [(i, r) for i, r in enumerate(form.actions[phase]) if not r.remove and not r.blank]
        if len(chosen) > MAX_ACTIONS:
            problems.add(f"{phase}_actions", f"{len(chosen)} actions; at most {MAX_ACTIONS}.")
        rows[phase] = [i for i, _ in chosen]
        document[f"{phase}_actions"] = [_action(r, f"{phase}-{i}-", problems) for i, r in chosen]
    # Every check runs, so that one answer shows every problem; a field keeps its first.
    _check_spec(document, rows, problems)
    _check_graphs(document, rows, problems)
    _check_settings(document, rows, problems)
    _check_threshold(document, problems)
    if problems.by_field:
        return Checked(None, problems.by_field)
    return Checked(PolicySpec.model_validate(document).model_dump(mode="json"), {})


def _field_of(loc: tuple[Any, ...], rows: Mapping[str, list[int]]) -> str:
    """The form field a pydantic error location names."""
    if len(loc) >= 2 and isinstance(loc[0], str) and loc[0].endswith("_actions"):
        phase = loc[0].removesuffix("_actions")
        if phase in rows and isinstance(loc[1], int) and loc[1] < len(rows[phase]):
            part = ACTION_FIELDS.get(str(loc[2]), "name") if len(loc) > 2 else "name"
            return f"{phase}-{rows[phase][loc[1]]}-{part}"
    for length in range(len(loc), 0, -1):
        found = SPEC_FIELDS.get(tuple(str(p) for p in loc[:length]))
        if found:
            return found
    return "form"


def _figure(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}" if isinstance(value, int) else str(value)


def _words(error: Mapping[str, Any], key: str) -> str:
    """A pydantic error as a sentence about the field."""
    ctx = error.get("ctx") or {}
    kind = error.get("type", "")
    label = _label(key)
    sentences = {
        "greater_than_equal": f"{label}: at least {_figure(ctx.get('ge'))}.",
        "greater_than": f"{label}: more than {_figure(ctx.get('gt'))}.",
        "less_than_equal": f"{label}: at most {_figure(ctx.get('le'))}.",
        "string_too_long": f"{label}: at most {ctx.get('max_length')} characters.",
        "string_too_short": f"{label}: enter at least {ctx.get('min_length')} character.",
        "enum": f"Choose one of: {ctx.get('expected', '')}.",
    }
    if kind in sentences:
        return sentences[kind]
    message = str(error.get("msg", "not accepted")).removeprefix("Value error, ")
    return f"{label}: {message[:1].lower()}{message[1:]}."


def _check_spec(
    document: dict[str, Any], rows: Mapping[str, list[int]], problems: _Problems
) -> None:
    try:
        PolicySpec.model_validate(document)
    except ValidationError as exc:
        for error in exc.errors():
            key = _field_of(tuple(error["loc"]), rows)
            problems.add(key, _words(error, key))


def _check_graphs(
    document: dict[str, Any], rows: Mapping[str, list[int]], problems: _Problems
) -> None:
    """Each action's dependency, said of the action: a duplicate name, a dependency on
    itself, on an action not in the policy or in the other phase, and cycles."""
    names = {p: [a["name"] for a in document[f"{p}_actions"]] for p in PHASES}
    for phase in PHASES:
        other = "timeout" if phase == "initial" else "initial"
        seen: set[str] = set()
        actions = document[f"{phase}_actions"]
        before = len(problems.by_field)
        for action, row in zip(actions, rows[phase], strict=True):
            key = f"{phase}-{row}-"
            name, depends_on = action["name"], action["depends_on"]
            if name in seen:
                problems.add(
                    key + "name", f"Another {phase} action is named {name!r}; names must differ."
                )
            seen.add(name)
            if depends_on is None:
                continue
            if depends_on == name:
                problems.add(key + "depends_on", f"Action {name!r} cannot depend on itself.")
            elif depends_on in names[other] and depends_on not in names[phase]:
                problems.add(
                    key + "depends_on",
                    f"Action {name!r} depends on {depends_on!r}, which is one of the "
                    f"{other} actions; an action can only depend on one of its own list.",
                )
            elif depends_on not in names[phase]:
                problems.add(
                    key + "depends_on",
                    f"Action {name!r} depends on {depends_on!r}, which is not in this policy.",
                )
        if len(problems.by_field) > before:
            continue  # a cycle is only looked for among known names
        try:
            check_graph([(a["name"], a["depends_on"]) for a in actions], f"{phase}_actions")
        except Invalid as exc:
            sentence = str(exc).split(": ", 1)[-1]
            sentence = sentence[:1].upper() + sentence[1:] + "."
            problems.add(f"{phase}_actions", sentence)
            depends = {a["name"]: a["depends_on"] for a in actions}
            for action, row in zip(actions, rows[phase], strict=True):
                if _on_cycle(action["name"], depends):
                    problems.add(f"{phase}-{row}-depends_on", sentence)


def _on_cycle(name: str, depends: Mapping[str, str | None]) -> bool:
    current = depends.get(name)
    for _ in range(len(depends)):
        if current is None:
            return False
        if current == name:
            return True
        current = depends.get(current)
    return False


def _check_settings(
    document: dict[str, Any], rows: Mapping[str, list[int]], problems: _Problems
) -> None:
    """Each action's settings, by its type's rules, said next to the settings."""
    for phase in PHASES:
        for action, row in zip(document[f"{phase}_actions"], rows[phase], strict=True):
            key = f"{phase}-{row}-"
            if key + "type" in problems.by_field or key + "settings" in problems.by_field:
                continue
            try:
                parse_config(action["type"], action["settings"], "settings")
            except Invalid as exc:
                problems.add(key + "settings", _setting_words(str(exc)))


PYDANTIC_WORDS = {
    "Field required": "required",
    "Extra inputs are not permitted": "not a setting of this action type",
}


def _setting_words(message: str) -> str:
    message = message.removeprefix("settings: ")
    setting, sep, rest = message.partition(": ")
    if sep and re.fullmatch(r"[\w.]+", setting):
        rest = PYDANTIC_WORDS.get(rest, rest)
        return f"Setting {setting!r}: {rest[:1].lower()}{rest[1:]}."
    return message[:1].upper() + message[1:] + "."


def _check_threshold(document: dict[str, Any], problems: _Problems) -> None:
    """The threshold's filter and notifications, by the Responder's own check (the rest
    of the policy is checked above, field by field)."""
    if "threshold" not in document:
        return
    alone = {**document, "allow": [], "never": [], "initial_actions": [], "timeout_actions": []}
    try:
        spec = PolicySpec.model_validate(alone)
    except ValidationError:
        return  # said already, next to its field
    try:
        compile_policy(spec)
    except Invalid as exc:
        problems.add(*place(str(exc)))


def place(message: str) -> tuple[str, str]:
    """Where a Responder message (``threshold.filter.signature: ...``, ``name: ...``)
    belongs on the form, and its words as a sentence; "form" when no field fits."""
    where, sep, text = message.partition(": ")
    path = tuple(re.sub(r"\[\d+\]", "", where).split(".")) if sep else ()
    key = _field_of(path, {}) if path else "form"
    if key == "form":
        text = message
    return key, text[:1].upper() + text[1:].rstrip(".") + "."
