"""Triggering events kept with a response, as JSON and back (the store keeps them so that
timeout actions after a restart still know what happened)."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any

from garrison.events.model import Action, Event, EventKind, Severity

_TIMES = {"received_at", "begin_time", "end_time"}


def event_to_json(event: Event) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(Event):
        value = getattr(event, f.name)
        if value is None or value == "" or value == {}:
            continue
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, Severity):
            value = int(value)
        elif isinstance(value, EventKind | Action):
            value = value.value
        out[f.name] = value
    return out


def event_from_json(data: dict[str, Any]) -> Event:
    known = {f.name for f in fields(Event)}
    values = {k: v for k, v in data.items() if k in known}
    for name in _TIMES & values.keys():
        values[name] = datetime.fromisoformat(values[name])
    values["kind"] = EventKind(values.get("kind", EventKind.ALERT))
    values.setdefault("collector", "")
    values.setdefault("source_address", "")
    if "severity" in values:
        values["severity"] = Severity(values["severity"])
    if "action" in values:
        values["action"] = Action(values["action"])
    return Event(**values)
