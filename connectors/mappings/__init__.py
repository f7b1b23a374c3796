"""Department mappings: source fields -> pseudonymized events."""
