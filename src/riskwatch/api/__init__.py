"""The HTTP API: predictions, metrics, diagnostics and the call list over the deployed model."""

from riskwatch.api.app import create_app

__all__ = ["create_app"]
