"""Garrison's settings: a TOML file, then ``GARRISON_*`` environment variables on top.

The file lives at ``<data_dir>/garrison.toml`` unless ``GARRISON_CONFIG`` or ``--config``
names another. An environment variable ``GARRISON_<SECTION>_<KEY>`` overrides
``[section] key`` (``GARRISON_TLS_PROFILE=legacy``, ``GARRISON_PORTS_CLIENT_API=19033``);
``GARRISON_DATA_DIR`` and ``GARRISON_CONFIG`` pick the files themselves.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from garrison import ports

CONFIG_FILE_NAME = "garrison.toml"
ENV_PREFIX = "GARRISON_"
# Unprivileged processes bind a port below 1024 at this offset (443 -> 10443).
UNPRIVILEGED_OFFSET = 10000


# Variables that pick files or serve the remote command line, not [section] keys.
NOT_SETTINGS = frozenset(
    {
        "GARRISON_DATA_DIR",
        "GARRISON_CONFIG",
        "GARRISON_URL",
        "GARRISON_API_KEY",
        "GARRISON_EXTERNAL_DB_PASSWORD",
    }
)


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the key and what is allowed."""


class LowPorts(StrEnum):
    """What to do with a port below 1024."""

    AUTO = "auto"  # bind it when root, else shift it by UNPRIVILEGED_OFFSET
    SHIFT = "shift"  # always shift it
    BIND = "bind"  # always bind it as is


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ServerSettings(_Section):
    host: str = Field("0.0.0.0", description="address every listener binds")
    low_ports: LowPorts = LowPorts.AUTO
    shutdown_grace_seconds: float = Field(10.0, gt=0, le=600)


class DatabaseSettings(_Section):
    url: str = Field("", description="SQLAlchemy URL; empty means SQLite in the data directory")
    echo: bool = False


class TlsSettings(_Section):
    profile: Literal["modern", "legacy", "fips"] = "modern"
    certificate: str = Field("", description="PEM certificate; empty means <data_dir>/tls/")
    key: str = Field("", description="PEM private key; empty means <data_dir>/tls/")


class AuthSettings(_Section):
    max_failed_logins: int = Field(5, ge=1, le=100)
    lockout_minutes: int = Field(15, ge=1, le=24 * 60)
    session_hours: int = Field(12, ge=1, le=24 * 30)
    fips_mode: bool = False


class EventSettings(_Section):
    """The event store: batched writes and retention."""

    # 500 rows hold SQLite's one write lock ~10 ms: short enough that the Responder's
    # writes never wait long behind a batch (docs/benchmarks.md, Responder).
    writer_batch: int = Field(500, ge=1, le=100_000, description="rows per transaction, at most")
    writer_max_wait_ms: int = Field(200, ge=1, le=10_000)
    queue_capacity: int = Field(1_000_000, ge=1000, le=50_000_000)
    retention_days: int = Field(90, ge=0, description="0 keeps events forever")
    retention_rows: int = Field(10_000_000, ge=0, description="0 means no cap")
    retention_interval_seconds: int = Field(
        300, ge=1, le=24 * 3600, description="how often the retention policy runs"
    )
    retention_chunk: int = Field(
        10_000, ge=100, le=1_000_000, description="rows deleted per transaction"
    )
    writer_drain_seconds: float = Field(
        30.0, gt=0, le=3600, description="on stop, how long to keep retrying unwritten events"
    )
    stream_capacity: int = Field(
        1000, ge=10, le=100_000, description="events a live-stream client may lag behind"
    )


class SnmpV3User(_Section):
    name: str = Field(min_length=1, max_length=32)
    auth_protocol: Literal["SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512", "MD5"] = "SHA-256"
    auth_key: str = Field(min_length=8)
    priv_protocol: Literal["AES", "AES-192", "AES-256", "DES"] = "AES"
    priv_key: str = Field(min_length=8)
    engine_id: str = Field(
        "",
        pattern=r"^$|^(0x)?([0-9a-fA-F]{2}){5,32}$",
        description="the sender's snmpEngineID in hex; empty takes the user from any engine",
    )


class SnmpTrapSettings(_Section):
    """The trap receiver on UDP 8162 and 8163."""

    enabled: bool = True
    communities: list[str] = Field(default_factory=lambda: ["public"])
    v3_users: list[SnmpV3User] = Field(default_factory=list)
    accept_unknown_sources: bool = Field(
        False, description="take traps from addresses that are not in the inventory"
    )
    max_datagram_bytes: int = Field(16_384, ge=484, le=65_507)
    receive_buffer_bytes: int = Field(8_388_608, ge=65_536, le=268_435_456)


class SyslogSettings(_Section):
    """The syslog receiver (off unless enabled)."""

    enabled: bool = False
    udp: bool = True
    tcp: bool = True
    tls: bool = True
    accept_unknown_sources: bool = False
    max_message_bytes: int = Field(65_535, ge=480, le=1_048_576)
    idle_timeout_seconds: float = Field(
        300.0, gt=0, le=86_400, description="close a TCP/TLS connection silent this long"
    )
    max_connections: int = Field(1000, ge=1, le=100_000, description="TCP and TLS, each")


class PollerSettings(_Section):
    """SNMP health polling of the inventory."""

    enabled: bool = True
    interval_seconds: float = Field(60.0, ge=1, le=86_400)
    timeout_seconds: float = Field(2.0, gt=0, le=60)
    retries: int = Field(1, ge=0, le=10)
    concurrency: int = Field(64, ge=1, le=1024)
    history_days: int = Field(30, ge=1, le=3650)
    cpu_degraded_percent: float = Field(
        90.0, ge=0, le=100, description="average CPU load at or above this: degraded"
    )
    memory_degraded_percent: float = Field(
        90.0, ge=0, le=100, description="physical memory in use at or above this: degraded"
    )
    degrade_on_link_down: bool = Field(
        True, description="an administratively up interface without link: degraded"
    )


class ResponderSettings(_Section):
    """The Responder: its engine, and the NMS trap listener on UDP 162."""

    enabled: bool = True
    nms_traps: bool = Field(
        True, description="take tptSmsQuarantineCommand/UnQuarantineRequest traps on UDP 162"
    )
    nms_communities: list[str] = Field(default_factory=lambda: ["public"])
    nms_v3_users: list[SnmpV3User] = Field(default_factory=list)
    nms_allowed_sources: list[str] = Field(
        default_factory=lambda: ["127.0.0.0/8", "::1/128"],
        description="addresses or CIDRs an NMS may send commands from",
    )
    max_open_responses: int = Field(100_000, ge=1, le=10_000_000, description="across all policies")
    action_concurrency: int = Field(
        64, ge=1, le=10_000, description="actions running at once, across all responses"
    )
    max_evidence_events: int = Field(
        20, ge=1, le=1000, description="triggering events kept with a response"
    )


class SmtpSettings(_Section):
    """The mail server the email action sends through (the SMS's Server Properties >
    Network SMTP settings)."""

    host: str = Field("", description="empty: email actions fail with a clear reason")
    port: int = Field(ports.get("responder-email").port, ge=1, le=65535)
    sender: str = Field("garrison@localhost", description="the From address")
    starttls: Literal["auto", "require", "never"] = Field(
        "auto", description="auto uses STARTTLS when the server offers it"
    )
    verify_tls: bool = Field(True, description="verify the server's certificate")
    ca_file: str = Field("", description="PEM bundle to verify against; empty: system CAs")
    username: str = ""
    password: str = Field("", repr=False)
    timeout_seconds: float = Field(30.0, gt=0, le=600)


class RadiusClient(_Section):
    """A switch (NAS) allowed to send Access-Requests to the proxy."""

    address: str = Field(description="address or CIDR of the switch")
    secret: str = Field(min_length=1, repr=False)


class RadiusProxySettings(_Section):
    """The RADIUS proxy on UDP 1812: forwards switches' Access-Requests to the site's
    RADIUS server and rejects quarantined MACs and users."""

    enabled: bool = False
    upstream_host: str = Field("127.0.0.1", description="the site's RADIUS server")
    upstream_port: int = Field(ports.get("radius-auth").port, ge=1, le=65535)
    upstream_secret: str = Field("", repr=False)
    upstream_timeout_seconds: float = Field(3.0, gt=0, le=60)
    upstream_retries: int = Field(2, ge=0, le=10)
    clients: list[RadiusClient] = Field(default_factory=list)
    dictionary: str = Field(
        "", description="RADIUS dictionary file; empty: FreeRADIUS's if installed, else built in"
    )


class ReputationSettings(_Section):
    """The reputation store (the SMS's repEntries) and the Responder's writes to it."""

    aggregate_seconds: float = Field(
        60.0, gt=0, le=86_400, description="the reputation-entry action writes this often"
    )
    max_batch: int = Field(1000, ge=1, le=100_000, description="or at once at this many")
    default_cap: int = Field(
        10_000, ge=1, description="entries one policy's reputation-entry action may add"
    )
    expire_every_seconds: float = Field(60.0, gt=0, le=86_400)


class LogSettings(_Section):
    format: Literal["text", "json"] = "text"
    level: Literal["debug", "info", "warning", "error"] = "info"


class Settings(_Section):
    """Everything Garrison reads at start-up. Build it with :func:`load_settings`."""

    data_dir: Path
    config_file: Path | None = None
    server: ServerSettings = ServerSettings()
    database: DatabaseSettings = DatabaseSettings()
    tls: TlsSettings = TlsSettings()
    auth: AuthSettings = AuthSettings()
    log: LogSettings = LogSettings()
    events: EventSettings = EventSettings()
    snmp_trap: SnmpTrapSettings = SnmpTrapSettings()
    syslog: SyslogSettings = SyslogSettings()
    poller: PollerSettings = PollerSettings()
    responder: ResponderSettings = ResponderSettings()
    smtp: SmtpSettings = SmtpSettings()
    radius_proxy: RadiusProxySettings = RadiusProxySettings()
    reputation: ReputationSettings = ReputationSettings()
    ports: dict[str, int] = Field(default_factory=dict)

    @field_validator("ports")
    @classmethod
    def _known_ports(cls, value: dict[str, int]) -> dict[str, int]:
        for key, port in value.items():
            try:
                ports.get(key)
            except KeyError as exc:
                raise ValueError(exc.args[0]) from None
            if not 0 <= port <= 65535:
                raise ValueError(f"port for {key!r} must be 0..65535, got {port}")
        return value

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.data_dir / 'garrison.db'}"

    @property
    def certificate_path(self) -> Path:
        return Path(self.tls.certificate) if self.tls.certificate else self.tls_dir / "server.crt"

    @property
    def key_path(self) -> Path:
        return Path(self.tls.key) if self.tls.key else self.tls_dir / "server.key"

    @property
    def tls_dir(self) -> Path:
        return self.data_dir / "tls"

    def shifts_low_ports(self) -> bool:
        if self.server.low_ports is LowPorts.AUTO:
            return os.geteuid() != 0
        return self.server.low_ports is LowPorts.SHIFT

    def port(self, key: str) -> int:
        """The port the service ``key`` of the catalog listens on, after overrides.

        An override in ``[ports]`` is used as is; a catalog default below 1024 moves up by
        10000 when low ports are shifted. Port 0 means "any free port" (tests use it).
        """
        if key in self.ports:
            return self.ports[key]
        default = ports.get(key).port
        if default < 1024 and self.shifts_low_ports():
            return default + UNPRIVILEGED_OFFSET
        return default


def default_data_dir() -> Path:
    if os.geteuid() == 0:
        return Path("/var/lib/garrison")
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "garrison"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def _env_overrides(environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """``GARRISON_TLS_PROFILE=legacy`` -> ``{"tls": {"profile": "legacy"}}``."""
    sections = {
        name: field.annotation
        for name, field in Settings.model_fields.items()
        if name not in ("data_dir", "config_file")
    }
    out: dict[str, dict[str, str]] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX) or name in NOT_SETTINGS:
            continue
        if name.startswith("GARRISON_TEST_"):  # the test suite's own knobs
            continue
        rest = name[len(ENV_PREFIX) :].lower()
        section = next((s for s in sections if rest.startswith(s + "_")), None)
        if section is None:
            raise ConfigError(
                f"environment variable {name}: unknown section; "
                f"use GARRISON_<SECTION>_<KEY> with SECTION one of {', '.join(sections)}"
            )
        key = rest[len(section) + 1 :]
        if section == "ports":
            key = key.replace("_", "-")
        out.setdefault(section, {})[key] = value
    return out


def _merge(base: dict[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _describe(error: dict[str, Any]) -> str:
    key = ".".join(str(part) for part in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    elif (error["type"] == "enum" and "expected" in error.get("ctx", {})) or error[
        "type"
    ] == "literal_error":
        message = f"must be {error['ctx']['expected']}"
    got = error.get("input")
    if error["type"] != "extra_forbidden" and not isinstance(got, dict):
        message += f" (got {got!r})"
    return f"{key}: {message}"


def load_settings(
    data_dir: Path | str | None = None,
    config_file: Path | str | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Read the config file and the environment; raise ConfigError on anything wrong.

    ``overrides`` (a nested mapping like the TOML file) wins over both; the CLI and the
    tests use it.
    """
    env = os.environ if environ is None else environ
    chosen_dir = data_dir or env.get("GARRISON_DATA_DIR")
    data = Path(chosen_dir or default_data_dir()).expanduser()
    explicit = config_file or env.get("GARRISON_CONFIG")
    path = Path(explicit).expanduser() if explicit else data / CONFIG_FILE_NAME
    raw: dict[str, Any] = {}
    if path.exists():
        raw = _read_toml(path)
    elif explicit:
        raise ConfigError(f"{path}: config file not found")
    merged = _merge(raw, _env_overrides(env))
    merged = _merge(merged, overrides or {})
    # The data directory named on the command line or in the environment beats the file's.
    if chosen_dir or "data_dir" not in merged:
        merged["data_dir"] = data
    merged["config_file"] = path if path.exists() else None
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        where = str(path) if path.exists() else "settings"
        problems = "; ".join(_describe(e) for e in exc.errors())
        raise ConfigError(f"{where}: {problems}") from None


def render_default_config(settings: Settings) -> str:
    """The commented config file ``garrison init`` writes."""
    return f"""\
# Garrison configuration. Every key can also be set in the environment as
# GARRISON_<SECTION>_<KEY>, e.g. GARRISON_TLS_PROFILE=legacy. See docs/configuration.md.

[server]
# Address every listener binds.
host = "{settings.server.host}"
# Ports below 1024: "auto" moves them up by 10000 (443 -> 10443) unless running as root,
# "shift" always does, "bind" never does.
low_ports = "{settings.server.low_ports}"

[database]
# Empty: SQLite in the data directory. Or postgresql+psycopg://user@host/db,
# mysql+pymysql://user:password@host/db (MariaDB).
url = "{settings.database.url}"

[tls]
# modern | legacy | fips (see docs/tls.md)
profile = "{settings.tls.profile}"
# Empty: tls/server.crt and tls/server.key in the data directory.
certificate = "{settings.tls.certificate}"
key = "{settings.tls.key}"

[auth]
# A user is locked for lockout_minutes after this many failed logins in a row.
max_failed_logins = {settings.auth.max_failed_logins}
lockout_minutes = {settings.auth.lockout_minutes}
session_hours = {settings.auth.session_hours}
# FIPS mode: PBKDF2-SHA256 password hashes instead of argon2id.
fips_mode = {str(settings.auth.fips_mode).lower()}

[log]
# text | json
format = "{settings.log.format}"
level = "{settings.log.level}"

[events]
# Rows per transaction at most, and how long the writer waits to fill one.
writer_batch = {settings.events.writer_batch}
writer_max_wait_ms = {settings.events.writer_max_wait_ms}
# Retention: events older than this many days, and beyond this many rows, are deleted
# (0 turns either off).
retention_days = {settings.events.retention_days}
retention_rows = {settings.events.retention_rows}

[snmp_trap]
# The trap receiver on UDP 8162 and 8163 (see docs/snmp-traps.md).
enabled = {str(settings.snmp_trap.enabled).lower()}
communities = {json.dumps(settings.snmp_trap.communities)}
# Traps from addresses that are not in the device inventory are dropped unless this is on.
accept_unknown_sources = {str(settings.snmp_trap.accept_unknown_sources).lower()}
# SNMPv3 users, one table each:
# [[snmp_trap.v3_users]]
# name = "ips"
# auth_protocol = "SHA-256"
# auth_key = "..."
# priv_protocol = "AES"
# priv_key = "..."
# engine_id = ""            # hex; empty: learned from each sender

[syslog]
# The syslog receiver (UDP and TCP 514, TLS 6514; see docs/syslog.md). Off by default.
enabled = {str(settings.syslog.enabled).lower()}
accept_unknown_sources = {str(settings.syslog.accept_unknown_sources).lower()}

[poller]
# SNMP health polling of the device inventory (see docs/devices.md).
enabled = {str(settings.poller.enabled).lower()}
interval_seconds = {settings.poller.interval_seconds}
timeout_seconds = {settings.poller.timeout_seconds}
concurrency = {settings.poller.concurrency}

[responder]
# The Responder (see docs/responder.md): policies, responses and their actions.
enabled = {str(settings.responder.enabled).lower()}
# NMS quarantine commands (tptSmsQuarantineCommand) as SNMP traps on UDP 162.
nms_traps = {str(settings.responder.nms_traps).lower()}
nms_communities = {json.dumps(settings.responder.nms_communities)}
nms_allowed_sources = {json.dumps(settings.responder.nms_allowed_sources)}
max_open_responses = {settings.responder.max_open_responses}

[smtp]
# The mail server of the email action. Empty host: email actions fail, saying so.
host = "{settings.smtp.host}"
port = {settings.smtp.port}
sender = "{settings.smtp.sender}"
# auto | require | never
starttls = "{settings.smtp.starttls}"
username = "{settings.smtp.username}"
# password = ""

[radius_proxy]
# Forward switches' Access-Requests to the site's RADIUS server, rejecting quarantined
# MACs and users (UDP 1812). Each switch: clients = [{{ address = "10.0.0.0/24", secret = "..." }}]
enabled = {str(settings.radius_proxy.enabled).lower()}
upstream_host = "{settings.radius_proxy.upstream_host}"
upstream_port = {settings.radius_proxy.upstream_port}
# upstream_secret = ""

[reputation]
# The Responder's reputation-entry action aggregates its writes (the SMS advises 60 min).
aggregate_seconds = {settings.reputation.aggregate_seconds}
default_cap = {settings.reputation.default_cap}

[ports]
# Per-service overrides by catalog key (see `garrison ports --listening`), e.g.
# https = 8443
# client-api = 19033
"""
