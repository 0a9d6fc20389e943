"""What the SNMP trap tests share: a full tptPolicyNotify as net-snmp ``snmptrap`` arguments,
capturing what a real ``snmptrap`` sends, and pysnmp as the reference encoder and decoder.

(Named ``test_*`` only to sit with its tests; it holds no tests itself.)
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

import pytest
from pyasn1.codec.ber import decoder as asn1_decoder
from pyasn1.codec.ber import encoder as asn1_encoder
from pysnmp.proto import api
from pysnmp.proto.api import v2c

from garrison.collectors.snmp_trap.messages import IpAddress, Oid

DATA = Path(__file__).resolve().parent.parent / "data" / "snmp_trap"
TP = "1.3.6.1.4.1.10734.3.3.3"
POLICY_NOTIFY = f"{TP}.0.8"
SIGNATURE_UUID = "00000001-0001-0001-0001-000000007610"
POLICY_UUID = "6e664408-b90a-48e2-9a2d-c01cb9258381"
V6_SOURCE = bytes.fromhex("20010db8000000000000000000000001")
# net-snmp keeps its engine boots here; a folder of the tests' own, not ~/.snmp.
PERSISTENT_DIR = tempfile.mkdtemp(prefix="garrison-snmp-")

# Every varbind of tptPolicyNotify in the facts sheet: (object number, snmptrap type, value).
POLICY_VARBINDS: list[tuple[int, str, str]] = [
    (11, "s", "ips-lab-01"),
    (12, "s", POLICY_UUID),
    (13, "s", SIGNATURE_UUID),
    (14, "s", "3:1"),
    (59, "s", "1-1A:1-1B"),
    (57, "i", "3"),
    (58, "i", "100"),
    (15, "a", "50.227.44.198"),
    (16, "i", "10162"),
    (17, "a", "52.10.98.6"),
    (18, "i", "443"),
    (26, "s", "tcp"),
    (39, "s", "50.227.44.198|443"),
    (23, "i", "3"),
    (24, "i", "5"),
    (19, "u", "1539348361"),
    (40, "u", "56000000"),
    (27, "u", "1539348362"),
    (28, "u", "123456789"),
    (29, "i", "1"),
    (36, "i", "7"),
    (37, "i", "1"),
    (38, "i", "2"),
    (20, "i", "1"),
    (21, "i", "1"),
    (22, "i", "8"),
    (41, "i", "3"),
    (25, "i", "4"),
    (30, "C", "19278229"),
    (128, "x", "00000000000000000000000000000000"),
    (129, "x", "20010db8000000000000000000000002"),
    (130, "s", "00000002-0002-0002-0002-000000000002"),
    (131, "i", "0"),
    (137, "i", "1"),
    (138, "s", "Block / Notify"),
    (139, "s", "10.9.9.9"),
    (140, "s", "meta=1"),
    (180, "i", "2"),
    (182, "s", "vs-1"),
]


def policy_args(v1: bool = False) -> list[str]:
    """The varbind arguments of snmptrap for the full tptPolicyNotify. SNMPv1 has no
    Counter64 (pysnmp's v1 decoder refuses it, net-snmp sends it anyway), so a v1 trap
    carries the sequence as a Counter32."""
    args: list[str] = []
    for number, kind, value in POLICY_VARBINDS:
        args += [f"{TP}.1.{number}.0", "c" if v1 and kind == "C" else kind, value]
    return args


def require_snmptrap() -> None:
    if shutil.which("snmptrap") is None:
        pytest.skip("net-snmp's snmptrap is not installed (apt-get install snmp)")


def run_snmp(args: list[str], timeout: float = 10) -> subprocess.CompletedProcess[str]:
    """Run a net-snmp command with no MIBs loaded and a private persistent directory."""
    return subprocess.run(
        args,
        timeout=timeout,
        capture_output=True,
        text=True,
        env={"MIBS": "", "PATH": "/usr/bin:/bin:/usr/sbin", "SNMP_PERSISTENT_DIR": PERSISTENT_DIR},
        check=False,
    )


def capture(command: list[str], timeout: float = 10) -> bytes:
    """The datagram a real net-snmp sender sends: ``{port}`` in ``command`` is replaced
    by a loopback UDP socket's port that catches it."""
    require_snmptrap()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(timeout)
        port = sock.getsockname()[1]
        done = run_snmp([part.replace("{port}", str(port)) for part in command], timeout)
        assert done.returncode == 0, done.stderr
        data, _ = sock.recvfrom(65535)
    return data


def snmptrap_v2c(
    port: str, trap_oid: str, varbinds: list[str], community: str = "public"
) -> list[str]:
    return [
        "snmptrap",
        "-v2c",
        "-c",
        community,
        "-m",
        "",
        f"127.0.0.1:{port}",
        "4242",
        trap_oid,
        *varbinds,
    ]


def snmptrap_v1(
    port: str,
    enterprise: str,
    generic: int,
    specific: int,
    varbinds: list[str],
    community: str = "public",
) -> list[str]:
    return [
        "snmptrap",
        "-v1",
        "-c",
        community,
        "-m",
        "",
        f"127.0.0.1:{port}",
        enterprise,
        "10.0.0.9",
        str(generic),
        str(specific),
        "4242",
        *varbinds,
    ]


def snmptrap_v3(
    port: str,
    trap_oid: str,
    varbinds: list[str],
    *,
    user: str = "tpuser",
    auth: str = "authpass123",
    priv: str = "privpass123",
    engine_id: str | None = "0x8000000001020304",
    auth_protocol: str = "SHA-256",
    priv_protocol: str = "AES",
) -> list[str]:
    engine = ["-e", engine_id] if engine_id else []
    return [
        "snmptrap",
        "-v3",
        *engine,
        "-u",
        user,
        "-l",
        "authPriv",
        "-a",
        auth_protocol,
        "-A",
        auth,
        "-x",
        priv_protocol,
        "-X",
        priv,
        "-m",
        "",
        f"127.0.0.1:{port}",
        "4242",
        trap_oid,
        *varbinds,
    ]


# --- pysnmp as the reference ------------------------------------------------------


def pysnmp_v2c_trap(community: str, varbinds: list[tuple[str, Any]], inform: bool = False) -> bytes:
    """A v2c notification encoded by pysnmp; ``varbinds`` start with sysUpTime.0 and
    snmpTrapOID.0 as the caller gives them."""
    pdu = v2c.InformRequestPDU() if inform else v2c.SNMPv2TrapPDU()
    v2c.apiPDU.set_defaults(pdu)
    v2c.apiPDU.set_varbinds(pdu, [(v2c.ObjectIdentifier(oid), value) for oid, value in varbinds])
    message = v2c.Message()
    v2c.apiMessage.set_defaults(message)
    v2c.apiMessage.set_community(message, community)
    v2c.apiMessage.set_pdu(message, pdu)
    return asn1_encoder.encode(message)


def policy_varbinds_pysnmp(sequence: int = 19278229) -> list[tuple[str, Any]]:
    """The full tptPolicyNotify as pysnmp values (for the benchmark and the tests)."""
    kinds = {
        "s": lambda v: v2c.OctetString(v),
        "i": lambda v: v2c.Integer(int(v)),
        "u": lambda v: v2c.Gauge32(int(v)),
        "a": lambda v: v2c.IpAddress(v),
        "x": lambda v: v2c.OctetString(hexValue=v),
        "C": lambda v: v2c.Counter64(int(v)),
    }
    varbinds: list[tuple[str, Any]] = [
        ("1.3.6.1.2.1.1.3.0", v2c.TimeTicks(4242)),
        ("1.3.6.1.6.3.1.1.4.1.0", v2c.ObjectIdentifier(POLICY_NOTIFY)),
    ]
    for number, kind, value in POLICY_VARBINDS:
        if number == 30:
            value = str(sequence)
        varbinds.append((f"{TP}.1.{number}.0", kinds[kind](value)))
    return varbinds


def reference_decode(datagram: bytes) -> dict[str, Any]:
    """What pysnmp reads in a v1/v2c datagram, in the shape of our TrapMessage."""
    version = int(api.decodeMessageVersion(datagram))
    module = api.PROTOCOL_MODULES[version]
    message, rest = asn1_decoder.decode(datagram, asn1Spec=module.Message())
    assert not rest
    pdu = module.apiMessage.get_pdu(message)
    result: dict[str, Any] = {
        "version": version,
        "community": bytes(module.apiMessage.get_community(message)),
    }
    if version == 0:
        result["enterprise"] = str(module.apiTrapPDU.get_enterprise(pdu))
        result["agent_address"] = str(IPv4Address(bytes(module.apiTrapPDU.get_agent_address(pdu))))
        result["generic_trap"] = int(module.apiTrapPDU.get_generic_trap(pdu))
        result["specific_trap"] = int(module.apiTrapPDU.get_specific_trap(pdu))
        result["uptime"] = int(module.apiTrapPDU.get_timestamp(pdu))
        varbinds = module.apiTrapPDU.get_varbinds(pdu)
    else:
        result["request_id"] = int(module.apiPDU.get_request_id(pdu))
        varbinds = module.apiPDU.get_varbinds(pdu)
    result["varbinds"] = [(str(oid), reference_value(value)) for oid, value in varbinds]
    return result


def reference_value(value: Any) -> Any:
    """A pysnmp value as our decoder's typed Python value."""
    name = value.__class__.__name__
    if name in ("IpAddress",):
        return IpAddress(str(IPv4Address(bytes(value))))
    if name == "ObjectIdentifier" or name == "ObjectName":
        return Oid(str(value))
    if name in ("OctetString", "Opaque", "Bits"):
        return bytes(value)
    if name in ("Null", "NoSuchObject", "NoSuchInstance", "EndOfMibView"):
        return None
    if hasattr(value, "getComponent"):  # v1's NetworkAddress and similar choices
        return reference_value(value.getComponent())
    return int(value)
