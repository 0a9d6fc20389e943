"""`garrison init`: make a data directory ready to serve. Every step is skipped when its
result is already there, so running it twice changes nothing."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from garrison.auth import Principal, Role
from garrison.auth.passwords import generate_password
from garrison.config import Settings, render_default_config
from garrison.responder.policies import PolicyBook
from garrison.responder.policy import DEFAULT_POLICY
from garrison.services import Services
from garrison.store import upgrade
from garrison.tls import ensure_self_signed, import_certificate


@dataclass
class InitReport:
    """What `initialize` did (``done``) and found already in place (``kept``)."""

    done: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    generated_password: str | None = None

    @property
    def changed(self) -> bool:
        return bool(self.done)


def initialize(
    settings: Settings,
    *,
    admin_username: str = "admin",
    admin_password: str | None = None,
    certificate: Path | None = None,
    key: Path | None = None,
) -> InitReport:
    report = InitReport()
    data_dir = settings.data_dir
    if data_dir.is_dir():
        report.kept.append(f"data directory {data_dir}")
    else:
        data_dir.mkdir(parents=True, mode=0o750)
        report.done.append(f"created data directory {data_dir}")

    config_file = settings.config_file or data_dir / "garrison.toml"
    if config_file.exists():
        report.kept.append(f"config {config_file}")
    else:
        config_file.write_text(render_default_config(settings))
        os.chmod(config_file, 0o640)
        report.done.append(f"wrote config {config_file}")

    cert, private_key = settings.certificate_path, settings.key_path
    if certificate is not None and key is not None:
        import_certificate(certificate, key, cert, private_key)
        report.done.append(f"imported certificate {certificate} to {cert}")
    elif ensure_self_signed(
        cert, private_key, hostnames=[socket.getfqdn(), "localhost"], ips=["127.0.0.1", "::1"]
    ):
        report.done.append(f"made a self-signed certificate {cert}")
    else:
        report.kept.append(f"certificate {cert}")

    svc = Services.open(settings)
    try:
        if upgrade(svc.store.engine):
            report.done.append(f"brought the database {svc.store.safe_url} to the newest schema")
        else:
            report.kept.append(f"database {svc.store.safe_url} (newest schema)")
        with svc.store.transaction() as tx:
            has_users = tx.users.count() > 0
        if has_users:
            report.kept.append("users (the first superuser exists)")
        else:
            password = admin_password
            if password is None:
                password = report.generated_password = generate_password()
            svc.auth.create_user(
                Principal.local_cli(),
                username=admin_username,
                password=password,
                role=Role.SUPERUSER,
                display_name="First superuser",
            )
            report.done.append(f"created the superuser {admin_username!r}")
        if PolicyBook(svc.store).ensure_default():
            report.done.append(f"created the built-in Responder policy {DEFAULT_POLICY!r}")
        else:
            report.kept.append(f"Responder policy {DEFAULT_POLICY!r}")
    finally:
        svc.close()
    return report
