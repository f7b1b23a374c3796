"""The hub key pure tests merge under, when no hub is running.

Alert ids are keyed by the hub's HMAC key, so the pure merge and the oracle take the same
key to agree; a comparison with a running hub passes that hub's key
(``hub.settings.hmac_key``) instead.
"""

from __future__ import annotations

TEST_HMAC_KEY = b"pure merge test key, 32 bytes.."
