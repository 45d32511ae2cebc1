"""The HTTP API: an aiohttp application over the same `run_spec` the CLI uses."""

from service.api.app import create_app
from service.api.settings import ApiSettings

__all__ = ["ApiSettings", "create_app"]
