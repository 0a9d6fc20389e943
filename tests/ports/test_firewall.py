"""Firewall rulesets: they load (checked by nft and iptables-restore) and open the right ports."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from garrison.ports.catalog import Role
from garrison.ports.firewall import FirewallFormat, render, rules_for

ROLES = list(Role)
CHECKERS = {  # the format's own loader in check mode, where the host has it
    FirewallFormat.NFTABLES: ["nft", "-c", "-f"],
    FirewallFormat.IPTABLES: ["iptables-restore", "--test"],
    FirewallFormat.IP6TABLES: ["ip6tables-restore", "--test"],
}


def nft_chain(ruleset: str, chain: str) -> str:
    """The body of one chain of an nftables ruleset."""
    match = re.search(rf"\tchain {chain} {{\n(.*?)\n\t}}", ruleset, re.DOTALL)
    assert match, f"no chain {chain}"
    return match[1]


def opened(chain_body: str) -> set[str]:
    """``{"tcp/443", "udp/161"}``: the ports a chain body accepts."""
    return {f"{t}/{p}" for t, p in re.findall(r"^\s*(tcp|udp) dport (\d+) ", chain_body, re.M)}


@pytest.mark.parametrize("optional", [False, True], ids=["required", "optional"])
@pytest.mark.parametrize("fmt", list(FirewallFormat))
@pytest.mark.parametrize("role", ROLES)
def test_ruleset_is_accepted_by_its_loader(
    role: Role, fmt: FirewallFormat, optional: bool, tmp_path: Path
) -> None:
    command = CHECKERS[fmt]
    if shutil.which(command[0]) is None:
        pytest.skip(f"{command[0]} is not installed here")
    path = tmp_path / f"{role}.{fmt}"
    path.write_text(render(fmt, role, include_optional=optional))
    done = subprocess.run(
        [*command, str(path)], capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("role", ROLES)
def test_every_nftables_rule_says_why(role: Role) -> None:
    ruleset = render(FirewallFormat.NFTABLES, role, include_optional=True)
    rules = [
        line
        for line in ruleset.splitlines()
        if re.search(r"\b(accept|drop)\b", line)
        and not line.lstrip().startswith(("#", "type filter"))
    ]
    assert len(rules) > 10
    for line in rules:
        assert re.search(r'comment "[^"]+"$', line), line


@pytest.mark.parametrize("fmt", [FirewallFormat.IPTABLES, FirewallFormat.IP6TABLES])
@pytest.mark.parametrize("role", ROLES)
def test_every_iptables_rule_says_why(role: Role, fmt: FirewallFormat) -> None:
    ruleset = render(fmt, role, include_optional=True)
    appended = [line for line in ruleset.splitlines() if line.startswith("-A ")]
    assert appended
    for line in appended:
        comment = re.search(r'--comment "([^"]+)"', line)
        assert comment and len(comment[1]) <= 256, line


def test_sms_input_is_closed_but_for_its_services_and_output_stays_open() -> None:
    ruleset = render(FirewallFormat.NFTABLES, Role.SMS_PRIMARY)
    inbound = nft_chain(ruleset, "input")
    assert "policy drop;" in inbound
    assert "policy accept;" in nft_chain(ruleset, "output")
    assert "ct state established,related accept" in inbound
    assert {"tcp/22", "tcp/443", "tcp/943", "tcp/9033", "tcp/10042"} <= opened(inbound)
    assert {"udp/8162", "udp/8163", "udp/162", "udp/1812"} <= opened(inbound)
    assert {"tcp/1098", "tcp/1099", "tcp/3306", "tcp/4444"} <= opened(inbound)  # HA peer
    assert "tcp/9591" not in opened(inbound)  # TRHA is between IPS devices
    assert {"udp/161", "tcp/443", "tcp/25", "udp/514"} <= opened(nft_chain(ruleset, "output"))


def test_optional_rows_only_when_asked_for() -> None:
    required = opened(nft_chain(render(FirewallFormat.NFTABLES, Role.SMS_SECONDARY), "input"))
    everything = opened(
        nft_chain(
            render(FirewallFormat.NFTABLES, Role.SMS_SECONDARY, include_optional=True), "input"
        )
    )
    optional_listeners = {"udp/161", "udp/123", "tcp/10043"}
    assert not optional_listeners & required
    assert optional_listeners <= everything


def test_ips_opens_management_and_sends_traps() -> None:
    ruleset = render(FirewallFormat.NFTABLES, Role.IPS)
    assert opened(nft_chain(ruleset, "input")) == {"udp/161", "tcp/443", "tcp/9591"}
    assert {"udp/8162", "udp/8163", "tcp/9591"} <= opened(nft_chain(ruleset, "output"))


def test_a_port_shared_by_two_rows_is_one_rule_naming_both() -> None:
    ssh = [r for r in rules_for(Role.SMS_PRIMARY) if r.port == 22 and r.direction == "inbound"]
    assert len(ssh) == 1
    assert ssh[0].keys == ("ssh-cli", "ha-ssh")
    ruleset = render(FirewallFormat.IPTABLES, Role.SMS_PRIMARY)
    (line,) = [x for x in ruleset.splitlines() if "--dport 22 " in x and x.startswith("-A INPUT")]
    assert "ssh-cli, ha-ssh" in line


def test_port_overrides_move_the_rule() -> None:
    ruleset = render(FirewallFormat.NFTABLES, Role.SMS_PRIMARY, port_overrides={"https": 10443})
    inbound = nft_chain(ruleset, "input")
    assert "tcp/10443" in opened(inbound)
    assert "tcp/443" not in opened(inbound)
    assert "https=10443" in ruleset  # the header says the port was moved
    assert "tcp/443" in opened(nft_chain(ruleset, "output"))  # device management is not


def test_iptables_file_shape() -> None:
    ruleset = render(FirewallFormat.IPTABLES, Role.IPS)
    lines = [line for line in ruleset.splitlines() if line and not line.startswith("#")]
    assert lines[:3] == ["*filter", ":INPUT DROP [0:0]", ":OUTPUT ACCEPT [0:0]"]
    assert lines[-1] == "COMMIT"
    assert "-p icmp " in ruleset
    assert "-p ipv6-icmp " in render(FirewallFormat.IP6TABLES, Role.IPS)
