"""`garrison api`: call a Garrison's REST API over the client API port (9033), from any
host: the remote command line."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import typer
from rich.json import JSON

from garrison.cli.context import console, err_console, settings
from garrison.tls import client_context

METHODS = ("GET", "POST", "PATCH", "PUT", "DELETE")


def api(
    ctx: typer.Context,
    method: str = typer.Argument(..., help="GET, POST, PATCH, PUT or DELETE."),
    path: str = typer.Argument(..., help="Path under the server, e.g. /api/v1/users."),
    data: str | None = typer.Option(
        None, "--data", "-d", help="JSON request body, or @FILE to read it from a file."
    ),
    server: str | None = typer.Option(
        None,
        envvar="GARRISON_URL",
        show_envvar=True,
        help="Base URL, e.g. https://sms.example.net:9033. Default: this host's client API port.",
    ),
    api_key: str | None = typer.Option(
        None,
        envvar="GARRISON_API_KEY",
        show_envvar=True,
        help="API key, sent as X-SMS-API-KEY. Prefer the variable: options show in `ps`.",
    ),
    ca_file: Path | None = typer.Option(
        None,
        help="Trust this PEM certificate. Default: the local data directory's "
        "certificate when it exists, else the system's CAs.",
    ),
    insecure: bool = typer.Option(
        False, "--insecure", "-k", help="Do not verify the server's certificate."
    ),
    timeout: float = typer.Option(30.0, min=0.1, help="Seconds to wait for the answer."),
) -> None:
    """Send one request to a Garrison's API and print the JSON answer.

    Example:  GARRISON_API_KEY=gar_... garrison api GET /api/v1/users
    """
    method = method.upper()
    if method not in METHODS:
        raise typer.BadParameter(f"must be one of {', '.join(METHODS)}", param_hint="METHOD")
    body = None
    if data is not None:
        text = Path(data[1:]).read_text() if data.startswith("@") else data
        try:
            body = json.loads(text)
        except json.JSONDecodeError as exc:
            raise typer.BadParameter(f"not JSON: {exc}", param_hint="--data") from None
    connection = Connection(server, api_key, ca_file, insecure, timeout)
    response = call_api(ctx, connection, method, path, body)
    if response.content:
        if os.isatty(1):
            console.print(JSON(response.text))
        else:
            print(response.text)


@dataclass(frozen=True)
class Connection:
    """Where and how the remote commands reach a Garrison's API."""

    server: str | None = None
    api_key: str | None = None
    ca_file: Path | None = None
    insecure: bool = False
    timeout: float = 30.0

    @classmethod
    def from_environment(cls) -> Connection:
        return cls(os.environ.get("GARRISON_URL"), os.environ.get("GARRISON_API_KEY"))


def call_api(
    ctx: typer.Context, connection: Connection, method: str, path: str, body: Any = None
) -> httpx.Response:
    """One request to the API; on any error, print what went wrong and exit non-zero."""
    if not connection.api_key:
        err_console.print(
            "[red]error:[/] no API key: set GARRISON_API_KEY or pass --api-key "
            "(make one with `garrison api-keys create USER`)"
        )
        raise typer.Exit(2)
    config = settings(ctx)
    base = connection.server or f"https://127.0.0.1:{config.port('client-api')}"
    cafile = connection.ca_file
    if cafile is None and connection.server is None and config.certificate_path.exists():
        cafile = config.certificate_path
    verify = client_context(config.tls.profile, cafile=cafile, verify=not connection.insecure)
    try:
        response = httpx.request(
            method,
            base.rstrip("/") + "/" + path.lstrip("/"),
            json=body,
            headers={"X-SMS-API-KEY": connection.api_key},
            verify=verify,
            timeout=connection.timeout,
        )
    except httpx.HTTPError as exc:
        err_console.print(f"[red]error:[/] {base}: {exc}")
        raise typer.Exit(1) from None
    if response.is_error:
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = response.text[:200]
        err_console.print(f"[red]error:[/] {response.status_code}: {message}")
        raise typer.Exit(1)
    return response
