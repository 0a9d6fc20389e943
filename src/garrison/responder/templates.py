"""Action content templated from the response: ``{address}``, ``{policy}``, ... in the
``str.format`` syntax, restricted to the fields below so that a template naming an
unknown field is refused when the policy is saved, not when the action runs."""

from __future__ import annotations

import string
from collections.abc import Mapping

from garrison.errors import Invalid

# The fields every template may name, with what they hold (shown in errors and docs).
TEMPLATE_FIELDS: dict[str, str] = {
    "address": "the host's IP address",
    "mac": "the host's MAC address, when known",
    "user": "the host's user name, when known",
    "policy": "the policy's name",
    "trigger": "what opened the response: threshold, manual, web-service, nms-trap, escalation",
    "response_id": "the response's id (Response History ID)",
    "phase": "initial or timeout",
    "opened_at": "when the response opened (ISO 8601, UTC)",
    "expires_at": "when it times out (ISO 8601, UTC), or empty",
    "notify_id": "the NMS notify id of this response",
    "event_count": "how many triggering events the response holds",
    "events": "one line per triggering event: time, device, signature, source, target",
    "signature": "the first triggering event's filter name",
    "signature_number": "the first triggering event's filter number",
    "severity": "the first triggering event's severity",
    "device": "the first triggering event's device name",
    "destination": "the first triggering event's destination address",
    "reason": "why the response was opened, in words",
}

_FORMATTER = string.Formatter()


def template_fields(template: str) -> set[str]:
    """The field names a template uses; raises ``Invalid`` for a malformed template."""
    try:
        parsed = list(_FORMATTER.parse(template))
    except ValueError as exc:
        raise Invalid(f"template {template[:60]!r} is malformed: {exc}") from None
    names: set[str] = set()
    for _literal, name, spec, _conversion in parsed:
        if name is None:
            continue
        if name == "" or name.isdigit():
            raise Invalid(
                f"template {template[:60]!r}: use named fields such as {{address}}, "
                "not positional ones"
            )
        # Only plain names: no attribute access or indexing into the values.
        if not name.isidentifier():
            raise Invalid(f"template {template[:60]!r}: {{{name}}} is not a plain field name")
        if spec and "{" in spec:
            raise Invalid(f"template {template[:60]!r}: nested fields are not allowed")
        names.add(name)
    return names


def check_template(template: str, where: str) -> None:
    """Refuse a template naming an unknown field, naming the field and the known ones."""
    try:
        names = template_fields(template)
    except Invalid as exc:
        raise Invalid(f"{where}: {exc}") from None
    unknown = sorted(names - TEMPLATE_FIELDS.keys())
    if unknown:
        raise Invalid(
            f"{where}: unknown template field {{{unknown[0]}}}; "
            f"known fields: {', '.join(sorted(TEMPLATE_FIELDS))}"
        )


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill a checked template; missing values render empty."""
    return template.format_map(_Defaulting(values))


class _Defaulting(dict[str, str]):
    def __init__(self, values: Mapping[str, str]) -> None:
        super().__init__(values)

    def __missing__(self, key: str) -> str:
        return ""
