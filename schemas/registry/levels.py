"""The compatibility level a subject has before anyone configures one.

BACKWARD, Confluent's own default, for every subject but a view's value subject, which
starts at FULL_TRANSITIVE. The embedded registry applies these; an external registry
keeps its own configuration.
"""

from __future__ import annotations

DEFAULT_LEVEL = "BACKWARD"
VIEW_LEVEL = "FULL_TRANSITIVE"


def default_level(subject: str) -> str | None:
    """The level a subject has before anyone configures it: views' values FULL_TRANSITIVE."""
    return VIEW_LEVEL if subject.startswith("view.") and subject.endswith("-value") else None
