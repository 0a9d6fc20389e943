"""`garrison config`: what Garrison will run with, after the file and the environment."""

from __future__ import annotations

import typer
from rich.table import Table
from sqlalchemy.engine import make_url

from garrison import ports
from garrison.cli.context import console, settings

app = typer.Typer(help="Show and check the effective configuration.", no_args_is_help=True)


@app.command("check")
def check(ctx: typer.Context) -> None:
    """Read the config file and GARRISON_* variables; exit 1 with the problem if any."""
    config = settings(ctx)
    where = config.config_file or "defaults (no config file)"
    console.print(f"[green]✓[/] configuration is valid: {where}")


@app.command("show")
def show(ctx: typer.Context) -> None:
    """Print every effective setting and the port each listener binds."""
    config = settings(ctx)
    table = Table("setting", "value", title=f"config: {config.config_file or 'defaults'}")
    table.add_row("data_dir", str(config.data_dir))
    for section in ("server", "tls", "auth", "log"):
        for key, value in getattr(config, section).model_dump().items():
            table.add_row(f"{section}.{key}", str(value))
    # Never print a database password.
    table.add_row("database.url", make_url(config.database_url).render_as_string())
    table.add_row("tls certificate", str(config.certificate_path))
    console.print(table)
    listening = Table("listener", "port", "transport", "purpose", title="listeners")
    for entry in ports.listeners():
        listening.add_row(entry.key, str(config.port(entry.key)), entry.transport, entry.purpose)
    console.print(listening)


@app.command("port")
def port(
    ctx: typer.Context,
    key: str = typer.Argument(..., help="Catalog key, e.g. https or client-api."),
) -> None:
    """Print the port the service KEY binds, after overrides and the +10000 shift."""
    try:
        print(settings(ctx).port(key))
    except KeyError as exc:
        raise typer.BadParameter(exc.args[0], param_hint="KEY") from None
