"""Fault injection: kills, pauses and restarts of the hub's parts, checked against the oracle.

Quick by default (it runs inside ``make test``); ``DATONG_FAULTS=full`` (``make faults``) runs
more events, more seeded kill points and both view stores. ``DATONG_FAULT_SEED=N`` replays a run.
"""
