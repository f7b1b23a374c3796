"""The per-row check that no ID or phone number goes out in a field that does not take one.

``connectors.mappings.class_fit`` decides once per mapping which columns feed a field whose
class takes no personal data (``Screen``); this compiles them, once per file header, into
one function a row passes before it is mapped. Most cells are shorter than the shortest
phone number and cost a length check.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from connectors.errors import RecordError
from connectors.mappings.plan import Screen
from connectors.personal_signs import sniffer as class_sniffer
from schemas.data_classes import IDENTIFIER, PHONE

PERSONAL_DATA = "personal_data"  # the dead letters' reason code
_WHAT = {IDENTIFIER: "an ID number", PHONE: "a phone number"}

RowScreen = Callable[[Mapping[str, str | None]], None]


def row_screen(screens: tuple[Screen, ...], columns: Mapping[str, str]) -> RowScreen | None:
    """The check of a row with canonical ``columns`` (canonical -> key), or None when no
    screened column is in the header."""
    checks = tuple(
        (key, screen, sniffer(screen)) for screen in screens if (key := columns.get(screen.column))
    )
    if not checks:
        return None

    def screen_row(fields: Mapping[str, str | None]) -> None:
        for key, screen, sniff in checks:
            value = fields.get(key)
            if value is not None and len(value) >= 11:  # nothing shorter is a phone number
                found = sniff(value.strip())
                if found is not None:
                    raise RecordError(screen.column, refusal(found, screen), PERSONAL_DATA)

    return screen_row


def sniffer(screen: Screen) -> Callable[[str], str | None]:
    """How a screened column's cells are sniffed: prose for numbers inside it too."""
    return class_sniffer(screen.field_class)


def refusal(found: str, screen: Screen) -> str:
    """The dead letter's reason: names the column's find and the field, never the value."""
    what = _WHAT.get(found, f"a {found}")
    return (
        f"holds {what}, and {screen.target} is a {screen.field_class} field: personal data "
        "leaves the connector only as person_key or a mask; fix the export or the mapping"
    )
