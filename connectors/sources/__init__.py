"""Source adapters: each reads one kind of department export and yields SourceRecords."""
