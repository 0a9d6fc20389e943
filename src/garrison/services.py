"""The services one Garrison process runs, built once from the settings and shared by the
API, the CLI and every component."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from garrison.auth import AuthService
from garrison.config import Settings
from garrison.devices.service import DeviceService
from garrison.events import EventBus
from garrison.events.service import EventService
from garrison.metrics import Metrics
from garrison.reputation.service import ReputationService
from garrison.responder.service import ResponderService
from garrison.store import Store


@dataclass
class Services:
    settings: Settings
    store: Store
    auth: AuthService
    metrics: Metrics
    bus: EventBus
    events: EventService
    devices: DeviceService
    policies: ResponderService
    reputation: ReputationService
    # The running Responder engine (garrison.responder.engine.Responder), set by the
    # engine when it starts in `garrison serve`; None elsewhere (the local CLI).
    responder: Any = None

    @classmethod
    def open(cls, settings: Settings) -> Services:
        store = Store(settings.database_url, echo=settings.database.echo)
        bus = EventBus()
        return cls(
            settings=settings,
            store=store,
            auth=AuthService(store, settings.auth),
            metrics=Metrics(),
            bus=bus,
            events=EventService(store, bus),
            devices=DeviceService(store),
            policies=ResponderService(store),
            reputation=ReputationService(store),
        )

    def close(self) -> None:
        self.store.close()
