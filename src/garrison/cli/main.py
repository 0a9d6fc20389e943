"""The `garrison` command."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from garrison import __version__
from garrison.cli import (
    api_keys,
    audit,
    config,
    devices,
    events,
    externaldb,
    init,
    ports,
    remote,
    reputation,
    responder,
    serve,
    status,
    users,
)
from garrison.cli.context import CliOptions, console, err_console
from garrison.config import ConfigError
from garrison.errors import GarrisonError
from garrison.server.sockets import ListenerError
from garrison.store import StoreError
from garrison.tls import TlsError

app = typer.Typer(
    name="garrison",
    help="Garrison: a Security Management System for fleets of network IPS devices.\n\n"
    "Start with `garrison init`, then `garrison serve`. Every command has --help.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)

# Errors a user can act on: one red line and exit 1, never a traceback.
USER_ERRORS = (ConfigError, StoreError, TlsError, ListenerError, GarrisonError)


@app.callback()
def root(
    ctx: typer.Context,
    data_dir: Path | None = typer.Option(
        None,
        envvar="GARRISON_DATA_DIR",
        show_envvar=True,
        help="Data directory (database, certificates, config). Default: /var/lib/garrison "
        "as root, else ~/.local/share/garrison.",
    ),
    config: Path | None = typer.Option(
        None,
        envvar="GARRISON_CONFIG",
        show_envvar=True,
        help="Config file. Default: garrison.toml in the data directory.",
    ),
) -> None:
    ctx.obj = CliOptions(data_dir=data_dir, config=config)


@app.command()
def version() -> None:
    """Print Garrison's version."""
    console.print(f"garrison {__version__}")


app.command("init")(init.init)
app.command("serve")(serve.serve)
app.command("audit")(audit.audit)
app.command("api")(remote.api)
app.command("status")(status.status)
app.add_typer(users.app, name="users")
app.add_typer(api_keys.app, name="api-keys")
app.add_typer(ports.app, name="ports")
app.add_typer(config.app, name="config")
app.add_typer(devices.app, name="devices")
app.add_typer(events.app, name="events")
app.add_typer(responder.policies_app, name="responder")
app.add_typer(responder.responses_app, name="responses")
app.add_typer(reputation.app, name="reputation")
app.add_typer(externaldb.app, name="external-db")


def main() -> None:
    # The data directory holds password hashes and keys: nothing Garrison writes is
    # world-readable.
    os.umask(0o027)
    try:
        app()
    except USER_ERRORS as exc:
        err_console.print(f"[red]error:[/] {exc}", highlight=False)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
