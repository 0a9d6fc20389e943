"""Health and version."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from garrison import __version__
from garrison.api.deps import current_principal, services
from garrison.api.routes import error_responses
from garrison.api.schemas import Health, Version
from garrison.services import Services
from garrison.store import current_revision

router = APIRouter(tags=["system"])


@router.get("/health", response_model=Health)
def health(svc: Services = Depends(services)) -> Health:
    """Whether the server and its database answer. Open to all, so load balancers and
    the HA peer can ask; it tells nothing else."""
    svc.store.ping()
    return Health(status="ok")


@router.get(
    "/version",
    response_model=Version,
    responses=error_responses(),
    dependencies=[Depends(current_principal)],
)
def version(svc: Services = Depends(services)) -> Version:
    return Version(
        name="garrison",
        version=__version__,
        database=svc.store.backend,
        database_revision=current_revision(svc.store.engine),
        tls_profile=svc.settings.tls.profile,
    )
