"""`garrison serve`."""

from __future__ import annotations

import asyncio
import logging

import typer

from garrison import logs
from garrison.cli.context import open_services, settings
from garrison.server.compose import build_components
from garrison.server.runner import run_until_signalled

log = logging.getLogger("garrison.server")


def serve(
    ctx: typer.Context,
    log_format: str | None = typer.Option(
        None, help="text or json (default: [log] format of the config)."
    ),
    log_level: str | None = typer.Option(None, help="debug, info, warning or error."),
) -> None:
    """Run Garrison: HTTPS on 443 (10443 unprivileged) with the console, /api/v1 and
    /metrics, and the client API on 9033. SIGTERM or Ctrl-C drains and stops it."""
    overrides = {"log": {k: v for k, v in (("format", log_format), ("level", log_level)) if v}}
    config = settings(ctx, **overrides)
    logs.configure(config.log.format, config.log.level)
    if config.shifts_low_ports():
        why = "low_ports = shift" if config.server.low_ports == "shift" else "not running as root"
        log.info("%s: ports below 1024 move up by 10000 (443 -> 10443)", why)
    with open_services(config) as svc:
        try:
            import uvloop

            runner = uvloop.run
        except ImportError:  # uvloop is optional on platforms without it
            runner = asyncio.run
        runner(run_until_signalled(build_components(svc)))
