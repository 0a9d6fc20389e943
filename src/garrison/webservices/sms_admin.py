"""``smsAdmin/info`` and ``smsAdmin/backup`` (facts sheet §1.2, "SMS administration").

    smsAdmin/info?request=version   -> "0.1.0"  (Garrison's version, as `garrison version`)
    smsAdmin/backup?type=sms|smb|nfs|scp|sftp&location=...  -> 412 until backups exist

Backups come with a later issue; until then ``backup`` checks its parameters as the SMS
does (so a script with a typo learns it now, with a 400) and then answers 412, saying the
feature is not in this release.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.responses import Response

from garrison import __version__
from garrison.webservices.responses import WebServiceError, text

if TYPE_CHECKING:
    from garrison.webservices.app import Call

BACKUP_TYPES = ("smb", "nfs", "scp", "sftp", "sms")
BACKUP_UNAVAILABLE = "backup is not available in this release (issue: backups)"
COUNT_PARAMS = ("tos", "dv")  # how many TOS packages and DVs to include
FLAG_PARAMS = ("events", "sslPrivateKeys", "notify", "timestamp", "timestampName")
MAX_COUNT = 1000


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "...")


async def info(call: Call) -> Response:
    request = call.params.single("request")
    if request is None:
        raise WebServiceError(400, "request is required: request=version")
    if request.lower() != "version":
        raise WebServiceError(
            400, f"request {_shown(request)} is not supported; use request=version"
        )
    return text(__version__)


def check_backup(call: Call) -> str:
    """The backup's type, lower case, once every parameter given is well formed."""
    kind = call.params.single("type")
    if kind is None:
        raise WebServiceError(400, f"type is required: one of {', '.join(BACKUP_TYPES)}")
    if kind.lower() not in BACKUP_TYPES:
        raise WebServiceError(400, f"type {_shown(kind)} is not one of {', '.join(BACKUP_TYPES)}")
    kind = kind.lower()
    if kind != "sms" and call.params.single("location") is None:
        raise WebServiceError(400, f"location is required for a {kind} backup")
    for name in COUNT_PARAMS:
        value = call.params.single(name)
        if value is not None and not (
            value.isascii() and value.isdigit() and int(value) <= MAX_COUNT
        ):
            raise WebServiceError(
                400, f"{name} {_shown(value)} is not a count from 0 to {MAX_COUNT}"
            )
    for name in FLAG_PARAMS:
        value = call.params.single(name)
        if value is not None and value.lower() not in ("true", "false"):
            raise WebServiceError(400, f"{name} {_shown(value)} must be true or false")
    return kind


async def backup(call: Call) -> Response:
    kind = check_backup(call)
    call.target = f"backup:{kind}"
    raise WebServiceError(412, BACKUP_UNAVAILABLE)


METHODS = {"info": info, "backup": backup}
