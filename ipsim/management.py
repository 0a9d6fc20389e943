"""The device's HTTPS JSON management API (Starlette), one app per device.

Endpoints (all under /api/v1, all need a bearer token or HTTP basic credentials):
  GET    /status                      identity, versions, uptime, load, profile, DV, TRHA
  POST   /profile                     apply a profile (JSON)
  POST   /filter-package              install a filter package (raw bytes; version, sha256 in query)
  GET    /quarantine                  list quarantined hosts
  POST   /quarantine                  quarantine a host (sends tptQuarantineNotify add)
  DELETE /quarantine/{ip}             release a host (sends tptQuarantineNotify remove)
  GET    /events?since=&limit=        the event log after a sequence number
  GET    /system-log?since=&limit=    the system log after a sequence number
  GET    /packet-traces?seq=1,2           retained packet traces as one pcap file (all without seq)
  GET    /packet-traces/index         which events the device keeps traces for (JSON)
  GET    /fallback                    the layer-2 fallback state
  PUT    /fallback                    enter or leave layer-2 fallback
  POST   /sim/trha                    emulator only: force a transparent-HA state
docs/device-protocol.md is the contract; keep the two in step.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import secrets
import time
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import ipsim
from ipsim import pcap
from ipsim.device import TRHA_NAMES, DeviceState
from ipsim.traffic import ACTIONS, CATALOGUE, ProfilePolicy

API = "/api/v1"
MAX_PACKAGE_BYTES = 256 * 1024 * 1024
MAX_EVENTS_PER_PAGE = 10_000
DEFAULT_EVENTS_PER_PAGE = 1_000
MAX_TRACE_SEQS = 10_000  # sequence numbers one packet-traces request may name
PROFILE_ACTIONS = (*ACTIONS, "Disabled")
CATEGORIES = sorted({f.category for f in CATALOGUE})


@dataclass(frozen=True)
class Credentials:
    token: str
    username: str
    password: str


def error(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    headers = (
        {"WWW-Authenticate": 'Bearer realm="ipsim", Basic realm="ipsim"'} if status == 401 else None
    )
    return JSONResponse(
        {"error": code, "message": message, **extra}, status_code=status, headers=headers
    )


def authorized(request: Request, creds: Credentials) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return secrets.compare_digest(value.strip().encode(), creds.token.encode())
    if scheme.lower() == "basic":
        try:
            user, _, password = (
                base64.b64decode(value.strip(), validate=True).decode().partition(":")
            )
        except (binascii.Error, UnicodeDecodeError):
            return False
        return secrets.compare_digest(
            user.encode(), creds.username.encode()
        ) & secrets.compare_digest(password.encode(), creds.password.encode())
    return False


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    value = int(raw)  # ValueError -> 400 below
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}")
    return value


def parse_seqs(values: list[str]) -> list[int]:
    """``seq=1,2&seq=3`` -> [1, 2, 3]; ValueError for anything but sequence numbers."""
    seqs = [part.strip() for value in values for part in value.split(",") if part.strip()]
    if len(seqs) > MAX_TRACE_SEQS:
        raise ValueError(f"at most {MAX_TRACE_SEQS} sequence numbers a request")
    if not all(part.isascii() and part.isdigit() for part in seqs):
        raise ValueError("seq takes sequence numbers (whole numbers), comma-separated")
    return [int(part) for part in seqs]


def fallback_body(state: DeviceState) -> dict:
    return {"l2fb": state.layer2_fallback, "changed_ns": state.layer2_fallback_changed_ns}


def status_body(state: DeviceState) -> dict:
    ident = state.identity
    used = state.memory_used_kb()
    return {
        "name": ident.name,
        "serial": ident.serial,
        "uuid": ident.uuid,
        "model": ident.model.name,
        "sys_object_id": ".".join(map(str, ident.model.sys_object_id)),
        "family": ident.model.family,
        "versions": {
            "tos": ident.tos_version,
            "filter_package": state.filter_package.version,
            "ipsim": ipsim.__version__,
        },
        "uptime_seconds": round(state.uptime(), 3),
        "boot_time": int(state.started_wall),
        "cpu_percent": state.cpu_load(),
        "memory": {
            "total_kb": state.memory_total_kb,
            "used_kb": used,
            "percent": round(100 * used / state.memory_total_kb, 1),
        },
        "segments": [
            {"name": f"Segment 1-{n}", "ports": [f"{n}A", f"{n}B"]}
            for n in range(1, ident.model.segments + 1)
        ],
        "profile": state.profile.to_dict(),
        "filter_package": state.filter_package.to_dict(),
        "trha": {
            "enabled": state.trha_enabled,
            "state": state.trha_state,
            "state_name": TRHA_NAMES[state.trha_state],
            "partner": state.ha_partner,
        },
        "events": {"last_seq": state.last_seq(), "retained": len(state.events)},
        "quarantine_count": len(state.quarantined),
        "snmp_engine_id": ident.engine_id.hex(),
        "time": time.time(),
    }


def parse_profile(body: Any) -> tuple[str, str, str | None, ProfilePolicy]:
    if not isinstance(body, dict):
        raise ValueError("body must be a JSON object")
    name, version = body.get("name"), body.get("version", "1.0")
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise ValueError("name must be a non-empty string of at most 255 characters")
    if not isinstance(version, str) or not version:
        raise ValueError("version must be a non-empty string")
    uuid = body.get("uuid")
    if uuid is not None and not isinstance(uuid, str):
        raise ValueError("uuid must be a string")
    filters: dict[int, str] = {}
    for key, action in (body.get("filters") or {}).items():
        if action not in PROFILE_ACTIONS:
            raise ValueError(f"filter {key}: action must be one of {list(PROFILE_ACTIONS)}")
        filters[int(key)] = action
    categories: dict[str, str] = {}
    for category, action in (body.get("categories") or {}).items():
        if category not in CATEGORIES:
            raise ValueError(f"unknown category {category!r}; known: {CATEGORIES}")
        if action not in PROFILE_ACTIONS:
            raise ValueError(f"category {category}: action must be one of {list(PROFILE_ACTIONS)}")
        categories[category] = action
    return name.strip(), version, uuid, ProfilePolicy(name.strip(), filters, categories)


def build_app(state: DeviceState, creds: Credentials) -> Starlette:
    async def status(request: Request) -> JSONResponse:
        return JSONResponse(status_body(state))

    async def apply_profile(request: Request) -> JSONResponse:
        try:
            name, version, uuid, policy = parse_profile(await request.json())
        except (ValueError, TypeError) as exc:
            return error(422, "invalid_profile", str(exc))
        applied = state.apply_profile(name, version, uuid, policy)
        return JSONResponse({"profile": applied.to_dict()})

    async def install_package(request: Request) -> JSONResponse:
        version = request.query_params.get("version", "")
        expected = request.query_params.get("sha256", "").lower()
        if not version or len(expected) != 64:
            return error(
                400,
                "bad_request",
                "query parameters version and sha256 (64 hex digits) are required",
            )
        declared = int(request.headers.get("content-length") or 0)
        if declared > MAX_PACKAGE_BYTES:
            return error(413, "too_large", f"packages are limited to {MAX_PACKAGE_BYTES} bytes")
        digest = hashlib.sha256()
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_PACKAGE_BYTES:
                return error(413, "too_large", f"packages are limited to {MAX_PACKAGE_BYTES} bytes")
            digest.update(chunk)
        actual = digest.hexdigest()
        if size == 0:
            return error(400, "bad_request", "the package is empty")
        if not secrets.compare_digest(actual, expected):
            return error(
                422,
                "sha256_mismatch",
                "package hash does not match",
                expected=expected,
                actual=actual,
            )
        package = state.install_filter_package(version, actual, size)
        return JSONResponse({"filter_package": package.to_dict()})

    async def quarantine_list(request: Request) -> JSONResponse:
        return JSONResponse({"hosts": [e.to_dict() for e in state.quarantined.values()]})

    async def quarantine_add(request: Request) -> JSONResponse:
        try:
            body = await request.json()
            ip = str(ipaddress.ip_address(body["ip"]))
            reason = str(body.get("reason", "Quarantined by management"))
            segment = str(body.get("segment", "1-1"))
        except (ValueError, TypeError, KeyError) as exc:
            return error(
                422, "invalid_host", f"body must be {{'ip': address, 'reason'?, 'segment'?}}: {exc}"
            )
        entry, created = state.quarantine_add(ip, reason, segment)
        return JSONResponse(
            {"host": entry.to_dict(), "created": created}, status_code=201 if created else 200
        )

    async def quarantine_remove(request: Request) -> JSONResponse:
        raw = request.path_params.get("ip") or request.query_params.get("ip", "")
        try:
            ip = str(ipaddress.ip_address(raw))
        except ValueError:
            return error(422, "invalid_host", f"not an IP address: {raw!r}")
        entry = state.quarantine_remove(ip)
        if entry is None:
            return error(404, "not_found", f"{ip} is not quarantined")
        return JSONResponse({"host": entry.to_dict(), "removed": True})

    async def events(request: Request) -> JSONResponse:
        try:
            since = _int_param(request, "since", 0, 0, 2**63)
            limit = _int_param(request, "limit", DEFAULT_EVENTS_PER_PAGE, 1, MAX_EVENTS_PER_PAGE)
        except ValueError as exc:
            return error(400, "bad_request", str(exc))
        page = state.events_since(since, limit)
        oldest = state.events[0].seq if state.events else state.last_seq() + 1
        return JSONResponse(
            {
                "events": [e.to_dict() for e in page],
                "since": since,
                "last_seq": state.last_seq(),
                "oldest_seq": oldest,
                "next_since": page[-1].seq if page else max(since, 0),
                "more": bool(page) and page[-1].seq < state.last_seq(),
                "truncated": since + 1 < oldest,  # events between since and oldest were dropped
            }
        )

    async def system_log(request: Request) -> JSONResponse:
        try:
            since = _int_param(request, "since", 0, 0, 2**63)
            limit = _int_param(request, "limit", DEFAULT_EVENTS_PER_PAGE, 1, MAX_EVENTS_PER_PAGE)
        except ValueError as exc:
            return error(400, "bad_request", str(exc))
        page = state.system_log_since(since, limit)
        return JSONResponse({"entries": [e.to_dict() for e in page], "last_seq": state.system_seq})

    async def packet_traces(request: Request) -> Response:
        values = request.query_params.getlist("seq")
        try:
            seqs = parse_seqs(values) if values else None
        except ValueError as exc:
            return error(400, "bad_request", str(exc))
        body, count = state.packet_traces(seqs)
        return Response(body, media_type=pcap.MEDIA_TYPE, headers={"X-Trace-Count": str(count)})

    async def packet_trace_index(request: Request) -> JSONResponse:
        traces = [
            {"seq": e.seq, "time_ns": e.time_ns, "filter_number": e.filter_number}
            for e in state.traces.all()
        ]
        return JSONResponse({"capacity": state.traces.capacity, "traces": traces})

    async def fallback(request: Request) -> JSONResponse:
        return JSONResponse(fallback_body(state))

    async def set_fallback(request: Request) -> JSONResponse:
        try:
            wanted = (await request.json())["l2fb"]
        except (ValueError, KeyError, TypeError):
            wanted = None
        if not isinstance(wanted, bool):
            return error(422, "invalid_fallback", 'body must be {"l2fb": true} or {"l2fb": false}')
        changed = state.set_layer2_fallback(wanted)
        return JSONResponse({**fallback_body(state), "changed": changed})

    async def sim_trha(request: Request) -> JSONResponse:
        try:
            body = await request.json()
            wanted = {v: k for k, v in TRHA_NAMES.items()}[body["state"]]
        except (ValueError, KeyError, TypeError):
            return error(422, "invalid_state", f"state must be one of {list(TRHA_NAMES.values())}")
        changed = state.set_trha(wanted)
        return JSONResponse({"state": TRHA_NAMES[state.trha_state], "changed": changed})

    routes = [
        Route(f"{API}/status", status, methods=["GET"]),
        Route(f"{API}/profile", apply_profile, methods=["POST"]),
        Route(f"{API}/filter-package", install_package, methods=["POST"]),
        Route(f"{API}/quarantine", quarantine_list, methods=["GET"]),
        Route(f"{API}/quarantine", quarantine_add, methods=["POST"]),
        Route(f"{API}/quarantine", quarantine_remove, methods=["DELETE"]),
        Route(f"{API}/quarantine/{{ip}}", quarantine_remove, methods=["DELETE"]),
        Route(f"{API}/events", events, methods=["GET"]),
        Route(f"{API}/system-log", system_log, methods=["GET"]),
        Route(f"{API}/packet-traces", packet_traces, methods=["GET"]),
        Route(f"{API}/packet-traces/index", packet_trace_index, methods=["GET"]),
        Route(f"{API}/fallback", fallback, methods=["GET"]),
        Route(f"{API}/fallback", set_fallback, methods=["PUT"]),
        Route(f"{API}/sim/trha", sim_trha, methods=["POST"]),
    ]
    return Starlette(routes=[guarded(route, creds) for route in routes])


def guarded(route: Route, creds: Credentials) -> Route:
    """The same route with its endpoint behind the credentials check."""
    endpoint = route.endpoint

    async def checked(request: Request) -> Response:
        if not authorized(request, creds):
            return error(
                401, "unauthorized", "send Authorization: Bearer <token> or HTTP basic credentials"
            )
        return await endpoint(request)

    return Route(
        route.path, checked, methods=sorted(route.methods - {"HEAD"}) if route.methods else None
    )
