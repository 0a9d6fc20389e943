"""Devices: the inventory, groups, SNMP health polling and the device management client."""
