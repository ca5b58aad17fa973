"""riskwatch: create, deploy and monitor a client-attrition risk model."""

__version__ = "0.1.0"
