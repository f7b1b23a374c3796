"""The HTTP API: health, views, metrics."""
