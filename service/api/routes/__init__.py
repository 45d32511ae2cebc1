"""The API's route groups, one module each; `ROUTE_GROUPS` is what the app serves."""

from service.api.routes import (
    catalog,
    dashboard,
    docs,
    drift,
    events,
    export,
    lineage,
    messages,
    metrics,
    runs,
    studies,
)
from service.api.routing import Routes

ROUTE_GROUPS: tuple[Routes, ...] = (
    runs.routes,
    messages.routes,
    lineage.routes,
    drift.routes,
    export.routes,
    studies.routes,
    catalog.routes,
    events.routes,
    metrics.routes,
    docs.routes,
    dashboard.routes,
)
