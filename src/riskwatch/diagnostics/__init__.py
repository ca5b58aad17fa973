"""Diagnostics: predictions, summary statistics, missing data, timings, dependencies."""
