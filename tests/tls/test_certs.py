"""Server certificates: self-signed creation, import checks, and certificate_info."""

from __future__ import annotations

import datetime as dt
import ssl
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from garrison.tls import (
    DEFAULT_KEY_TYPE,
    PROFILES,
    TlsError,
    certificate_info,
    ensure_self_signed,
    import_certificate,
    server_context,
)


def write_pair(
    directory: Path,
    name: str,
    *,
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | None = None,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> tuple[Path, Path]:
    """A certificate and key as an administrator might bring them (signed by nobody)."""
    key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name}.example.net")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - dt.timedelta(days=1))
        .not_valid_after(not_after or now + dt.timedelta(days=90))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(f"{name}.example.net")]), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


# --- ensure_self_signed --------------------------------------------------------------------------


def test_creates_certificate_with_sans_and_private_key(tmp_path: Path) -> None:
    cert, key = tmp_path / "a" / "b" / "server.crt", tmp_path / "a" / "keys" / "server.key"
    assert ensure_self_signed(cert, key, ["sms.example.net"], ["192.0.2.10"]) is True
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    info = certificate_info(cert)
    assert info.dns_names[0] == "sms.example.net"
    assert "localhost" in info.dns_names
    assert {"192.0.2.10", "127.0.0.1", "::1"} <= set(info.ip_addresses)
    assert "CN=sms.example.net" in info.subject.split(",")
    assert info.self_signed
    assert (info.key_type, info.key_size, info.curve) == ("rsa", 2048, None)
    assert dt.timedelta(days=824) < info.not_after - info.not_before < dt.timedelta(days=826)
    assert not info.expired()


def test_default_key_type_is_rsa_2048() -> None:
    assert DEFAULT_KEY_TYPE == "rsa-2048"


def test_certificate_carries_server_auth_usage(tmp_path: Path) -> None:
    cert, key = tmp_path / "s.crt", tmp_path / "s.key"
    ensure_self_signed(cert, key, ["h"], [])
    parsed = x509.load_pem_x509_certificate(cert.read_bytes())
    usage = parsed.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.key_encipherment  # RSA key exchange needs the latter
    assert not parsed.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    eku = parsed.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert x509.oid.ExtendedKeyUsageOID.SERVER_AUTH in eku
    assert parsed.signature_hash_algorithm is not None
    assert parsed.signature_hash_algorithm.name == "sha256"


def test_creation_is_idempotent(tmp_path: Path) -> None:
    cert, key = tmp_path / "server.crt", tmp_path / "server.key"
    assert ensure_self_signed(cert, key, ["h"], [])
    before = (cert.read_bytes(), key.read_bytes(), cert.stat().st_mtime_ns)
    assert ensure_self_signed(cert, key, ["other"], ["10.0.0.1"]) is False
    assert (cert.read_bytes(), key.read_bytes(), cert.stat().st_mtime_ns) == before


def test_a_lone_key_is_never_overwritten(tmp_path: Path) -> None:
    cert, key = tmp_path / "server.crt", tmp_path / "server.key"
    key.write_text("precious")
    with pytest.raises(TlsError, match=r"server\.key exists but .*server\.crt does not"):
        ensure_self_signed(cert, key, ["h"], [])
    assert key.read_text() == "precious"
    assert not cert.exists()


@pytest.mark.parametrize(
    ("key_type", "kind", "size"),
    [("rsa-3072", "rsa", 3072), ("ec-p256", "ec", 256), ("ec-p384", "ec", 384)],
)
def test_other_key_types(tmp_path: Path, key_type: str, kind: str, size: int) -> None:
    cert, key = tmp_path / "s.crt", tmp_path / "s.key"
    ensure_self_signed(cert, key, ["h"], [], key_type=key_type)  # type: ignore[arg-type]
    info = certificate_info(cert)
    assert (info.key_type, info.key_size) == (kind, size)


def test_unknown_key_type_and_bad_address(tmp_path: Path) -> None:
    with pytest.raises(TlsError, match="unknown key type 'dsa-1024'"):
        ensure_self_signed(tmp_path / "c", tmp_path / "k", ["h"], [], key_type="dsa-1024")  # type: ignore[arg-type]
    with pytest.raises(TlsError, match="not-an-ip"):
        ensure_self_signed(tmp_path / "c", tmp_path / "k", ["h"], ["not-an-ip"])
    assert not (tmp_path / "c").exists()
    assert not (tmp_path / "k").exists()


@pytest.mark.parametrize("profile", PROFILES)
def test_default_self_signed_serves_every_profile(tmp_path: Path, profile: str) -> None:
    cert, key = tmp_path / "s.crt", tmp_path / "s.key"
    ensure_self_signed(cert, key, ["h"], [])
    assert isinstance(server_context(profile, cert, key), ssl.SSLContext)


# --- import_certificate --------------------------------------------------------------------------


def test_import_copies_a_valid_pair(tmp_path: Path) -> None:
    cert_src, key_src = write_pair(tmp_path, "good")
    dest = tmp_path / "tls"
    info = import_certificate(cert_src, key_src, dest / "server.crt", dest / "server.key")
    assert (dest / "server.crt").read_bytes() == cert_src.read_bytes()
    assert (dest / "server.key").read_bytes() == key_src.read_bytes()
    assert stat.S_IMODE((dest / "server.key").stat().st_mode) == 0o600
    assert info.dns_names == ("good.example.net",)
    assert not info.expired()
    assert isinstance(
        server_context("legacy", dest / "server.crt", dest / "server.key"), ssl.SSLContext
    )


def test_import_refuses_a_mismatched_key(tmp_path: Path) -> None:
    cert_src, _ = write_pair(tmp_path, "one")
    _, other_key = write_pair(tmp_path, "two")
    dest = tmp_path / "tls"
    with pytest.raises(TlsError, match=r"two\.key: private key does not match .*one\.crt"):
        import_certificate(cert_src, other_key, dest / "server.crt", dest / "server.key")
    assert not dest.exists()


def test_import_refuses_an_expired_certificate(tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    cert_src, key_src = write_pair(
        tmp_path,
        "old",
        not_before=now - dt.timedelta(days=400),
        not_after=now - dt.timedelta(days=35),
    )
    expiry = (now - dt.timedelta(days=35)).strftime("%Y-%m-%d")
    with pytest.raises(TlsError, match=rf"old\.crt: certificate expired on {expiry}"):
        import_certificate(cert_src, key_src, tmp_path / "d.crt", tmp_path / "d.key")
    assert not (tmp_path / "d.crt").exists()


def test_import_refuses_a_certificate_from_the_future(tmp_path: Path) -> None:
    now = dt.datetime.now(dt.UTC)
    cert_src, key_src = write_pair(tmp_path, "soon", not_before=now + dt.timedelta(days=3))
    with pytest.raises(TlsError, match="not valid before"):
        import_certificate(cert_src, key_src, tmp_path / "d.crt", tmp_path / "d.key")


def test_import_refuses_garbage_and_missing_files(tmp_path: Path) -> None:
    cert_src, key_src = write_pair(tmp_path, "ok")
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("hello\n")
    dest = (tmp_path / "d.crt", tmp_path / "d.key")
    with pytest.raises(TlsError, match=r"garbage\.pem: not a PEM certificate"):
        import_certificate(garbage, key_src, *dest)
    with pytest.raises(TlsError, match=r"garbage\.pem: not a PEM private key"):
        import_certificate(cert_src, garbage, *dest)
    with pytest.raises(TlsError, match=r"absent\.crt: certificate file not found"):
        import_certificate(tmp_path / "absent.crt", key_src, *dest)
    truncated = tmp_path / "truncated.crt"
    truncated.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    with pytest.raises(TlsError, match=r"truncated\.crt: invalid PEM certificate"):
        import_certificate(truncated, key_src, *dest)


def test_import_refuses_der_with_a_hint(tmp_path: Path) -> None:
    cert_src, key_src = write_pair(tmp_path, "der")
    der = tmp_path / "der.cer"
    der.write_bytes(
        x509.load_pem_x509_certificate(cert_src.read_bytes()).public_bytes(
            serialization.Encoding.DER
        )
    )
    with pytest.raises(TlsError, match="looks like DER"):
        import_certificate(der, key_src, tmp_path / "d.crt", tmp_path / "d.key")


def test_import_refuses_an_encrypted_key(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert_src, key_src = write_pair(tmp_path, "enc", key=key)
    key_src.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    with pytest.raises(TlsError, match=r"enc\.key: private key is encrypted"):
        import_certificate(cert_src, key_src, tmp_path / "d.crt", tmp_path / "d.key")


def test_import_refuses_a_small_rsa_key(tmp_path: Path) -> None:
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    cert_src, key_src = write_pair(tmp_path, "small", key=small)
    with pytest.raises(TlsError, match="RSA key has 1024 bits; at least 2048"):
        import_certificate(cert_src, key_src, tmp_path / "d.crt", tmp_path / "d.key")


def test_import_keeps_the_intermediates(tmp_path: Path) -> None:
    cert_src, key_src = write_pair(tmp_path, "leaf")
    intermediate, _ = write_pair(tmp_path, "intermediate")
    cert_src.write_bytes(cert_src.read_bytes() + intermediate.read_bytes())
    info = import_certificate(cert_src, key_src, tmp_path / "d.crt", tmp_path / "d.key")
    assert info.dns_names == ("leaf.example.net",)
    assert (tmp_path / "d.crt").read_bytes().count(b"BEGIN CERTIFICATE") == 2


# --- certificate_info ----------------------------------------------------------------------------


def test_certificate_info_fingerprint(tmp_path: Path) -> None:
    cert, key = tmp_path / "s.crt", tmp_path / "s.key"
    ensure_self_signed(cert, key, ["h"], [], key_type="ec-p256")
    info = certificate_info(cert)
    parsed = x509.load_pem_x509_certificate(cert.read_bytes())
    expected = parsed.fingerprint(hashes.SHA256()).hex().upper()
    assert info.sha256_fingerprint.replace(":", "") == expected
    assert len(info.sha256_fingerprint) == 32 * 3 - 1
    assert (info.key_type, info.curve) == ("ec", "secp256r1")
    assert info.not_after == parsed.not_valid_after_utc
