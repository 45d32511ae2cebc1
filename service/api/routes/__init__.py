"""The API's route groups, one module each; `ROUTE_GROUPS` is what the app serves."""

from service.api.routes import catalog, drift, messages, runs, studies
from service.api.routing import Routes

ROUTE_GROUPS: tuple[Routes, ...] = (
    runs.routes,
    messages.routes,
    drift.routes,
    studies.routes,
    catalog.routes,
)
