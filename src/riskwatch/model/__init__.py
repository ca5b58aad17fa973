"""The model and its registry: pipelines, model choice, metrics, reasons, saved versions."""
