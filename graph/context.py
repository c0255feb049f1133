"""What every resolver gets: the viewer, the request's DataLoaders and the settings."""

from dataclasses import dataclass, field
from typing import Any

import strawberry

from graph.loaders import Loaders
from resolvers.access import Viewer
from resolvers.errors import Unauthenticated
from resolvers.event_stream import Window
from resolvers.events import EventHub
from settings import Settings


@dataclass
class Context:
    """Per-request (or per-WebSocket) state."""

    settings: Settings
    viewer: Viewer | None
    loaders: Loaders = field(default_factory=Loaders)
    auth_error: str | None = None
    request: Any = None
    response: Any = None
    connection_params: dict[str, Any] = field(default_factory=dict)
    events: EventHub | None = None
    # Bounds of a payment subscription that hands over between streams (graph/cohorts.py).
    window: Window | None = None

    def require_viewer(self) -> Viewer:
        """The signed-in viewer; Unauthenticated if there is none."""
        if self.viewer is None:
            raise Unauthenticated(self.auth_error or "authentication required")
        return self.viewer

    def begin_mutation(self) -> Viewer:
        """`require_viewer` for a mutation field, which forgets what the request's
        loaders hold first: an earlier field of the same mutation may have changed it."""
        self.loaders.forget()
        return self.require_viewer()

    def require_events(self) -> EventHub:
        """The process's event hub (subscriptions need one)."""
        if self.events is None:
            raise RuntimeError("subscriptions need the app's event hub in the context")
        return self.events


Info = strawberry.Info[Context, None]
