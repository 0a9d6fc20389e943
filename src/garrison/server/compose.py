"""Which components `garrison serve` runs, built from the settings."""

from __future__ import annotations

from garrison.api.app import create_app
from garrison.collectors.snmp_trap import TrapReceiver
from garrison.collectors.syslog import build_syslog_receivers
from garrison.devices.poller import DevicePoller
from garrison.events.retention import RetentionTask
from garrison.events.writer import EventWriter
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
    components.append(EventWriter(svc.store, svc.bus, settings.events, svc.metrics))
    components.append(RetentionTask(svc.store, settings.events, svc.metrics))
    # Collectors and pollers.
    if settings.poller.enabled:
        components.append(DevicePoller.of(svc))
    if settings.snmp_trap.enabled:
        components.append(TrapReceiver(settings, svc.bus, svc.metrics, svc.devices.directory))
    if settings.syslog.enabled:
        components.extend(
            build_syslog_receivers(settings, svc.bus, svc.metrics, svc.devices.directory)
        )
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
