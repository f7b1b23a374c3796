"""``python -m services.cli``: what the ``datong`` console script runs."""

from services.cli import run

run()
