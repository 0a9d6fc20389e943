"""A pure, seeded attack generator: which filter fired, from where, at whom, and what was done.

The catalogue is illustrative (TippingPoint-style numbers, names and categories), not a real
Digital Vaccine. Sources, targets and filters follow Zipf-like laws, as real alert feeds do:
a few noisy scanners and a few popular servers account for most events.
"""

from __future__ import annotations

import bisect
import ipaddress
import random
from dataclasses import asdict, dataclass, field
from itertools import accumulate

SEVERITIES = ("Low", "Minor", "Major", "Critical")
ACTIONS = ("Block", "Permit", "Rate Limit")


@dataclass(frozen=True)
class Filter:
    number: int
    name: str  # "NNNN: PROTO: text", as the DV names filters
    category: str
    severity: str
    protocol: str  # tcp, udp, icmp, ip
    dst_port: int
    action: str  # the action its Recommended setting takes
    taxonomy: int

    @property
    def policy_uuid(self) -> str:
        return f"00000002-0002-0002-0002-{self.number:012d}"

    @property
    def signature_uuid(self) -> str:
        return f"00000001-0001-0001-0001-{self.number:012d}"


CATEGORY_CODES = {
    "Exploits": 1,
    "Vulnerabilities": 2,
    "Security Policy": 3,
    "Reconnaissance/Suspicious Access": 4,
    "Identity Theft/Phishing": 5,
    "Spyware": 6,
    "Virus": 7,
    "Network Equipment": 8,
    "Traffic Normalization": 9,
    "Peer to Peer": 10,
    "Reputation": 11,
}

PROTO_CODES = {"tcp": 6, "udp": 17, "icmp": 1, "ip": 0}

# number, name, category, severity, protocol, destination port, recommended action
_CATALOGUE = [
    (
        7610,
        "HTTP: Apache Struts OGNL Expression Injection",
        "Exploits",
        "Critical",
        "tcp",
        80,
        "Block",
    ),
    (13012, "SIP: SipVicious Brute Force SIP Tool", "Exploits", "Major", "udp", 5060, "Block"),
    (
        32391,
        "TCP: Netcore/Netis Router Backdoor Communication Attempt",
        "Vulnerabilities",
        "Critical",
        "udp",
        53413,
        "Block",
    ),
    (3593, "HTTP: SQL Injection (UNION SELECT)", "Exploits", "Major", "tcp", 80, "Block"),
    (4316, "HTTP: Directory Traversal in URI", "Exploits", "Major", "tcp", 80, "Block"),
    (
        12281,
        "HTTP: Cross-Site Scripting in Query String",
        "Vulnerabilities",
        "Minor",
        "tcp",
        80,
        "Block",
    ),
    (
        28763,
        "HTTP: Apache Log4j JNDI Lookup Remote Code Execution",
        "Exploits",
        "Critical",
        "tcp",
        8080,
        "Block",
    ),
    (
        29187,
        "SMB: Microsoft Windows SMBv1 EternalBlue Exploit",
        "Exploits",
        "Critical",
        "tcp",
        445,
        "Block",
    ),
    (2158, "SMB: Null Session SetUp", "Security Policy", "Low", "tcp", 445, "Permit"),
    (
        5272,
        "RDP: Microsoft Remote Desktop Login Brute Force",
        "Reconnaissance/Suspicious Access",
        "Major",
        "tcp",
        3389,
        "Rate Limit",
    ),
    (
        3888,
        "SSH: SSH Login Brute Force Attempt",
        "Reconnaissance/Suspicious Access",
        "Minor",
        "tcp",
        22,
        "Rate Limit",
    ),
    (7121, "SCAN: TCP Port Scan", "Reconnaissance/Suspicious Access", "Low", "tcp", 0, "Permit"),
    (7122, "SCAN: UDP Port Scan", "Reconnaissance/Suspicious Access", "Low", "udp", 0, "Permit"),
    (
        1002,
        "ICMP: Echo Request (Ping) Sweep",
        "Reconnaissance/Suspicious Access",
        "Low",
        "icmp",
        0,
        "Permit",
    ),
    (
        9876,
        "DNS: Excessively Long Hostname Query",
        "Traffic Normalization",
        "Minor",
        "udp",
        53,
        "Permit",
    ),
    (16740, "DNS: Query for Known Malware Domain", "Spyware", "Major", "udp", 53, "Block"),
    (
        23456,
        "HTTP: Mirai Botnet Telnet Credential Brute Force",
        "Virus",
        "Major",
        "tcp",
        23,
        "Block",
    ),
    (
        11475,
        "HTTP: Phishing Kit Login Page Access",
        "Identity Theft/Phishing",
        "Minor",
        "tcp",
        443,
        "Block",
    ),
    (
        8204,
        "TLS: OpenSSL Heartbeat Information Disclosure (Heartbleed)",
        "Vulnerabilities",
        "Critical",
        "tcp",
        443,
        "Block",
    ),
    (
        15398,
        "MS-SQL: Login Brute Force",
        "Reconnaissance/Suspicious Access",
        "Minor",
        "tcp",
        1433,
        "Rate Limit",
    ),
    (
        14211,
        "MySQL: Authentication Bypass Attempt",
        "Vulnerabilities",
        "Major",
        "tcp",
        3306,
        "Block",
    ),
    (6301, "SNMP: Default Community String Access", "Security Policy", "Low", "udp", 161, "Permit"),
    (
        9413,
        "TFTP: Cisco IOS Configuration File Download",
        "Network Equipment",
        "Minor",
        "udp",
        69,
        "Block",
    ),
    (18764, "P2P: BitTorrent Protocol Handshake", "Peer to Peer", "Low", "tcp", 6881, "Rate Limit"),
    (18801, "P2P: eDonkey/eMule Traffic", "Peer to Peer", "Low", "udp", 4672, "Rate Limit"),
    (
        26112,
        "HTTP: Cryptocurrency Miner Pool Communication",
        "Spyware",
        "Minor",
        "tcp",
        3333,
        "Block",
    ),
    (
        31790,
        "HTTP: Microsoft Exchange ProxyShell Exploit Attempt",
        "Exploits",
        "Critical",
        "tcp",
        443,
        "Block",
    ),
    (
        33445,
        "HTTP: WordPress XML-RPC Amplification Brute Force",
        "Exploits",
        "Minor",
        "tcp",
        80,
        "Block",
    ),
    (
        10045,
        "IP: Fragmented Packet Overlap (Teardrop)",
        "Traffic Normalization",
        "Minor",
        "ip",
        0,
        "Block",
    ),
    (40001, "Reputation: Known Malicious Source Address", "Reputation", "Major", "ip", 0, "Block"),
]


def _build_catalogue() -> tuple[Filter, ...]:
    out = []
    for number, text, category, severity, proto, port, action in _CATALOGUE:
        taxonomy = (CATEGORY_CODES[category] << 24) | (PROTO_CODES[proto] << 16) | (number & 0xFFFF)
        out.append(
            Filter(number, f"{number}: {text}", category, severity, proto, port, action, taxonomy)
        )
    return tuple(out)


CATALOGUE: tuple[Filter, ...] = _build_catalogue()
FILTERS_BY_NUMBER = {f.number: f for f in CATALOGUE}


@dataclass
class TrafficConfig:
    rate: float = 5.0  # events per second per device
    sources: tuple[str, ...] = ("198.51.100.0/24", "203.0.113.0/24", "45.155.204.0/22")
    targets: tuple[str, ...] = ("10.10.0.0/20",)
    zipf_s: float = 1.1  # skew of sources, targets and filters
    source_pool: int = 256
    target_pool: int = 64
    action_mix: dict[str, float] | None = None  # overrides recommended actions when given
    severity_weights: dict[str, float] = field(
        default_factory=lambda: {"Low": 1.0, "Minor": 1.0, "Major": 1.0, "Critical": 1.0}
    )
    # Share of events whose action set traces packets ("Block + Notify + Trace"); the
    # device keeps those events' packet traces (ipsim.traces).
    trace_fraction: float = 0.1


@dataclass
class ProfilePolicy:
    """What the applied profile says about actions: per filter number, then per category."""

    name: str = "Default Security Profile"
    filters: dict[int, str] = field(default_factory=dict)  # number -> action or "Disabled"
    categories: dict[str, str] = field(default_factory=dict)

    def action_for(self, flt: Filter, drawn: str) -> str | None:
        chosen = self.filters.get(flt.number) or self.categories.get(flt.category) or drawn
        return None if chosen == "Disabled" else chosen


@dataclass
class AttackEvent:
    """One IPS event (what tptPolicyNotify and a CEF line both carry)."""

    seq: int
    time_ns: int
    filter_number: int
    filter_name: str
    category: str
    severity: str
    protocol: str
    action: str
    src_ip: str
    src_port: int
    dst_ip: str
    dst_port: int
    hit_count: int
    aggregation_minutes: int
    vlan: int
    segment: int  # 1-based physical segment
    in_port: str  # e.g. "1A"
    out_port: str
    profile: str
    policy_uuid: str
    signature_uuid: str
    taxonomy: int
    message_params: str
    packet_trace: bool = False  # the device keeps this event's packets (ipsim.traces)

    def to_dict(self) -> dict:
        return {"type": "policy", **asdict(self)}


class Zipf:
    """Pick items with probability proportional to 1/rank**s."""

    def __init__(self, items: list, s: float, rng: random.Random) -> None:
        self.items = items
        self.cumulative = list(accumulate(1.0 / (rank**s) for rank in range(1, len(items) + 1)))
        self.rng = rng

    def pick(self):
        x = self.rng.random() * self.cumulative[-1]
        return self.items[bisect.bisect_right(self.cumulative, x)]


def sample_addresses(cidrs: tuple[str, ...], count: int, rng: random.Random) -> list[str]:
    networks = [ipaddress.ip_network(c, strict=False) for c in cidrs]
    total = sum(n.num_addresses for n in networks)
    chosen: dict[str, None] = {}
    attempts = 0
    while len(chosen) < min(count, total) and attempts < count * 20:
        attempts += 1
        net = rng.choices(networks, weights=[n.num_addresses for n in networks])[0]
        host = net[rng.randrange(net.num_addresses)] if net.num_addresses > 1 else net[0]
        if net.num_addresses > 2 and host in (net.network_address, net.broadcast_address):
            continue
        chosen[str(host)] = None
    return list(chosen)


class AttackGenerator:
    """Deterministic for a seed: the same seed and calls give the same events."""

    def __init__(self, config: TrafficConfig, *, seed: int, segments: int = 1) -> None:
        self.config = config
        self.rng = random.Random(seed)
        self.segments = max(1, segments)
        self.seq = 0
        self.sources = Zipf(
            sample_addresses(config.sources, config.source_pool, self.rng), config.zipf_s, self.rng
        )
        self.targets = Zipf(
            sample_addresses(config.targets, config.target_pool, self.rng), config.zipf_s, self.rng
        )
        ranked = list(CATALOGUE)
        self.rng.shuffle(ranked)  # each device has its own "noisiest" filters
        weights = [config.severity_weights.get(f.severity, 1.0) for f in ranked]
        ranked = [f for f, w in zip(ranked, weights, strict=True) if w > 0]
        self.filters = Zipf(ranked, config.zipf_s * 0.8, self.rng)
        self._severity_weights = config.severity_weights
        # A stream of its own, so turning traces on or off leaves the events unchanged.
        self._trace_rng = random.Random(f"{seed}:trace")

    def interval(self) -> float:
        """Seconds to the next event: exponential gaps (Poisson arrivals) at the configured rate."""
        return self.rng.expovariate(self.config.rate) if self.config.rate > 0 else 3600.0

    def _draw_action(self, flt: Filter) -> str:
        mix = self.config.action_mix
        if not mix:
            return flt.action
        actions = list(mix)
        return self.rng.choices(actions, weights=[mix[a] for a in actions])[0]

    def next_event(self, now_ns: int, profile: ProfilePolicy | None = None) -> AttackEvent | None:
        """The next event, or None when the profile disables the filter that fired."""
        profile = profile or ProfilePolicy()
        for _ in range(8):  # resample a few times if the severity weights rejected it
            flt = self.filters.pick()
            w = self._severity_weights.get(flt.severity, 1.0)
            if w >= 1.0 or self.rng.random() < w:
                break
        action = profile.action_for(flt, self._draw_action(flt))
        if action is None:
            return None
        self.seq += 1
        segment = self.rng.randrange(1, self.segments + 1)
        inbound = self.rng.random() < 0.8  # most attacks come from outside (port A side)
        in_port, out_port = (
            (f"{segment}A", f"{segment}B") if inbound else (f"{segment}B", f"{segment}A")
        )
        src = self.sources.pick()
        dst = self.targets.pick()
        if not inbound:
            src, dst = dst, src
        scan = flt.dst_port == 0 and flt.protocol in ("tcp", "udp")
        dst_port = self.rng.randrange(1, 65536) if scan else flt.dst_port
        src_port = 0 if flt.protocol in ("icmp", "ip") else self.rng.randrange(1024, 65536)
        aggregated = self.rng.random() < 0.15
        hits = 1 + int(self.rng.expovariate(0.2)) if aggregated else 1
        if flt.category == "Reputation":
            params = src
        elif scan:
            params = f"{hits * self.rng.randrange(20, 400)} ports"
        else:
            params = ""
        return AttackEvent(
            seq=self.seq,
            time_ns=now_ns,
            filter_number=flt.number,
            filter_name=flt.name,
            category=flt.category,
            severity=flt.severity,
            protocol=flt.protocol,
            action=action,
            src_ip=src,
            src_port=src_port,
            dst_ip=dst,
            dst_port=dst_port if flt.protocol in ("tcp", "udp") else 0,
            hit_count=hits,
            aggregation_minutes=self.rng.choice((1, 5)) if aggregated else 0,
            vlan=self.rng.choice((0, 0, 0, 100, 200)),
            segment=segment,
            in_port=in_port,
            out_port=out_port,
            profile=profile.name,
            policy_uuid=flt.policy_uuid,
            signature_uuid=flt.signature_uuid,
            taxonomy=flt.taxonomy,
            message_params=params,
            packet_trace=self._trace_rng.random() < self.config.trace_fraction,
        )
