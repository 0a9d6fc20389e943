"""Schemathesis against the live server: no 5xx, every answer matches the OpenAPI schema."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from garrison.auth import Principal
from tests.support import RunningServer, make_settings, start_server


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    # No poller: the fuzzer may register devices at any address, and Garrison must never
    # send traffic off this host in a test.
    settings = make_settings(tmp_path_factory.mktemp("fuzz") / "data", poller={"enabled": False})
    yield from start_server(settings)


@pytest.mark.timeout(900)
def test_no_server_errors_and_answers_match_the_schema(live: RunningServer) -> None:
    spec = httpx.get(f"{live.url()}/api/v1/openapi.json", verify=False).json()
    schema = schemathesis.openapi.from_dict(spec)
    session = requests.Session()
    # Verify against the server's own self-signed certificate (its SANs name 127.0.0.1).
    ca = str(live.services.settings.certificate_path)
    # "Poll now" would send SNMP to whatever address the fuzzer gave a device.
    operations = [
        op
        for op in (result.ok() for result in schema.get_all_operations())
        if not op.path.endswith("/poll")
    ]
    assert len(operations) >= 12  # every route of the spec is exercised

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def check(case: Any) -> None:
            # A fresh key per case: the fuzzer may well revoke the one it was given.
            key = live.services.auth.create_api_key(Principal.local_cli(), user_id=1, name="fuzz")
            # Rules no schema can state (a password must not contain the user name) are
            # answered 422 by design, so schema-valid data may be refused.
            case.call_and_validate(
                base_url=live.url(),
                session=session,
                headers={"X-SMS-API-KEY": key.secret},
                verify=ca,
                excluded_checks=[positive_data_acceptance],
            )

        check()
    session.close()
