"""The email action against a real SMTP server that is not ours (aiosmtpd): STARTTLS with
a throwaway CA, AUTH, refused recipients and logins, servers that are not there; and the
message and settings checks without sockets."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest

from garrison.errors import Invalid
from garrison.responder.actions import registry
from garrison.responder.actions.base import ActionContext, ActionFailed, ActionServices
from garrison.responder.actions.email import (
    DEFAULT_BODY,
    DEFAULT_SUBJECT,
    EmailAction,
    EmailConfig,
    build_message,
)
from tests.collectors.syslog_peers import make_pki
from tests.events.samples import T0, alert, full_alert
from tests.responder.actions.mail_peers import (
    PASSWORD,
    USER,
    Recorder,
    exim_server,
    free_tcp_port,
    server_tls,
    smtp_server,
)
from tests.support import make_settings

pytestmark = pytest.mark.timeout(60)


def context(**changes: Any) -> ActionContext:
    values: dict[str, Any] = {
        "response_id": 42,
        "policy": "Block scanners",
        "address": "2001:db8::66",
        "phase": "initial",
        "trigger": "threshold",
        "opened_at": T0,
        "expires_at": T0 + timedelta(hours=1),
        "mac": "00:11:22:33:44:55",
        "user": "bob",
        "reason": "3 hits in 60 s",
        "events": (full_alert(), alert(2, src_ip="2001:db8::66", dst_ip="198.51.100.9")),
    }
    values.update(changes)
    return ActionContext(**values)


def action(tmp_path: Path, config: dict[str, Any], **smtp: Any) -> EmailAction:
    settings = make_settings(
        tmp_path / "data", smtp={"sender": "garrison@example.org", "timeout_seconds": 10, **smtp}
    )
    return EmailAction(EmailConfig.model_validate(config), ActionServices(settings=settings))


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    make_pki(tmp_path / "pki")
    return tmp_path / "pki"


@pytest.fixture
def recorder() -> Recorder:
    return Recorder(refuse={"nobody@example.net"})


@pytest.fixture
def tls_server(recorder: Recorder, pki: Path) -> Iterator[int]:
    with smtp_server(recorder, tls=server_tls(pki), auth=True) as port:
        yield port


async def test_mail_arrives_over_starttls_with_auth(
    tmp_path: Path, pki: Path, recorder: Recorder, tls_server: int
) -> None:
    mailer = action(
        tmp_path,
        {"to": ["soc@example.net", "oncall@example.net"], "cc": ["boss@example.net"]},
        host="127.0.0.1", port=tls_server, ca_file=str(pki / "ca.crt"),
        username=USER, password=PASSWORD,
    )  # fmt: skip
    result = await mailer.run(context())

    (mail,) = recorder.received
    assert mail.tls and mail.authenticated
    assert recorder.logins == [USER]
    assert mail.mail_from == "garrison@example.org"
    assert mail.rcpt_tos == ["soc@example.net", "oncall@example.net", "boss@example.net"]
    message = mail.message
    assert message["Subject"] == "[Garrison] Block scanners: 2001:db8::66 (initial, threshold)"
    assert message["To"] == "soc@example.net, oncall@example.net"
    assert message["Cc"] == "boss@example.net"
    assert message["From"] == "garrison@example.org"
    assert message["X-Garrison-Response"] == "42"
    assert message["Message-ID"].endswith("@example.org>")
    sent = parsedate_to_datetime(message["Date"])
    assert abs(sent - datetime.now(UTC)) < timedelta(minutes=1)
    body = message.get_content()
    assert 'policy "Block scanners" for 2001:db8::66' in body
    assert "Response:   42" in body and "MAC:        00:11:22:33:44:55" in body
    assert "Triggering events (2):" in body
    # One line per event: its device, filter and addresses.
    assert "edge-1 43756 43756: ISAKMP: Invalid Payload Length" in body
    assert "2001:db8:85a3::8a2e:370:7334 -> 198.51.100.7:4500" in body
    assert "filter 2 2001:db8::66 -> 198.51.100.9" in body
    assert result.data["message_id"] == message["Message-ID"]
    assert "soc@example.net" in result.detail and f"127.0.0.1:{tls_server}" in result.detail


async def test_templates_fill_subject_and_body(
    tmp_path: Path, pki: Path, recorder: Recorder, tls_server: int
) -> None:
    mailer = action(
        tmp_path,
        {
            "to": ["soc@example.net"],
            "subject": "Released {address}\n(policy {policy})",
            "body": "Response {response_id} closed at phase {phase}; user={user} device={device}",
        },
        host="127.0.0.1", port=tls_server, ca_file=str(pki / "ca.crt"),
    )  # fmt: skip
    await mailer.run(context(phase="timeout", address="10.1.2.3"))
    (mail,) = recorder.received
    assert mail.tls and not mail.authenticated  # no user set: no AUTH
    assert mail.message["Subject"] == "Released 10.1.2.3 (policy Block scanners)"
    assert mail.message.get_content().strip() == (
        "Response 42 closed at phase timeout; user=bob device=edge-1"
    )


async def test_action_server_override_wins(
    tmp_path: Path, pki: Path, recorder: Recorder, tls_server: int
) -> None:
    mailer = action(
        tmp_path,
        {"to": ["soc@example.net"], "server": "127.0.0.1", "port": tls_server},
        host="192.0.2.1", port=1, ca_file=str(pki / "ca.crt"),
    )  # fmt: skip
    await mailer.run(context())
    assert len(recorder.received) == 1


async def test_plain_server_without_starttls_gets_the_mail_in_auto_mode(
    tmp_path: Path, recorder: Recorder
) -> None:
    with smtp_server(recorder) as port:
        await action(tmp_path, {"to": ["soc@example.net"]}, host="127.0.0.1", port=port).run(
            context()
        )
    (mail,) = recorder.received
    assert not mail.tls


async def test_starttls_required_but_not_offered(tmp_path: Path, recorder: Recorder) -> None:
    with smtp_server(recorder) as port:
        mailer = action(
            tmp_path, {"to": ["soc@example.net"]}, host="127.0.0.1", port=port, starttls="require"
        )
        with pytest.raises(ActionFailed) as failed:
            await mailer.run(context())
    assert "does not offer STARTTLS" in failed.value.reason
    assert not failed.value.retryable
    assert recorder.received == []


async def test_password_never_goes_in_clear_text(tmp_path: Path, recorder: Recorder) -> None:
    """The server offers AUTH without TLS; the action refuses to log in anyway."""
    with smtp_server(recorder, auth=True, auth_require_tls=False) as port:
        mailer = action(
            tmp_path, {"to": ["soc@example.net"]},
            host="127.0.0.1", port=port, username=USER, password=PASSWORD,
        )  # fmt: skip
        with pytest.raises(ActionFailed) as failed:
            await mailer.run(context())
    assert "clear text" in failed.value.reason
    assert PASSWORD not in failed.value.reason
    assert not failed.value.retryable
    assert recorder.logins == [] and recorder.received == []


async def test_refused_login(
    tmp_path: Path, pki: Path, recorder: Recorder, tls_server: int
) -> None:
    mailer = action(
        tmp_path, {"to": ["soc@example.net"]},
        host="127.0.0.1", port=tls_server, ca_file=str(pki / "ca.crt"),
        username=USER, password="wrong",
    )  # fmt: skip
    with pytest.raises(ActionFailed) as failed:
        await mailer.run(context())
    assert "refused the login of user 'alice'" in failed.value.reason
    assert "535" in failed.value.reason
    assert "wrong" not in failed.value.reason
    assert not failed.value.retryable
    assert recorder.logins == [USER] and recorder.received == []


async def test_every_recipient_refused(
    tmp_path: Path, pki: Path, recorder: Recorder, tls_server: int
) -> None:
    mailer = action(
        tmp_path, {"to": ["nobody@example.net"]},
        host="127.0.0.1", port=tls_server, ca_file=str(pki / "ca.crt"),
    )  # fmt: skip
    with pytest.raises(ActionFailed) as failed:
        await mailer.run(context())
    assert "refused every recipient" in failed.value.reason
    assert "nobody@example.net: 550" in failed.value.reason
    assert not failed.value.retryable  # a 5xx answer: permanent
    assert recorder.received == []


async def test_some_recipients_refused_the_others_get_it(
    tmp_path: Path, pki: Path, recorder: Recorder, tls_server: int
) -> None:
    mailer = action(
        tmp_path, {"to": ["nobody@example.net", "soc@example.net"]},
        host="127.0.0.1", port=tls_server, ca_file=str(pki / "ca.crt"),
    )  # fmt: skip
    result = await mailer.run(context())
    (mail,) = recorder.received
    assert mail.rcpt_tos == ["soc@example.net"]
    assert "refused: nobody@example.net (550" in result.detail
    assert result.data["recipients"] == "soc@example.net"


async def test_untrusted_certificate_fails_clearly(
    tmp_path: Path, recorder: Recorder, tls_server: int
) -> None:
    """No ca_file: the system CAs do not know the test CA."""
    mailer = action(tmp_path, {"to": ["soc@example.net"]}, host="127.0.0.1", port=tls_server)
    with pytest.raises(ActionFailed) as failed:
        await mailer.run(context())
    assert "STARTTLS" in failed.value.reason and "certificate" in failed.value.reason.lower()
    assert not failed.value.retryable
    assert recorder.received == []


async def test_verify_off_sends_over_tls_anyway(
    tmp_path: Path, recorder: Recorder, tls_server: int
) -> None:
    mailer = action(
        tmp_path, {"to": ["soc@example.net"]}, host="127.0.0.1", port=tls_server, verify_tls=False
    )
    await mailer.run(context())
    assert recorder.received[0].tls


async def test_unreachable_server(tmp_path: Path) -> None:
    port = free_tcp_port()  # nothing listens there any more
    mailer = action(
        tmp_path, {"to": ["soc@example.net"]}, host="127.0.0.1", port=port, timeout_seconds=5
    )
    with pytest.raises(ActionFailed) as failed:
        await mailer.run(context())
    assert "connection" in failed.value.reason
    assert f"127.0.0.1:{port}" in failed.value.reason
    assert failed.value.retryable


async def test_no_smtp_host_configured(tmp_path: Path) -> None:
    with pytest.raises(ActionFailed) as failed:
        await action(tmp_path, {"to": ["soc@example.net"]}).run(context())
    assert "no SMTP server configured" in failed.value.reason
    assert not failed.value.retryable


needs_exim = pytest.mark.skipif(
    shutil.which("exim4") is None, reason="needs exim4 (apt-get install exim4-daemon-light)"
)


@needs_exim
async def test_exim_delivers_the_mail_over_starttls_with_auth_plain(tmp_path: Path) -> None:
    async with exim_server(tmp_path / "exim") as exim:
        mailer = action(
            tmp_path, {"to": ["soc@example.net"], "cc": ["boss@example.net"]},
            host="127.0.0.1", port=exim.port, ca_file=str(exim.work / "pki" / "ca.crt"),
            username=USER, password=PASSWORD,
        )  # fmt: skip
        await mailer.run(context())
        # One delivery per recipient (appendfile's batch_max is 1): two copies in the mbox.
        message, copy = await exim.wait_mail(2)
        log = exim.log()
    # Exim's own record: received encrypted (X=TLS...), authenticated as alice.
    assert "P=esmtpsa X=TLS" in log and "A=plain:alice" in log
    assert message["Subject"] == "[Garrison] Block scanners: 2001:db8::66 (initial, threshold)"
    assert message["X-Garrison-Response"] == "42"
    assert (message["To"], message["Cc"]) == ("soc@example.net", "boss@example.net")
    assert "with esmtpsa" in message["Received"]
    assert copy["Message-ID"] == message["Message-ID"]
    delivered = {m["Envelope-to"] for m in (message, copy)}
    assert delivered == {"soc@example.net", "boss@example.net"}
    body = message.get_content()
    assert 'Garrison\'s Responder ran policy "Block scanners" for 2001:db8::66' in body
    assert "filter 2 2001:db8::66 -> 198.51.100.9" in body


@needs_exim
async def test_exim_refuses_a_bad_login_and_an_unknown_mailbox(tmp_path: Path) -> None:
    async with exim_server(tmp_path / "exim") as exim:
        ca = str(exim.work / "pki" / "ca.crt")
        bad_login = action(
            tmp_path, {"to": ["soc@example.net"]},
            host="127.0.0.1", port=exim.port, ca_file=ca, username=USER, password="wrong",
        )  # fmt: skip
        with pytest.raises(ActionFailed) as login:
            await bad_login.run(context())
        unknown = action(
            tmp_path, {"to": ["nobody@example.net"]}, host="127.0.0.1", port=exim.port, ca_file=ca
        )
        with pytest.raises(ActionFailed) as mailbox:
            await unknown.run(context())
        assert not exim.inbox.exists()
    assert "refused the login of user 'alice': 535" in login.value.reason
    assert not login.value.retryable
    assert "nobody@example.net: 550 no such mailbox here" in mailbox.value.reason
    assert not mailbox.value.retryable


def test_build_message_headers_without_sockets() -> None:
    now = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    message = build_message(
        sender="sms@corp.example", to=["a@x.example"], cc=[], subject="two\r\nlines  here",
        body="héllo\n", response_id=7, now=now,
    )  # fmt: skip
    assert message["Subject"] == "two lines here"
    assert message["Cc"] is None
    assert message["Date"] == "Sun, 01 Mar 2026 12:30:00 +0000"
    assert message["X-Garrison-Response"] == "7"
    assert message["Message-ID"].startswith("<") and "@corp.example>" in message["Message-ID"]
    assert message.get_content() == "héllo\n"
    other = build_message(
        sender="sms@corp.example", to=["a@x.example"], cc=[], subject="s", body="b",
        response_id=7, now=now,
    )  # fmt: skip
    assert other["Message-ID"] != message["Message-ID"]


def test_defaults_name_policy_address_trigger_and_events() -> None:
    for field in ("{policy}", "{address}", "{trigger}"):
        assert field in DEFAULT_SUBJECT or field in DEFAULT_BODY
    assert "{events}" in DEFAULT_BODY


@pytest.fixture
def only_email(monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry with this module's type alone (the other action modules are not
    needed to check the email action's settings)."""
    monkeypatch.setattr(registry, "ACTION_TYPES", {"email": EmailAction})
    monkeypatch.setattr(registry, "_loaded", True, raising=False)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"to": ["not-an-address"]}, "to: Value error, 'not-an-address' is not an email"),
        ({"to": ["a@b.example\r\nBcc: x@y"]}, "to: Value error, 'a@b.example\\r\\nBcc"),
        ({"to": []}, "to: List should have at least 1 item"),
        ({"to": ["a@b.example"], "cc": ["x@"]}, "cc: Value error, 'x@' is not an email"),
        ({"to": ["a@b.example"], "port": 0}, "port: Input should be greater than or equal to 1"),
        ({"to": ["a@b.example"], "bcc": ["a@b.example"]}, "bcc: Extra inputs are not permitted"),
        (
            {"to": ["a@b.example"], "subject": "hit {nope}"},
            "subject: unknown template field {nope}",
        ),
        pytest.param({"to": ["a@b.example"], "body": "{0}"}, "body: "),
        ({"to": ["a@b.example"], "server": "smtp host"}, "server: Value error"),
    ],
)
def test_parse_config_refuses_bad_settings(
    only_email: None, raw: dict[str, Any], message: str
) -> None:
    with pytest.raises(Invalid) as refused:
        registry.parse_config("email", raw, "policy P, action mail")
    assert str(refused.value).startswith("policy P, action mail")
    assert message in str(refused.value)


def test_parse_config_accepts_a_good_one(only_email: None) -> None:
    config = registry.parse_config(
        "email",
        {"to": [" soc@example.net", "x.y+z@[192.0.2.1]"], "subject": "{policy} {address}"},
        "policy P",
    )
    assert isinstance(config, EmailConfig)
    assert config.to == ["soc@example.net", "x.y+z@[192.0.2.1]"]
    assert config.body == DEFAULT_BODY
