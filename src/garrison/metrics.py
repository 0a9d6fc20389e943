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

    def render(self) -> bytes:
        return generate_latest(self.registry)
