"""The console's sections, in menu order: where each lives and who may see it."""

from __future__ import annotations

from dataclasses import dataclass

from garrison.auth import Capability


@dataclass(frozen=True, slots=True)
class Section:
    path: str
    label: str
    capability: Capability | None = None  # None: every logged-in user


SECTIONS = (
    Section("/", "Dashboard"),
    Section("/devices", "Devices", Capability.DEVICES_READ),
    Section("/events", "Events", Capability.EVENTS_READ),
    Section("/responder", "Responder", Capability.RESPONDER_READ),
    Section("/reputation", "Reputation", Capability.REPUTATION_READ),
    Section("/admin", "Administration"),  # every user manages their own API keys there
)


def current(path: str) -> str:
    """The section a page belongs to (the longest matching prefix)."""
    matches = [s.path for s in SECTIONS if path == s.path or path.startswith(s.path + "/")]
    return max(matches, key=len, default="/")
