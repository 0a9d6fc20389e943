"""Who a simulated device is: name, serial, model (real TippingPoint sysObjectIDs), versions."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

TIPPINGPOINT_ENTERPRISE = 10734
DEVICE_MODELS_ARC = (1, 3, 6, 1, 4, 1, TIPPINGPOINT_ENTERPRISE, 1, 3)


@dataclass(frozen=True)
class Model:
    name: str
    arc: int  # the last arc of sysObjectID under 1.3.6.1.4.1.10734.1.3
    segments: int  # physical segments; each has an A and a B port
    port_mbps: int
    family: str  # the filter "capability" family a DV targets

    @property
    def sys_object_id(self) -> tuple[int, ...]:
        return (*DEVICE_MODELS_ARC, self.arc)


# sysObjectIDs from the TippingPoint MIBs (spec/sms-facts.md section 3.2).
MODELS: dict[str, Model] = {
    m.name: m
    for m in (
        Model("1400N", 28, 4, 1000, "n-series"),
        Model("2500N", 29, 4, 1000, "n-series"),
        Model("5100N", 30, 4, 10000, "n-series"),
        Model("6100N", 34, 4, 10000, "n-series"),
        Model("7100NX", 35, 4, 10000, "nx-series"),
        Model("5200NX", 36, 4, 10000, "nx-series"),
        Model("2600NX", 44, 4, 10000, "nx-series"),
        Model("6200NX", 45, 8, 10000, "nx-series"),
        Model("7500NX", 46, 8, 40000, "nx-series"),
        Model("440T", 47, 2, 1000, "tx-series"),
        Model("2200T", 48, 4, 10000, "tx-series"),
        Model("vTPS", 49, 1, 1000, "vtps"),
        Model("vTPS-P", 50, 1, 10000, "vtps"),
    )
}
DEFAULT_MODEL_CYCLE = ("2600NX", "6200NX", "440T", "7500NX", "2200T", "vTPS")

TOS_VERSIONS = {"n-series": "3.9.6.5123", "nx-series": "5.5.4.6404", "tx-series": "5.5.4.6404"}
DEFAULT_TOS = "5.5.4.6404"


@dataclass(frozen=True)
class Identity:
    name: str
    serial: str
    model: Model
    tos_version: str
    location: str
    contact: str
    engine_id: bytes  # SNMP engine ID, also used as the authoritative engine of v3 traps

    @property
    def uuid(self) -> str:
        # A stable device UUID (the SMS's DEVICE.ID); derived so restarts keep it.
        h = hashlib.sha256(self.serial.encode()).hexdigest()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"

    @property
    def sys_descr(self) -> str:
        return f"TippingPoint {self.model.name} TOS {self.tos_version} (ipsim)"

    def segment_ports(self) -> list[str]:
        """Port names as the IPS labels them: 1A, 1B, 2A, 2B, ..."""
        return [f"{n}{side}" for n in range(1, self.model.segments + 1) for side in "AB"]


def engine_id_for(serial: str) -> bytes:
    """RFC 3411 engine ID: enterprise 10734 with the 'text' format (4) and the serial."""
    return (
        (0x80000000 | TIPPINGPOINT_ENTERPRISE).to_bytes(4, "big") + b"\x04" + serial.encode()[:27]
    )


def make_identity(
    index: int, *, prefix: str = "ips", model: str | None = None, seed: int = 1
) -> Identity:
    """The index-th device of a fleet: names and serials are stable for a given seed."""
    chosen = MODELS[model or DEFAULT_MODEL_CYCLE[index % len(DEFAULT_MODEL_CYCLE)]]
    token = hashlib.sha256(f"{seed}:{index}".encode()).hexdigest()[:8].upper()
    serial = f"X{chosen.arc:02d}{token}{index:04d}"
    return Identity(
        name=f"{prefix}-{index + 1:03d}",
        serial=serial,
        model=chosen,
        tos_version=TOS_VERSIONS.get(chosen.family, DEFAULT_TOS),
        location=f"Lab rack {index // 20 + 1}, unit {index % 20 + 1}",
        contact="secops@example.net",
        engine_id=engine_id_for(serial),
    )
