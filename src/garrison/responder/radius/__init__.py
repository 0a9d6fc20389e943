"""RADIUS for the Responder: the proxy on UDP 1812 that rejects quarantined MACs and
users and forwards the rest to the site's RADIUS server (``proxy``), the session table
it learns (``sessions``), and the packet helpers both it and the switch-disconnect
action use (``packets``)."""

from garrison.responder.radius.proxy import ClientTable, RadiusProxy
from garrison.responder.radius.sessions import (
    RadiusSession,
    SessionTable,
    normalize_mac,
    rfc3580_mac,
)

__all__ = [
    "ClientTable",
    "RadiusProxy",
    "RadiusSession",
    "SessionTable",
    "normalize_mac",
    "rfc3580_mac",
]
