"""A mapping's ``enum`` onto an enum field also takes the contract's words and symbols.

The HTTP intake reads an enum field as its symbol or one of the contract's words
(``schemas.enum_words``); a file mapping lists its own words. So that a file says
what the intake says, a cell none of the mapping's words names is looked up among
the symbols and the contract's words before it is refused, and the refusal lists all
of them. Only a refused cell pays for the look-up.
"""

from __future__ import annotations

from typing import Any

from connectors.errors import RecordError
from connectors.transforms import Apply, Row
from schemas.enum_words import accepted, symbol_for, words_of


def with_contract_words(
    steps: tuple[Apply, ...], kind: Any, named: dict[str, dict[str, Any]]
) -> tuple[Apply, ...]:
    """``steps`` with the last one (the ``enum`` making the field's symbol) falling back on
    the contract's words when ``kind`` is an Avro enum; unchanged otherwise.

    ``named`` holds the schema's named types by full and short name.
    """
    if not steps or not isinstance(kind, dict) or kind.get("type") != "enum":
        return steps
    full = next((n for n, node in named.items() if node is kind and "." in n), kind["name"])
    symbols: tuple[str, ...] = tuple(kind["symbols"])
    words = words_of(full)
    last = steps[-1]

    def apply(value: Any, column: str, row: Row) -> Any:
        try:
            return last(value, column, row)
        except RecordError as error:
            if error.code != "bad_enum":
                raise
            symbol = symbol_for(value, symbols, words) if isinstance(value, str) else None
            if symbol is None:
                reason = f"{error.reason}, nor {accepted(symbols, words)}"
                raise RecordError(column, reason, "bad_enum") from None
            return symbol

    return (*steps[:-1], apply)
