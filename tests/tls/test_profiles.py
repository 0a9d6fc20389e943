"""TLS profiles checked with real clients: sslscan and `openssl s_client` against 127.0.0.1."""

from __future__ import annotations

import os
import re
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from garrison.tls import (
    PROFILES,
    TlsError,
    client_context,
    describe,
    ensure_self_signed,
    profiles,
    server_context,
)

SUBPROCESS_TIMEOUT = 30
ANSI = re.compile(r"\x1b\[[0-9;]*m")

MODERN_TLS12_RSA = {
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-RSA-CHACHA20-POLY1305",
}
MODERN_TLS12_ECDSA = {
    "ECDHE-ECDSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305",
}
ALL_TLS13 = {"TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256", "TLS_AES_128_GCM_SHA256"}
LEGACY_TLS12 = {
    "AES128-SHA",
    "AES128-SHA256",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES256-SHA384",
}
FIPS_TLS12_RSA = {
    "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES128-SHA256",
    "ECDHE-RSA-AES256-SHA384",
}
FIPS_TLS13 = {"TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256"}


# --- a TLS server on 127.0.0.1 -------------------------------------------------------------------


@contextmanager
def tls_server(ctx: ssl.SSLContext) -> Iterator[int]:
    """Serve handshakes with ctx on a free 127.0.0.1 port; yields the port."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=64)
    listener.settimeout(0.2)
    stop = threading.Event()

    def handle(conn: socket.socket) -> None:
        conn.settimeout(5)
        try:
            with ctx.wrap_socket(conn, server_side=True) as tls:
                tls.recv(1)  # wait until the client is done with the session
        except (OSError, ssl.SSLError):
            pass  # refused handshakes are what half of these tests are about
        finally:
            conn.close()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Path]]:
    base = tmp_path_factory.mktemp("tls-profile-certs")
    pairs = {}
    for key_type in ("rsa-2048", "ec-p256"):
        cert, key = base / f"{key_type}.crt", base / f"{key_type}.key"
        ensure_self_signed(cert, key, ["garrison.test"], [], key_type=key_type)
        pairs[key_type] = (cert, key)
    return pairs


@pytest.fixture(scope="module", params=PROFILES)
def rsa_server(request: pytest.FixtureRequest, certs: dict) -> Iterator[tuple[str, int]]:
    cert, key = certs["rsa-2048"]
    with tls_server(server_context(request.param, cert, key)) as port:
        yield request.param, port


@pytest.fixture(scope="module")
def servers(certs: dict) -> Iterator[dict[str, int]]:
    """One RSA-certificate server per profile, for the s_client cases."""
    cert, key = certs["rsa-2048"]
    with (
        tls_server(server_context("modern", cert, key)) as modern,
        tls_server(server_context("legacy", cert, key)) as legacy,
        tls_server(server_context("fips", cert, key)) as fips,
    ):
        yield {"modern": modern, "legacy": legacy, "fips": fips}


# --- sslscan -------------------------------------------------------------------------------------


@dataclass
class Scan:
    protocols: dict[str, bool] = field(default_factory=dict)  # "TLSv1.2" -> enabled
    ciphers: dict[str, set[str]] = field(default_factory=dict)  # "TLSv1.2" -> accepted suites
    groups: dict[str, set[str]] = field(default_factory=dict)  # "TLSv1.3" -> group names

    def enabled(self) -> set[str]:
        return {p for p, on in self.protocols.items() if on}


def parse_sslscan(output: str) -> Scan:
    scan = Scan()
    section = ""
    for raw in output.splitlines():
        line = ANSI.sub("", raw).strip()
        if line.endswith(":") and not line.startswith(("Preferred", "Accepted")):
            section = line
            continue
        if m := re.match(r"^(SSLv[23]|TLSv1\.[0-3])\s+(enabled|disabled)$", line):
            scan.protocols[m[1]] = m[2] == "enabled"
        elif m := re.match(r"^(?:Preferred|Accepted)\s+(\S+)\s+\d+\s+bits\s+(\S+)", line):
            scan.ciphers.setdefault(m[1], set()).add(m[2])
        elif "Group" in section and (m := re.match(r"^(TLSv1\.[23])\s+\d+\s+bits\s+(\S+)", line)):
            scan.groups.setdefault(m[1], set()).add(m[2])
    return scan


def sslscan(port: int) -> Scan:
    exe = shutil.which("sslscan")
    if exe is None:
        pytest.skip("sslscan is not installed (apt-get install sslscan)")
    done = subprocess.run(
        [exe, "--no-colour", "--no-heartbleed", f"127.0.0.1:{port}"],
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        check=False,
    )
    scan = parse_sslscan(done.stdout)
    assert scan.protocols, f"sslscan printed no protocol table:\n{done.stdout}\n{done.stderr}"
    return scan


def test_parse_sslscan_reads_its_table() -> None:
    sample = (
        "  SSL/TLS Protocols:\nSSLv2     disabled\nTLSv1.2   enabled\n\n"
        "  Supported Server Cipher(s):\n"
        "\x1b[32mPreferred\x1b[0m TLSv1.2  256 bits  ECDHE-RSA-AES256-GCM-SHA384   Curve 25519\n"
        "Accepted  TLSv1.2  128 bits  AES128-SHA                   \n\n"
        "  Server Key Exchange Group(s):\nTLSv1.2  128 bits  secp256r1 (NIST P-256)\n"
    )
    scan = parse_sslscan(sample)
    assert scan.enabled() == {"TLSv1.2"}
    assert scan.ciphers == {"TLSv1.2": {"ECDHE-RSA-AES256-GCM-SHA384", "AES128-SHA"}}
    assert scan.groups == {"TLSv1.2": {"secp256r1"}}


def test_sslscan_sees_exactly_what_describe_says(rsa_server: tuple[str, int]) -> None:
    profile, port = rsa_server
    scan = sslscan(port)
    description = describe(profile)
    assert scan.enabled() == set(description.protocols)
    for protocol in description.protocols:
        # An RSA certificate cannot serve the ECDHE-ECDSA suites; everything else must show.
        expected = {
            s.name
            for s in description.cipher_suites
            if protocol in s.protocols and "ECDSA" not in s.name
        }
        assert scan.ciphers.get(protocol, set()) == expected, protocol


def test_sslscan_modern(servers: dict[str, int]) -> None:
    scan = sslscan(servers["modern"])
    assert scan.enabled() == {"TLSv1.2", "TLSv1.3"}
    assert scan.ciphers["TLSv1.2"] == MODERN_TLS12_RSA
    assert scan.ciphers["TLSv1.3"] == ALL_TLS13


def test_sslscan_modern_with_an_ec_certificate(certs: dict) -> None:
    cert, key = certs["ec-p256"]
    with tls_server(server_context("modern", cert, key)) as port:
        scan = sslscan(port)
    assert scan.ciphers["TLSv1.2"] == MODERN_TLS12_ECDSA
    assert scan.ciphers["TLSv1.3"] == ALL_TLS13


def test_sslscan_legacy(servers: dict[str, int]) -> None:
    scan = sslscan(servers["legacy"])
    assert scan.enabled() == {"TLSv1.0", "TLSv1.1", "TLSv1.2"}
    assert scan.ciphers["TLSv1.2"] == LEGACY_TLS12
    # GCM and the SHA-256/384 MACs exist only in TLS 1.2: one suite is left for 1.0 and 1.1.
    assert scan.ciphers["TLSv1.1"] == {"AES128-SHA"}
    assert scan.ciphers["TLSv1.0"] == {"AES128-SHA"}
    assert "TLSv1.3" not in scan.ciphers


def test_sslscan_fips(servers: dict[str, int]) -> None:
    scan = sslscan(servers["fips"])
    assert scan.enabled() == {"TLSv1.2", "TLSv1.3"}
    assert scan.ciphers["TLSv1.2"] == FIPS_TLS12_RSA
    assert scan.ciphers["TLSv1.3"] == FIPS_TLS13
    offered = set().union(*scan.ciphers.values())
    assert not any("CHACHA20" in c or c.endswith("-SHA") for c in offered)
    for protocol in ("TLSv1.2", "TLSv1.3"):
        assert scan.groups[protocol] == {"secp256r1", "secp384r1"}


# --- openssl s_client ----------------------------------------------------------------------------


def s_client(port: int, *args: str) -> str | None:
    """The suite negotiated, or None when the server refused the handshake."""
    negotiated = s_client_session(port, *args)
    return negotiated[1] if negotiated else None


def s_client_session(port: int, *args: str) -> tuple[str, str] | None:
    """(protocol, suite) negotiated, or None when the server refused the handshake."""
    exe = shutil.which("openssl")
    if exe is None:
        pytest.skip("openssl is not installed")
    done = subprocess.run(
        [exe, "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT,
        check=False,
    )
    # A client that cannot even build its hello proves nothing about the server.
    for client_side in ("no cipher match", "no ciphers available", "Call to SSL_CONF_cmd"):
        assert client_side not in done.stderr, f"client error: {done.stderr}"
    new = re.search(r"^New, (\S+), Cipher is (\S+)", done.stdout, re.MULTILINE)
    if new is None or new[2] == "(NONE)":
        return None
    # "New, SSLv3, Cipher is AES128-SHA" names the suite's first version, the session block
    # the negotiated one; TLS 1.3 prints no session block before s_client quits.
    session = re.search(r"^\s*Protocol\s*:\s*(\S+)", done.stdout, re.MULTILINE)
    return (session[1] if session else new[1]), new[2]


S_CLIENT_PROTOCOL = {"-tls1": "TLSv1", "-tls1_1": "TLSv1.1", "-tls1_2": "TLSv1.2"}


def legacy_cipher(name: str) -> str:
    # Debian's OpenSSL (security level 2) will not even offer SHA-1 suites or TLS 1.0/1.1.
    return f"{name}@SECLEVEL=0"


ACCEPTED_BY = [
    ("modern", "-tls1_2", "ECDHE-RSA-AES128-GCM-SHA256"),
    ("modern", "-tls1_2", "ECDHE-RSA-AES256-GCM-SHA384"),
    ("modern", "-tls1_2", "ECDHE-RSA-CHACHA20-POLY1305"),
    ("legacy", "-tls1", "AES128-SHA"),
    ("legacy", "-tls1_1", "AES128-SHA"),
    ("legacy", "-tls1_2", "AES128-SHA"),
    ("legacy", "-tls1_2", "AES128-SHA256"),
    ("legacy", "-tls1_2", "ECDHE-RSA-AES256-GCM-SHA384"),
    ("legacy", "-tls1_2", "ECDHE-RSA-AES256-SHA384"),
    ("fips", "-tls1_2", "ECDHE-RSA-AES128-GCM-SHA256"),
    ("fips", "-tls1_2", "ECDHE-RSA-AES256-GCM-SHA384"),
    ("fips", "-tls1_2", "ECDHE-RSA-AES128-SHA256"),
    ("fips", "-tls1_2", "ECDHE-RSA-AES256-SHA384"),
]

REFUSED_BY = [
    ("modern", "-tls1", "AES128-SHA"),
    ("modern", "-tls1", "ECDHE-RSA-AES128-SHA"),
    ("modern", "-tls1_1", "ECDHE-RSA-AES256-SHA"),
    ("modern", "-tls1_2", "ECDHE-RSA-AES256-SHA384"),  # CBC
    ("modern", "-tls1_2", "ECDHE-RSA-AES128-SHA"),  # CBC, SHA-1
    ("modern", "-tls1_2", "AES128-GCM-SHA256"),  # RSA key exchange
    ("modern", "-tls1_2", "AES128-SHA"),
    ("modern", "-tls1_2", "DHE-RSA-AES128-GCM-SHA256"),
    ("legacy", "-tls1", "ECDHE-RSA-AES256-SHA"),
    ("legacy", "-tls1", "AES256-SHA"),
    ("legacy", "-tls1_1", "ECDHE-RSA-AES128-SHA"),
    ("legacy", "-tls1_2", "AES256-SHA"),
    ("legacy", "-tls1_2", "AES128-GCM-SHA256"),
    ("legacy", "-tls1_2", "ECDHE-RSA-AES128-GCM-SHA256"),
    ("legacy", "-tls1_2", "ECDHE-RSA-CHACHA20-POLY1305"),
    ("legacy", "-tls1_2", "DHE-RSA-AES256-GCM-SHA384"),
    ("fips", "-tls1", "ECDHE-RSA-AES128-SHA"),
    ("fips", "-tls1_1", "ECDHE-RSA-AES128-SHA"),
    ("fips", "-tls1_2", "ECDHE-RSA-CHACHA20-POLY1305"),
    ("fips", "-tls1_2", "ECDHE-RSA-AES128-SHA"),  # SHA-1 MAC
    ("fips", "-tls1_2", "ECDHE-RSA-AES256-SHA"),
    ("fips", "-tls1_2", "AES128-GCM-SHA256"),  # RSA key exchange
    ("fips", "-tls1_2", "AES128-SHA256"),
]


@pytest.mark.parametrize(("profile", "version", "cipher"), ACCEPTED_BY)
def test_s_client_accepted(
    servers: dict[str, int], profile: str, version: str, cipher: str
) -> None:
    negotiated = s_client_session(servers[profile], version, "-cipher", legacy_cipher(cipher))
    assert negotiated == (S_CLIENT_PROTOCOL[version], cipher)


@pytest.mark.parametrize(("profile", "version", "cipher"), REFUSED_BY)
def test_s_client_refused(servers: dict[str, int], profile: str, version: str, cipher: str) -> None:
    assert s_client(servers[profile], version, "-cipher", legacy_cipher(cipher)) is None


@pytest.mark.parametrize(
    ("profile", "suite", "accepted"),
    [
        ("modern", "TLS_AES_256_GCM_SHA384", True),
        ("modern", "TLS_AES_128_GCM_SHA256", True),
        ("modern", "TLS_CHACHA20_POLY1305_SHA256", True),
        ("legacy", "TLS_AES_256_GCM_SHA384", False),
        ("legacy", "TLS_AES_128_GCM_SHA256", False),
        ("fips", "TLS_AES_256_GCM_SHA384", True),
        ("fips", "TLS_AES_128_GCM_SHA256", True),
        ("fips", "TLS_CHACHA20_POLY1305_SHA256", False),
    ],
)
def test_s_client_tls13(servers: dict[str, int], profile: str, suite: str, accepted: bool) -> None:
    negotiated = s_client(servers[profile], "-tls1_3", "-ciphersuites", suite)
    assert negotiated == (suite if accepted else None)


@pytest.mark.parametrize(
    ("version", "groups", "accepted"),
    [
        ("-tls1_3", "P-256", True),
        ("-tls1_3", "P-384", True),
        ("-tls1_3", "X25519", False),
        ("-tls1_3", "P-521", False),
        ("-tls1_2", "P-384", True),
        ("-tls1_2", "X25519", False),
    ],
)
def test_fips_key_exchange_groups(
    servers: dict[str, int], version: str, groups: str, accepted: bool
) -> None:
    negotiated = s_client(servers["fips"], version, "-groups", groups)
    assert (negotiated is not None) == accepted


@pytest.mark.parametrize(("profile", "accepted"), [("fips", False), ("legacy", True)])
def test_sha1_handshake_signatures(servers: dict[str, int], profile: str, accepted: bool) -> None:
    negotiated = s_client(
        servers[profile],
        "-tls1_2",
        "-cipher",
        legacy_cipher("ECDHE-RSA-AES256-GCM-SHA384"),
        "-sigalgs",
        "RSA+SHA1",
    )
    assert (negotiated is not None) == accepted


# --- SSLv2-format ClientHello --------------------------------------------------------------------


def sslv2_hello(version: int, suites: list[int]) -> bytes:
    """An SSLv3/TLS ClientHello in an SSLv2 record, as very old clients send it."""
    specs = b"".join(b"\x00" + struct.pack(">H", s) for s in suites)
    challenge = os.urandom(16)
    body = b"\x01" + struct.pack(">HHHH", version, len(specs), 0, len(challenge))
    body += specs + challenge
    return struct.pack(">H", 0x8000 | len(body)) + body


@pytest.mark.parametrize(
    ("profile", "accepted"), [("legacy", True), ("modern", False), ("fips", False)]
)
@pytest.mark.parametrize("version", [0x0301, 0x0303])
def test_sslv2_format_client_hello(
    servers: dict[str, int], profile: str, accepted: bool, version: int
) -> None:
    suites = [0x002F, 0xC030, 0xC02F, 0xC02B, 0x009C]  # AES128-SHA, ECDHE GCM, RSA GCM
    with socket.create_connection(("127.0.0.1", servers[profile]), timeout=5) as sock:
        sock.sendall(sslv2_hello(version, suites))
        try:
            reply = sock.recv(6)
        except ConnectionResetError:
            reply = b""
    # 0x16 = handshake record whose first message (type 2) is a ServerHello; 0x15 = alert.
    server_hello = len(reply) == 6 and reply[0] == 0x16 and reply[5] == 0x02
    assert server_hello == accepted, reply.hex()
    if accepted:
        assert reply[1:3] == struct.pack(">H", version)  # TLS, never SSLv2 itself
    assert describe(profile).sslv2_hello == accepted


# --- explicit settings beat the system OpenSSL configuration -------------------------------------

HOSTILE_OPENSSL_CNF = """\
openssl_conf = default_conf
[default_conf]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
MinProtocol = TLSv1.2
CipherString = DEFAULT@SECLEVEL=2
Ciphersuites = TLS_CHACHA20_POLY1305_SHA256
"""

SERVER_SCRIPT = """\
import socket, sys
from pathlib import Path
from garrison.tls import server_context
ctx = server_context(sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3]))
listener = socket.create_server(("127.0.0.1", 0))
print(listener.getsockname()[1], flush=True)
while True:
    conn, _ = listener.accept()
    conn.settimeout(5)
    try:
        with ctx.wrap_socket(conn, server_side=True) as tls:
            tls.recv(1)
    except OSError:
        pass
"""


@contextmanager
def server_process(profile: str, certs: dict, env: dict[str, str]) -> Iterator[int]:
    cert, key = certs["rsa-2048"]
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER_SCRIPT, profile, str(cert), str(key)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.strip().isdigit(), f"server did not start (exit {proc.poll()})"
        yield int(line)
    finally:
        proc.kill()
        proc.wait(timeout=SUBPROCESS_TIMEOUT)


def test_system_openssl_config_cannot_change_a_profile(tmp_path: Path, certs: dict) -> None:
    cnf = tmp_path / "hostile-openssl.cnf"
    cnf.write_text(HOSTILE_OPENSSL_CNF)
    env = {**os.environ, "OPENSSL_CONF": str(cnf)}
    with server_process("legacy", certs, env) as port:
        assert s_client(port, "-tls1", "-cipher", legacy_cipher("AES128-SHA")) == "AES128-SHA"
    with server_process("fips", certs, env) as port:
        suite = "TLS_AES_256_GCM_SHA384"
        assert s_client(port, "-tls1_3", "-ciphersuites", suite) == suite
        assert s_client(port, "-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256") is None
    with server_process("modern", certs, env) as port:
        suite = "TLS_AES_128_GCM_SHA256"
        assert s_client(port, "-tls1_3", "-ciphersuites", suite) == suite


# --- Python clients, context settings, errors ----------------------------------------------------


@pytest.mark.parametrize(
    ("profile", "version"), [("modern", "TLSv1.3"), ("legacy", "TLSv1.2"), ("fips", "TLSv1.3")]
)
def test_client_context_talks_to_server_context(certs: dict, profile: str, version: str) -> None:
    cert, key = certs["rsa-2048"]
    client = client_context(profile, cafile=cert)
    with (
        tls_server(server_context(profile, cert, key)) as port,
        socket.create_connection(("127.0.0.1", port), timeout=5) as sock,
        client.wrap_socket(sock, server_hostname="localhost") as tls,
    ):
        assert tls.version() == version
        tls.sendall(b"x")


def test_client_context_verifies_by_default(certs: dict) -> None:
    cert, key = certs["rsa-2048"]
    client = client_context("modern")  # system CAs only: the self-signed one is unknown
    with (
        tls_server(server_context("modern", cert, key)) as port,
        socket.create_connection(("127.0.0.1", port), timeout=5) as sock,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        client.wrap_socket(sock, server_hostname="localhost")


def test_client_context_without_verification() -> None:
    ctx = client_context("legacy", verify=False)
    assert ctx.verify_mode == ssl.CERT_NONE
    assert not ctx.check_hostname


def test_client_context_missing_cafile(tmp_path: Path) -> None:
    with pytest.raises(TlsError, match=r"missing\.pem: CA file not found"):
        client_context("modern", cafile=tmp_path / "missing.pem")


@pytest.mark.parametrize("profile", PROFILES)
def test_server_context_options(certs: dict, profile: str) -> None:
    ctx = server_context(profile, *certs["rsa-2048"])
    assert ctx.options & ssl.OP_NO_COMPRESSION
    assert ctx.options & ssl.OP_CIPHER_SERVER_PREFERENCE
    assert ctx.options & ssl.OP_NO_RENEGOTIATION


def test_unknown_profile_names_the_allowed_ones(certs: dict) -> None:
    with pytest.raises(TlsError, match=r"unknown TLS profile 'paranoid'.*modern, legacy, fips"):
        server_context("paranoid", *certs["rsa-2048"])
    with pytest.raises(TlsError, match="modern, legacy, fips"):
        describe("paranoid")


def test_legacy_refuses_an_ec_certificate(certs: dict) -> None:
    cert, key = certs["ec-p256"]
    with pytest.raises(TlsError, match="legacy profile needs an RSA certificate"):
        server_context("legacy", cert, key)


def test_fips_accepts_an_ec_p256_certificate(certs: dict) -> None:
    assert isinstance(server_context("fips", *certs["ec-p256"]), ssl.SSLContext)


def test_garbage_certificate(tmp_path: Path, certs: dict) -> None:
    garbage = tmp_path / "garbage.crt"
    garbage.write_text("this is not a certificate\n")
    with pytest.raises(TlsError, match=r"garbage\.crt: not a PEM certificate"):
        server_context("modern", garbage, certs["rsa-2048"][1])


def test_mismatched_key(certs: dict) -> None:
    with pytest.raises(TlsError, match=r"ec-p256\.key: private key does not match"):
        server_context("modern", certs["rsa-2048"][0], certs["ec-p256"][1])


def test_missing_key(tmp_path: Path, certs: dict) -> None:
    with pytest.raises(TlsError, match=r"nope\.key: private key file not found"):
        server_context("modern", certs["rsa-2048"][0], tmp_path / "nope.key")


def test_describe_lists_the_spec_suites_for_legacy() -> None:
    legacy = describe("legacy")
    assert legacy.protocols == ("TLSv1.0", "TLSv1.1", "TLSv1.2")
    assert {s.iana_name for s in legacy.cipher_suites} == {
        "TLS_RSA_WITH_AES_128_CBC_SHA",
        "TLS_RSA_WITH_AES_128_CBC_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
    }
    by_name = {s.name: s.protocols for s in legacy.cipher_suites}
    assert by_name["AES128-SHA"] == ("TLSv1.0", "TLSv1.1", "TLSv1.2")
    assert by_name["AES128-SHA256"] == ("TLSv1.2",)


def test_describe_fips_has_no_chacha_and_no_sha1() -> None:
    fips = describe("fips")
    assert fips.protocols == ("TLSv1.2", "TLSv1.3")
    assert fips.groups == ("P-256", "P-384")
    assert not [c for c in fips.ciphers if "CHACHA" in c or c.endswith("-SHA")]
    assert {s.name for s in fips.cipher_suites if s.protocols == ("TLSv1.3",)} == FIPS_TLS13


def test_fips_without_libssl_access_turns_tls13_off(
    monkeypatch: pytest.MonkeyPatch, certs: dict
) -> None:
    """Where the TLS 1.3 suites cannot be restricted, fips offers no CHACHA20 by offering no 1.3."""
    monkeypatch.setattr(profiles._OpenSSL, "_lib", staticmethod(lambda: None))
    fips = describe("fips")
    assert fips.protocols == ("TLSv1.2",)
    assert fips.groups == ("P-256",)
    assert not [c for c in fips.ciphers if c.startswith("TLS_")]
    with tls_server(server_context("fips", *certs["rsa-2048"])) as port:
        assert s_client(port, "-tls1_3") is None
        assert s_client(port, "-tls1_2") == "ECDHE-RSA-AES128-GCM-SHA256"
        assert s_client(port, "-tls1_2", "-groups", "P-384") is None
    assert describe("modern").protocols == ("TLSv1.2", "TLSv1.3")
