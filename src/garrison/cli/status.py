"""`garrison status`: the fleet, the event flow and what the collectors refused."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import httpx
import typer
from prometheus_client.parser import text_string_to_metric_families
from rich.table import Table

from garrison.auth import Principal
from garrison.cli.context import console, err_console, open_services, settings
from garrison.events.filters import EventFilters
from garrison.tls import client_context

# The counters worth a line each, by metric family name.
COUNTERS = {
    "garrison_trap_received": "traps received",
    "garrison_trap_dropped": "traps dropped",
    "garrison_trap_kernel_drops": "traps dropped by the kernel (socket buffer full)",
    "garrison_syslog_received": "syslog messages received",
    "garrison_syslog_dropped": "syslog messages dropped",
    "garrison_events_written": "events stored",
    "garrison_events_writer_dropped": "events lost before storing",
    "garrison_device_poll_failures": "device polls failed",
    "garrison_responder_actions": "Responder actions run",
    "garrison_nms_commands_dropped": "NMS commands dropped",
}


def counters_by_label(metrics_text: str) -> dict[str, dict[str, float]]:
    """``{family: {label values: value}}`` for the families in COUNTERS (pure)."""
    found: dict[str, dict[str, float]] = defaultdict(dict)
    for family in text_string_to_metric_families(metrics_text):
        if family.name not in COUNTERS:
            continue
        for sample in family.samples:
            if not sample.name.endswith("_total") and family.type == "counter":
                continue
            label = ", ".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            found[family.name][label or "all"] = sample.value
    return dict(found)


def status(
    ctx: typer.Context,
    api_key: str | None = typer.Option(
        None,
        envvar="GARRISON_API_KEY",
        show_envvar=True,
        help="With a key, also read the running server's counters (received, dropped by "
        "reason) from its /metrics on this host's client API port.",
    ),
) -> None:
    """Show devices by state, events stored in the last hour and day, and, from the
    running server, what each collector received and dropped, by reason."""
    config = settings(ctx)
    cli = Principal.local_cli()
    now = datetime.now(UTC)
    with open_services(config) as svc:
        states = svc.devices.count_by_state()
        last_hour = svc.events.count(cli, EventFilters(since=now - timedelta(hours=1)))
        last_day = svc.events.count(cli, EventFilters(since=now - timedelta(days=1)))
        open_responses = svc.policies.count_responses(cli, states=["open"])
    fleet = Table("devices", "count", title="fleet")
    for state in ("reachable", "degraded", "unreachable", "unknown"):
        fleet.add_row(state, str(states.get(state, 0)))
    console.print(fleet)
    console.print(f"events stored: {last_hour} in the last hour, {last_day} in the last day")
    console.print(f"open responses: {open_responses} (garrison responses list)")
    if not api_key:
        console.print("[dim]Set GARRISON_API_KEY to add the running server's counters.[/]")
        return
    url = f"https://127.0.0.1:{config.port('client-api')}/metrics"
    context = client_context(config.tls.profile, cafile=config.certificate_path)
    try:
        response = httpx.get(url, headers={"X-SMS-API-KEY": api_key}, verify=context, timeout=10)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        err_console.print(f"[red]error:[/] cannot read {url}: {exc}")
        raise typer.Exit(1) from None
    table = Table("counter", "labels", "value", title="since the server started")
    for family, values in counters_by_label(response.text).items():
        for labels, value in sorted(values.items()):
            table.add_row(COUNTERS[family], labels, f"{value:.0f}")
    console.print(table)
