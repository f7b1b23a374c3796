"""The compiled mapper maps every row as the plain reading of the plan does.

Every row of every export of a demo community (clean and dirty, GB18030 CSV, UTF-8 CSV
and XLSX), and variants of them with each optional cell blanked, written as a placeholder
or left out of the header, go through the department's compiled mapper and through
``tests/support/mapping_reference.py``: the same event, or the same error with the same field,
reason and code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from connectors.base import Event
from connectors.demo import Manifest, generate
from connectors.errors import RecordError
from connectors.gazetteer import Gazetteer
from connectors.mappings.loader import department_spec
from connectors.mappings.mapper import DepartmentMapper
from connectors.sources.drop_folder import open_file
from tests.support.mapping_reference import map_row
from tests.support.stores import connector_state

KEY = b"k" * 32
Fields = Mapping[str, str | None]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Manifest]:
    out = tmp_path_factory.mktemp("demo")
    return out, generate(out, 1, 200, 5)


def outcome(call: Callable[[], Event]) -> tuple[Any, ...]:
    """What mapping a row came to, comparable: the event, or the error's class and words."""
    try:
        event = call()
    except RecordError as error:
        return (type(error).__name__, error.field, error.reason, error.code)
    return (event.department, event.event, event.key, event.record)


def variants(fields: Fields, optional: tuple[str, ...]) -> Iterator[Fields]:
    """The row, then each optional column blanked, a placeholder, and left out."""
    yield fields
    for column in (k for k in fields if k in optional):
        yield {**fields, column: ""}
        yield {**fields, column: " -- "}
        yield {k: v for k, v in fields.items() if k != column}


def test_every_demo_row_maps_as_the_plain_reading_says(demo: tuple[Path, Manifest]) -> None:
    out, manifest = demo
    # One gazetteer per side: the housing export feeds each as it is mapped.
    compiled_gazetteer = Gazetteer(connector_state(sa.create_engine("sqlite://")))
    reference_gazetteer = Gazetteer(connector_state(sa.create_engine("sqlite://")))
    compared = 0
    for counts in manifest.files:  # housing first, as the hub feeds them
        spec = department_spec(counts.department.replace("-", "_"))
        mapper = DepartmentMapper(spec, KEY, compiled_gazetteer)
        for index, record in enumerate(open_file(out / counts.path).records(None)):
            if record.error is not None:
                continue
            plan = mapper.export_for(record.fields).plan
            rows = variants(record.fields, plan.optional) if index < 10 else iter([record.fields])
            for fields in rows:
                reference = partial(
                    map_row, spec.department, plan, fields, KEY, reference_gazetteer
                )
                where = (counts.path, record.position)
                assert outcome(partial(mapper, fields)) == outcome(reference), where
                compared += 1
    assert compared > 2_000


def test_rows_lacking_required_cells_fail_as_the_plain_reading_says(
    demo: tuple[Path, Manifest],
) -> None:
    """Each required column, and each pair of them, blanked, a placeholder or left out: the
    error names the same column (the first in the plan's order) for the same reason."""
    out, manifest = demo
    gazetteer = Gazetteer(connector_state(sa.create_engine("sqlite://")))
    compared = 0
    for counts in manifest.files:
        spec = department_spec(counts.department.replace("-", "_"))
        mapper = DepartmentMapper(spec, KEY, gazetteer)
        for index, record in enumerate(open_file(out / counts.path).records(None)):
            if record.error is not None or index >= 3:
                continue
            plan = mapper.export_for(record.fields).plan
            keys = [k for k in record.fields if k in plan.required]
            pairs = [(a, b) for a in keys for b in keys if a != b] + [(a, a) for a in keys]
            for first, second in pairs:
                for emptied in ("", " -- ", None):
                    fields: dict[str, str | None] = dict(record.fields)
                    for column in (first, second):
                        if emptied is None:
                            fields.pop(column, None)
                        else:
                            fields[column] = emptied
                    reference = partial(map_row, spec.department, plan, fields, KEY, gazetteer)
                    compiled = outcome(partial(mapper, fields))
                    assert compiled == outcome(reference), (counts.path, first, second, emptied)
                    assert compiled[0] == "RecordError"
                    compared += 1
    assert compared > 100
