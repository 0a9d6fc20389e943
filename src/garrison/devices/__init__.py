"""Devices: the inventory, groups and SNMP health polling (the HTTPS management client
is still to come)."""
