"""The syslog collector: UDP, TCP and TLS receivers; RFC 3164, RFC 5424 and TippingPoint
CEF parsed into events on the bus. Parsing (framing, rfc3164, rfc5424, cef, normalize) is
pure and apart from the sockets (udp, tcp); receiver builds what `garrison serve` runs."""

from garrison.collectors.syslog.cef import CefRecord, parse_cef
from garrison.collectors.syslog.errors import REASONS, ParseError
from garrison.collectors.syslog.framing import FrameDecoder, FramingError
from garrison.collectors.syslog.message import SyslogMessage
from garrison.collectors.syslog.normalize import to_event
from garrison.collectors.syslog.parse import parse_syslog
from garrison.collectors.syslog.receiver import build_syslog_receivers
from garrison.collectors.syslog.tcp import SyslogTcpReceiver, SyslogTlsReceiver
from garrison.collectors.syslog.udp import SyslogUdpReceiver

__all__ = [
    "REASONS",
    "CefRecord",
    "FrameDecoder",
    "FramingError",
    "ParseError",
    "SyslogMessage",
    "SyslogTcpReceiver",
    "SyslogTlsReceiver",
    "SyslogUdpReceiver",
    "build_syslog_receivers",
    "parse_cef",
    "parse_syslog",
    "to_event",
]
