"""Rebuilding the views from the source topics (``datong views rebuild``).

``procedure.py`` runs the steps; ``replay.py`` reads the topics through the merge into the
shadow store; ``compare.py`` finds what differs, field by field. The stores' side is in
``services/store/shadow.py`` (where the rebuilt store lives) and ``view_swap.py`` (the live
store locked, compared and written in one transaction).
"""
