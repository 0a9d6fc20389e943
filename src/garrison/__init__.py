"""Garrison: an open-source Security Management System for fleets of network IPS devices."""

__version__ = "0.1.0"
