"""`garrison api`: the remote command line against a running server's client API port."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from garrison.cli.main import app
from garrison.tls import ensure_self_signed
from tests.support import RunningServer

runner = CliRunner()


def call(server: RunningServer, *args: str, key: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(
        app,
        [
            "api",
            *args,
            "--server",
            server.url("client-api"),
            "--ca-file",
            str(server.services.settings.certificate_path),
        ],
        env={"GARRISON_API_KEY": key or server.api_key, "GARRISON_DATA_DIR": "/nonexistent"},
    )
    return result.exit_code, result.stdout, result.stderr


def test_get_users_over_the_client_api_port_with_a_verified_certificate(
    server: RunningServer,
) -> None:
    code, out, _ = call(server, "GET", "/api/v1/users")
    assert code == 0
    assert json.loads(out)[0]["username"] == "admin"


def test_post_with_a_json_body_creates_a_user(server: RunningServer) -> None:
    body = json.dumps({"username": "remote1", "password": "remote passphrase", "role": "auditor"})
    code, out, _ = call(server, "POST", "/api/v1/users", "--data", body)
    assert code == 0 and json.loads(out)["role"] == "auditor"
    with server.admin() as api:
        assert "remote1" in [u["username"] for u in api.get("/api/v1/users").json()]


def test_errors_are_one_line_with_the_status(server: RunningServer) -> None:
    code, _, err = call(server, "GET", "/api/v1/users", key="gar_wrong")
    assert code == 1
    assert err.strip() == "error: 401: unknown API key"
    code, _, err = call(server, "GET", "/api/v1/users/999999")
    assert code == 1 and "404" in err


def test_a_wrong_certificate_is_refused(server: RunningServer, tmp_path: Path) -> None:
    other = tmp_path / "other.crt"
    ensure_self_signed(other, tmp_path / "other.key", hostnames=["localhost"], ips=["127.0.0.1"])
    result = runner.invoke(
        app,
        [
            "api",
            "GET",
            "/api/v1/users",
            "--server",
            server.url("client-api"),
            "--ca-file",
            str(other),
        ],
        env={"GARRISON_API_KEY": server.api_key},
    )
    assert result.exit_code == 1
    assert "CERTIFICATE_VERIFY_FAILED" in result.stderr
