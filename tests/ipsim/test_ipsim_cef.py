"""ipsim's events as TippingPoint CEF syslog, received on UDP and TCP sockets in the test."""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path

from ipsim.cef import format_policy
from ipsim.testing import FleetProcess
from ipsim.traffic import AttackEvent

# The shape of the real SMS samples (spec/sms-facts.md 3.1), key order included.
CEF_LINE = re.compile(
    "".join(
        [
            r"<(?P<pri>3[4-7])>CEF:0\|TippingPoint\|UnityOne\|1\.0\.0\.17\|",
            r"(?P<sig>\d+)\|(?P<name>\d+: [^|]+)\|(?P<sev>1|4|7|10)\|",
            r"app=(?P<app>TCP|UDP|ICMP|IP) cnt=\d+ dst=[\d.]+ dpt=\d+ ",
            r"act=(?P<act>Block|Permit|Rate Limit) ",
            r"cn1=\d+ cn1Label=VLAN ID cn2=\d+ cn2Label=Taxonomy cn3=[01] cn3Label=Packet Trace ",
            r"cs1=.+ cs1Label=Profile Name ",
            r"cs2=00000002-0002-0002-0002-(?P<pol>\d{12}) cs2Label=Policy UUID ",
            r"cs3=00000001-0001-0001-0001-(?P<sigu>\d{12}) cs3Label=Signature UUID ",
            r"cs4=1-\d[AB] 1-\d[AB] cs4Label=ZoneNames ",
            r"cs5=Garrison cs5Label=SMS Name dvchost=(?P<host>[\w-]+) ",
            r"cs6=.* cs6Label=Filter Message Parms ",
            r"src=(?P<src>[\d.]+) spt=\d+ externalId=(?P<id>\d+) rt=(?P<rt>\d{13}) ",
            r"cat=(?P<cat>[^=]+) proto=(?P=app) deviceInboundInterface=\d+ ",
            r"c6a2= c6a2Label=Source IPv6 c6a3= c6a3Label=Destination IPv6 ",
            r"request= requestMethod= dhost= sourceTranslatedAddress=(?P=src) ",
            r"c6a1= c6a1Label=Client IPv6 suser= sntdom= duser= dntdom=$",
        ]
    )
)
PRI_FOR_SEV = {"1": "37", "4": "36", "7": "35", "10": "34"}


def check(lines: list[str], names: set[str]) -> None:
    policy = [line for line in lines if "CEF:0|" in line]
    assert len(policy) >= 5
    ids: dict[str, list[int]] = {}
    for line in policy:
        m = CEF_LINE.match(line)
        assert m, line
        assert int(m["sig"]) == int(m["pol"]) == int(m["sigu"]) and m["name"].startswith(
            m["sig"] + ": "
        )
        assert PRI_FOR_SEV[m["sev"]] == m["pri"]
        assert m["host"] in names and abs(int(m["rt"]) / 1000 - time.time()) < 60
        ids.setdefault(m["host"], []).append(int(m["id"]))
    for seqs in ids.values():
        assert seqs == sorted(seqs) and seqs[0] >= 1


def test_cef_over_udp(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(10)
        port = sock.getsockname()[1]
        with FleetProcess(
            tmp_path,
            "--devices",
            "2",
            "--rate",
            "20",
            "--transport",
            "cef-udp",
            "--manager",
            f"127.0.0.1:{port}",
            "--no-management",
        ) as fleet:
            lines = [sock.recv(8192).decode() for _ in range(12)]
    check(lines, {d["name"] for d in fleet.devices})


def test_cef_over_tcp_is_newline_framed(tmp_path: Path) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(15)
        port = server.getsockname()[1]
        with FleetProcess(
            tmp_path,
            "--devices",
            "1",
            "--rate",
            "30",
            "--transport",
            "cef-tcp",
            "--manager",
            f"127.0.0.1:{port}",
            "--no-management",
        ) as fleet:
            conn, _ = server.accept()
            with conn:
                conn.settimeout(10)
                data = b""
                while data.count(b"\n") < 10:
                    chunk = conn.recv(65536)
                    assert chunk, "connection closed early"
                    data += chunk
    lines = data.decode().split("\n")[:10]
    check(lines, {fleet.devices[0]["name"]})


def test_escaping_of_header_and_extension() -> None:
    event = AttackEvent(
        seq=9,
        time_ns=1_539_348_361_056_000_000,
        filter_number=7610,
        filter_name="7610: HTTP: a|b\\c",
        category="Exploits",
        severity="Critical",
        protocol="tcp",
        action="Block",
        src_ip="50.227.44.198",
        src_port=10162,
        dst_ip="52.10.98.6",
        dst_port=443,
        hit_count=3,
        aggregation_minutes=1,
        vlan=0,
        segment=1,
        in_port="1B",
        out_port="1A",
        profile="WCU=External\nOutbound",
        policy_uuid="00000002-0002-0002-0002-000000007610",
        signature_uuid="00000001-0001-0001-0001-000000007610",
        taxonomy=33554431,
        message_params="50.227.44.198",
    )
    line = format_policy("PAS-TIP2600NX-01", event, sms_name="TipSMS", in_port_index=3)
    assert line.startswith(
        "<34>CEF:0|TippingPoint|UnityOne|1.0.0.17|7610|7610: HTTP: a\\|b\\\\c|10|app=TCP cnt=3 "
    )
    assert "cs1=WCU\\=External\\nOutbound cs1Label=Profile Name" in line
    assert (
        "dvchost=PAS-TIP2600NX-01 cs6=50.227.44.198 cs6Label=Filter Message Parms "
        "src=50.227.44.198 spt=10162" in line
    )
    assert "externalId=9 rt=1539348361056 cat=Exploits proto=TCP deviceInboundInterface=3" in line
