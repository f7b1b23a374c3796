"""datong contracts: Avro schemas, the catalog that names their topics, serde and registry."""
