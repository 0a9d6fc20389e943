"""Prometheus metrics. One registry per process (not the global one), so tests can run
several apps side by side."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

from garrison import __version__


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        Gauge(
            "garrison_info", "Garrison build information", ["version"], registry=self.registry
        ).labels(__version__).set(1)
        self.http_requests = Counter(
            "garrison_http_requests_total",
            "HTTP requests answered",
            ["listener", "method", "handler", "status"],
            registry=self.registry,
        )
        self.http_duration = Histogram(
            "garrison_http_request_duration_seconds",
            "Time to answer an HTTP request",
            ["listener", "handler"],
            registry=self.registry,
        )
        self.auth_failures = Counter(
            "garrison_auth_failures_total",
            "Requests refused for missing or bad credentials",
            ["reason"],
            registry=self.registry,
        )

        # The device poller (devices/poller.py).
        self.device_polls = Counter(
            "garrison_device_polls_total", "SNMP health polls of devices", registry=self.registry
        )
        self.device_poll_failures = Counter(
            "garrison_device_poll_failures_total",
            "Device polls without a usable answer, by reason (timeout, auth, decode, error)",
            ["reason"],
            registry=self.registry,
        )
        self.device_poll_duration = Histogram(
            "garrison_device_poll_duration_seconds",
            "Time to poll one device, answered or not",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.devices_by_state = Gauge(
            "garrison_devices",
            "Devices in the inventory, by state",
            ["state"],
            registry=self.registry,
        )

        # The SNMP trap receiver (collectors/snmp_trap).
        self.trap_received = Counter(
            "garrison_trap_received_total",
            "SNMP trap datagrams received, before any check",
            ["port"],
            registry=self.registry,
        )
        self.trap_dropped = Counter(
            "garrison_trap_dropped_total",
            "SNMP trap datagrams dropped, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.trap_kernel_drops = Gauge(
            "garrison_trap_kernel_drops",
            "Datagrams the kernel dropped on a trap socket (full receive buffer)",
            ["port"],
            registry=self.registry,
        )

        # The event store (events/writer.py, events/retention.py) and its readers.
        self.events_written = Counter(
            "garrison_events_written_total", "Events stored", registry=self.registry
        )
        self.events_write_batches = Counter(
            "garrison_events_write_batches_total",
            "Transactions the event writer committed",
            registry=self.registry,
        )
        self.events_write_failures = Counter(
            "garrison_events_write_failures_total",
            "Failed attempts to write a batch of events (each is retried)",
            registry=self.registry,
        )
        self.events_rejected = Counter(
            "garrison_events_rejected_total",
            "Events the database refused even alone; logged and dropped",
            registry=self.registry,
        )
        self.events_write_seconds = Histogram(
            "garrison_events_write_seconds",
            "Time to write one batch of events",
            registry=self.registry,
        )
        self.events_writer_queue = Gauge(
            "garrison_events_writer_queue",
            "Events published but not yet taken by the writer",
            registry=self.registry,
        )
        self.events_writer_dropped = Gauge(
            "garrison_events_writer_dropped",
            "Events the writer's queue lost because it was full",
            registry=self.registry,
        )
        self.events_deleted = Counter(
            "garrison_events_deleted_total",
            "Events deleted by the retention policy",
            ["reason"],
            registry=self.registry,
        )
        self.events_ingested = Counter(
            "garrison_events_ingested_total",
            "Events accepted by the HTTPS batch ingest",
            registry=self.registry,
        )
        self.events_stream_clients = Gauge(
            "garrison_events_stream_clients",
            "Open live-stream WebSocket connections",
            registry=self.registry,
        )
        self.events_stream_dropped = Counter(
            "garrison_events_stream_dropped_total",
            "Events a slow live-stream client missed",
            registry=self.registry,
        )

        # The syslog receiver (collectors/syslog).
        self.syslog_received = Counter(
            "garrison_syslog_received_total",
            "Syslog messages received (datagrams or TCP frames), before any check",
            ["transport"],
            registry=self.registry,
        )
        self.syslog_dropped = Counter(
            "garrison_syslog_dropped_total",
            "Syslog messages (or, for framing, TLS and connection limits, connections) "
            "dropped, by reason",
            ["reason"],
            registry=self.registry,
        )
        # The Responder.
        self.responder_actions = Counter(
            "garrison_responder_actions_total",
            "Responder action runs finished, by action type and outcome",
            ["kind", "outcome"],
            registry=self.registry,
        )
        # The NMS command listener (responder/nms_receiver.py).
        self.nms_commands_received = Counter(
            "garrison_nms_commands_received_total",
            "NMS command datagrams received, before any check",
            registry=self.registry,
        )
        self.nms_commands_dropped = Counter(
            "garrison_nms_commands_dropped_total",
            "NMS command datagrams dropped, by reason",
            ["reason"],
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
