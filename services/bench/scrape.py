"""Reading a process's Prometheus ``/metrics``: samples by name, and whether a metric exists.

A labelled counter nothing has counted yet is exposed as its ``HELP`` and ``TYPE`` lines
alone, so "no samples" and "no such metric" differ: a figure read from a metric the
process does not have is not measured, while one it has and never counted is 0.
"""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families

Labels = dict[str, str]


@dataclass(frozen=True)
class Scrape:
    """One reading of a ``/metrics`` page: every sample, and the metric families named."""

    samples: list[tuple[str, Labels, float]]
    families: set[str]

    def of(self, name: str) -> list[tuple[Labels, float]]:
        """Every sample called ``name`` (a counter's is ``<name>_total``)."""
        return [(labels, value) for sample, labels, value in self.samples if sample == name]

    def total(self, name: str) -> float | None:
        """The sum of a metric's samples over its labels (``name`` with ``_total`` for a
        counter), or None when the process has no such metric at all."""
        if name.removesuffix("_total") not in self.families and name not in self.families:
            return None
        return sum(value for _, value in self.of(name))


def parse(text: str) -> Scrape:
    """A ``/metrics`` page in the Prometheus text format."""
    samples: list[tuple[str, Labels, float]] = []
    families: set[str] = set()
    for family in text_string_to_metric_families(text):
        families.add(family.name)
        samples += [(s.name, s.labels, s.value) for s in family.samples]
    return Scrape(samples, families)


def scrape(url: str) -> Scrape:
    """The page at ``url``; empty while the process does not serve it (yet)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return parse(response.read().decode())
    except OSError:
        return Scrape([], set())
