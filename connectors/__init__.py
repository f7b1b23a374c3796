"""datong connectors: department sources -> map -> validate -> pseudonymize -> Kafka."""
