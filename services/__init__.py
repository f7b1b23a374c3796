"""datong services: merge processors, view store, HTTP API, metrics and the CLI."""
