"""`garrison users`: manage users in the local database."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from garrison.auth import Principal, Role
from garrison.auth.passwords import generate_password
from garrison.cli.context import console, open_services, settings
from garrison.errors import NotFound
from garrison.services import Services
from garrison.store import UserRecord

app = typer.Typer(
    help="Manage users in the local database (as the server's own operator).", no_args_is_help=True
)


def find_user(svc: Services, username: str) -> UserRecord:
    with svc.store.transaction() as tx:
        user = tx.users.by_name(username)
    if user is None:
        raise NotFound(f"no user named {username!r}; `garrison users list` shows them")
    return user


def _password(password_file: Path | None, prompt: str) -> tuple[str, bool]:
    if password_file is not None:
        return password_file.read_text().splitlines()[0], False
    entered = typer.prompt(
        prompt, default="", hide_input=True, confirmation_prompt=True, show_default=False
    )
    return (entered, False) if entered else (generate_password(), True)


@app.command("list")
def list_users(ctx: typer.Context) -> None:
    """List every user with role, state and last login."""
    with open_services(settings(ctx)) as svc:
        users = svc.auth.list_users(Principal.local_cli(), limit=1000)
    table = Table("id", "user", "role", "state", "last login", "name")
    for user in users:
        state = "active" if user.active else "disabled"
        if user.failed_logins:
            state += f", {user.failed_logins} failed logins"
        last = f"{user.last_login_at:%Y-%m-%d %H:%M}" if user.last_login_at else "never"
        table.add_row(str(user.id), user.username, user.role, state, last, user.display_name)
    console.print(table)


@app.command("add")
def add(
    ctx: typer.Context,
    username: str = typer.Argument(..., help="Login name: letters, digits, . _ - @"),
    role: Role = typer.Option(Role.OPERATOR, help="superuser, admin, operator or auditor."),
    password_file: Path | None = typer.Option(
        None, help="Read the password from this file; otherwise asked, or generated."
    ),
    display_name: str = typer.Option("", help="Full name shown in the console."),
    email: str = typer.Option("", help="Address for notifications."),
) -> None:
    """Add a user."""
    password, generated = _password(password_file, f"Password for {username} (empty: generate)")
    with open_services(settings(ctx)) as svc:
        user = svc.auth.create_user(
            Principal.local_cli(),
            username=username,
            password=password,
            role=role,
            display_name=display_name,
            email=email,
        )
    console.print(f"[green]✓[/] added {user.username} ({user.role})")
    if generated:
        console.print(f"password: [bold yellow]{password}[/] (shown once)")


@app.command("passwd")
def passwd(
    ctx: typer.Context,
    username: str = typer.Argument(..., help="Whose password to set."),
    password_file: Path | None = typer.Option(None, help="Read the new password from here."),
) -> None:
    """Set a user's password (and clear a lockout)."""
    password, generated = _password(password_file, "New password (empty: generate)")
    with open_services(settings(ctx)) as svc:
        user = find_user(svc, username)
        svc.auth.update_user(Principal.local_cli(), user.id, password=password)
    console.print(f"[green]✓[/] password of {username} set")
    if generated:
        console.print(f"password: [bold yellow]{password}[/] (shown once)")


@app.command("set")
def set_user(
    ctx: typer.Context,
    username: str = typer.Argument(..., help="The user to change."),
    role: Role | None = typer.Option(None, help="New role."),
    active: bool | None = typer.Option(None, "--active/--disabled", help="Enable or disable."),
    display_name: str | None = typer.Option(None, help="New full name."),
    email: str | None = typer.Option(None, help="New address."),
) -> None:
    """Change a user's role, state, name or address."""
    with open_services(settings(ctx)) as svc:
        user = find_user(svc, username)
        svc.auth.update_user(
            Principal.local_cli(),
            user.id,
            role=role,
            active=active,
            display_name=display_name,
            email=email,
        )
    console.print(f"[green]✓[/] {username} updated")


@app.command("unlock")
def unlock(
    ctx: typer.Context, username: str = typer.Argument(..., help="The locked-out user.")
) -> None:
    """Clear the lockout after repeated failed logins."""
    with open_services(settings(ctx)) as svc:
        svc.auth.unlock_user(Principal.local_cli(), find_user(svc, username).id)
    console.print(f"[green]✓[/] {username} unlocked")


@app.command("delete")
def delete(
    ctx: typer.Context,
    username: str = typer.Argument(..., help="The user to delete."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
) -> None:
    """Delete a user and their API keys and sessions."""
    if not yes:
        typer.confirm(f"Delete {username} and their API keys?", abort=True)
    with open_services(settings(ctx)) as svc:
        svc.auth.delete_user(Principal.local_cli(), find_user(svc, username).id)
    console.print(f"[green]✓[/] {username} deleted")
