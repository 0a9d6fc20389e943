"""SNMP credentials as pysnmp wants them: the v3 protocol names we accept, the
authentication data of a v2c community or a v3 USM user, and the key under which targets
may share one pysnmp engine.

pysnmp keys an engine's user table by user name, so two targets with the same user name
and different keys must not share an engine; :func:`credentials_key` tells them apart.
"""

from __future__ import annotations

from typing import Protocol

from pysnmp.hlapi.v3arch.asyncio import (
    CommunityData,
    Udp6TransportTarget,
    UdpTransportTarget,
    UsmUserData,
    usmAesBlumenthalCfb192Protocol,
    usmAesBlumenthalCfb256Protocol,
    usmAesCfb128Protocol,
    usmDESPrivProtocol,
    usmHMAC128SHA224AuthProtocol,
    usmHMAC192SHA256AuthProtocol,
    usmHMAC256SHA384AuthProtocol,
    usmHMAC384SHA512AuthProtocol,
    usmHMACMD5AuthProtocol,
    usmHMACSHAAuthProtocol,
)
from pysnmp.proto import errind

AUTH_PROTOCOLS = {
    "SHA": usmHMACSHAAuthProtocol,
    "SHA-224": usmHMAC128SHA224AuthProtocol,
    "SHA-256": usmHMAC192SHA256AuthProtocol,
    "SHA-384": usmHMAC256SHA384AuthProtocol,
    "SHA-512": usmHMAC384SHA512AuthProtocol,
    "MD5": usmHMACMD5AuthProtocol,
}
# AES-192/256 with the key extension net-snmp and most agents use (Blumenthal draft).
PRIV_PROTOCOLS = {
    "AES": usmAesCfb128Protocol,
    "AES-192": usmAesBlumenthalCfb192Protocol,
    "AES-256": usmAesBlumenthalCfb256Protocol,
    "DES": usmDESPrivProtocol,
}
# Error indications that mean "the other side refused these credentials" rather than
# "no answer"; each user adds the few that mean the same in its own exchange.
REFUSED_CREDENTIALS = (
    errind.UnknownUserName,
    errind.WrongDigest,
    errind.DecryptionError,
    errind.AuthenticationError,
    errind.AuthenticationFailure,
    errind.UnknownSecurityName,
    errind.UnsupportedSecurityLevel,
    errind.UnknownCommunityName,
)


class Credentials(Protocol):
    """What a target says about how to authenticate (v2c community or v3 USM user)."""

    @property
    def version(self) -> str: ...
    @property
    def community(self) -> str: ...
    @property
    def user(self) -> str: ...
    @property
    def auth_protocol(self) -> str: ...
    @property
    def auth_key(self) -> str: ...
    @property
    def priv_protocol(self) -> str: ...
    @property
    def priv_key(self) -> str: ...


def credentials_key(credentials: Credentials) -> tuple[str, ...]:
    """Targets with the same key may share a pysnmp engine (every v2c target does)."""
    if credentials.version == "3":
        return (
            "3",
            credentials.user,
            credentials.auth_protocol,
            credentials.auth_key,
            credentials.priv_protocol,
            credentials.priv_key,
        )
    return ("2c",)


def auth_data(credentials: Credentials) -> CommunityData | UsmUserData:
    """The pysnmp authentication data for ``credentials`` (v3 is always authPriv)."""
    if credentials.version == "3":
        return UsmUserData(
            credentials.user,
            credentials.auth_key,
            credentials.priv_key,
            authProtocol=AUTH_PROTOCOLS[credentials.auth_protocol],
            privProtocol=PRIV_PROTOCOLS[credentials.priv_protocol],
        )
    return CommunityData(credentials.community, mpModel=1)


def transport_kind(host: str) -> type[UdpTransportTarget] | type[Udp6TransportTarget]:
    """The pysnmp transport target class for ``host`` (an IPv6 literal has a colon)."""
    return Udp6TransportTarget if ":" in host else UdpTransportTarget
