"""Firewall rules a host of a given role must open, rendered from the port catalog.

Pure functions: the catalog and the caller's choices in, the text of an ``nft -f`` or
``iptables-restore`` file out. Nothing here touches the running firewall.

Choices, and why:

* Inbound is closed by default (policy drop) and each catalog row the role accepts is
  opened; that is the point of the file.
* Outbound stays open by default (policy accept). The catalog knows ports but not the
  addresses of the peers (mail server, TMC, NTP, file servers), and a host also needs
  traffic the catalog does not list (package updates, its own DNS before the optional row
  is chosen); a drop policy would break it in ways that are hard to trace. The outbound
  rules are still written, with counters, as the documented list of what Garrison sends,
  so a site that wants egress filtering changes one word: the output policy.
* Rows sharing a direction, transport and port become one rule whose comment names every
  key (22/tcp serves both ``ssh-cli`` and ``ha-ssh``); the full purposes are written as
  comment lines above it, because a rule's comment is limited in length.
* Rules accept any address; where a site knows its peers it narrows them by hand.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from garrison.ports.catalog import CATALOG, Direction, PortEntry, Role, for_role

# nftables keeps at most 128 bytes of a rule's comment and iptables 256; stay under both.
MAX_COMMENT = 120


class FirewallFormat(StrEnum):
    """The file formats :func:`render` writes."""

    NFTABLES = "nftables"
    IPTABLES = "iptables"
    IP6TABLES = "ip6tables"


@dataclass(frozen=True, slots=True)
class Rule:
    """One opened port: every catalog row a role opens on it, in one direction."""

    direction: Direction
    transport: str
    port: int
    entries: tuple[PortEntry, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(e.key for e in self.entries)

    @property
    def comment(self) -> str:
        """Short text for the rule itself: its keys and the first row's purpose."""
        return _comment_text(f"{', '.join(self.keys)}: {self.entries[0].purpose}")

    @property
    def purposes(self) -> tuple[str, ...]:
        """One line per row, for the comment lines written above the rule."""
        return tuple(_ascii(f"{e.key} ({e.table}): {e.purpose}") for e in self.entries)


@dataclass(frozen=True, slots=True)
class _FixedRule:
    """A rule every ruleset carries whatever the role, in each format's words."""

    comment: str
    nftables: str
    iptables: str
    ip6tables: str
    verdict: str  # "accept" or "drop"


_ESTABLISHED = _FixedRule(
    "replies to connections this host made or accepted",
    "ct state established,related",
    "-m conntrack --ctstate ESTABLISHED,RELATED",
    "-m conntrack --ctstate ESTABLISHED,RELATED",
    "accept",
)
_INVALID = _FixedRule(
    "packets conntrack cannot place",
    "ct state invalid",
    "-m conntrack --ctstate INVALID",
    "-m conntrack --ctstate INVALID",
    "drop",
)
# ICMP carries errors and path-MTU discovery, and IPv6 cannot find its neighbours without
# it; dropping it breaks connections the rules below allow.
_ICMP = _FixedRule(
    "ICMP: errors, path MTU discovery, IPv6 neighbour discovery",
    "meta l4proto { icmp, ipv6-icmp }",
    "-p icmp",
    "-p ipv6-icmp",
    "accept",
)
_LOOPBACK_IN = _FixedRule("loopback", 'iif "lo"', "-i lo", "-i lo", "accept")
_LOOPBACK_OUT = _FixedRule("loopback", 'oif "lo"', "-o lo", "-o lo", "accept")

_FIXED: Mapping[Direction, tuple[_FixedRule, ...]] = {
    Direction.INBOUND: (_ESTABLISHED, _INVALID, _LOOPBACK_IN, _ICMP),
    Direction.OUTBOUND: (_ESTABLISHED, _LOOPBACK_OUT, _ICMP),
}
_POLICY: Mapping[Direction, str] = {Direction.INBOUND: "drop", Direction.OUTBOUND: "accept"}
_CHAIN: Mapping[Direction, tuple[str, str]] = {  # (nftables chain, iptables chain)
    Direction.INBOUND: ("input", "INPUT"),
    Direction.OUTBOUND: ("output", "OUTPUT"),
}


def _ascii(text: str) -> str:
    """Text both firewalls accept inside a quoted comment: ASCII, no double quotes."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(folded.replace('"', "'").replace("\\", "/").split())


def _comment_text(text: str) -> str:
    text = _ascii(text)
    if len(text) <= MAX_COMMENT:
        return text
    return text[: MAX_COMMENT - 3].rsplit(" ", 1)[0] + "..."


def rules_for(
    role: Role,
    *,
    include_optional: bool = False,
    port_overrides: Mapping[str, int] | None = None,
    entries: Iterable[PortEntry] = CATALOG,
) -> tuple[Rule, ...]:
    """The rules a host of ``role`` needs, inbound first, each direction by port.

    ``port_overrides`` maps catalog keys to the port a site really uses (a Garrison that
    binds 443 at 10443, say); ``include_optional`` adds the reference's optional tables.
    """
    overrides = dict(port_overrides or {})
    grouped: dict[tuple[Direction, str, int], list[PortEntry]] = {}
    for entry in for_role(role, entries, include_optional=include_optional):
        port = overrides.get(entry.key, entry.port)
        for direction in entry.directions(role):
            grouped.setdefault((direction, entry.transport, port), []).append(entry)
    order = list(Direction)
    return tuple(
        Rule(direction, transport, port, tuple(rows))
        for (direction, transport, port), rows in sorted(
            grouped.items(), key=lambda item: (order.index(item[0][0]), item[0][2], item[0][1])
        )
    )


def _header(role: Role, include_optional: bool, overrides: Mapping[str, int]) -> list[str]:
    tables = "all tables" if include_optional else "required tables (add --optional for more)"
    lines = [
        f"# Garrison firewall for a host of role {role}: {tables}.",
        "# Generated by `garrison ports firewall` from the port catalog (docs/ports.md).",
        "# Inbound policy is drop: a service of this host that is not in the catalog (its",
        "# own sshd, a monitoring agent) needs a rule of its own before this is loaded.",
        "# Outbound policy is accept; the output rules list what this role sends. Change",
        "# the output policy to drop for egress filtering.",
        "# Rules accept any address: narrow them to known peers where you can.",
    ]
    if overrides:
        moved = ", ".join(f"{key}={port}" for key, port in sorted(overrides.items()))
        lines.append(f"# Ports moved from the catalog's defaults: {moved}.")
    return lines


def render_nftables(rules: Iterable[Rule], header: Iterable[str] = ()) -> str:
    """An ``nft -f`` file holding one table, ``inet garrison``, replaced as a whole."""
    rules = tuple(rules)
    out = ["#!/usr/sbin/nft -f", *header, ""]
    # Declaring then deleting the table makes the file reloadable: the first load creates
    # it, every later one replaces it, and other tables are left alone.
    out += ["table inet garrison", "delete table inet garrison", "", "table inet garrison {"]
    for direction in Direction:
        chain = _CHAIN[direction][0]
        out.append(f"\tchain {chain} {{")
        out.append(f"\t\ttype filter hook {chain} priority filter; policy {_POLICY[direction]};")
        for fixed in _FIXED[direction]:
            out.append(f'\t\t{fixed.nftables} {fixed.verdict} comment "{fixed.comment}"')
        for rule in rules:
            if rule.direction is direction:
                out += [f"\t\t# {line}" for line in rule.purposes]
                out.append(
                    f"\t\t{rule.transport} dport {rule.port} counter accept "
                    f'comment "{rule.comment}"'
                )
        out.append("\t}")
    out += ["}", ""]
    return "\n".join(out)


def render_iptables(rules: Iterable[Rule], header: Iterable[str] = (), *, ipv6: bool) -> str:
    """An ``iptables-restore`` (or, with ``ipv6``, ``ip6tables-restore``) file.

    It replaces the whole filter table, as iptables-restore does unless run with
    ``--noflush``; FORWARD is not declared, so its policy stays as it was.
    """
    rules = tuple(rules)
    out = [*header, "*filter"]
    out += [f":{_CHAIN[d][1]} {_POLICY[d].upper()} [0:0]" for d in Direction]
    for direction in Direction:
        chain = _CHAIN[direction][1]
        for fixed in _FIXED[direction]:
            match = fixed.ip6tables if ipv6 else fixed.iptables
            out.append(
                f'-A {chain} {match} -m comment --comment "{fixed.comment}" '
                f"-j {fixed.verdict.upper()}"
            )
        for rule in rules:
            if rule.direction is direction:
                out += [f"# {line}" for line in rule.purposes]
                out.append(
                    f"-A {chain} -p {rule.transport} -m {rule.transport} --dport {rule.port} "
                    f'-m comment --comment "{rule.comment}" -j ACCEPT'
                )
    out += ["COMMIT", ""]
    return "\n".join(out)


def render(
    fmt: FirewallFormat,
    role: Role,
    *,
    include_optional: bool = False,
    port_overrides: Mapping[str, int] | None = None,
) -> str:
    """The ruleset file for a host of ``role`` in format ``fmt``."""
    overrides = dict(port_overrides or {})
    rules = rules_for(role, include_optional=include_optional, port_overrides=overrides)
    header = _header(role, include_optional, overrides)
    if fmt is FirewallFormat.NFTABLES:
        return render_nftables(rules, header)
    return render_iptables(rules, header, ipv6=fmt is FirewallFormat.IP6TABLES)
