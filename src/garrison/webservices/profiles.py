"""``ipsProfileMgmt/*``: profile and filter management (export, import, distribute, traffic
management filters, getFilters/setFilters, dvInfo).

They need Garrison's filter packages (Digital Vaccines) and the profiles built on them,
which come with a later issue. Until then every method, the SMS's and any other under
this service, answers 412 with one line saying so, rather than a 404 that would read as a
typo in the caller's script.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.responses import Response

from garrison.webservices.responses import WebServiceError

if TYPE_CHECKING:
    from garrison.webservices.app import Call, Handler

# The methods of the SMS's Web services guide.
SMS_METHODS = (
    "exportProfile",
    "importProfile",
    "distributeProfile",
    "distributionStatus",
    "createTrafficMgmt",
    "deleteTrafficMgmt",
    "getFilters",
    "setFilters",
    "dvInfo",
)
NOT_YET = (
    "profile and filter management come with the filter-package (Digital Vaccine) "
    "support; not available in this release"
)


async def not_available(call: Call) -> Response:
    method = call.request.url.path.strip("/").partition("/")[2] or "(no method)"
    call.target = f"method:{method}"[:255]
    raise WebServiceError(412, f"ipsProfileMgmt/{method}: {NOT_YET}")


METHODS: dict[str, Handler] = {name: not_available for name in (*SMS_METHODS, "*")}
