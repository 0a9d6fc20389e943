"""MIB values to health and state, device settings rules, the address directory and the
rate-limited log: all pure."""

from __future__ import annotations

import pytest

from garrison.devices import mib
from garrison.devices.directory import DeviceDirectory
from garrison.devices.health import CpuTicks, DecodeError, Thresholds, assess, summarize
from garrison.devices.model import DeviceState
from garrison.devices.validate import check_device, normalize_address
from garrison.errors import Invalid

RAM, DISK = mib.HR_STORAGE_RAM, "1.3.6.1.2.1.25.2.1.4"
SCALARS = {
    mib.SYS_DESCR: "TippingPoint IPS",
    mib.SYS_OBJECT_ID: "1.3.6.1.4.1.10734.1.3.47",
    mib.SYS_UPTIME: 123456,
    mib.ENT_MODEL: "440T",
    mib.ENT_SERIAL: "X123",
}
COLUMNS = {
    mib.HR_PROCESSOR_LOAD: {"1": 10, "2": 30},
    mib.HR_STORAGE_TYPE: {"1": RAM, "31": DISK},
    mib.HR_STORAGE_SIZE: {"1": 1000, "31": 100},
    mib.HR_STORAGE_USED: {"1": 250, "31": 99},  # a full disk is not memory
    mib.IF_ADMIN_STATUS: {"1": 1, "2": 1, "3": 2},
    mib.IF_OPER_STATUS: {"1": 1, "2": 1, "3": 2},  # 3 is admin-down: not counted
}


def test_a_healthy_answer_is_summarized_and_reachable() -> None:
    health = summarize(SCALARS, COLUMNS)
    assert health.cpu_percent == 20.0  # the average over CPUs
    assert health.memory_percent == 25.0
    assert health.uptime_seconds == 1234
    assert (health.if_up, health.if_down) == (2, 0)
    assert health.trha_state == ""
    assert health.identity["model"] == "440T" and health.identity["serial"] == "X123"
    assert assess(health, Thresholds()) == (DeviceState.REACHABLE, "")


def test_thresholds_links_and_trha_each_degrade() -> None:
    columns = {**COLUMNS, mib.IF_OPER_STATUS: {"1": 1, "2": 7, "3": 2}}
    scalars = {**SCALARS, mib.TRHA_ENABLED: 1, mib.TRHA_STATE: 1}
    state, reason = assess(summarize(scalars, columns), Thresholds(cpu_percent=20))
    assert state is DeviceState.DEGRADED
    assert "CPU 20% (threshold 20%)" in reason
    assert "1 interface(s) up but without link" in reason
    assert "transparent HA partner unresponsive" in reason
    lenient = Thresholds(cpu_percent=100, interfaces=False)
    connected = {**SCALARS, mib.TRHA_ENABLED: 1, mib.TRHA_STATE: 2}
    assert assess(summarize(connected, columns), lenient)[0] is DeviceState.REACHABLE


def test_trha_disabled_or_absent_says_nothing() -> None:
    disabled = {**SCALARS, mib.TRHA_ENABLED: 0, mib.TRHA_STATE: 0}
    assert summarize(disabled, COLUMNS).trha_state == ""
    assert summarize(SCALARS, {}).trha_state == ""


def test_a_bare_agent_gives_what_it_has() -> None:
    health = summarize({mib.SYS_UPTIME: 100}, {})
    assert health.cpu_percent is None and health.memory_percent is None
    assert health.if_up is None and health.if_down is None
    assert assess(health, Thresholds(cpu_percent=0, memory_percent=0))[0] is DeviceState.REACHABLE


def test_cpu_from_raw_counters_needs_two_polls() -> None:
    def raw(user: int, idle: int) -> dict[str, int]:
        return {
            mib.CPU_RAW_USER: user,
            mib.CPU_RAW_NICE: 0,
            mib.CPU_RAW_SYSTEM: 0,
            mib.CPU_RAW_IDLE: idle,
            mib.CPU_RAW_WAIT: 0,
        }

    first = summarize(raw(100, 900), {})
    assert first.cpu_percent is None and first.cpu_ticks == CpuTicks(busy=100, total=1000)
    second = summarize(raw(130, 970), {}, first.cpu_ticks)
    assert second.cpu_percent == 30.0
    wrapped = summarize(raw(5, 5), {}, second.cpu_ticks)  # counters reset: no figure
    assert wrapped.cpu_percent is None


def test_values_of_the_wrong_type_are_a_decode_error() -> None:
    with pytest.raises(DecodeError):
        summarize({mib.SYS_UPTIME: "yesterday"}, {})


@pytest.mark.parametrize(
    ("given", "expected"),
    [("10.0.0.1", "10.0.0.1"), ("::ffff:10.0.0.1", "10.0.0.1"), ("FE80::1", "fe80::1")],
)
def test_addresses_are_normalized(given: str, expected: str) -> None:
    assert normalize_address(given) == expected


@pytest.mark.parametrize("bad", ["", "host.example", "10.0.0.256", "0.0.0.0", "224.0.0.1", "::"])
def test_bad_addresses_are_refused(bad: str) -> None:
    with pytest.raises(Invalid):
        normalize_address(bad)


def test_v3_needs_a_user_and_keys_of_eight_characters() -> None:
    base = {"name": "ips1", "address": "10.0.0.1", "snmp_version": "3"}
    with pytest.raises(Invalid, match="user name"):
        check_device({**base, "snmp_auth_key": "12345678", "snmp_priv_key": "12345678"})
    with pytest.raises(Invalid, match="auth key must be 8-255"):
        check_device({**base, "snmp_user": "u", "snmp_auth_key": "short", "snmp_priv_key": "x" * 8})
    ok = check_device(
        {
            **base,
            "snmp_user": "u",
            "snmp_auth_key": "a" * 8,
            "snmp_priv_key": "p" * 8,
            "snmp_community": "left over",
        }
    )
    assert ok["snmp_community"] == ""  # the other version's secret does not linger
    assert ok["snmp_auth_protocol"] == "SHA-256" and ok["snmp_priv_protocol"] == "AES"


def test_v2c_needs_a_community_and_text_has_no_control_characters() -> None:
    with pytest.raises(Invalid, match="community"):
        check_device({"name": "ips1", "address": "10.0.0.1"})
    with pytest.raises(Invalid, match="control"):
        check_device(
            {"name": "ips1", "address": "10.0.0.1", "snmp_community": "c", "location": "a\x00b"}
        )


def test_directory_finds_any_spelling_and_the_first_device_wins() -> None:
    directory = DeviceDirectory()
    directory.load([("10.0.0.1", 3), ("fe80::1", 4), ("10.0.0.1", 7)])
    assert directory("10.0.0.1") == 3
    assert directory.lookup("::ffff:10.0.0.1") == 3
    assert directory("FE80:0::1") == 4
    assert directory("10.0.0.2") is None and directory("not an address") is None
    assert len(directory) == 2
