"""The MIB objects the poller reads, all numeric (no MIB files needed), and what they mean.

Standard MIBs first, so any SNMP agent (net-snmp's snmpd on a Linux host) is a valid
device; the TippingPoint high-availability objects are read when present.
"""

from __future__ import annotations

# SNMPv2-MIB system group.
SYS_DESCR = "1.3.6.1.2.1.1.1.0"
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"  # TimeTicks, hundredths of a second
SYS_NAME = "1.3.6.1.2.1.1.5.0"

# ENTITY-MIB, the first physical entity (the chassis on most devices).
ENT_SOFTWARE_REV = "1.3.6.1.2.1.47.1.1.1.1.10.1"
ENT_SERIAL = "1.3.6.1.2.1.47.1.1.1.1.11.1"
ENT_MODEL = "1.3.6.1.2.1.47.1.1.1.1.13.1"

# TPT-HIGH-AVAIL-MIB (1.3.6.1.4.1.10734.3.3.2.6): transparent HA.
TRHA_STATE = "1.3.6.1.4.1.10734.3.3.2.6.7.0"  # ConnectionState
TRHA_ENABLED = "1.3.6.1.4.1.10734.3.3.2.6.8.0"  # EnabledOrNot: disabled 0, enabled 1
TRHA_PARTNER = "1.3.6.1.4.1.10734.3.3.2.6.9.0"
TRHA_STATES = {0: "not-connected", 1: "unresponsive", 2: "connected"}

# UCD-SNMP-MIB raw CPU tick counters: the CPU load of an agent whose HOST-RESOURCES
# average is not there yet (net-snmp fills hrProcessorLoad only after a minute of uptime).
CPU_RAW_USER = "1.3.6.1.4.1.2021.11.50.0"
CPU_RAW_NICE = "1.3.6.1.4.1.2021.11.51.0"
CPU_RAW_SYSTEM = "1.3.6.1.4.1.2021.11.52.0"
CPU_RAW_IDLE = "1.3.6.1.4.1.2021.11.53.0"
CPU_RAW_WAIT = "1.3.6.1.4.1.2021.11.54.0"
CPU_RAW = (CPU_RAW_USER, CPU_RAW_NICE, CPU_RAW_SYSTEM, CPU_RAW_IDLE, CPU_RAW_WAIT)

# Everything read with the one GET that opens each poll.
SCALARS = (
    SYS_DESCR,
    SYS_OBJECT_ID,
    SYS_UPTIME,
    SYS_NAME,
    ENT_SOFTWARE_REV,
    ENT_SERIAL,
    ENT_MODEL,
    TRHA_STATE,
    TRHA_ENABLED,
    TRHA_PARTNER,
    *CPU_RAW,
)

# Table columns, walked together with GETBULK.
HR_PROCESSOR_LOAD = "1.3.6.1.2.1.25.3.3.1.2"  # percent, per CPU, last minute
HR_STORAGE_TYPE = "1.3.6.1.2.1.25.2.3.1.2"
HR_STORAGE_UNITS = "1.3.6.1.2.1.25.2.3.1.4"  # bytes per allocation unit
HR_STORAGE_SIZE = "1.3.6.1.2.1.25.2.3.1.5"
HR_STORAGE_USED = "1.3.6.1.2.1.25.2.3.1.6"
HR_STORAGE_RAM = "1.3.6.1.2.1.25.2.1.2"  # hrStorageType of physical memory
IF_ADMIN_STATUS = "1.3.6.1.2.1.2.2.1.7"  # up 1, down 2, testing 3
IF_OPER_STATUS = "1.3.6.1.2.1.2.2.1.8"  # up 1, down 2, ..., dormant 5, lowerLayerDown 7

COLUMNS = (
    HR_PROCESSOR_LOAD,
    HR_STORAGE_TYPE,
    HR_STORAGE_UNITS,
    HR_STORAGE_SIZE,
    HR_STORAGE_USED,
    IF_ADMIN_STATUS,
    IF_OPER_STATUS,
)

IF_UP = 1
IF_DOWN_STATES = frozenset({2, 7})  # down, lowerLayerDown: no link where one is expected
