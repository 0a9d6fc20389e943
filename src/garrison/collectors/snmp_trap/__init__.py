"""The SNMP trap collector: v1, v2c and v3 traps on UDP 8162/8163 into events.

``ber`` and ``messages`` decode (pure, the hot path), ``usm`` authenticates and decrypts
v3, ``tippingpoint`` maps traps to events (pure), ``receiver`` owns the sockets.
"""

from garrison.collectors.snmp_trap.ber import DecodeError
from garrison.collectors.snmp_trap.messages import TrapMessage, decode
from garrison.collectors.snmp_trap.receiver import TrapReceiver
from garrison.collectors.snmp_trap.tippingpoint import to_event

__all__ = ["DecodeError", "TrapMessage", "TrapReceiver", "decode", "to_event"]
