"""The NMS trap action: switch-level quarantine through a network management system.

Garrison sends the SMS's own notifications (TPT-SMS-TRAP-MIB, see
``garrison.responder.nms_commands``): **tptSmsQuarantineRequest** when a response opens and
**tptSmsQuarantineRelease** when it closes, to an NMS that isolates the host at its switch
port (RADIUS reauthentication, a quarantine VLAN, or disabling the port). Each carries

* NotifyId (``.1.1``, Integer32): the response's notify id, the number the NMS quotes in
  its acknowledgement and in a tptSmsUnQuarantineRequest;
* NotifyData (``.1.2``, OctetString): ``NAME:VALUE`` lines separated by newlines
  (:func:`notify_data`): ``IP``, ``MAC``, ``USER``, ``POLICY``, ``ACTION`` (what the NMS
  should do at the switch), ``VLAN`` (the quarantine VLAN, when set) and
  ``DROP_PORT_LINK:yes`` (drop the link for a moment so the host renews its DHCP lease).

``operation`` picks the notification: ``request``, ``release``, or ``auto`` (the
default), which sends the request in the response's initial actions and the release in
its timeout actions, so the same settings serve both lists.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from garrison import ports
from garrison.responder.actions.base import (
    ActionConfig,
    ActionContext,
    ActionFailed,
    ActionResult,
    ActionServices,
    ActionType,
)
from garrison.responder.actions.registry import register
from garrison.responder.nms_commands import (
    MAX_NOTIFY_ID,
    NOTIFY_DATA,
    NOTIFY_ID,
    QUARANTINE_RELEASE,
    QUARANTINE_REQUEST,
    format_notify_data,
)
from garrison.responder.snmp_out import TrapDestination, TrapSender

SwitchAction = Literal["RADIUS Reauthentication", "VLAN isolation", "disable port"]
NAMES = {
    QUARANTINE_REQUEST: "tptSmsQuarantineRequest",
    QUARANTINE_RELEASE: "tptSmsQuarantineRelease",
}


class NmsTrapConfig(TrapDestination, ActionConfig):
    port: int = Field(ports.get("responder-nms").port, ge=1, le=65535)
    operation: Literal["auto", "request", "release"] = Field(
        "auto", description="auto: request in the initial phase, release in the timeout phase"
    )
    switch_action: SwitchAction = Field(
        "RADIUS Reauthentication", description="what the NMS does at the switch"
    )
    quarantine_vlan: int | None = Field(None, ge=1, le=4094, description="for VLAN isolation")
    drop_port_link: bool = Field(False, description="ask for a short link drop (DHCP renew)")


def notify_data(context: ActionContext, config: NmsTrapConfig) -> str:
    """The NotifyData of a quarantine request or release for this response."""
    fields = [
        ("IP", context.address),
        ("MAC", context.mac),
        ("USER", context.user),
        ("POLICY", context.policy),
        ("ACTION", config.switch_action),
    ]
    if config.quarantine_vlan is not None:
        fields.append(("VLAN", str(config.quarantine_vlan)))
    if config.drop_port_link:
        fields.append(("DROP_PORT_LINK", "yes"))
    return format_notify_data(fields)


def notify_id_value(context: ActionContext) -> int:
    """NotifyId is an Integer32; a notify id beyond it cannot be sent."""
    if not 0 <= context.notify_id <= MAX_NOTIFY_ID:
        raise ActionFailed(
            f"notify id {context.notify_id} does not fit NotifyId (0..{MAX_NOTIFY_ID})",
            retryable=False,
        )
    return context.notify_id


def trap_for(operation: str, phase: str) -> str:
    if operation == "request" or (operation == "auto" and phase == "initial"):
        return QUARANTINE_REQUEST
    if operation == "release" or (operation == "auto" and phase == "timeout"):
        return QUARANTINE_RELEASE
    raise ActionFailed(f"unknown response phase {phase!r}", retryable=False)


@register
class NmsTrapAction(ActionType[NmsTrapConfig]):
    kind = "nms-trap"
    title = "Ask an NMS to quarantine (and later release) the host at its switch port"
    config_type = NmsTrapConfig

    def __init__(self, config: NmsTrapConfig, services: ActionServices) -> None:
        super().__init__(config, services)
        self._sender = TrapSender()
        self._target = config.target()

    async def run(self, context: ActionContext) -> ActionResult:
        trap_oid = trap_for(self.config.operation, context.phase)
        notify_id = notify_id_value(context)
        varbinds = [
            (NOTIFY_ID, notify_id),
            (NOTIFY_DATA, notify_data(context, self.config)),
        ]
        await self._sender.send(self._target, trap_oid, varbinds)
        how = "inform (acknowledged)" if self._target.inform else "trap"
        return ActionResult(
            detail=f"{NAMES[trap_oid]} {how} for notify id {notify_id} "
            f"sent to {self._target.where}",
            data={"notify_id": str(notify_id), "target": self._target.where},
        )

    async def close(self) -> None:
        self._sender.close()
