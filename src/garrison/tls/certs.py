"""Server certificates: a self-signed one on first start, or one the administrator imports.

The default key is RSA 2048 because it is the one key type every profile can serve: the
``legacy`` suites are RSA and ECDHE_RSA key exchange (an EC certificate cannot do either), and
2048 bits is what both ``fips`` (RSA >= 2048) and OpenSSL security level 2 require, while the
oldest devices, which sometimes cannot handle larger RSA keys, still accept it.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

KeyType = Literal["rsa-2048", "rsa-3072", "rsa-4096", "ec-p256", "ec-p384"]
KEY_TYPES: tuple[KeyType, ...] = ("rsa-2048", "rsa-3072", "rsa-4096", "ec-p256", "ec-p384")
DEFAULT_KEY_TYPE: KeyType = "rsa-2048"
DEFAULT_DAYS = 825  # the longest validity browsers accept for a TLS server certificate
MIN_RSA_BITS = 2048  # OpenSSL security level 2 (modern, fips) refuses smaller keys

# Backdate the start a little so a peer whose clock is slightly behind still accepts it.
_CLOCK_SKEW = dt.timedelta(minutes=5)

ServerKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


class TlsError(Exception):
    """A certificate, key or profile that Garrison cannot serve TLS with; the message says why."""


@dataclass(frozen=True)
class CertificateInfo:
    subject: str
    issuer: str
    dns_names: tuple[str, ...]
    ip_addresses: tuple[str, ...]
    not_before: dt.datetime
    not_after: dt.datetime
    sha256_fingerprint: str  # upper-case hex pairs joined by ':', as browsers show it
    key_type: Literal["rsa", "ec"]
    key_size: int
    curve: str | None  # "secp256r1" for EC keys, None for RSA
    self_signed: bool

    @property
    def sans(self) -> tuple[str, ...]:
        return self.dns_names + self.ip_addresses

    def expired(self, now: dt.datetime | None = None) -> bool:
        return (now or _now()) > self.not_after


def ensure_self_signed(
    cert_path: Path,
    key_path: Path,
    hostnames: list[str],
    ips: list[str],
    key_type: KeyType = DEFAULT_KEY_TYPE,
    days: int = DEFAULT_DAYS,
) -> bool:
    """Create a self-signed server certificate and key unless both files already exist.

    Returns True when it wrote them, False (and touches nothing) when both were present. The
    certificate names the given host names and addresses plus this host's name, ``localhost``,
    ``127.0.0.1`` and ``::1``. When only one of the two files exists it raises TlsError rather
    than overwrite it: a lone key may be an administrator's imported one.
    """
    cert_path, key_path = Path(cert_path), Path(key_path)
    cert_exists, key_exists = cert_path.exists(), key_path.exists()
    if cert_exists and key_exists:
        return False
    if cert_exists or key_exists:
        present, missing = (cert_path, key_path) if cert_exists else (key_path, cert_path)
        raise TlsError(
            f"{present} exists but {missing} does not; import a matching pair with "
            f"'garrison init --certificate CERT --key KEY', or remove {present} to get a new "
            "self-signed certificate"
        )
    if days < 1:
        raise TlsError(f"certificate validity must be at least one day, not {days}")

    dns_names = _unique([*hostnames, _local_hostname(), "localhost"])
    addresses = _unique([*ips, "127.0.0.1", "::1"])
    try:
        ip_objects = [ipaddress.ip_address(a) for a in addresses]
    except ValueError as exc:
        raise TlsError(f"cannot put an address in the certificate: {exc}") from exc
    for name in dns_names:
        if not name.isascii():
            raise TlsError(f"host name {name!r} must be ASCII (use its IDNA 'xn--' form)")

    key = _generate_key(key_type)
    now = _now()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, dns_names[0]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Garrison SMS (self-signed)"),
        ]
    )
    # RSA key exchange (the legacy profile's AES128-SHA suites) encrypts to the certificate's
    # key, so an RSA certificate needs keyEncipherment besides digitalSignature.
    is_rsa = isinstance(key, rsa.RSAPrivateKey)
    usage = x509.KeyUsage(
        digital_signature=True,
        key_encipherment=is_rsa,
        content_commitment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(n) for n in dns_names] + [x509.IPAddress(i) for i in ip_objects]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Key first: a certificate without its key is useless, the reverse can be re-issued.
    _write_atomic(key_path, key_pem, mode=0o600)
    _write_atomic(cert_path, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return True


def import_certificate(
    cert_src: Path, key_src: Path, cert_dest: Path, key_dest: Path
) -> CertificateInfo:
    """Check an administrator's certificate and key, then copy them into place.

    The certificate file is PEM, leaf first, optionally followed by its intermediates; the key
    is an unencrypted PEM RSA (>= 2048 bits) or EC key that matches the leaf, and the leaf must
    be valid now. Raises TlsError naming the file and the problem; nothing is written then.
    """
    cert_src, key_src = Path(cert_src), Path(key_src)
    cert_pem = _read(cert_src, "certificate")
    key_pem = _read(key_src, "private key")
    chain = _parse_certificates(cert_pem, cert_src)
    key = _parse_private_key(key_pem, key_src)
    leaf = chain[0]
    check_pair(leaf, key, cert_src, key_src)
    now = _now()
    if leaf.not_valid_after_utc < now:
        raise TlsError(f"{cert_src}: certificate expired on {leaf.not_valid_after_utc:%Y-%m-%d}")
    if leaf.not_valid_before_utc > now + _CLOCK_SKEW:
        raise TlsError(
            f"{cert_src}: certificate is not valid before {leaf.not_valid_before_utc:%Y-%m-%d}"
        )
    _write_atomic(Path(key_dest), key_pem, mode=0o600)
    _write_atomic(Path(cert_dest), cert_pem, mode=0o644)
    return _info(leaf)


def certificate_info(cert_path: Path) -> CertificateInfo:
    """Describe the first (leaf) certificate of a PEM file."""
    cert_path = Path(cert_path)
    return _info(_parse_certificates(_read(cert_path, "certificate"), cert_path)[0])


def load_pair(cert_path: Path, key_path: Path) -> tuple[x509.Certificate, ServerKey]:
    """Parse a PEM certificate and key and check that they belong together (raises TlsError)."""
    cert_path, key_path = Path(cert_path), Path(key_path)
    leaf = _parse_certificates(_read(cert_path, "certificate"), cert_path)[0]
    key = _parse_private_key(_read(key_path, "private key"), key_path)
    check_pair(leaf, key, cert_path, key_path)
    return leaf, key


def check_pair(cert: x509.Certificate, key: ServerKey, cert_path: Path, key_path: Path) -> None:
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if cert.public_key().public_bytes(der, spki) != key.public_key().public_bytes(der, spki):
        raise TlsError(f"{key_path}: private key does not match the certificate in {cert_path}")


# --- helpers -------------------------------------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _unique(items: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        if item and item not in seen:
            seen[item] = None
    return list(seen)


def _local_hostname() -> str:
    name = socket.gethostname()
    return name if name.isascii() else "localhost"


def _generate_key(key_type: str) -> ServerKey:
    if key_type.startswith("rsa-") and key_type in KEY_TYPES:
        return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type[4:]))
    curves: dict[str, ec.EllipticCurve] = {"ec-p256": ec.SECP256R1(), "ec-p384": ec.SECP384R1()}
    if key_type in curves:
        return ec.generate_private_key(curves[key_type])
    raise TlsError(f"unknown key type {key_type!r}; choose one of {', '.join(KEY_TYPES)}")


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise TlsError(f"{path}: {what} file not found") from None
    except IsADirectoryError:
        raise TlsError(f"{path}: is a directory, not a {what} file") from None
    except PermissionError:
        raise TlsError(f"{path}: {what} file is not readable (permission denied)") from None
    except OSError as exc:
        raise TlsError(f"{path}: cannot read {what} file: {exc.strerror or exc}") from None


def _parse_certificates(data: bytes, path: Path) -> list[x509.Certificate]:
    if b"-----BEGIN CERTIFICATE-----" not in data:
        hint = (
            " (it looks like DER: convert with 'openssl x509 -inform der')"
            if data[:1] == b"0"
            else ""
        )
        raise TlsError(f"{path}: not a PEM certificate{hint}")
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise TlsError(f"{path}: invalid PEM certificate: {exc}") from None


def _parse_private_key(data: bytes, path: Path) -> ServerKey:
    if b"ENCRYPTED" in data:
        raise TlsError(
            f"{path}: private key is encrypted; Garrison starts unattended and needs it "
            "unencrypted (decrypt with 'openssl pkey -in KEY -out KEY.plain')"
        )
    if b"PRIVATE KEY-----" not in data:
        raise TlsError(f"{path}: not a PEM private key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise TlsError(f"{path}: invalid PEM private key: {exc}") from None
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise TlsError(
                f"{path}: RSA key has {key.key_size} bits; at least {MIN_RSA_BITS} are required"
            )
        return key
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key
    raise TlsError(f"{path}: {type(key).__name__} keys are not supported; use an RSA or EC key")


def _info(cert: x509.Certificate) -> CertificateInfo:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        dns_names = tuple(san.get_values_for_type(x509.DNSName))
        ips = tuple(str(a) for a in san.get_values_for_type(x509.IPAddress))
    except x509.ExtensionNotFound:
        dns_names, ips = (), ()
    public = cert.public_key()
    key_type: Literal["rsa", "ec"]
    if isinstance(public, rsa.RSAPublicKey):
        key_type, key_size, curve = "rsa", public.key_size, None
    elif isinstance(public, ec.EllipticCurvePublicKey):
        key_type, key_size, curve = "ec", public.key_size, public.curve.name
    else:
        raise TlsError(f"certificate key type {type(public).__name__} is not supported")
    digest = cert.fingerprint(hashes.SHA256()).hex().upper()
    return CertificateInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        dns_names=dns_names,
        ip_addresses=ips,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        sha256_fingerprint=":".join(digest[i : i + 2] for i in range(0, len(digest), 2)),
        key_type=key_type,
        key_size=key_size,
        curve=curve,
        self_signed=cert.issuer == cert.subject,
    )


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    """Write via a temporary file in the same directory, so a crash never leaves half a key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp creates the file 0600 already; chmod states the intended mode either way.
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
