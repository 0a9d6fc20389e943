"""`garrison audit`: read the audit log."""

from __future__ import annotations

import typer
from rich.table import Table

from garrison.auth import Principal
from garrison.cli.context import console, open_services, settings


def audit(
    ctx: typer.Context,
    limit: int = typer.Option(50, min=1, max=10000, help="How many entries, newest first."),
    actor: str | None = typer.Option(None, help="Only this user's actions."),
    action: str | None = typer.Option(None, help="Only this action, e.g. login, user.create."),
) -> None:
    """Show who changed what, when, from which address."""
    with open_services(settings(ctx)) as svc:
        entries = svc.auth.query_audit(
            Principal.local_cli(), actor=actor, action=action, limit=limit
        )
    table = Table("when (UTC)", "who", "from", "action", "target", "outcome", "detail")
    for e in entries:
        outcome = "[green]ok[/]" if e.outcome == "success" else f"[red]{e.outcome}[/]"
        table.add_row(
            f"{e.at:%Y-%m-%d %H:%M:%S}",
            e.actor,
            e.client_address,
            e.action,
            e.target,
            outcome,
            e.detail,
        )
    console.print(table)
