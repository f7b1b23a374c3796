"""Reading the view rows a hub under test stored, straight from its database."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.store.models import ViewRow


def view_rows(
    database_url: str,
    view: str = "resident_profile",
) -> dict[str, tuple[bool, dict[str, object], dict[str, object]]]:
    """Every stored row of a view: key -> (visible, data, provenance)."""
    engine = sa.create_engine(database_url)
    try:
        with Session(engine) as session:
            rows = session.scalars(sa.select(ViewRow).where(ViewRow.view == view))
            return {r.key: (r.visible, dict(r.data), dict(r.provenance)) for r in rows}
    finally:
        engine.dispose()


VIEWS = ("resident_profile", "household", "community_situation", "alert")


def shown_rows(database_url: str) -> dict[str, dict[str, Any]]:
    """The rows each of the four views shows, as stored: key -> (True, data, provenance)."""
    return {
        view: {k: row for k, row in view_rows(database_url, view).items() if row[0]}
        for view in VIEWS
    }


def stored_views(database_url: str) -> dict[str, dict[str, tuple[dict[str, Any], dict[str, Any]]]]:
    """The shown rows of the four views in the oracle's shape: key -> (data, provenance)."""
    return {
        view: {key: (data, provenance) for key, (_, data, provenance) in rows.items()}
        for view, rows in shown_rows(database_url).items()
    }
