"""The SNMP trap action: a trap (or inform) about the host to a remote manager, v2c or v3.

Which notification: the SMS's own MIB has one for this, TPT-SMS-TRAP-MIB's
``tptSmsPolicyNotification`` (``1.3.6.1.4.1.10734.3.4.3.0.5``), whose object is
PolicyMatchData (``.1.3``); Garrison sends it, so a manager that already loads the
TippingPoint MIBs shows it by name. Its varbinds, in this order:

* NotifyId (``.1.1``, Integer32): the response's NMS notify id (``{notify_id}``);
* NotifyData (``.1.2``, OctetString): ``NAME:VALUE`` lines, one per line, as the NMS trap
  writes them: ``IP``, ``MAC`` and ``USER`` (when known), ``POLICY``, ``RESPONSE`` (the
  response id), ``PHASE`` (initial or timeout) and ``TRIGGER``;
* PolicyMatchData (``.1.3``, OctetString): the rendered ``message`` template.

A manager that only reads PolicyMatchData sees the operator's text; one that parses
NotifyData gets the fields without parsing prose. The same action in a policy's timeout
actions tells the manager the response closed (``PHASE:timeout``).
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from garrison import ports
from garrison.responder.actions.base import (
    ActionConfig,
    ActionContext,
    ActionResult,
    ActionServices,
    ActionType,
)
from garrison.responder.actions.nms_trap import notify_id_value
from garrison.responder.actions.registry import register
from garrison.responder.nms_commands import (
    NOTIFY_DATA,
    NOTIFY_ID,
    POLICY_MATCH_DATA,
    POLICY_NOTIFICATION,
    format_notify_data,
)
from garrison.responder.snmp_out import TrapDestination, TrapSender
from garrison.responder.templates import render

MAX_MESSAGE_OCTETS = 1024  # keeps the trap well under a datagram a manager reads whole


class SnmpTrapConfig(TrapDestination, ActionConfig):
    TEMPLATES: ClassVar[tuple[str, ...]] = ("message",)

    port: int = Field(ports.get("responder-snmp").port, ge=1, le=65535)
    message: str = Field(
        "Garrison {policy}: response {response_id} for {address} ({phase}) {reason}",
        max_length=4096,
        description="PolicyMatchData text; template fields such as {address}",
    )


def host_fields(context: ActionContext) -> list[tuple[str, str]]:
    """The NotifyData fields of this action (empty ones are left out when formatted)."""
    return [
        ("IP", context.address),
        ("MAC", context.mac),
        ("USER", context.user),
        ("POLICY", context.policy),
        ("RESPONSE", str(context.response_id)),
        ("PHASE", context.phase),
        ("TRIGGER", context.trigger),
    ]


@register
class SnmpTrapAction(ActionType[SnmpTrapConfig]):
    kind = "snmp-trap"
    title = "Send an SNMP trap about the host to a remote manager (v2c or v3)"
    config_type = SnmpTrapConfig

    def __init__(self, config: SnmpTrapConfig, services: ActionServices) -> None:
        super().__init__(config, services)
        self._sender = TrapSender()
        self._target = config.target()

    async def run(self, context: ActionContext) -> ActionResult:
        message = render(self.config.message, context.values()).strip()
        encoded = message.encode("utf-8")
        if len(encoded) > MAX_MESSAGE_OCTETS:
            # Cut on a character boundary, so the manager never sees half a character.
            message = encoded[:MAX_MESSAGE_OCTETS].decode("utf-8", "ignore")
        notify_id = notify_id_value(context)
        varbinds = [
            (NOTIFY_ID, notify_id),
            (NOTIFY_DATA, format_notify_data(host_fields(context))),
            (POLICY_MATCH_DATA, message),
        ]
        await self._sender.send(self._target, POLICY_NOTIFICATION, varbinds)
        kind = "inform (acknowledged)" if self._target.inform else "trap"
        return ActionResult(
            detail=f"SNMP {kind} tptSmsPolicyNotification sent to {self._target.where}",
            data={"notify_id": str(notify_id), "target": self._target.where},
        )

    async def close(self) -> None:
        self._sender.close()
