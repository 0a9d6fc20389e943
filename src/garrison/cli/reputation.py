"""`garrison reputation`: the reputation store in the local database: tag categories,
entries added, queried, deleted, imported and exported in the SMS's formats (the same as
``repEntries/*``: TagData, import files, query answer lines)."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.table import Table

from garrison.auth import Principal
from garrison.cli.context import console, open_services, settings
from garrison.reputation.model import EntryKind, TagKind
from garrison.reputation.service import EntryInput
from garrison.reputation.wire import (
    format_answer,
    format_import,
    parse_entry_type,
    parse_import,
    parse_tag_data,
)

app = typer.Typer(
    help="Reputation entries (addresses, blocks, DNS names, URLs) and their tag "
    "categories, in the local database. Files are the SMS's import format: CSV, "
    "pipe-delimited for URLs, the entry first, then category,value pairs.",
    no_args_is_help=True,
)
categories_app = typer.Typer(help="Tag categories: text, range, list, yesno.")
app.add_typer(categories_app, name="categories")

ME = Principal.local_cli
PAGE = 1000


@categories_app.command("list")
def list_categories(ctx: typer.Context) -> None:
    """List tag categories and their rules."""
    with open_services(settings(ctx)) as svc:
        categories = svc.reputation.list_categories(ME())
    table = Table("name", "kind", "rule", "description")
    for category in categories:
        if category.kind is TagKind.RANGE:
            rule = f"{category.minimum}..{category.maximum}"
        elif category.kind is TagKind.LIST:
            rule = ", ".join(category.choices) + (" (several)" if category.multiple else "")
        else:
            rule = ""
        table.add_row(category.name, str(category.kind), rule, category.description)
    console.print(table)


@categories_app.command("create")
def create_category(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="The category's name, as TagData names it."),
    kind: TagKind = typer.Option(..., "--kind", help="text, range, list or yesno."),
    minimum: int | None = typer.Option(None, help="range: the lowest value."),
    maximum: int | None = typer.Option(None, help="range: the highest value."),
    value: list[str] = typer.Option([], "--value", help="list: an allowed value (repeat)."),
    multiple: bool = typer.Option(False, help="list: an entry may hold several values."),
    description: str = typer.Option("", help="What the category means."),
) -> None:
    """Create a tag category."""
    with open_services(settings(ctx)) as svc:
        category = svc.reputation.create_category(
            ME(),
            name,
            kind,
            description=description,
            minimum=minimum,
            maximum=maximum,
            values=value,
            multiple=multiple,
        )
    console.print(f"created tag category {category.name!r} ({category.kind})")


@categories_app.command("delete")
def delete_category(
    ctx: typer.Context,
    name: str,
    force: bool = typer.Option(False, help="Also when entries use it (their tags of it go)."),
) -> None:
    """Delete a tag category."""
    with open_services(settings(ctx)) as svc:
        svc.reputation.delete_category(ME(), name, force=force)
    console.print(f"deleted tag category {name!r}")


@app.command("add")
def add(
    ctx: typer.Context,
    value: str = typer.Argument(..., help="An address or block, a DNS name or a URL."),
    kind: str | None = typer.Option(None, help="ipv4, ipv6, dns or url; guessed if absent."),
    tag_data: str = typer.Option("", "--tag-data", help='TagData: "Cat1,Val1,Cat2,Val2".'),
) -> None:
    """Add an entry, or update the given tags of one that exists."""
    tags = parse_tag_data(tag_data) if tag_data else {}
    with open_services(settings(ctx)) as svc:
        outcome = svc.reputation.add(ME(), value, tags, kind=kind)
    console.print("added" if outcome.added else "updated", highlight=False)


@app.command("query")
def query(
    ctx: typer.Context,
    values: list[str] = typer.Argument(..., help="Addresses, names or URLs (one kind)."),
    kind: str = typer.Option("ip", help="ip (addresses, blocks), dns or url."),
) -> None:
    """Print the matching entries as repEntries/query answers them (nothing: exit 1)."""
    with open_services(settings(ctx)) as svc:
        reputation = svc.reputation
        if kind == "ip":
            records = reputation.query_addresses(ME(), values)
        elif kind == "dns":
            records = reputation.query_names(ME(), values)
        else:
            records = reputation.query_exact(ME(), values, kind=parse_entry_type(kind))
    sys.stdout.write(format_answer((r.value, r.tags) for r in records))
    if not records:
        raise typer.Exit(1)


@app.command("delete")
def delete(
    ctx: typer.Context,
    values: list[str] = typer.Argument(None, help="The entries (any form of each)."),
    kind: str | None = typer.Option(None, help="ipv4, ipv6, dns or url; guessed if absent."),
    criteria: str | None = typer.Option(
        None, help="Instead of values: all, user or repdv deletes every entry of that source."
    ),
) -> None:
    """Delete entries by name, or all of a source."""
    with open_services(settings(ctx)) as svc:
        if criteria is not None:
            if values:
                raise typer.BadParameter("give entries or --criteria, not both")
            if criteria not in ("all", "user", "repdv"):
                raise typer.BadParameter("all, user or repdv", param_hint="--criteria")
            source = None if criteria == "all" else criteria
            deleted = svc.reputation.delete_all(ME(), source)
        elif values:
            deleted = svc.reputation.delete_many(ME(), [EntryInput(v, kind=kind) for v in values])
        else:
            raise typer.BadParameter("name the entries, or give --criteria")
    console.print(f"deleted {deleted}")


@app.command("import")
def import_file(
    ctx: typer.Context,
    path: Path = typer.Argument(..., exists=True, dir_okay=False, help="The file."),
    kind: str = typer.Option("ipv4", "--type", help="ipv4, ipv6, dns or url."),
) -> None:
    """Import a file in one transaction: every line or none."""
    entry_type = parse_entry_type(kind)
    lines = parse_import(path.read_bytes(), entry_type)
    items = [EntryInput(line.value, line.tags, kind=entry_type, line=line.line) for line in lines]
    added = updated = 0
    if items:
        with open_services(settings(ctx)) as svc:
            outcome = svc.reputation.add_many(ME(), items)
        added, updated = outcome.added, outcome.updated
    console.print(f"imported {len(items)} entries ({added} added, {updated} updated)")


@app.command("export")
def export(
    ctx: typer.Context,
    kind: str = typer.Option("ipv4", "--type", help="ipv4, ipv6, dns or url."),
) -> None:
    """Write every entry of one kind to standard output, as an import file."""
    entry_type: EntryKind = parse_entry_type(kind)
    with open_services(settings(ctx)) as svc:
        after = 0
        while True:
            page = svc.reputation.list_entries(ME(), after=after, limit=PAGE, kind=entry_type)
            sys.stdout.write(format_import(((r.value, r.tags) for r in page), entry_type))
            if len(page) < PAGE:
                return
            after = page[-1].id
