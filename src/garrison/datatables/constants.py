"""The SMS's reference tables, as constant rows, and the tables Garrison has no data for
yet (they answer with their columns and no rows).

Sources: the facts sheet's §1.2 (table columns, the event taxonomy) and the tptPolicyNotify
trap's AlertType bits. Where the facts sheet gives no rows (CATEGORY, PRODUCT_CATEGORY,
NOTICE_ACTION, THRESHOLD_UNITS) the rows are Garrison's own numbering of the SMS's names,
marked [INF] in docs/webservices/dbAccess.md.
"""

from __future__ import annotations

from garrison.datatables.model import INTEGER, LONG, STRING, Column, Table


def _id_name(name: str, rows: tuple[tuple[int, str], ...], description: str) -> Table:
    columns = (Column("ID", INTEGER), Column("NAME", STRING, 64))
    return Table(name, columns, key=("ID",), rows=rows, description=description)


SEVERITY = _id_name(
    "SEVERITY",
    ((1, "Low"), (2, "Minor"), (3, "Major"), (4, "Critical")),
    "Filter and event severities (ALERTS.SEVERITY, SIGNATURE.SEVERITY_ID).",
)

# tptPolicyNotifyAlertType: ALERTS.ALERT_TYPE_ID holds these bits, one or more.
ALERT_TYPE = _id_name(
    "ALERT_TYPE",
    (
        (0x1, "Alert"),
        (0x2, "Block"),
        (0x20, "P2P"),
        (0x40, "Invalid"),
        (0x80, "Threshold"),
        (0x100, "Management"),
    ),
    "The bits of ALERTS.ALERT_TYPE_ID.",
)

# The filter categories of a Digital Vaccine, numbered by Garrison [INF].
PRODUCT_CATEGORY_NAMES = (
    "Exploits",
    "Identity Theft",
    "IM",
    "Network Equipment",
    "P2P",
    "Reconnaissance",
    "Security Policy",
    "Spyware",
    "Streaming Media",
    "Traffic Normalization",
    "Virus",
    "Vulnerabilities",
    "Reputation",
)
PRODUCT_CATEGORY = _id_name(
    "PRODUCT_CATEGORY",
    tuple(enumerate(PRODUCT_CATEGORY_NAMES, start=1)),
    "Filter categories (SIGNATURE.PRODUCT_CATEGORY_ID).",
)

# The three groups a profile arranges the filter categories in [INF].
CATEGORY = _id_name(
    "CATEGORY",
    (
        (1, "Application Protection"),
        (2, "Infrastructure Protection"),
        (3, "Performance Protection"),
    ),
    "Profile category groups.",
)

# tptPolicyNotifyAlertAction [INF: the SMS's own numbering is not documented].
NOTICE_ACTION = _id_name(
    "NOTICE_ACTION",
    ((1, "Deny"), (2, "Allow"), (3, "Rate Limit")),
    "What the device did with the traffic.",
)

THRESHOLD_UNITS = _id_name(
    "THRESHOLD_UNITS",
    ((1, "Packets per second"), (2, "Kilobytes per second"), (3, "Connections per second")),
    "Units of traffic-threshold filters.",
)

# -- the event taxonomy: TAXONOMY_ID = major << 24 | minor << 16 | protocol << 8 | platform

TAXONOMY_MAJORS = (
    (1, "Vulnerability"),
    (2, "Malicious Code"),
    (3, "DDoS"),
    (4, "Security Policy"),
    (5, "Reconnaissance/Suspicious Access"),
    (6, "Application/Protocol Anomaly"),
    (7, "Traffic Thresholds"),
    (8, "IP Filters"),
)
TAXONOMY_MINORS: tuple[tuple[int, int, str], ...] = (
    (1, 1, "Buffer/Heap Overflow"),
    (2, 1, "Denial of Service"),
    (3, 1, "Configuration Error"),
    (4, 1, "Race Condition"),
    (5, 1, "Invalid Input"),
    (6, 1, "Access Validation"),
    (255, 1, "Other"),
    (1, 2, "Worm"),
    (2, 2, "Virus"),
    (3, 2, "Trojan/Backdoor"),
    (4, 2, "IRC Botnet"),
    (5, 2, "Phishing"),
    (1, 3, "SYN Flood"),
    (2, 3, "Other Flood"),
    (3, 3, "Hammer"),
    (1, 4, "P2P"),
    (2, 4, "Chat/IM"),
    (3, 4, "Streaming Media"),
    (4, 4, "Email Attachments"),
    (5, 4, "Forbidden Application"),
    (6, 4, "Authentication Failure"),
    (7, 4, "Spyware"),
    (1, 5, "Port Scan"),
    (2, 5, "Suspicious Application Access"),
    (3, 5, "Suspicious Service Request"),
    (4, 5, "Host Scan"),
    (1, 6, "Protocol Anomaly"),
    (2, 6, "Evasion"),
    (3, 6, "Application Anomaly"),
    (1, 7, "Traffic Threshold"),
    (2, 7, "Application Threshold"),
    (1, 8, "Deny"),
    (2, 8, "Accept"),
)
TAXONOMY_PROTOCOLS = (
    (7, "dns"),
    (9, "ftp"),
    (11, "http"),
    (12, "icmp"),
    (35, "smb"),
    (36, "smtp"),
    (37, "snmp"),
    (39, "ssh"),
    (40, "ssl/tls"),
    (42, "tcp"),
    (45, "udp"),
    (50, "ip"),
    (83, "sip"),
    *((number, "p2p") for number in range(150, 159)),
    *((number, "scada") for number in range(190, 200)),
    (254, "multiple protocols"),
    (255, "other"),
)
TAXONOMY_PLATFORMS = (
    (1, "Windows client"),
    (2, "Mac client"),
    (3, "Unix client"),
    (4, "Novell client"),
    (75, "Windows server"),
    (76, "Mac server"),
    (77, "Unix server"),
    (78, "Novell server"),
    (150, "Network device"),
    (252, "Multi-platform client"),
    (253, "Multi-platform server"),
    (254, "Other client"),
    (255, "Other server"),
)

TAXONOMY_MAJOR = Table(
    "TAXONOMY_MAJOR",
    (Column("ID", INTEGER), Column("NAME", STRING, 64), Column("DESCRIPTION", STRING, 255)),
    key=("ID",),
    rows=tuple((number, name, name) for number, name in TAXONOMY_MAJORS),
    description="Taxonomy major classes: TAXONOMY_ID >> 24.",
)
TAXONOMY_MINOR = Table(
    "TAXONOMY_MINOR",
    (Column("ID", INTEGER), Column("MAJOR_ID", INTEGER), Column("DESCRIPTION", STRING, 255)),
    key=("MAJOR_ID", "ID"),
    rows=TAXONOMY_MINORS,
    description="Taxonomy minor classes within a major: (TAXONOMY_ID >> 16) & 255.",
)
TAXONOMY_PROTOCOL = Table(
    "TAXONOMY_PROTOCOL",
    (Column("ID", INTEGER), Column("DESCRIPTION", STRING, 255)),
    key=("ID",),
    rows=TAXONOMY_PROTOCOLS,
    description="Taxonomy protocols: (TAXONOMY_ID >> 8) & 255.",
)
TAXONOMY_PLATFORM = Table(
    "TAXONOMY_PLATFORM",
    (Column("ID", INTEGER), Column("DESCRIPTION", STRING, 255)),
    key=("ID",),
    rows=TAXONOMY_PLATFORMS,
    description="Taxonomy platforms: TAXONOMY_ID & 255.",
)

# -- tables Garrison keeps no data for yet: their columns, no rows ---------------------------

DDOS_STATS = Table(
    "DDOS_STATS",
    (
        Column("POLICY_ID", STRING, 36),
        Column("STAT_TIME", LONG),
        Column("REJECT_SYNS", LONG),
        Column("PROXIED_CXNS", LONG),
        Column("CPS_CXNS", LONG),
        Column("BLOCKED_CPS_CXNS", LONG),
        Column("CFLOOD_CXNS", LONG),
        Column("BLOCKED_CFLOOD_CXNS", LONG),
    ),
    key=("POLICY_ID", "STAT_TIME"),
    time_column="STAT_TIME",
    description="DDoS filter statistics (none collected yet).",
)
RATELIMIT_STATS = Table(
    "RATELIMIT_STATS",
    (
        Column("ACTIONSET_ID", STRING, 36),
        Column("STAT_TIME", LONG),
        Column("DEVICE_ID", STRING, 36),
        Column("RATE", INTEGER),
        Column("VALUE", LONG),
    ),
    key=("ACTIONSET_ID", "STAT_TIME", "DEVICE_ID"),
    time_column="STAT_TIME",
    description="Rate-limit action set statistics, rate in kbps, value in bytes (none yet).",
)
POLICY = Table(
    "POLICY",
    (
        Column("ID", STRING, 36),
        Column("PROFILE_ID", STRING, 36),
        Column("SIGNATURE_ID", STRING, 36),
        Column("ACTIONSET_ID", STRING, 36),
        Column("DISPLAYNAME", STRING, 255),
        Column("MULTIPART_GROUP_ID", STRING, 36),
    ),
    key=("ID",),
    description="Filter settings per profile (with the filter-package issue).",
)
POLICY_GROUP_LOOKUP = Table(
    "POLICY_GROUP_LOOKUP",
    (Column("DEV_GROUP_ID", STRING, 36), Column("SMS_GROUP_ID", STRING, 36)),
    key=("DEV_GROUP_ID",),
    description="Device-side to SMS-side policy group ids (with the filter-package issue).",
)
PROFILE_INSTALL_INVENTORY = Table(
    "PROFILE_INSTALL_INVENTORY",
    (
        Column("VIRTUAL_SEGMENT_ID", STRING, 36),
        Column("PROFILE_ID", STRING, 36),
        Column("PROFILE_VERSION", STRING, 32),
        Column("DISTRIBUTE_ID", STRING, 36),
        Column("COMPLETE_TIME", LONG),
    ),
    key=("VIRTUAL_SEGMENT_ID", "PROFILE_ID"),
    description="Profile distributions (with the filter-package issue).",
)
QUARANTINE_NETWORK_DEVICES = Table(
    "QUARANTINE_NETWORK_DEVICES",
    (Column("NAME", STRING, 64), Column("IP_ADDRESS", STRING, 45)),
    key=("NAME",),
    description="Network devices (switches) used for quarantine (none configured).",
)
TPT_PORT = Table(
    "TPT_PORT",
    (Column("ID", STRING, 36), Column("DISPLAY_NAME", STRING, 64)),
    key=("ID",),
    description="Device ports (not kept yet).",
)

CONSTANT_TABLES = (
    ALERT_TYPE,
    CATEGORY,
    DDOS_STATS,
    NOTICE_ACTION,
    POLICY,
    POLICY_GROUP_LOOKUP,
    PRODUCT_CATEGORY,
    PROFILE_INSTALL_INVENTORY,
    QUARANTINE_NETWORK_DEVICES,
    RATELIMIT_STATS,
    SEVERITY,
    TAXONOMY_MAJOR,
    TAXONOMY_MINOR,
    TAXONOMY_PLATFORM,
    TAXONOMY_PROTOCOL,
    THRESHOLD_UNITS,
    TPT_PORT,
)
