"""Department mappings: source fields -> pseudonymized events.

``MAPPINGS`` names the departments that have a connector today; each entry builds the
department's mapping from the hub's HMAC key.
"""

from __future__ import annotations

from collections.abc import Callable

from connectors.base import RecordMapper
from connectors.mappings.public_security import DEPARTMENT as PUBLIC_SECURITY
from connectors.mappings.public_security import RegistryMapping

MAPPINGS: dict[str, Callable[[bytes], RecordMapper]] = {
    PUBLIC_SECURITY: RegistryMapping,
}
