"""`garrison init`."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from garrison.bootstrap import initialize
from garrison.cli.context import console, err_console, settings


def init(
    ctx: typer.Context,
    admin: str = typer.Option("admin", help="User name of the first superuser."),
    password_file: Path | None = typer.Option(
        None,
        help="Read the first superuser's password from this file (first line). "
        "Without it, a terminal is asked; otherwise a password is generated and printed "
        "once.",
    ),
    certificate: Path | None = typer.Option(
        None, help="Import this PEM certificate instead of making a self-signed one."
    ),
    key: Path | None = typer.Option(None, help="The PEM private key of --certificate."),
) -> None:
    """Create the data directory, config file, TLS certificate, database and first
    superuser. Safe to run again: whatever exists is kept, and it says so."""
    if (certificate is None) != (key is None):
        err_console.print("[red]error:[/] give --certificate and --key together")
        raise typer.Exit(2)
    password = None
    if password_file is not None:
        try:
            password = password_file.read_text().splitlines()[0]
        except (OSError, IndexError):
            err_console.print(f"[red]error:[/] cannot read a password from {password_file}")
            raise typer.Exit(2) from None
    elif sys.stdin.isatty():
        entered = typer.prompt(
            f"Password for {admin} (empty: generate one)",
            default="",
            hide_input=True,
            confirmation_prompt=True,
            show_default=False,
        )
        password = entered or None
    report = initialize(
        settings(ctx),
        admin_username=admin,
        admin_password=password,
        certificate=certificate,
        key=key,
    )
    for line in report.done:
        console.print(f"[green]✓[/] {line}")
    for line in report.kept:
        console.print(f"[dim]• kept {line}[/]")
    if report.generated_password:
        console.print(
            f"\nThe password of [bold]{admin}[/] is [bold yellow]{report.generated_password}"
            "[/]\nIt is shown this once; store it now."
        )
    if not report.changed:
        console.print("Nothing to do: this data directory is already initialised.")
