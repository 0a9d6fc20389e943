"""Which components `garrison serve` runs, built from the settings."""

from __future__ import annotations

from garrison.api.app import create_app
from garrison.collectors.snmp_trap import TrapReceiver
from garrison.collectors.syslog import build_syslog_receivers
from garrison.devices.poller import DevicePoller
from garrison.events.retention import RetentionTask
from garrison.events.writer import EventWriter
from garrison.reputation.batcher import ReputationBatcher
from garrison.reputation.expiry import ReputationExpiry
from garrison.responder.engine import Responder
from garrison.responder.nms_receiver import NmsTrapReceiver
from garrison.responder.radius import RadiusProxy
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
    components.extend(responder_components(svc))
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


def responder_components(svc: Services) -> list[Component]:
    """The reputation writer and its expiry, the Responder, and its listeners: the RADIUS
    proxy (UDP 1812) and the NMS command listener (UDP 162)."""
    settings = svc.settings
    reputation = settings.reputation
    batcher = ReputationBatcher(
        svc.reputation,
        interval=reputation.aggregate_seconds,
        max_batch=reputation.max_batch,
        default_cap=reputation.default_cap,
    )
    components: list[Component] = [
        batcher,
        ReputationExpiry(svc.reputation, reputation.expire_every_seconds),
    ]
    if not settings.responder.enabled:
        return components
    responder = Responder(svc, reputation=batcher)
    components.append(responder)
    if settings.radius_proxy.enabled:
        radius_proxy = RadiusProxy(settings, responder.hosts)
        # The switch-disconnect action finds a host's switch in the proxy's sessions.
        responder.action_services.radius_sessions = radius_proxy.sessions
        components.append(radius_proxy)
    if settings.responder.nms_traps:
        components.append(NmsTrapReceiver(settings, responder.handle_nms, svc.metrics))
    return components
