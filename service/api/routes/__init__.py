"""The API's route groups, one module each; `ROUTE_GROUPS` is what the app serves."""

from service.api.routes import drift, events, messages, metrics, runs
from service.api.routing import Routes

ROUTE_GROUPS: tuple[Routes, ...] = (
    runs.routes,
    messages.routes,
    drift.routes,
    events.routes,
    metrics.routes,
)
