"""Events: the normalized type, the bus, and (with the store) writing and querying them."""

from garrison.events.bus import EventBus, Subscription
from garrison.events.model import Action, Event, EventKind, Severity

__all__ = ["Action", "Event", "EventBus", "EventKind", "Severity", "Subscription"]
