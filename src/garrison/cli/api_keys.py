"""`garrison api-keys`: make, list and revoke API keys in the local database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import typer
from rich.table import Table

from garrison.auth import Principal
from garrison.cli.context import console, open_services, settings
from garrison.cli.users import find_user

app = typer.Typer(
    help="Make, list and revoke API keys (sent as the X-SMS-API-KEY header).", no_args_is_help=True
)


@app.command("create")
def create(
    ctx: typer.Context,
    username: str = typer.Argument(..., help="The user the key acts as."),
    name: str = typer.Option("cli", help="What the key is for, e.g. 'siem-export'."),
    days: int | None = typer.Option(None, min=1, help="Expire after this many days."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print the key alone (scripts)."),
) -> None:
    """Make a key; it is printed once and only its digest is kept."""
    expires = datetime.now(UTC) + timedelta(days=days) if days else None
    with open_services(settings(ctx)) as svc:
        new = svc.auth.create_api_key(
            Principal.local_cli(),
            user_id=find_user(svc, username).id,
            name=name,
            expires_at=expires,
        )
    if quiet:
        print(new.secret)
        return
    console.print(f"[green]✓[/] key {new.record.id} for {username}: [bold yellow]{new.secret}[/]")
    console.print("It is shown this once. Use it as:  curl -k -H 'X-SMS-API-KEY: <key>' ...")


@app.command("list")
def list_keys(ctx: typer.Context) -> None:
    """List every key: owner, name, prefix, state and last use."""
    with open_services(settings(ctx)) as svc:
        cli = Principal.local_cli()
        keys = svc.auth.list_api_keys(cli)
        owners = {u.id: u.username for u in svc.auth.list_users(cli, limit=1000)}
    table = Table("id", "user", "name", "prefix", "state", "last used", "expires")
    now = datetime.now(UTC)
    for key in keys:
        state = "revoked" if key.revoked_at else "active"
        if key.expires_at and key.expires_at <= now:
            state = "expired"
        last = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
        expires = f"{key.expires_at:%Y-%m-%d}" if key.expires_at else "never"
        table.add_row(
            str(key.id), owners.get(key.user_id, "?"), key.name, key.prefix, state, last, expires
        )
    console.print(table)


@app.command("revoke")
def revoke(ctx: typer.Context, key_id: int = typer.Argument(..., help="Id from `list`.")) -> None:
    """Revoke a key at once; requests with it are refused from now on."""
    with open_services(settings(ctx)) as svc:
        svc.auth.revoke_api_key(Principal.local_cli(), key_id)
    console.print(f"[green]✓[/] key {key_id} revoked")
