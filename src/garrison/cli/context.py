"""What every command shares: the chosen data directory and config, and one console."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from sqlalchemy.exc import OperationalError

from garrison.config import Settings, load_settings
from garrison.services import Services
from garrison.store import current_revision, head_revision

console = Console()
# Error lines are never wrapped: scripts and logs read them whole.
err_console = Console(stderr=True, soft_wrap=True)


@dataclass
class CliOptions:
    data_dir: Path | None = None
    config: Path | None = None


def options(ctx: typer.Context) -> CliOptions:
    root = ctx.find_root()
    if not isinstance(root.obj, CliOptions):
        root.obj = CliOptions()
    return root.obj


def settings(ctx: typer.Context, **overrides: Any) -> Settings:
    opts = options(ctx)
    return load_settings(data_dir=opts.data_dir, config_file=opts.config, overrides=overrides)


@contextmanager
def open_services(config: Settings) -> Iterator[Services]:
    """Services over an initialised data directory; says what to run when it is not."""
    svc = Services.open(config)
    try:
        try:
            revision = current_revision(svc.store.engine)
        except OperationalError:
            revision = None
        if revision != head_revision():
            err_console.print(
                f"[red]error:[/] the database {svc.store.safe_url} is not initialised or is "
                "out of date; run [bold]garrison init[/] first"
            )
            raise typer.Exit(1)
        yield svc
    finally:
        svc.close()
