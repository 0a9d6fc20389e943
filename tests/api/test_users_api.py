"""/api/v1 over real TLS sockets: users, keys, audit, sessions, errors and metrics."""

from __future__ import annotations

import pytest

from garrison.web import csrf
from tests.support import ADMIN_PASSWORD, RunningServer

PASSWORD = "operator passphrase 1"


def test_users_listed_with_the_api_key_header(server: RunningServer) -> None:
    with server.admin() as api:
        response = api.get("/api/v1/users")
    assert response.status_code == 200
    assert [u["username"] for u in response.json()] == ["admin"]
    assert "password_hash" not in response.json()[0]


def test_the_client_api_port_serves_the_same_api(server: RunningServer) -> None:
    with server.admin("client-api") as api:
        assert api.get("/api/v1/users").json()[0]["username"] == "admin"
        assert api.get("/api/v1/version").json()["database"] == "sqlite"


@pytest.mark.parametrize(
    "headers", [{}, {"X-SMS-API-KEY": "gar_not-a-key"}, {"Authorization": "Bearer nope"}]
)
def test_no_answer_without_valid_credentials(
    server: RunningServer, headers: dict[str, str]
) -> None:
    with server.client() as api:
        for path in ("/api/v1/users", "/api/v1/audit", "/api/v1/version", "/metrics"):
            response = api.get(path, headers=headers)
            assert response.status_code == 401, path
            assert response.json()["error"]["code"] == "unauthorized"


def test_health_is_open_and_tells_nothing_more(server: RunningServer) -> None:
    with server.client() as api:
        assert api.get("/api/v1/health").json() == {"status": "ok"}


def test_create_user_then_log_in_with_a_session_cookie(server: RunningServer) -> None:
    with server.admin() as api:
        created = api.post(
            "/api/v1/users", json={"username": "op1", "password": PASSWORD, "role": "operator"}
        )
        assert created.status_code == 201, created.text
    with server.client() as console:
        login = console.post("/api/v1/session", json={"username": "op1", "password": PASSWORD})
        assert login.status_code == 200
        cookie = login.headers["set-cookie"].lower()
        assert "httponly" in cookie and "secure" in cookie and "samesite=strict" in cookie
        assert console.get("/api/v1/session").json()["username"] == "op1"
        # An operator may not list users.
        assert console.get("/api/v1/users").status_code == 403
        # A change made with the cookie alone is refused: it could be a forged request.
        assert console.delete("/api/v1/session").status_code == 403
        token = csrf.token_for(console.cookies["garrison_session"])
        assert console.delete("/api/v1/session", headers={csrf.HEADER: token}).status_code == 204
        assert console.get("/api/v1/session").status_code == 401


def test_bearer_token_works_like_the_header(server: RunningServer) -> None:
    with server.client() as api:
        response = api.get("/api/v1/users", headers={"Authorization": f"Bearer {server.api_key}"})
    assert response.status_code == 200


def test_api_key_lifecycle(server: RunningServer) -> None:
    with server.admin() as api:
        made = api.post("/api/v1/api-keys", json={"name": "soar"})
        assert made.status_code == 201
        secret, key_id = made.json()["secret"], made.json()["id"]
        assert secret not in api.get("/api/v1/api-keys").text  # never shown again
        with server.client(key=secret) as soar:
            assert soar.get("/api/v1/users").status_code == 200
            assert api.delete(f"/api/v1/api-keys/{key_id}").json()["active"] is False
            refused = soar.get("/api/v1/users")
    assert refused.status_code == 401
    assert "revoked" in refused.json()["error"]["message"]


def test_lockout_over_the_api_and_audit_trail(server: RunningServer) -> None:
    with server.client() as console:
        for _ in range(5):
            assert (
                console.post(
                    "/api/v1/session", json={"username": "admin", "password": "wrong guess"}
                ).status_code
                == 401
            )
        locked = console.post(
            "/api/v1/session", json={"username": "admin", "password": ADMIN_PASSWORD}
        )
    assert locked.status_code == 401 and "locked" in locked.json()["error"]["message"]
    with server.admin() as api:
        me = api.get("/api/v1/users/me").json()
        assert me["locked"] is True
        assert api.post(f"/api/v1/users/{me['id']}/unlock").json()["locked"] is False
        trail = api.get("/api/v1/audit", params={"action": "login"}).json()
    assert len(trail) == 6
    assert {e["outcome"] for e in trail} == {"failure"}
    assert trail[0]["client_address"] == "127.0.0.1"


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b"{not json", "body"),
        (b'{"username": "x", "password": "pppppppppppp", "role": "emperor"}', "body.role"),
        (b'{"username": "x", "password": "pppppppppppp", "role": "admin", "shoe": 1}', "body.shoe"),
        (b"[]", "body"),
    ],
)
def test_malformed_requests_get_422_naming_the_problem(
    server: RunningServer, body: bytes, where: str
) -> None:
    with server.admin() as api:
        response = api.post(
            "/api/v1/users", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] == "validation_error"
        assert any(d["location"].startswith(where) for d in error["details"]), error
        # ...and the server keeps serving.
        assert api.get("/api/v1/users").status_code == 200


def test_every_change_lands_in_the_audit_log(server: RunningServer) -> None:
    with server.admin() as api:
        user = api.post(
            "/api/v1/users", json={"username": "aud1", "password": PASSWORD, "role": "auditor"}
        ).json()
        api.patch(f"/api/v1/users/{user['id']}", json={"display_name": "Audrey"})
        api.delete(f"/api/v1/users/{user['id']}")
        trail = api.get("/api/v1/audit", params={"actor": "admin"}).json()
    actions = [(e["action"], e["target"]) for e in trail]
    assert actions[:3] == [
        ("user.delete", "user:aud1"),
        ("user.update", "user:aud1"),
        ("user.create", "user:aud1"),
    ]
    assert all(e["client_address"] == "127.0.0.1" for e in trail[:3])


def test_metrics_count_requests_and_auth_failures(server: RunningServer) -> None:
    with server.client() as anonymous:
        anonymous.get("/api/v1/users")
    with server.admin() as api:
        api.get("/api/v1/users")
        text = api.get("/metrics").text
    assert (
        'garrison_http_requests_total{handler="list_users",listener="https",method="GET",'
        'status="200"}'
    ) in text
    assert "garrison_auth_failures_total" in text
    assert "process_resident_memory_bytes" in text


def test_openapi_document_is_served_under_api_v1(server: RunningServer) -> None:
    with server.client() as api:
        spec = api.get("/api/v1/openapi.json").json()
    assert "/api/v1/users" in spec["paths"]
    assert "X-SMS-API-KEY" in str(spec["components"]["securitySchemes"])
