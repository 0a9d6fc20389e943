"""The words of the device inventory: states, SNMP versions and protocols."""

from __future__ import annotations

from enum import StrEnum


class DeviceState(StrEnum):
    UNKNOWN = "unknown"  # never polled
    REACHABLE = "reachable"
    DEGRADED = "degraded"  # answers, but something is wrong (CPU, memory, links, TRHA)
    UNREACHABLE = "unreachable"  # no usable answer


class SnmpVersion(StrEnum):
    V2C = "2c"
    V3 = "3"


class AuthProtocol(StrEnum):
    SHA = "SHA"
    SHA224 = "SHA-224"
    SHA256 = "SHA-256"
    SHA384 = "SHA-384"
    SHA512 = "SHA-512"
    MD5 = "MD5"


class PrivProtocol(StrEnum):
    AES = "AES"
    AES192 = "AES-192"
    AES256 = "AES-256"
    DES = "DES"


# The fields a caller may set on a device; everything else is learned from polling.
DEVICE_FIELDS = frozenset(
    {
        "name",
        "address",
        "location",
        "group_id",
        "snmp_port",
        "snmp_version",
        "snmp_community",
        "snmp_user",
        "snmp_auth_protocol",
        "snmp_auth_key",
        "snmp_priv_protocol",
        "snmp_priv_key",
        "mgmt_url",
        "mgmt_username",
        "mgmt_secret",
    }
)
SECRET_FIELDS = frozenset({"snmp_community", "snmp_auth_key", "snmp_priv_key", "mgmt_secret"})
