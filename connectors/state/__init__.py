"""The connectors' own state store, kept apart from the hub's view store.

What a department's connector remembers between runs, and shares with the other
departments' connectors of the same hub: the address gazetteer (``gazetteer.py`` fills
and reads it) and the resolution queue (``resolution.py``). A SQLAlchemy URL of its own,
``DATONG_CONNECTOR_STATE_URL`` (SQLite under ``var/connectors/`` on embedded defaults), so
a connector needs no credentials on the hub's database.

- ``tables``: the tables, as the models the migrations must equal;
- ``store``: opening the store, migrated to its newest revision (``migrations/``).
"""
