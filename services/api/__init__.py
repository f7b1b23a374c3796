"""The HTTP API: views under the sharing policy, live changes, ingest, registry, dashboard.

- ``app.py`` builds it (a composition root: it mounts the connectors' intake too);
  ``server.py`` serves it; ``errors.py`` shapes its refusals.
- Who may do what: ``authentication.py`` (bearer token -> principal), ``route_guard.py``
  (which routes need a token), ``read_access.py`` (a principal's read scope under the
  policy), ``ingest_access.py`` (the intake checked with department tokens).
- Reads: ``view_routes.py`` (rows, lists, exports), ``situation_routes.py`` (the
  dashboard's history), ``json_records.py`` (the record every read path shows),
  ``audit_log.py`` (every read recorded before it is answered), ``params.py`` (numbers and
  text from outside, parsed strictly).
- ``live/``: view changes as Server-Sent Events, one Kafka consumer per process.
- ``registry_routes.py``, ``dashboard_routes.py``, ``docs.py``: the schema registry's REST
  face, the dashboard page, the OpenAPI description.

Views and their key fields come from the catalog (``schemas``); nothing here imports the
merge (``services.merge``).
"""
