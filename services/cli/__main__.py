"""``python -m services.cli``: what the ``datong`` console script runs."""

import sys

from services.cli import main

sys.exit(main())
