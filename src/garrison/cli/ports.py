"""`garrison ports`: the port catalog, firewall rules for it, and a probe of a running server."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection, Iterable
from dataclasses import replace
from enum import StrEnum
from typing import Annotated, NoReturn

import typer
from rich.markup import escape
from rich.table import Table as RichTable

from garrison.cli.context import console, err_console, options
from garrison.config import load_settings
from garrison.ports import catalog, firewall, probe
from garrison.ports.catalog import CATALOG, CIPHER_POLICY, CipherPolicy, PortEntry, Role, Table

app = typer.Typer(
    help=(
        "The port catalog: every port Garrison listens on or talks to, as the SMS port "
        "reference lists them. Without a subcommand, list the catalog."
    ),
    invoke_without_command=True,
    no_args_is_help=False,
)

# Exit status for a command line that cannot be carried out as written (as Click's own).
USAGE_ERROR = 2


class OutputFormat(StrEnum):
    TABLE = "table"
    JSON = "json"


def _fail(message: str) -> NoReturn:
    err_console.print(f"[red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(USAGE_ERROR)


def parse_port_overrides(
    values: Iterable[str], allowed: Collection[str], allowed_text: str
) -> dict[str, int]:
    """``["https=8443"]`` -> ``{"https": 8443}``; exits with a usage error on a bad one.

    ``allowed_text`` says what a key must be, for the error message.
    """
    overrides: dict[str, int] = {}
    for value in values:
        key, sep, number = value.partition("=")
        key = key.strip()
        if not sep or not number.strip().isdigit():
            _fail(f"--port {value!r}: expected KEY=PORT, e.g. --port https=8443")
        if key not in allowed:
            _fail(f"--port {value!r}: {key!r} is not {allowed_text}")
        port = int(number)
        if not 1 <= port <= 65535:
            _fail(f"--port {value!r}: the port must be 1..65535")
        overrides[key] = port
    return overrides


def _entry_record(entry: PortEntry) -> dict[str, object]:
    return {
        "key": entry.key,
        "port": entry.port,
        "transport": entry.transport,
        "service": entry.service,
        "source": entry.source,
        "destination": entry.destination,
        "purpose": entry.purpose,
        "table": str(entry.table),
        "listener": entry.listener,
        "inbound": sorted(str(r) for r in entry.inbound),
        "outbound": sorted(str(r) for r in entry.outbound),
    }


def _print_json(data: object) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


# Below this many columns only key, port, purpose and the last column are shown: squeezed
# beside the purpose, the others wrap into one word a line or push the table off screen.
WIDE_CONSOLE = 120


def _print_entries(
    entries: tuple[PortEntry, ...], role: Role | None, table_shown: bool, title: str
) -> None:
    """The catalog as a table; the Table column only when several tables are shown."""
    wide = console.width >= WIDE_CONSOLE
    table = RichTable(title=title, title_justify="left")
    table.add_column("Key", no_wrap=True, style="bold")
    table.add_column("Port", no_wrap=True)
    if wide:
        table.add_column("Service")
        table.add_column("From -> To")
    table.add_column("Purpose", ratio=1)
    if wide and not table_shown:
        table.add_column("Table")
    table.add_column("Opens" if role else "Listens", no_wrap=True)
    for entry in entries:
        cells = [entry.key, f"{entry.port}/{entry.transport}"]
        if wide:
            cells += [entry.service, f"{entry.source} -> {entry.destination}"]
        cells.append(entry.purpose)
        if wide and not table_shown:
            cells.append(str(entry.table))
        if role:
            cells.append(" + ".join(entry.directions(role)))
        else:
            cells.append("yes" if entry.listener else "")
        table.add_row(*map(escape, cells))
    console.print(table)


def _cipher_ports(policy: CipherPolicy) -> list[int]:
    return [catalog.get(key).port for key in policy.keys]


def _cipher_record(policy: CipherPolicy) -> dict[str, object]:
    return {
        "keys": list(policy.keys),
        "ports": _cipher_ports(policy),
        "protocols": list(policy.protocols),
        "ciphers": list(policy.ciphers),
        "purpose": policy.purpose,
        "note": policy.note,
    }


def _print_ciphers() -> None:
    table = RichTable(title="Encryption protocols and ciphers (crypto)", title_justify="left")
    for column in ("Keys", "Ports", "Protocols", "Ciphers", "Purpose"):
        table.add_column(column)
    for policy in CIPHER_POLICY:
        note = f"\n({policy.note})" if policy.note else ""
        table.add_row(
            "\n".join(policy.keys),
            " ".join(map(str, _cipher_ports(policy))),
            "\n".join(policy.protocols),
            "\n".join(policy.ciphers),
            escape(policy.purpose + note),
        )
    console.print(table)


@app.callback()
def list_catalog(
    ctx: typer.Context,
    table: Annotated[
        Table | None,
        typer.Option(
            "--table",
            help="Only the rows of one table of the port reference. 'crypto' lists the "
            "protocols and ciphers each encrypted service offers.",
        ),
    ] = None,
    role: Annotated[
        Role | None,
        typer.Option(
            "--role",
            help="Only the rows a host of this role opens, inbound or outbound, and which "
            "way it opens them.",
        ),
    ] = None,
    listening: Annotated[
        bool,
        typer.Option(
            "--listening",
            help="Only the services Garrison itself listens on (the others are peers it talks to).",
        ),
    ] = False,
    output: Annotated[
        OutputFormat,
        typer.Option("--format", help="A table for people, or JSON for scripts."),
    ] = OutputFormat.TABLE,
) -> None:
    """List the port catalog: port, protocol, who talks to whom, and why."""
    if ctx.invoked_subcommand is not None:
        return
    if table is Table.CRYPTO:
        if role or listening:
            _fail("--table crypto lists ciphers per service; --role and --listening do not apply")
        if output is OutputFormat.JSON:
            _print_json([_cipher_record(p) for p in CIPHER_POLICY])
        else:
            _print_ciphers()
        return
    entries = CATALOG
    if table is not None:
        entries = catalog.by_table(table, entries)
    if role is not None:
        entries = catalog.for_role(role, entries)
    if listening:
        entries = tuple(e for e in entries if e.listener)
    if output is OutputFormat.JSON:
        _print_json([_entry_record(e) for e in entries])
        return
    filters = [f"table {table}"] if table else []
    if role:
        filters.append(f"role {role}")
    if listening:
        filters.append("listening")
    title = ", ".join([f"Port catalog: {len(entries)} rows", *filters])
    _print_entries(entries, role, table is not None, title)


@app.command("firewall")
def firewall_rules(
    role: Annotated[
        Role,
        typer.Option(
            "--role",
            help="The host the rules are for: an SMS of an HA pair (primary or secondary "
            "open the same rows) or a managed IPS.",
        ),
    ],
    output: Annotated[
        firewall.FirewallFormat,
        typer.Option(
            "--format",
            help="nftables: a file for 'nft -f' holding one table, inet garrison. "
            "iptables / ip6tables: a file for iptables-restore / ip6tables-restore, which "
            "replaces the filter table.",
        ),
    ] = firewall.FirewallFormat.NFTABLES,
    optional: Annotated[
        bool,
        typer.Option(
            "--optional/--required-only",
            help="Also open the rows of the reference's optional tables (SNMP agent, NTP "
            "for devices, provisioning, LDAP, NFS, external database access, ...).",
        ),
    ] = False,
    port: Annotated[
        list[str] | None,
        typer.Option(
            "--port",
            metavar="KEY=PORT",
            help="Use PORT instead of the catalog's port for the row KEY, e.g. "
            "--port https=10443 when Garrison binds 443 at 10443. Repeatable.",
        ),
    ] = None,
) -> None:
    """Print the firewall rules a host of ROLE must open, inbound and outbound.

    Inbound is closed except for the catalog's rows; outbound stays open and its rules
    document what the role sends. Every rule carries a comment naming its catalog keys and
    purpose. Nothing is applied: redirect the output to a file and load it yourself.
    """
    overrides = parse_port_overrides(
        port or (), {e.key for e in CATALOG}, "a catalog key (`garrison ports` lists them)"
    )
    text = firewall.render(output, role, include_optional=optional, port_overrides=overrides)
    typer.echo(text, nl=False)


def _print_probe_results(results: tuple[probe.ProbeResult, ...], host: str) -> None:
    table = RichTable(title=f"Garrison services on {escape(host)}", title_justify="left")
    for column in ("Key", "Port", "State", "TLS", "Cipher", "Detail"):
        table.add_column(column, no_wrap=column in ("Key", "Port", "State"))
    style = {probe.ProbeState.OPEN: "green", probe.ProbeState.CLOSED: "red"}
    for result in results:
        table.add_row(
            result.target.key,
            str(result.target.port),
            f"[{style.get(result.state, 'yellow')}]{result.state}[/]",
            result.tls_version or "",
            result.cipher or "",
            escape(result.detail),
        )
    console.print(table)
    console.print(probe.summary(host, results), highlight=False)


@app.command("check")
def check(
    ctx: typer.Context,
    host: Annotated[str, typer.Argument(help="Name or address of the Garrison server.")],
    port: Annotated[
        list[str] | None,
        typer.Option(
            "--port",
            metavar="KEY=PORT",
            help="Probe the service KEY at PORT instead of the port the settings give it, "
            "e.g. --port https=8443. Repeatable.",
        ),
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            min=0.1,
            max=120,
            help="Seconds each service gets to connect and finish its handshake.",
        ),
    ] = probe.DEFAULT_TIMEOUT,
    output: Annotated[
        OutputFormat,
        typer.Option("--format", help="A table for people, or JSON for scripts."),
    ] = OutputFormat.TABLE,
) -> None:
    """Probe the TCP services Garrison listens on at HOST and report which answer.

    Each service is probed at the port the settings (garrison --config/--data-dir) give it:
    the catalog's port, or its override from the ports section of the config, moved up by
    10000 when low ports are shifted (see docs/ports.md).
    TLS services are reported with the protocol version and cipher they negotiate; the
    certificate is shown, not verified. Exits with status 1 when no service answers.
    """
    opts = options(ctx)
    settings = load_settings(data_dir=opts.data_dir, config_file=opts.config)
    all_targets = probe.targets(settings.port)
    keys = [t.key for t in all_targets]
    overrides = parse_port_overrides(
        port or (), keys, f"a TCP service Garrison listens on ({', '.join(keys)})"
    )
    chosen = [replace(t, port=overrides.get(t.key, t.port)) for t in all_targets]
    results = asyncio.run(probe.probe_all(host, chosen, timeout))
    if output is OutputFormat.JSON:
        _print_json([probe.result_record(r) for r in results])
    else:
        _print_probe_results(results, host)
    if not any(r.answered for r in results):
        raise typer.Exit(1)
