"""Monitoring: data and prediction drift, performance evidence, and the retrain verdict."""
