"""Ingestion: find new data, read it, validate it, quarantine bad rows, append the good ones."""
