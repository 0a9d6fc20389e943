"""The port catalog: every row of the SMS port reference as data.

Listeners, `garrison ports`, firewall rules and the docs all read this table; nothing
else in Garrison hard-codes a port number.

Each row keeps the reference's own words for service, source ("From"), destination ("To")
and purpose ("Description"). On top of the reference, a row says which host roles open it
inbound or outbound (``inbound``/``outbound``), which the firewall generator reads, and
whether Garrison itself binds a socket for it (``listener``). Only one row per socket is a
listener: where the reference lists the same service twice (10042/tcp in the client and the
optional tables, 22/tcp for the CLI and for HA), the second row opens the firewall but does
not bind again.

The encryption table of the reference is not a list of ports but of protocols and ciphers
per service; it is :data:`CIPHER_POLICY`, tied to the catalog by key.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum


class Table(StrEnum):
    """The table of the port reference a row belongs to."""

    CLIENT = "client"
    DEVICE_MANAGEMENT = "device-management"
    UPDATES = "updates"
    WHOIS = "whois"
    RESPONDER_ACTIONS = "responder-actions"
    RESPONDER_TRIGGERS = "responder-triggers"
    HA = "ha"
    TRHA = "trha"
    OPTIONAL = "optional"
    SERVER = "server"
    CRYPTO = "crypto"
    # Not in the SMS reference: services Garrison adds (its syslog receiver).
    GARRISON = "garrison"


# The reference files "SMS Server Ports" under its "Optional Ports" heading; both tables are
# opt-in for a firewall, everything else is needed once the feature it serves is used.
OPTIONAL_TABLES: frozenset[Table] = frozenset({Table.OPTIONAL, Table.SERVER})


class Role(StrEnum):
    """A kind of host whose firewall the catalog describes."""

    SMS_PRIMARY = "sms-primary"
    SMS_SECONDARY = "sms-secondary"
    IPS = "ips"


class Direction(StrEnum):
    """Which way a host opens a row: it accepts connections, or it makes them."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


# The reference asks for every required port on both SMS servers of an HA pair, so the
# two SMS roles open the same rows; they stay separate roles so a site can say which host
# a ruleset is for.
SMS: frozenset[Role] = frozenset({Role.SMS_PRIMARY, Role.SMS_SECONDARY})
IPS: frozenset[Role] = frozenset({Role.IPS})
NOBODY: frozenset[Role] = frozenset()


@dataclass(frozen=True, slots=True)
class PortEntry:
    """One row: a service Garrison offers (``listener``) or a peer it talks to."""

    key: str
    port: int
    transport: str  # "tcp" or "udp"
    service: str
    source: str
    destination: str
    purpose: str
    table: Table
    listener: bool = False
    inbound: frozenset[Role] = NOBODY
    outbound: frozenset[Role] = NOBODY

    @property
    def optional(self) -> bool:
        """True for rows of the reference's "Optional Ports" tables."""
        return self.table in OPTIONAL_TABLES

    def directions(self, role: Role) -> tuple[Direction, ...]:
        """The ways a host of ``role`` opens this row (empty when it does not)."""
        opened = []
        if role in self.inbound:
            opened.append(Direction.INBOUND)
        if role in self.outbound:
            opened.append(Direction.OUTBOUND)
        return tuple(opened)


@dataclass(frozen=True, slots=True)
class CipherPolicy:
    """A row of the reference's encryption table: what a service negotiates."""

    keys: tuple[str, ...]  # catalog keys of the services the row covers
    protocols: tuple[str, ...]
    ciphers: tuple[str, ...]
    purpose: str
    note: str = ""

    @property
    def tls(self) -> bool:
        """True when the services speak TLS (or SSL), not SSH."""
        return any(p.startswith(("TLS", "SSL")) for p in self.protocols)


def _tcp_and_udp(
    key: str,
    port: int,
    service: str,
    source: str,
    destination: str,
    purpose: str,
    table: Table,
    *,
    inbound: frozenset[Role] = NOBODY,
    outbound: frozenset[Role] = NOBODY,
) -> tuple[PortEntry, PortEntry]:
    """The two rows of a reference row marked "TCP/UDP", keyed ``<key>-tcp``/``<key>-udp``."""
    tcp = PortEntry(
        f"{key}-tcp", port, "tcp", service, source, destination, purpose, table,
        inbound=inbound, outbound=outbound,
    )  # fmt: skip
    return tcp, replace(tcp, key=f"{key}-udp", transport="udp")


_CLIENT = (
    PortEntry(
        "ssh-cli", 22, "tcp", "SSH", "SMS Client", "SMS Server", "CLI Management of SMS",
        Table.CLIENT, listener=True, inbound=SMS,
    ),
    PortEntry(
        "client-api", 9033, "tcp", "SMS", "SMS Client", "SMS Server",
        "Required for the SMS client to connect to the SMS server",
        Table.CLIENT, listener=True, inbound=SMS,
    ),
    # The reference leaves this description blank; the optional table and the encryption
    # table name the same service: client backup/restore over the client channel.
    PortEntry(
        "client-backup", 10042, "tcp", "SMS", "SMS Client", "SMS Server",
        "SMS backup/restore from the SMS client",
        Table.CLIENT, listener=True, inbound=SMS,
    ),
    PortEntry(
        "https", 443, "tcp", "HTTPS", "SMS Client Browser", "SMS Server",
        "File downloads, such as client installation, exported reports, and Web services "
        "(if configured)",
        Table.CLIENT, listener=True, inbound=SMS,
    ),
    PortEntry(
        "restore", 943, "tcp", "HTTPS", "SMS Client", "SMS Server", "SMS Restore",
        Table.CLIENT, listener=True, inbound=SMS,
    ),
)  # fmt: skip

_DEVICE_MANAGEMENT = (
    PortEntry(
        "device-snmp", 161, "udp", "SNMP (agent)", "SMS Server", "IPS",
        "SMS Management (Bidirectional connectivity required)",
        Table.DEVICE_MANAGEMENT, outbound=SMS, inbound=IPS,
    ),
    PortEntry(
        "device-https", 443, "tcp", "HTTPS", "SMS Server", "TPS/IPS/NGFW", "SMS Management",
        Table.DEVICE_MANAGEMENT, outbound=SMS, inbound=IPS,
    ),
    PortEntry(
        "snmp-trap", 8162, "udp", "SNMP (trap)", "IPS/TPS", "SMS Server",
        "SMS Traps from device to SMS",
        Table.DEVICE_MANAGEMENT, listener=True, inbound=SMS, outbound=IPS,
    ),
    # Blank in the reference: the second trap port of the row above.
    PortEntry(
        "snmp-trap-alt", 8163, "udp", "SNMP (trap)", "IPS/TPS", "SMS Server",
        "SMS Traps from device to SMS (second trap port)",
        Table.DEVICE_MANAGEMENT, listener=True, inbound=SMS, outbound=IPS,
    ),
    # Blank in the reference, and its "To" reads "SMS Management"; the SMS server is the
    # source, so the firewall treats it as outbound from the SMS.
    PortEntry(
        "identity-agent", 8443, "udp", "Identity Agent", "SMS server", "SMS Management",
        "Identity Agent communication (user-to-address correlation)",
        Table.DEVICE_MANAGEMENT, outbound=SMS,
    ),
)  # fmt: skip

_UPDATES = (
    PortEntry(
        "tmc-http", 80, "tcp", "HTTP", "SMS Server", "Outbound",
        "Digital Vaccine updates from TMC",
        Table.UPDATES, outbound=SMS,
    ),
    PortEntry(
        "tmc-https", 443, "tcp", "HTTPS", "SMS Server", "TMC",
        "Updates from TMC. For new SMS installations, this port is the NEW default for "
        "communication with the TMC.",
        Table.UPDATES, outbound=SMS,
    ),
    # "NEW default" above makes 4043 the older update port.
    PortEntry(
        "tmc-https-legacy", 4043, "tcp", "HTTPS", "SMS Server", "TMC", "Updates from TMC.",
        Table.UPDATES, outbound=SMS,
    ),
)  # fmt: skip

_WHOIS = (
    PortEntry(
        "whois", 43, "tcp", "WhoIs", "SMS Server",
        "whois.arin.net whois.apnic.net whois.ripe.net whois.lacnic.net",
        "Perform WhoIs lookups",
        Table.WHOIS, outbound=SMS,
    ),
)  # fmt: skip

_RESPONDER_ACTIONS = (
    PortEntry(
        "responder-email", 25, "tcp", "SMTP", "SMS Server", "Mail Server",
        "Active Response Email action",
        Table.RESPONDER_ACTIONS, outbound=SMS,
    ),
    PortEntry(
        "responder-snmp", 162, "udp", "SNMP", "SMS Server", "Remote Host",
        "Active Response SNMP action",
        Table.RESPONDER_ACTIONS, outbound=SMS,
    ),
    PortEntry(
        "responder-nms", 162, "udp", "SNMP", "SMS Server", "Remote Host",
        "Active Response NMS action",
        Table.RESPONDER_ACTIONS, outbound=SMS,
    ),
    PortEntry(
        "responder-syslog", 514, "udp", "Syslog", "SMS Server", "Syslog Server",
        "Active Response Syslog action",
        Table.RESPONDER_ACTIONS, outbound=SMS,
    ),
    # A proxy both ways: switches send their RADIUS requests to the Responder's proxy
    # (Garrison listens), and the proxy talks to the switch for the disconnect action.
    PortEntry(
        "radius-proxy", 1812, "udp", "Radius", "SMS Server", "External Switch",
        "Radius proxy (required for Active Response Switch disconnect action)",
        Table.RESPONDER_ACTIONS, listener=True, inbound=SMS, outbound=SMS,
    ),
)  # fmt: skip

_RESPONDER_TRIGGERS = (
    PortEntry(
        "trigger-http", 80, "tcp", "HTTP", "SMS Server", "External Host",
        "Trigger Active Response/ via URL, IP correlation lookup, IP or MAC lookup",
        Table.RESPONDER_TRIGGERS, outbound=SMS,
    ),
    # The reference's From/To read "SMS Server -> NMS Server", but its description is of
    # traps arriving from the NMS: Garrison receives them.
    PortEntry(
        "responder-trap", 162, "udp", "SNMP", "SMS Server", "NMS Server",
        "SNMP Traps from an SNMP Client or NMS Server, such as 3Com Network Directory (3ND) "
        "to Active Response",
        Table.RESPONDER_TRIGGERS, listener=True, inbound=SMS,
    ),
    PortEntry(
        "trigger-https", 443, "tcp", "HTTPS", "SMS Server", "External Host",
        "Trigger Active Response via URL, IP correlation lookup, IP or MAC lookup",
        Table.RESPONDER_TRIGGERS, outbound=SMS,
    ),
)  # fmt: skip


def _ha(key: str, port: int, service: str, purpose: str, *, listener: bool = False) -> PortEntry:
    """An SMS-to-SMS HA row: either peer may connect to the other."""
    return PortEntry(
        key, port, "tcp", service, "SMS Primary", "SMS Secondary", purpose, Table.HA,
        listener=listener, inbound=SMS, outbound=SMS,
    )  # fmt: skip


_RMI = "JAVA RMI for HA configuration and remote peer administration"
# None of these bind a socket of their own: 22, 9033 and 10042 are the sockets of the
# client table's listeners, 3306 is the database server's, and Garrison has no Java RMI;
# the HA issue decides what, if anything, serves 1098/1099/4444.
_HA = (
    _ha("ha-ssh", 22, "SSH", "Secure remote command execution and file replication"),
    _ha("ha-rmi", 1098, "RMI", _RMI),
    _ha("ha-rmi-registry", 1099, "RMI registry", _RMI),
    _ha("ha-cli-replication", 10042, "SMS", "CLI command replication"),
    _ha("ha-database", 3306, "MySQL", "Database replication"),
    _ha("ha-rmi-admin", 4444, "RMI", _RMI),
    _ha(
        "ha-jms", 9033, "JMS",
        "JAVA Messaging Service for the SMS client to connect to the SMS server and for HA "
        "configuration.",
    ),
)  # fmt: skip

_TRHA = (
    PortEntry(
        "trha", 9591, "tcp", "SSL", "IPS Primary", "IPS Secondary",
        'Transparent High-Availability (TRHA) messaging is passed via SSL; Each "HA '
        'Ping/Heartbeat" message is sent at 60-second intervals.',
        Table.TRHA, inbound=IPS, outbound=IPS,
    ),
)  # fmt: skip

_OPTIONAL = (
    # Same socket as "client-backup"; this row only records that the reference also lists
    # it as optional.
    PortEntry(
        "optional-client-backup", 10042, "tcp", "SMS", "SMS Client", "SMS Server",
        "SMS backup/restore",
        Table.OPTIONAL, inbound=SMS,
    ),
    PortEntry(
        "snmp-agent", 161, "udp", "SNMP", "SNMP Client", "SMS Server",
        "To query SMS SNMP MIBs",
        Table.OPTIONAL, listener=True, inbound=SMS,
    ),
    PortEntry(
        "ntp", 123, "udp", "NTP", "IPS", "SMS Server",
        "Required only if IPS uses SMS for NTP time synchronization",
        Table.OPTIONAL, listener=True, inbound=SMS, outbound=IPS,
    ),
    PortEntry(
        "sflow", 6343, "udp", "sFlow®", "IPS", "sFlow® Server",
        "Send sFlow® data from NX-platform IPS to one or more sFlow® servers",
        Table.OPTIONAL, outbound=IPS,
    ),
    PortEntry(
        "provision", 10043, "tcp", "SMS provision", "IPS", "SMS Server", "Remote Authentication",
        Table.OPTIONAL, listener=True, inbound=SMS, outbound=IPS,
    ),
    PortEntry(
        "url-threat-analysis", 443, "tcp", "URL Threat Analysis", "SMS Server", "DD Analyzer",
        "Send URL data from the SMS to the Deep Discovery Analyzer",
        Table.OPTIONAL, outbound=SMS,
    ),
)  # fmt: skip

_NFS_PURPOSE = "Report export, database backup"
_SERVER = (
    PortEntry(
        "ldap", 389, "tcp", "Active Directory", "SMS server", "AD server",
        "SMS AD LDAP authentication",
        Table.SERVER, outbound=SMS,
    ),
    PortEntry(
        "ldaps", 636, "tcp", "Active Directory", "SMS server", "AD server",
        "SMS AD LDAP over SSL authentication",
        Table.SERVER, outbound=SMS,
    ),
    # External systems read the SMS database (read-only views), so this opens inbound,
    # whatever the reference's From/To say; the database server listens, not Garrison.
    PortEntry(
        "db-external-access", 3306, "tcp", "Database", "SMS server", "Any",
        "External database access",
        Table.SERVER, inbound=SMS,
    ),
    # The reference's continuation line "External server | External replication" of 3306.
    PortEntry(
        "db-external-replication", 3306, "tcp", "Database", "SMS server", "External server",
        "External replication",
        Table.SERVER, outbound=SMS,
    ),
    *_tcp_and_udp(
        "dns", 53, "DNS", "SMS server", "Name server", "Name resolution", Table.SERVER,
        outbound=SMS,
    ),
    PortEntry(
        "id-correlation", 135, "tcp", "ID correlation", "SMS server", "AD server",
        "SMS AD authentication",
        Table.SERVER, outbound=SMS,
    ),
    # "IPS (A10)" is an A10 appliance running IDsentrie, not one of the managed IPS.
    PortEntry(
        "ip2id", 239, "udp", "IP2ID", "SMS server", "IPS (A10)", "IDsentrie",
        Table.SERVER, outbound=SMS,
    ),
    *(
        entry
        for port in (111, 369, 2039)
        for entry in _tcp_and_udp(
            f"nfs-{port}", port, "NFS", "SMS server", "File server", _NFS_PURPOSE, Table.SERVER,
            outbound=SMS,
        )
    ),
    PortEntry(
        "ntp-upstream", 123, "udp", "NTP", "SMS server", "NTP server (time source)",
        "Time synchronization from external NTP server",
        Table.SERVER, outbound=SMS,
    ),
    PortEntry(
        "radius-auth", 1812, "udp", "RADIUS", "SMS server", "RADIUS server",
        "SMS user authentication",
        Table.SERVER, outbound=SMS,
    ),
    PortEntry(
        "tacacs", 49, "tcp", "TACACS+", "SMS server", "TACACS+ server", "SMS user authentication",
        Table.SERVER, outbound=SMS,
    ),
    *(
        entry
        for port in (137, 138, 139, 1512)
        for entry in _tcp_and_udp(
            f"samba-{port}", port, "Samba", "SMS server", "File server", _NFS_PURPOSE,
            Table.SERVER, outbound=SMS,
        )
    ),
    PortEntry(
        "smtp", 25, "tcp", "SMTP", "SMS server", "Mail server",
        "Email notifications, such as IPS events, Active Response",
        Table.SERVER, outbound=SMS,
    ),
    PortEntry(
        "syslog", 514, "udp", "Syslog", "SMS server", "Syslog server", "SMS audit and Syslog",
        Table.SERVER, outbound=SMS,
    ),
    # The reference's row has lost two cells ("943/TCP | External system | SMS
    # backup/restore"); it sits among the SMS server's outbound rows and 943 is the HTTPS
    # restore service of the client table, so: the SMS server to an external system.
    PortEntry(
        "backup-remote", 943, "tcp", "HTTPS", "SMS server", "External system",
        "SMS backup/restore",
        Table.SERVER, outbound=SMS,
    ),
)  # fmt: skip

# Garrison's own additions. Real TippingPoint devices can send their events as CEF
# syslog, which the SMS itself does not take in; Garrison does, on the standard ports.
_GARRISON = (
    PortEntry(
        "syslog-udp", 514, "udp", "Syslog", "IPS", "SMS Server",
        "Device events as syslog (RFC 3164/5424, TippingPoint CEF) over UDP",
        Table.GARRISON, listener=True, inbound=SMS, outbound=IPS,
    ),
    PortEntry(
        "syslog-tcp", 514, "tcp", "Syslog", "IPS", "SMS Server",
        "Device events as syslog over TCP (octet counting or newline framing)",
        Table.GARRISON, listener=True, inbound=SMS, outbound=IPS,
    ),
    PortEntry(
        "syslog-tls", 6514, "tcp", "Syslog over TLS", "IPS", "SMS Server",
        "Device events as syslog over TLS (RFC 5425)",
        Table.GARRISON, listener=True, inbound=SMS, outbound=IPS,
    ),
)  # fmt: skip

CATALOG: tuple[PortEntry, ...] = (
    *_CLIENT,
    *_DEVICE_MANAGEMENT,
    *_UPDATES,
    *_WHOIS,
    *_RESPONDER_ACTIONS,
    *_RESPONDER_TRIGGERS,
    *_HA,
    *_TRHA,
    *_OPTIONAL,
    *_SERVER,
    *_GARRISON,
)

_LEGACY_TLS = ("TLSv1.0", "TLSv1.1", "TLSv1.2")
_LEGACY_CIPHERS = (
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
)
_SHA256_NOTE = "TLS_RSA_WITH_AES_128_CBC_SHA256 only with TLSv1.2"

# The reference's encryption table: what the SMS offers on each encrypted service. The
# "legacy" TLS profile of garrison.tls is meant to match it (DESIGN.md).
CIPHER_POLICY: tuple[CipherPolicy, ...] = (
    CipherPolicy(
        ("https",), (*_LEGACY_TLS, "SSLv2Hello"), _LEGACY_CIPHERS, "HTTPS service", _SHA256_NOTE
    ),
    CipherPolicy(
        ("client-api", "client-backup"),
        _LEGACY_TLS,
        _LEGACY_CIPHERS,
        "Client-server communication",
        _SHA256_NOTE,
    ),
    CipherPolicy(
        ("provision",),
        _LEGACY_TLS,
        _LEGACY_CIPHERS,
        "Device provision manager (device remote authorization).",
        _SHA256_NOTE,
    ),
    CipherPolicy(
        ("ssh-cli",),
        ("SSH-2",),
        ("aes128-gcm", "aes256-gcm", "aes128-ctr", "aes192-ctr", "aes256-ctr"),
        "SSH service",
    ),
)

# What the reference says an SMS in FIPS mode refuses, verbatim; SSLv2 is never supported.
FIPS_MODE_REFUSES: tuple[str, ...] = (
    "SSLv2 formatted hello",
    "SSLv3",
    "TLSv1.2",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
)


def get(key: str) -> PortEntry:
    """The row named ``key``; raises KeyError naming the known keys."""
    for entry in CATALOG:
        if entry.key == key:
            return entry
    known = ", ".join(sorted({e.key for e in CATALOG}))
    raise KeyError(f"unknown port key {key!r}; known keys: {known}")


def listeners() -> tuple[PortEntry, ...]:
    """Rows for services Garrison itself listens on."""
    return tuple(e for e in CATALOG if e.listener)


def by_table(table: Table, entries: Iterable[PortEntry] = CATALOG) -> tuple[PortEntry, ...]:
    """Rows of one table of the reference (none for CRYPTO: see :data:`CIPHER_POLICY`)."""
    return tuple(e for e in entries if e.table is table)


def for_role(
    role: Role, entries: Iterable[PortEntry] = CATALOG, *, include_optional: bool = True
) -> tuple[PortEntry, ...]:
    """Rows a host of ``role`` opens inbound or outbound, optional tables unless excluded."""
    return tuple(e for e in entries if e.directions(role) and (include_optional or not e.optional))


def cipher_policy(key: str) -> CipherPolicy | None:
    """The encryption row covering the service ``key``, if the reference has one."""
    return next((p for p in CIPHER_POLICY if key in p.keys), None)


def speaks_tls(entry: PortEntry) -> bool:
    """True for services that talk TLS: HTTPS ones, "... over TLS" ones, and those of a TLS
    encryption row."""
    policy = cipher_policy(entry.key)
    if policy is None:
        return entry.service == "HTTPS" or entry.service.endswith("over TLS")
    return policy.tls
