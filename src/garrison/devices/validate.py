"""Rules a device's settings must follow. Pure: values in, normalized values or Invalid out."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from typing import Any
from urllib.parse import urlsplit

from garrison.devices.model import AuthProtocol, PrivProtocol, SnmpVersion
from garrison.errors import Invalid

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MIN_V3_KEY = 8  # RFC 3414 refuses shorter passphrases; net-snmp too


def check_name(name: str, what: str = "device name") -> str:
    if not NAME_PATTERN.match(name):
        raise Invalid(
            f"{what} must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return name


def normalize_address(address: str) -> str:
    """The canonical text of an IPv4 or IPv6 address (``::ffff:a.b.c.d`` becomes a.b.c.d)."""
    try:
        parsed = ipaddress.ip_address(address.strip())
    except ValueError:
        raise Invalid(f"address {address[:64]!r} is not an IPv4 or IPv6 address") from None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    if parsed.is_unspecified or parsed.is_multicast:
        raise Invalid(f"address {parsed} cannot be a device (unspecified or multicast)")
    if isinstance(parsed, ipaddress.IPv4Address) and parsed == ipaddress.IPv4Address(
        "255.255.255.255"
    ):
        raise Invalid("address 255.255.255.255 is a broadcast, not a device")
    return str(parsed)


def check_text(value: str, what: str, limit: int) -> str:
    """Free text: bounded, and without control characters or lone surrogates (which some
    databases refuse and every log would mangle)."""
    if len(value) > limit:
        raise Invalid(f"{what} must be at most {limit} characters")
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        raise Invalid(f"{what} must not contain control characters")
    return value


def check_secret(value: str, what: str, *, minimum: int = 1, limit: int = 255) -> str:
    if not minimum <= len(value) <= limit:
        raise Invalid(f"{what} must be {minimum}-{limit} characters")
    return check_text(value, what, limit)


def check_url(url: str) -> str:
    if not url:
        return url
    check_text(url, "management URL", 255)
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise Invalid("management URL must look like https://host[:port][/path]")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise Invalid("management URL has an invalid port") from None
    return url


def check_device(values: dict[str, Any]) -> dict[str, Any]:
    """Check a device's full settings and return them normalized.

    The credentials of the version not in use are cleared, so switching a device from v2c
    to v3 does not leave its old community behind.
    """
    out = dict(values)
    out["name"] = check_name(out["name"])
    out["address"] = normalize_address(out["address"])
    out["location"] = check_text(out.get("location", ""), "location", 128)
    port = out.get("snmp_port", 161)
    if not isinstance(port, int) or not 1 <= port <= 65535:
        raise Invalid("snmp port must be 1-65535")
    try:
        version = SnmpVersion(out.get("snmp_version", SnmpVersion.V2C))
    except ValueError:
        raise Invalid("snmp version must be 2c or 3") from None
    out["snmp_version"] = str(version)
    if version is SnmpVersion.V2C:
        out["snmp_community"] = check_secret(out.get("snmp_community", ""), "community")
        out.update(
            snmp_user="",
            snmp_auth_protocol="",
            snmp_auth_key="",
            snmp_priv_protocol="",
            snmp_priv_key="",
        )
    else:
        user = out.get("snmp_user", "")
        if not 1 <= len(user) <= 32:
            raise Invalid("SNMPv3 needs a user name of 1-32 characters")
        out["snmp_user"] = check_text(user, "SNMPv3 user", 32)
        try:
            out["snmp_auth_protocol"] = str(
                AuthProtocol(out.get("snmp_auth_protocol") or AuthProtocol.SHA256)
            )
            out["snmp_priv_protocol"] = str(
                PrivProtocol(out.get("snmp_priv_protocol") or PrivProtocol.AES)
            )
        except ValueError as exc:
            raise Invalid(f"unknown SNMPv3 protocol: {exc}") from None
        for key, what in (
            ("snmp_auth_key", "SNMPv3 auth key"),
            ("snmp_priv_key", "SNMPv3 priv key"),
        ):
            out[key] = check_secret(out.get(key, ""), what, minimum=MIN_V3_KEY)
        out["snmp_community"] = ""
    out["mgmt_url"] = check_url(out.get("mgmt_url", ""))
    out["mgmt_username"] = check_text(out.get("mgmt_username", ""), "management user", 64)
    secret = out.get("mgmt_secret", "")
    out["mgmt_secret"] = check_secret(secret, "management secret") if secret else ""
    return out
