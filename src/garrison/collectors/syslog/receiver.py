"""The syslog receivers `garrison serve` runs: one per enabled transport, none unless
[syslog] enabled."""

from __future__ import annotations

from garrison.collectors.syslog.drops import DEFAULT_LOG_INTERVAL
from garrison.collectors.syslog.pipeline import SourceLookup, no_inventory
from garrison.collectors.syslog.tcp import SyslogTcpReceiver, SyslogTlsReceiver
from garrison.collectors.syslog.udp import SyslogUdpReceiver
from garrison.config.settings import Settings
from garrison.events.bus import EventBus
from garrison.metrics import Metrics
from garrison.server.component import Component


def build_syslog_receivers(
    settings: Settings,
    bus: EventBus,
    metrics: Metrics,
    source_lookup: SourceLookup = no_inventory,
    *,
    log_interval: float = DEFAULT_LOG_INTERVAL,
) -> list[Component]:
    if not settings.syslog.enabled:
        return []
    receivers: list[Component] = []
    if settings.syslog.udp:
        receivers.append(
            SyslogUdpReceiver(settings, bus, metrics, source_lookup, log_interval=log_interval)
        )
    if settings.syslog.tcp:
        receivers.append(
            SyslogTcpReceiver(settings, bus, metrics, source_lookup, log_interval=log_interval)
        )
    if settings.syslog.tls:
        receivers.append(
            SyslogTlsReceiver(settings, bus, metrics, source_lookup, log_interval=log_interval)
        )
    return receivers
