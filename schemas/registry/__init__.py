"""The schema registry as every side of datong sees it.

- ``port``: what serde and ``datong schemas`` need from a registry, and its values;
- ``errors``: the registry's refusals, one class per Confluent error code;
- ``levels``: the compatibility level a subject starts with;
- ``http_client``: any Confluent-compatible registry over REST (an external one, or the
  hub's own ``/registry``);
- ``catalog_registration``: listing, checking and registering the catalog's schemas.

The embedded registry itself is part of the hub: its store is kept in the view database
(``services/store/registry_store.py``), its REST face is ``services/api/registry_routes.py``.
"""
