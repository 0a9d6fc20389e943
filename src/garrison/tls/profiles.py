"""TLS profiles: which protocols, cipher suites and groups every Garrison listener offers.

The policy (the ``_POLICIES`` table) is plain data; ``server_context`` and ``client_context``
turn it into an ``ssl.SSLContext``. Every setting is made explicitly on the context so that the
system OpenSSL configuration (Debian's ``/etc/ssl/openssl.cnf`` may set ``MinProtocol`` or a
``CipherString`` with a security level) cannot widen or narrow a profile.

Two OpenSSL knobs are not exposed by Python's ``ssl`` module before a ``set_ciphersuites``
method exists: the TLS 1.3 suite list and a multi-group list (``set_ecdh_curve`` accepts one
group only). For those, ``_OpenSSL`` calls libssl directly on the context's ``SSL_CTX`` through
ctypes, after checking that it found the right object; when it cannot, the ``fips`` profile
turns TLS 1.3 off rather than offer CHACHA20, and ``describe`` reports what is really offered.

SSLv2-format ClientHello (the spec lists "SSLv2Hello" on port 443): OpenSSL 3 still accepts an
SSLv3/TLS ClientHello wrapped in an SSLv2 record on TLS servers, and no option turns that off
(SSL_OP_NO_SSLv2 is 0 since OpenSSL 1.1.0). Such a hello carries no extensions, so no TLS 1.3,
no supported groups and no signature algorithms. Tested with OpenSSL 3.0: ``legacy`` (security
level 0) completes it with AES128-SHA on TLS 1.0-1.2; ``modern`` and ``fips`` refuse it
(no ECDHE without groups, and the implied SHA-1 signature is below security level 2).
"""

from __future__ import annotations

import ctypes
import logging
import ssl
import sys
import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from garrison.tls.certs import TlsError, load_pair

log = logging.getLogger(__name__)

TLS10, TLS11, TLS12, TLS13 = "TLSv1.0", "TLSv1.1", "TLSv1.2", "TLSv1.3"
_ORDER = (TLS10, TLS11, TLS12, TLS13)
_VERSIONS = {
    TLS10: ssl.TLSVersion.TLSv1,
    TLS11: ssl.TLSVersion.TLSv1_1,
    TLS12: ssl.TLSVersion.TLSv1_2,
    TLS13: ssl.TLSVersion.TLSv1_3,
}

# OpenSSL name -> (IANA name, lowest protocol the suite exists in). GCM, SHA-256/384 MACs and
# CHACHA20 are TLS 1.2 inventions, so of the legacy suites only AES128-SHA works on TLS 1.0/1.1.
_SUITES: dict[str, tuple[str, str]] = {
    "ECDHE-ECDSA-AES128-GCM-SHA256": ("TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", TLS12),
    "ECDHE-RSA-AES128-GCM-SHA256": ("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", TLS12),
    "ECDHE-ECDSA-AES256-GCM-SHA384": ("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", TLS12),
    "ECDHE-RSA-AES256-GCM-SHA384": ("TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", TLS12),
    "ECDHE-ECDSA-CHACHA20-POLY1305": ("TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", TLS12),
    "ECDHE-RSA-CHACHA20-POLY1305": ("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", TLS12),
    "ECDHE-ECDSA-AES128-SHA256": ("TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", TLS12),
    "ECDHE-RSA-AES128-SHA256": ("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", TLS12),
    "ECDHE-ECDSA-AES256-SHA384": ("TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384", TLS12),
    "ECDHE-RSA-AES256-SHA384": ("TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384", TLS12),
    "AES128-SHA256": ("TLS_RSA_WITH_AES_128_CBC_SHA256", TLS12),
    "AES128-SHA": ("TLS_RSA_WITH_AES_128_CBC_SHA", TLS10),
    # TLS 1.3 suites have the same name in OpenSSL and IANA.
    "TLS_AES_256_GCM_SHA384": ("TLS_AES_256_GCM_SHA384", TLS13),
    "TLS_CHACHA20_POLY1305_SHA256": ("TLS_CHACHA20_POLY1305_SHA256", TLS13),
    "TLS_AES_128_GCM_SHA256": ("TLS_AES_128_GCM_SHA256", TLS13),
}


@dataclass(frozen=True)
class _Policy:
    summary: str
    protocols: tuple[str, ...]
    tls12_suites: tuple[str, ...]  # OpenSSL names, server preference order; also used on 1.0/1.1
    tls13_suites: tuple[str, ...]
    groups: tuple[str, ...]  # key exchange groups; () keeps OpenSSL's default list
    security_level: int
    rsa_certificate_only: bool
    # True: rather no TLS 1.3 than a TLS 1.3 suite outside tls13_suites.
    tls13_strict: bool = False
    certificate_curves: tuple[str, ...] = ()  # curves an EC certificate may use; () means any


_POLICIES: dict[str, _Policy] = {
    "modern": _Policy(
        summary="TLS 1.2 with ECDHE and AEAD suites only, and TLS 1.3",
        protocols=(TLS12, TLS13),
        tls12_suites=(
            "ECDHE-ECDSA-AES128-GCM-SHA256",
            "ECDHE-RSA-AES128-GCM-SHA256",
            "ECDHE-ECDSA-AES256-GCM-SHA384",
            "ECDHE-RSA-AES256-GCM-SHA384",
            "ECDHE-ECDSA-CHACHA20-POLY1305",
            "ECDHE-RSA-CHACHA20-POLY1305",
        ),
        # OpenSSL's default list and order: all AEAD, nothing to remove.
        tls13_suites=(
            "TLS_AES_256_GCM_SHA384",
            "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_AES_128_GCM_SHA256",
        ),
        groups=(),
        security_level=2,
        rsa_certificate_only=False,
    ),
    # Exactly the SMS port reference list for 443/9033/10042/10043, strongest first. Level 0
    # because OpenSSL 3 refuses TLS 1.0/1.1 (MD5/SHA-1 handshake signatures) above it.
    "legacy": _Policy(
        summary="the SMS cipher list for old devices: TLS 1.0-1.2, RSA and ECDHE_RSA suites",
        protocols=(TLS10, TLS11, TLS12),
        tls12_suites=(
            "ECDHE-RSA-AES256-GCM-SHA384",
            "ECDHE-RSA-AES256-SHA384",
            "AES128-SHA256",
            "AES128-SHA",
        ),
        tls13_suites=(),
        groups=(),
        security_level=0,
        rsa_certificate_only=True,
    ),
    # FIPS-approved per NIST SP 800-52 Rev. 2: ECDHE over P-256/P-384, AES-GCM or AES-CBC with
    # SHA-256/384, no CHACHA20, no SHA-1. Unlike the SMS in FIPS mode, the ECDHE_RSA AES-256
    # GCM/CBC SHA-384 suites are kept: SP 800-52r2 approves them, and the SMS drops them for
    # reasons of its own module. Level 2 forbids SHA-1 signatures and RSA keys under 2048 bits.
    "fips": _Policy(
        summary="FIPS-approved algorithms only (a policy, not a validated module): TLS 1.2-1.3",
        protocols=(TLS12, TLS13),
        tls12_suites=(
            "ECDHE-ECDSA-AES128-GCM-SHA256",
            "ECDHE-RSA-AES128-GCM-SHA256",
            "ECDHE-ECDSA-AES256-GCM-SHA384",
            "ECDHE-RSA-AES256-GCM-SHA384",
            "ECDHE-ECDSA-AES128-SHA256",
            "ECDHE-RSA-AES128-SHA256",
            "ECDHE-ECDSA-AES256-SHA384",
            "ECDHE-RSA-AES256-SHA384",
        ),
        tls13_suites=("TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256"),
        groups=("P-256", "P-384"),
        security_level=2,
        rsa_certificate_only=False,
        tls13_strict=True,
        certificate_curves=("secp256r1", "secp384r1", "secp521r1"),
    ),
}

PROFILES: tuple[str, ...] = tuple(_POLICIES)
DEFAULT_PROFILE = "modern"


@dataclass(frozen=True)
class CipherSuite:
    name: str  # OpenSSL name, as sslscan and `openssl s_client` print it
    iana_name: str
    protocols: tuple[str, ...]  # the protocols of the profile this suite is offered on


@dataclass(frozen=True)
class ProfileDescription:
    name: str
    summary: str
    protocols: tuple[str, ...]
    cipher_suites: tuple[CipherSuite, ...]  # server preference order, TLS 1.3 suites last
    groups: tuple[str, ...]  # () means OpenSSL's default groups
    sslv2_hello: bool  # whether an SSLv2-format ClientHello can complete

    @property
    def ciphers(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.cipher_suites)


def policy_cipher_string(profile: str) -> str:
    """The OpenSSL cipher string (TLS <= 1.2) of a profile, with its security level."""
    policy = _policy(profile)
    return ":".join(policy.tls12_suites) + f"@SECLEVEL={policy.security_level}"


def server_context(profile: str, certfile: Path, keyfile: Path) -> ssl.SSLContext:
    """An SSLContext for a Garrison listener; raises TlsError for a bad profile, cert or key."""
    policy = _policy(profile)
    certfile, keyfile = Path(certfile), Path(keyfile)
    cert, _ = load_pair(certfile, keyfile)  # names the faulty file, which OpenSSL does not
    public = cert.public_key()
    if policy.rsa_certificate_only and not isinstance(public, rsa.RSAPublicKey):
        raise TlsError(
            f"{certfile}: the {profile} profile needs an RSA certificate (its suites use RSA and "
            f"ECDHE_RSA key exchange); this one has a {type(public).__name__} key"
        )
    if (
        policy.certificate_curves
        and isinstance(public, ec.EllipticCurvePublicKey)
        and public.curve.name not in policy.certificate_curves
    ):
        raise TlsError(
            f"{certfile}: the {profile} profile does not allow curve {public.curve.name}; "
            f"use {', '.join(policy.certificate_curves)} or RSA"
        )

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _apply(ctx, profile, policy)
    # Clients choose otherwise; the server's order puts forward secrecy and AEAD first.
    ctx.options |= ssl.OP_CIPHER_SERVER_PREFERENCE
    try:
        ctx.load_cert_chain(certfile, keyfile)
    except ssl.SSLError as exc:
        raise TlsError(
            f"{certfile}: OpenSSL refuses this certificate/key for the {profile} profile: "
            f"{exc.reason or exc}"
        ) from None
    return ctx


def client_context(profile: str, cafile: Path | None = None, verify: bool = True) -> ssl.SSLContext:
    """An SSLContext for Garrison's outbound TLS (to devices, mail relays, ...)."""
    policy = _policy(profile)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    _apply(ctx, profile, policy)
    if verify:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.check_hostname = True
        if cafile is None:
            ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
        else:
            try:
                ctx.load_verify_locations(cafile=str(cafile))
            except FileNotFoundError:
                raise TlsError(f"{cafile}: CA file not found") from None
            except PermissionError:
                raise TlsError(f"{cafile}: CA file is not readable (permission denied)") from None
            except ssl.SSLError as exc:
                raise TlsError(f"{cafile}: not a PEM CA bundle: {exc.reason or exc}") from None
    else:
        # Some devices ship self-signed certificates; the caller decides, explicitly.
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def describe(profile: str) -> ProfileDescription:
    """What a profile really offers with this Python and OpenSSL (protocols, suites, groups)."""
    policy = _policy(profile)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    groups = _apply(ctx, profile, policy)
    protocols = tuple(p for p in _ORDER if ctx.minimum_version <= _VERSIONS[p] <= _max(ctx))
    suites: list[CipherSuite] = []
    tls13: list[CipherSuite] = []
    for cipher in ctx.get_ciphers():
        name = cipher["name"]
        is_tls13 = cipher["protocol"] == TLS13
        iana, lowest = _SUITES.get(name, (name, TLS13 if is_tls13 else TLS12))
        # A TLS 1.3 suite works on 1.3 only; a TLS 1.2-style suite from `lowest` up to 1.2.
        highest = TLS13 if is_tls13 else TLS12
        span = _ORDER[_ORDER.index(lowest) : _ORDER.index(highest) + 1]
        offered_on = tuple(p for p in protocols if p in span)
        if offered_on:
            (tls13 if is_tls13 else suites).append(CipherSuite(name, iana, offered_on))
    return ProfileDescription(
        name=profile,
        summary=policy.summary,
        protocols=protocols,
        cipher_suites=tuple(suites + tls13),
        groups=groups,
        # Measured with OpenSSL 3.0 (see the module docstring): only level 0 completes one.
        sslv2_hello=policy.security_level == 0,
    )


# --- building a context --------------------------------------------------------------------------


def _policy(profile: str) -> _Policy:
    try:
        return _POLICIES[profile]
    except KeyError:
        raise TlsError(
            f"unknown TLS profile {profile!r}; choose one of {', '.join(PROFILES)}"
        ) from None


def _max(ctx: ssl.SSLContext) -> ssl.TLSVersion:
    # MAXIMUM_SUPPORTED is a magic value (-1), not the highest real version.
    v = ctx.maximum_version
    return ssl.TLSVersion.TLSv1_3 if v == ssl.TLSVersion.MAXIMUM_SUPPORTED else v


def _apply(ctx: ssl.SSLContext, profile: str, policy: _Policy) -> tuple[str, ...]:
    """Configure ctx from the policy; returns the groups set (() means OpenSSL's default)."""
    with warnings.catch_warnings():
        # Python deprecates TLS 1.0/1.1; offering them is the legacy profile's whole point.
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = _VERSIONS[policy.protocols[0]]
    ctx.maximum_version = _VERSIONS[policy.protocols[-1]]
    ctx.set_ciphers(policy_cipher_string(profile))
    # Compression leaks secrets (CRIME); renegotiation is a DoS lever nobody here needs.
    ctx.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION
    # A fresh ECDHE key per handshake (Python sets it already; it is the policy, so state it).
    ctx.options |= ssl.OP_SINGLE_ECDH_USE

    offered = {c["name"] for c in ctx.get_ciphers() if c["protocol"] != TLS13}
    missing = set(policy.tls12_suites) - offered
    if missing:
        # set_ciphers ignores names this OpenSSL lacks (a FIPS provider may lack some).
        log.warning("TLS profile %s: this OpenSSL lacks %s", profile, ", ".join(sorted(missing)))

    restricted = TLS13 not in policy.protocols or _set_tls13_suites(ctx, policy.tls13_suites)
    if not restricted and policy.tls13_strict:
        log.warning(
            "TLS profile %s: cannot restrict TLS 1.3 suites with this Python, so TLS 1.3 is off",
            profile,
        )
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    if not policy.groups or _OpenSSL.set_groups(ctx, policy.groups):
        return policy.groups
    # Python's own call sets exactly one group: keep the most widely supported one.
    ctx.set_ecdh_curve("prime256v1")
    log.warning("TLS profile %s: only group P-256 could be set", profile)
    return ("P-256",)


def _set_tls13_suites(ctx: ssl.SSLContext, suites: tuple[str, ...]) -> bool:
    current = tuple(c["name"] for c in ctx.get_ciphers() if c["protocol"] == TLS13)
    if set(current) == set(suites):
        return True
    setter = getattr(ctx, "set_ciphersuites", None)  # in case a future Python adds it
    if setter is not None:
        setter(":".join(suites))
        return True
    return _OpenSSL.set_ciphersuites(ctx, suites)


class _OpenSSL:
    """libssl calls Python's ssl does not offer, on the SSL_CTX behind an SSLContext.

    CPython's context object is ``{PyObject_HEAD; SSL_CTX *ctx; ...}`` (3.11-3.13), so the
    pointer sits right after the object header. Before using it, the security level and options
    read through it must equal what Python reports, otherwise nothing is called.
    """

    _SSL_CTRL_SET_GROUPS_LIST = 92  # SSL_CTX_set1_groups_list is a macro over SSL_CTX_ctrl

    @staticmethod
    @cache
    def _lib() -> ctypes.CDLL | None:
        # Only where the object layout above is known; elsewhere fall back safely.
        if sys.implementation.name != "cpython" or not (3, 11) <= sys.version_info[:2] <= (3, 14):
            return None
        try:
            import _ssl

            lib = ctypes.CDLL(_ssl.__file__)  # dlsym on it also searches its libssl
            lib.SSL_CTX_get_security_level.argtypes = [ctypes.c_void_p]
            lib.SSL_CTX_get_security_level.restype = ctypes.c_int
            lib.SSL_CTX_get_options.argtypes = [ctypes.c_void_p]
            lib.SSL_CTX_get_options.restype = ctypes.c_uint64
            lib.SSL_CTX_set_ciphersuites.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
            lib.SSL_CTX_set_ciphersuites.restype = ctypes.c_int
            lib.SSL_CTX_ctrl.argtypes = [
                ctypes.c_void_p,
                ctypes.c_int,
                ctypes.c_long,
                ctypes.c_void_p,
            ]
            lib.SSL_CTX_ctrl.restype = ctypes.c_long
        except (ImportError, AttributeError, OSError):
            return None
        return lib

    @classmethod
    def _ctx_pointer(cls, ctx: ssl.SSLContext) -> tuple[ctypes.CDLL, int] | None:
        lib = cls._lib()
        if lib is None:
            return None
        pointer = ctypes.c_void_p.from_address(id(ctx) + object.__basicsize__).value
        if not pointer:
            return None
        if lib.SSL_CTX_get_security_level(pointer) != ctx.security_level:
            return None
        if lib.SSL_CTX_get_options(pointer) & 0xFFFFFFFF != int(ctx.options) & 0xFFFFFFFF:
            return None
        return lib, pointer

    @classmethod
    def set_ciphersuites(cls, ctx: ssl.SSLContext, suites: tuple[str, ...]) -> bool:
        found = cls._ctx_pointer(ctx)
        if found is None:
            return False
        lib, pointer = found
        if lib.SSL_CTX_set_ciphersuites(pointer, ":".join(suites).encode()) != 1:
            return False
        current = {c["name"] for c in ctx.get_ciphers() if c["protocol"] == TLS13}
        return current == set(suites)

    @classmethod
    def set_groups(cls, ctx: ssl.SSLContext, groups: tuple[str, ...]) -> bool:
        found = cls._ctx_pointer(ctx)
        if found is None:
            return False
        lib, pointer = found
        names = ctypes.c_char_p(":".join(groups).encode())
        return lib.SSL_CTX_ctrl(pointer, cls._SSL_CTRL_SET_GROUPS_LIST, 0, names) == 1
