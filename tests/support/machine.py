"""What the tests find on this machine: the repository checkout and the PostgreSQL server."""

from __future__ import annotations

import os
from pathlib import Path

POSTGRES_URL = os.environ.get(
    "DATONG_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
ROOT = Path(__file__).resolve().parents[2]
