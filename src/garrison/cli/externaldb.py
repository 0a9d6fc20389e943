"""`garrison external-db`: the SMS's read-only external database (``ExternalAccess``) for
Garrison on MariaDB or PostgreSQL: enable, refresh, disable, status.

The reader's password is read from ``GARRISON_EXTERNAL_DB_PASSWORD``, a file, or a
hidden prompt; it is never printed, logged or put on a command line. The variable is
taken out of the environment before the settings are read (it is no [section] key).
"""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.table import Table

from garrison.cli.context import console, open_services, settings
from garrison.externaldb import manage
from garrison.externaldb.manage import DEFAULT_USER, Outcome
from garrison.externaldb.views import DEFAULT_NAME

PASSWORD_ENV = "GARRISON_EXTERNAL_DB_PASSWORD"

app = typer.Typer(
    help="The SMS's read-only external database: views named as the SMS's tables (ALERTS, "
    "DEVICE, SIGNATURE, ...) over Garrison's data, for reporting tools and SIEMs that "
    "query the SMS's ExternalAccess database.\n\n"
    "Needs Garrison on MariaDB (a database ExternalAccess of views, read with e.g. "
    "`mariadb -h <server> -u externaluser -p ExternalAccess`) or PostgreSQL (a schema "
    "externalaccess in Garrison's database). Garrison's own database user makes the "
    "views and the read-only user, so it needs the right to create users and databases. "
    "docs/external-database.md lists the views, their columns and the differences from "
    "the Web service's tables.",
    no_args_is_help=True,
)

NAME_OPTION = typer.Option(
    DEFAULT_NAME,
    "--name",
    help="The database (MariaDB) or schema (PostgreSQL, lower-cased) of the views. "
    "On MariaDB one name serves the whole server: give each Garrison its own.",
)
USER_OPTION = typer.Option(
    DEFAULT_USER, "--user", help="The read-only user (MariaDB) or login role (PostgreSQL)."
)


@app.callback()
def take_password_from_environment(ctx: typer.Context) -> None:
    """(Runs before every command.) The password variable is no [section] setting: take
    it out of the environment before the settings are read, and before any child
    process could see it."""
    found = os.environ.pop(PASSWORD_ENV, None)
    if found:
        ctx.meta[PASSWORD_ENV] = found


def _password(ctx: typer.Context, password_file: Path | None) -> str:
    if password_file is not None:
        lines = password_file.read_text().splitlines()
        return lines[0] if lines else ""
    if ctx.meta.get(PASSWORD_ENV):
        return str(ctx.meta[PASSWORD_ENV])
    return str(
        typer.prompt("Password for the read-only user", hide_input=True, confirmation_prompt=True)
    )


def _print_outcome(done: str, outcome: Outcome) -> None:
    where = "database" if outcome.backend == "mariadb" else "schema"
    console.print(f"[green]✓[/] {done}: {where} {outcome.container} on {outcome.backend}")
    if outcome.views:
        console.print(f"  {len(outcome.views)} views: {', '.join(outcome.views)}")
    if outcome.accounts:
        console.print(f"  read-only user: {', '.join(outcome.accounts)}")
    for note in outcome.notes:
        console.print(f"  {note}", highlight=False, soft_wrap=True)


@app.command("enable")
def enable(
    ctx: typer.Context,
    user: str = USER_OPTION,
    allow_host: list[str] | None = typer.Option(
        None,
        "--allow-host",
        help="A host the user may connect from (repeat for several). MariaDB: a host "
        "pattern ('10.0.%', '10.0.0.0/255.255.0.0', a name); the user's accounts are "
        "exactly these, default '%' (any host). PostgreSQL: an address or CIDR block; "
        "the command prints the pg_hba.conf lines to add.",
    ),
    password_file: Path | None = typer.Option(
        None,
        help=f"Read the password from the first line of this file. Otherwise it is taken "
        f"from {PASSWORD_ENV}, or asked for (hidden). At least 8 characters.",
    ),
    name: str = NAME_OPTION,
) -> None:
    """Create the views and the read-only user (again: the views are brought up to date
    and the password replaced). The user may SELECT from the views and nothing else."""
    password = _password(ctx, password_file)
    with open_services(settings(ctx)) as svc:
        outcome = manage.enable(
            svc.store, password, user=user, allowed_hosts=allow_host or None, name=name
        )
    _print_outcome("external access enabled", outcome)


@app.command("refresh")
def refresh(ctx: typer.Context, name: str = NAME_OPTION) -> None:
    """Make the views again from this Garrison's tables: run after upgrading Garrison
    (`garrison init`), when `status` says the views are out of date. The read-only user
    keeps its password and rights."""
    with open_services(settings(ctx)) as svc:
        outcome = manage.refresh(svc.store, name=name)
    _print_outcome("views refreshed", outcome)


@app.command("disable")
def disable(
    ctx: typer.Context,
    user: str = USER_OPTION,
    host: list[str] | None = typer.Option(
        None,
        "--host",
        help="MariaDB: drop the user's account at this host only (repeat for several); "
        "default every account of the user.",
    ),
    name: str = NAME_OPTION,
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
) -> None:
    """Drop the read-only user, the views, and their database or schema (unless it holds
    something Garrison did not put there). Readers connected now lose access."""
    if not yes:
        typer.confirm(f"Drop the external database {name} and its user {user}?", abort=True)
    with open_services(settings(ctx)) as svc:
        outcome = manage.disable(svc.store, user=user, name=name, hosts=host or None)
    _print_outcome("external access disabled", outcome)


@app.command("status")
def status(ctx: typer.Context, user: str = USER_OPTION, name: str = NAME_OPTION) -> None:
    """Say whether external access is enabled, which views are there, whether they match
    this Garrison's tables (else run `refresh`), and the read-only user's accounts."""
    with open_services(settings(ctx)) as svc:
        found = manage.status(svc.store, user=user, name=name)
    where = "database" if found.backend == "mariadb" else "schema"
    if not found.exists:
        console.print(f"external access: disabled ({where} {found.container} does not exist)")
        return
    state = "up to date" if found.up_to_date else "out of date: run `garrison external-db refresh`"
    console.print(f"external access: enabled, {where} {found.container}, views {state}")
    table = Table("views", "names")
    table.add_row("present", str(len(found.views)))
    for label, names in (
        ("missing", found.missing),
        ("not Garrison's", found.unexpected),
        ("columns differ", found.stale),
    ):
        if names:
            table.add_row(label, ", ".join(names))
    console.print(table)
    if found.accounts is None:
        console.print(f"read-only user {user}: Garrison may not list accounts")
    elif not found.accounts:
        console.print(f"read-only user {user}: none (run `enable` to create it)")
    else:
        console.print(f"read-only user: {', '.join(found.accounts)}")
