"""`garrison responder` (policies, in the local database) and `garrison responses` (the
response history, read locally; opened, closed and extended through the running
server's API, since the server runs the actions)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from garrison.auth import Principal
from garrison.cli.context import console, open_services, settings
from garrison.cli.remote import Connection, call_api
from garrison.responder.actions.registry import action_types
from garrison.store.responder import ResponseRecord

policies_app = typer.Typer(
    help="Responder policies: how a response opens (threshold, manual, Web service or NMS "
    "trap, IPS quarantine escalation), which addresses it may touch, and its initial and "
    "timeout actions.\n\nPolicies are JSON documents (see docs/responder.md); `garrison "
    "responder show NAME` prints one in the form `create` and `update` take. A running "
    "server picks changes up within seconds.",
    no_args_is_help=True,
)
responses_app = typer.Typer(
    help="Responses: a policy acting on one host. `list` and `show` read the local "
    "database; `open`, `close` and `extend` ask the running server (its client API port, "
    "with GARRISON_API_KEY), which runs the actions.",
    no_args_is_help=True,
)

ME = Principal.local_cli
DURATION = re.compile(r"^(\d+)\s*([smhd]?)$")
UNIT_SECONDS = {"": 60, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> int | None:
    """``30m``, ``2h``, ``7d``, ``90s`` or a number of minutes (the SMS's unit) as
    seconds; ``none`` as None (no automatic timeout)."""
    value = text.strip().lower()
    if value in ("none", "never", "0"):
        return None
    match = DURATION.match(value)
    if match is None:
        raise typer.BadParameter(f"{text!r}: use 90s, 30m, 2h, 7d, a number of minutes or none")
    return int(match.group(1)) * UNIT_SECONDS[match.group(2)]


def _document(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise typer.BadParameter(f"{path}: {exc}", param_hint="FILE") from None
    if not isinstance(document, dict):
        raise typer.BadParameter(f"{path}: a policy is a JSON object", param_hint="FILE")
    return document


@policies_app.command("list")
def list_policies(ctx: typer.Context) -> None:
    """List policies: initiation, timeout, actions."""
    with open_services(settings(ctx)) as svc:
        records = svc.policies.list_policies(ME())
    table = Table("id", "name", "enabled", "initiation", "timeout", "initial", "timeout actions")
    for record in records:
        doc = record.document
        timeout = doc.get("timeout_seconds")
        table.add_row(
            str(record.id),
            record.name + (" (built in)" if record.builtin else ""),
            "yes" if record.enabled else "no",
            ", ".join(doc.get("initiation", [])),
            "none" if timeout is None else f"{timeout} s",
            ", ".join(a["name"] for a in doc.get("initial_actions", [])) or "-",
            ", ".join(a["name"] for a in doc.get("timeout_actions", [])) or "-",
        )
    console.print(table)


@policies_app.command("show")
def show_policy(ctx: typer.Context, policy: str = typer.Argument(..., help="Name or id.")) -> None:
    """Print a policy as JSON (the form `create` and `update` take)."""
    with open_services(settings(ctx)) as svc:
        record = svc.policies.get_policy(ME(), policy)
    print(json.dumps(record.document, indent=2))


@policies_app.command("create")
def create_policy(
    ctx: typer.Context, file: Path = typer.Argument(..., help="The policy as a JSON file.")
) -> None:
    """Create a policy from a JSON file. Every rule is checked first, and an error names
    the field: address sets, threshold filter, action settings and templates, and the
    action graph (no cycles, no unknown dependency)."""
    with open_services(settings(ctx)) as svc:
        record = svc.policies.create_policy(ME(), _document(file))
    console.print(f"created policy [bold]{record.name}[/] (id {record.id})")


@policies_app.command("update")
def update_policy(
    ctx: typer.Context,
    policy: str = typer.Argument(..., help="Name or id of the policy to replace."),
    file: Path = typer.Argument(..., help="The new policy as a JSON file."),
) -> None:
    """Replace a policy. Open responses keep the actions they opened with."""
    with open_services(settings(ctx)) as svc:
        record = svc.policies.update_policy(ME(), policy, _document(file))
    console.print(f"updated policy [bold]{record.name}[/]")


@policies_app.command("delete")
def delete_policy(
    ctx: typer.Context, policy: str = typer.Argument(..., help="Name or id.")
) -> None:
    """Delete a policy that has no open responses."""
    with open_services(settings(ctx)) as svc:
        svc.policies.delete_policy(ME(), policy)
    console.print(f"deleted policy [bold]{policy}[/]")


@policies_app.command("action-types")
def list_action_types() -> None:
    """The action types a policy may use, with their settings."""
    table = Table("type", "what it does", "settings")
    for kind, action in sorted(action_types().items()):
        fields = ", ".join(action.config_type.model_fields)
        table.add_row(kind, action.title, fields)
    console.print(table)


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _print_response(record: ResponseRecord) -> None:
    console.print(
        f"[bold]response {record.id}[/] {record.address}"
        + (f" {record.mac}" if record.mac else "")
        + f" policy {record.policy!r}: {record.state} ({record.host_state})"
    )
    console.print(
        f"  opened {_when(record.opened_at)} by {record.authority} ({record.trigger}); "
        f"expires {_when(record.expires_at)}"
        + (f"; closed {_when(record.closed_at)}: {record.close_reason}" if record.closed_at else "")
    )
    if record.reason:
        console.print(f"  reason: {record.reason}")
    for action in record.actions:
        colour = {"succeeded": "green", "failed": "red", "skipped": "yellow"}.get(action.state, "")
        state = f"[{colour}]{action.state}[/]" if colour else action.state
        console.print(
            f"  {action.phase:7} {action.name} ({action.kind}): {state}, "
            f"{action.attempts} attempt(s)" + (f" - {action.detail}" if action.detail else "")
        )


@responses_app.command("list")
def list_responses(
    ctx: typer.Context,
    state: list[str] = typer.Option([], help="open, closing or closed; repeat for several."),
    policy: str | None = typer.Option(None, help="Only this policy's responses."),
    address: str | None = typer.Option(None, help="Only responses for this address."),
    limit: int = typer.Option(50, min=1, max=1000, help="At most this many, newest first."),
) -> None:
    """The response history, newest first."""
    with open_services(settings(ctx)) as svc:
        records = svc.policies.list_responses(
            ME(), states=state, policy=policy, address=address, limit=limit
        )
    table = Table("id", "address", "policy", "trigger", "state", "host", "opened", "expires")
    for r in records:
        table.add_row(
            str(r.id),
            r.address,
            r.policy,
            r.trigger,
            r.state,
            r.host_state,
            _when(r.opened_at),
            _when(r.expires_at),
        )
    console.print(table)


@responses_app.command("show")
def show_response(ctx: typer.Context, response_id: int = typer.Argument(..., min=1)) -> None:
    """One response with each action's attempts and result."""
    with open_services(settings(ctx)) as svc:
        _print_response(svc.policies.get_response(ME(), response_id))


@responses_app.command("open")
def open_response(
    ctx: typer.Context,
    address: str = typer.Argument(..., help="The host's IPv4 or IPv6 address."),
    policy: str = typer.Option("Default Response", help="A policy that allows manual use."),
    mac: str = typer.Option("", help="The host's MAC address, if known."),
    user: str = typer.Option("", help="The host's user, if known."),
    reason: str = typer.Option("", help="Why, for the history."),
    timeout: str | None = typer.Option(
        None, help="Override the policy's timeout: 90s, 30m, 2h, 7d (the policy's if unset)."
    ),
) -> None:
    """Open a response by hand (the SMS's Create Manual Response)."""
    body: dict[str, Any] = {
        "policy": policy,
        "address": address,
        "mac": mac,
        "user": user,
        "reason": reason,
    }
    if timeout is not None:
        body["timeout_seconds"] = parse_duration(timeout)
    answer = call_api(ctx, Connection.from_environment(), "POST", "/api/v1/responses", body)
    opened = answer.json()
    console.print(
        f"response [bold]{opened['id']}[/] for {opened['address']} under "
        f"{opened['policy']!r}: {opened['state']}, expires {opened['expires_at'] or 'never'}"
    )


@responses_app.command("close")
def close_response(
    ctx: typer.Context,
    response_id: int = typer.Argument(..., min=1),
    reason: str = typer.Option("closed by hand", help="Why, for the history."),
) -> None:
    """Close a response now; its timeout actions run."""
    path = f"/api/v1/responses/{response_id}/close"
    closed = call_api(ctx, Connection.from_environment(), "POST", path, {"reason": reason}).json()
    console.print(f"response [bold]{response_id}[/]: {closed['state']}")


@responses_app.command("extend")
def extend_response(
    ctx: typer.Context,
    response_id: int = typer.Argument(..., min=1),
    by: str = typer.Option(..., help="New expiry from now: 90s, 30m, 2h, 7d."),
) -> None:
    """Move a response's expiry."""
    seconds = parse_duration(by)
    if seconds is None:
        raise typer.BadParameter("give a duration", param_hint="--by")
    path = f"/api/v1/responses/{response_id}/extend"
    record = call_api(ctx, Connection.from_environment(), "POST", path, {"seconds": seconds})
    console.print(f"response [bold]{response_id}[/] now expires {record.json()['expires_at']}")
