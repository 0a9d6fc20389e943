"""Which components `garrison serve` runs, built from the settings."""

from __future__ import annotations

from garrison.api.app import create_app
from garrison.server.component import Component
from garrison.server.https import HttpsListener
from garrison.services import Services
from garrison.tls import server_context

# The catalog keys of the HTTPS listeners this release serves the API on: the console
# and Web services port, and the client API port the remote CLI uses.
API_LISTENERS = ("https", "client-api")


def build_components(svc: Services) -> list[Component]:
    """In start order: consumers of the bus first (so nothing published is missed), then
    the collectors that publish, then the HTTPS listeners. They stop in reverse order."""
    settings = svc.settings
    components: list[Component] = []
    # Consumers of the bus.
    # Collectors and pollers.
    # HTTPS listeners.
    context = server_context(settings.tls.profile, settings.certificate_path, settings.key_path)
    for key in API_LISTENERS:
        components.append(
            HttpsListener(
                key,
                create_app(svc, listener=key),
                settings.server.host,
                settings.port(key),
                context,
                grace_seconds=settings.server.shutdown_grace_seconds,
            )
        )
    return components
