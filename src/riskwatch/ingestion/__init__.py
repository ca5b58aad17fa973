"""Ingestion: find new data, read it, validate it, quarantine bad rows, append the good ones."""

from riskwatch.ingestion.ingest import check, ingest

__all__ = ["check", "ingest"]
