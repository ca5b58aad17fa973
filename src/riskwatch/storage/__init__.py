"""Storage: the metadata database, its tables, and atomic file writes."""
