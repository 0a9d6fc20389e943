"""Settings: the file, the environment on top, and one clear line for anything wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from garrison.config import ConfigError, LowPorts, load_settings, render_default_config


def write(path: Path, text: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "garrison.toml").write_text(text)
    return path


def test_defaults_put_everything_in_the_data_directory(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path, environ={})
    assert settings.database_url == f"sqlite:///{tmp_path / 'garrison.db'}"
    assert settings.certificate_path == tmp_path / "tls" / "server.crt"
    assert settings.tls.profile == "modern"
    assert settings.config_file is None


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    write(tmp_path, '[tls]\nprofile = "fips"\n[ports]\nhttps = 8443\n')
    settings = load_settings(
        data_dir=tmp_path,
        environ={"GARRISON_TLS_PROFILE": "legacy", "GARRISON_PORTS_CLIENT_API": "19033"},
    )
    assert settings.tls.profile == "legacy"
    assert settings.port("https") == 8443
    assert settings.port("client-api") == 19033


def test_data_dir_comes_from_the_environment(tmp_path: Path) -> None:
    settings = load_settings(environ={"GARRISON_DATA_DIR": str(tmp_path / "d")})
    assert settings.data_dir == tmp_path / "d"


@pytest.mark.parametrize(("low_ports", "expected"), [(LowPorts.SHIFT, 10443), (LowPorts.BIND, 443)])
def test_low_ports_shift_by_ten_thousand(
    tmp_path: Path, low_ports: LowPorts, expected: int
) -> None:
    settings = load_settings(
        data_dir=tmp_path, environ={}, overrides={"server": {"low_ports": low_ports}}
    )
    assert settings.port("https") == expected
    assert settings.port("client-api") == 9033  # above 1024: never moved


def test_an_explicit_override_is_never_shifted(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path,
        environ={},
        overrides={"server": {"low_ports": "shift"}, "ports": {"https": 443}},
    )
    assert settings.port("https") == 443


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[tls]\nprofile = "strong"\n', "tls.profile: must be 'modern', 'legacy' or 'fips'"),
        ("[tls]\nprofle = 1\n", "tls.profle: unknown key"),
        ("[ports]\nnope = 1\n", "unknown port key 'nope'"),
        ("[ports]\nhttps = 70000\n", "must be 0..65535"),
        ('[auth]\nmax_failed_logins = "many"\n', "auth.max_failed_logins"),
        ("[server\nhost = 1", "not valid TOML"),
    ],
)
def test_a_bad_file_gets_one_line_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(data_dir=tmp_path, environ={})
    assert message in str(info.value)
    assert str(tmp_path / "garrison.toml") in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_environment_section_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="GARRISON_TSL_PROFILE: unknown section"):
        load_settings(data_dir=tmp_path, environ={"GARRISON_TSL_PROFILE": "modern"})


def test_a_named_config_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(config_file=tmp_path / "missing.toml", environ={})


def test_the_file_init_writes_loads_back_unchanged(tmp_path: Path) -> None:
    settings = load_settings(
        data_dir=tmp_path, environ={}, overrides={"tls": {"profile": "legacy"}}
    )
    write(tmp_path, render_default_config(settings))
    again = load_settings(data_dir=tmp_path, environ={})
    for section in ("server", "tls", "auth", "log", "events", "snmp_trap", "syslog", "poller"):
        assert getattr(again, section) == getattr(settings, section), section
