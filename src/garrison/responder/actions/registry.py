"""Which action kinds exist: one line per module."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from garrison.errors import Invalid
from garrison.responder.actions.base import ActionConfig, ActionServices, ActionType
from garrison.responder.templates import check_template

ACTION_TYPES: dict[str, type[ActionType[Any]]] = {}
_loaded = False


def register(action_type: type[ActionType[Any]]) -> type[ActionType[Any]]:
    ACTION_TYPES[action_type.kind] = action_type
    return action_type


def _load() -> None:
    """Import every action module (each registers itself); here, not at import time of
    ``base``, so that modules can import ``base`` freely."""
    # One line an action type. Keep in alphabetical order.
    from garrison.responder.actions import (  # noqa: F401
        email,
        ips_quarantine,
        nms_trap,
        reputation_entry,
        snmp_trap,
        switch_disconnect,
        syslog,
        web,
    )


def action_types() -> Mapping[str, type[ActionType[Any]]]:
    global _loaded
    if not _loaded:
        _loaded = True
        _load()
    return ACTION_TYPES


def parse_config(kind: str, raw: Mapping[str, Any], where: str) -> ActionConfig:
    """Validate an action's settings; errors name the action, the field and the rule."""
    types = action_types()
    if kind not in types:
        raise Invalid(
            f"{where}: unknown action type {kind!r}; known types: {', '.join(sorted(types))}"
        )
    config_type = types[kind].config_type
    try:
        config = config_type.model_validate(dict(raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "settings"
        raise Invalid(f"{where}: {field}: {first['msg']}") from None
    for name in config_type.TEMPLATES:
        value = getattr(config, name)
        for text in value if isinstance(value, list | tuple) else [value]:
            if isinstance(text, str):
                check_template(text, f"{where}: {name}")
            elif isinstance(text, Mapping):  # header maps
                for item in text.values():
                    check_template(str(item), f"{where}: {name}")
    return config


def build(kind: str, config: ActionConfig, services: ActionServices) -> ActionType[Any]:
    return action_types()[kind](config, services)
