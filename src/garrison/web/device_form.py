"""The console's device form: from what a person typed to `DeviceService` fields, and from
the service's refusals back to a message next to the field they are about.

Each field is checked on its own first (with the rules of `garrison.devices.validate`),
so one submission shows every mistake it can, not only the first; the service checks
everything again, and what it refuses (the SNMP credentials of the chosen version, a name
already taken) is placed by the words of its message. Secrets are never shown back: on
edit, a secret left blank keeps the stored one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from garrison.devices.model import AuthProtocol, PrivProtocol, SnmpVersion
from garrison.devices.validate import check_name, check_text, check_url, normalize_address
from garrison.errors import Invalid
from garrison.store.devices import DeviceRecord

TEXT_FIELDS = (
    "name",
    "address",
    "location",
    "snmp_user",
    "snmp_auth_protocol",
    "snmp_priv_protocol",
    "mgmt_url",
    "mgmt_username",
)
SECRET_FIELDS = ("snmp_community", "snmp_auth_key", "snmp_priv_key", "mgmt_secret")
MAX_INPUT = 4096  # longer than any field may be: refused before any rule reads it

# Where a service message belongs, by how it begins (lower case); first match wins.
MESSAGE_FIELDS = (
    ("a device needs a name", "name"),
    ("a device needs a address", "address"),
    ("a device named", "name"),
    ("device name", "name"),
    ("address", "address"),
    ("location", "location"),
    ("snmp port", "snmp_port"),
    ("snmp version", "snmp_version"),
    ("community", "snmp_community"),
    ("snmpv3 needs a user", "snmp_user"),
    ("snmpv3 user", "snmp_user"),
    ("unknown snmpv3 protocol", "snmp_auth_protocol"),
    ("snmpv3 auth key", "snmp_auth_key"),
    ("snmpv3 priv key", "snmp_priv_key"),
    ("management url", "mgmt_url"),
    ("management user", "mgmt_username"),
    ("management secret", "mgmt_secret"),
    ("no device group", "group_id"),
)

VERSION_CHOICES = [("2c", "v2c: community"), ("3", "v3: user, authentication and privacy")]
AUTH_CHOICES = [(str(p), str(p)) for p in AuthProtocol]
PRIV_CHOICES = [(str(p), str(p)) for p in PrivProtocol]


def sentence(message: str) -> str:
    """A service message as a sentence: capital first, full stop last."""
    text = message.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def field_of(message: str) -> str:
    """The form field a service message is about; "form" when it names none."""
    lowered = message.lower()
    for start, name in MESSAGE_FIELDS:
        if lowered.startswith(start):
            return name
    return "form"


@dataclass
class DeviceForm:
    """What was typed (``values``, shown back without secrets), what the service gets
    (``fields``) and what is wrong (``errors``, field name to sentence)."""

    values: dict[str, str] = field(default_factory=dict)
    fields: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def refuse(self, message: str) -> None:
        """Place a service refusal next to its field (the first one there stays)."""
        self.errors.setdefault(field_of(message), sentence(message))


def blank_values() -> dict[str, str]:
    return {
        **{name: "" for name in TEXT_FIELDS},
        "snmp_port": "161",
        "snmp_version": "2c",
        "snmp_auth_protocol": str(AuthProtocol.SHA256),
        "snmp_priv_protocol": str(PrivProtocol.AES),
        "group_id": "",
    }


def values_of(device: DeviceRecord) -> dict[str, str]:
    """An existing device's settings, as the edit form shows them (no secrets)."""
    values = {name: str(getattr(device, name) or "") for name in TEXT_FIELDS}
    values["snmp_port"] = str(device.snmp_port)
    values["snmp_version"] = device.snmp_version
    values["snmp_auth_protocol"] = device.snmp_auth_protocol or str(AuthProtocol.SHA256)
    values["snmp_priv_protocol"] = device.snmp_priv_protocol or str(PrivProtocol.AES)
    values["group_id"] = "" if device.group_id is None else str(device.group_id)
    return values


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def read(form: Mapping[str, Any], *, creating: bool) -> DeviceForm:
    """Parse and check a submitted device form. On edit (``creating`` False), a blank
    secret is left out of ``fields``, so the stored one stays."""
    result = DeviceForm(values=blank_values())
    values, fields, errors = result.values, result.fields, result.errors
    for name in (*TEXT_FIELDS, *SECRET_FIELDS, "snmp_port", "snmp_version", "group_id"):
        raw = _text(form, name)
        if len(raw) > MAX_INPUT:
            errors[name] = "This is far too long."
            raw = ""
        if name not in SECRET_FIELDS:
            values[name] = raw.strip() if name != "location" else raw
    name = values["name"]
    if not name:
        errors.setdefault("name", "Enter a name for the device.")
    else:
        _check(result, "name", lambda: check_name(name))
    address = values["address"]
    if not address:
        errors.setdefault("address", "Enter the device's IPv4 or IPv6 address.")
    else:
        _check(result, "address", lambda: normalize_address(address))
    _check(result, "location", lambda: check_text(values["location"], "location", 128))
    _check(result, "mgmt_url", lambda: check_url(values["mgmt_url"]))
    port = values["snmp_port"] or "161"
    if port.isdigit() and 1 <= int(port) <= 65535:
        fields["snmp_port"] = int(port)
    else:
        errors.setdefault("snmp_port", "SNMP port must be a number from 1 to 65535.")
    version = values["snmp_version"]
    if version not in (str(v) for v in SnmpVersion):
        errors.setdefault("snmp_version", "Choose SNMP version v2c or v3.")
    group = values["group_id"]
    if group and not group.isdigit():
        errors.setdefault("group_id", "Choose a group from the list.")
    if errors:
        return result
    fields.update(
        name=name,
        address=address,
        location=values["location"],
        snmp_version=version,
        mgmt_url=values["mgmt_url"],
        mgmt_username=values["mgmt_username"],
        group_id=int(group) if group else None,
    )
    if version == str(SnmpVersion.V3):
        fields.update(
            snmp_user=values["snmp_user"],
            snmp_auth_protocol=values["snmp_auth_protocol"],
            snmp_priv_protocol=values["snmp_priv_protocol"],
        )
    for secret in SECRET_FIELDS:
        typed = _text(form, secret)
        if typed or creating:  # the service clears what the chosen version does not use
            fields[secret] = typed
    return result


def _check(result: DeviceForm, name: str, rule: Callable[[], object]) -> None:
    try:
        rule()
    except Invalid as exc:
        result.errors.setdefault(name, sentence(str(exc)))
