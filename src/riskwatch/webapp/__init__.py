"""The managers' web app: server-rendered pages under /app/, mounted by the API."""

from riskwatch.webapp.mount import add_webapp
from riskwatch.webapp.sources import Sources

__all__ = ["Sources", "add_webapp"]
