"""The public release rendered: the page and the Atom feed, from a release as served."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any

from services.api.public_feed import render_feed
from services.api.public_page import render_page

HOSTILE = '<script>alert("x")</script>'


def release(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "community_code": "610103001001",
        "released_at": "2026-12-07T18:00:00Z",
        "next_release_at": "2026-12-08T00:00:00Z",
        "min_count": 10,
        "rounding_base": 5,
        "quarantined_households": {
            "total": 25,
            "by_building": {"1号楼": 20, HOSTILE: None, "": None},
            "changed_at": "2026-12-07T18:00:00Z",
        },
        "pending_deliveries": {"total": None, "by_building": {}, "changed_at": "x"},
        "renovation_projects": [
            {
                "project_id": f"R&{HOSTILE}",
                "stage": "CONSTRUCTION",
                "percent": 40,
                "buildings": [],
                "changed_at": "2026-12-07T18:00:00Z",
            }
        ],
        "notices": [
            {"figure": "quarantined_households", "from": 20, "to": 25},
            {"figure": "renovation_stage", "project_id": "R1", "from": None, "to": "DESIGN"},
        ],
    }
    return base | changes


def test_the_page_shows_ranges_and_withheld_counts_in_both_languages() -> None:
    page = render_page(release())
    assert "20–24" in page and "25–29" in page
    withheld = '不公布 <span class="en" lang="en">not shown</span>'
    assert page.count(withheld) == 3  # two buildings and the deliveries' total
    assert "未登记楼栋" in page
    assert "施工" in page and "construction" in page
    assert "居家隔离户数：20–24 → 25–29" in page
    assert "<script" not in page  # no script of ours, and data is escaped
    assert not re.search(r"""(src|href)=['"]?https?:""", page)


def test_the_feed_is_atom_with_one_entry_per_release_and_its_notices() -> None:
    later = release(released_at="2026-12-08T00:00:00Z", notices=[])
    feed = render_feed([later, release()], "http://hub/public/610103001001.atom")
    root = ET.fromstring(feed)
    atom = "{http://www.w3.org/2005/Atom}"
    entries = root.findall(f"{atom}entry")
    assert [e.findtext(f"{atom}updated") for e in entries] == [
        "2026-12-08T00:00:00Z",
        "2026-12-07T18:00:00Z",
    ]
    assert "No change" in (entries[0].findtext(f"{atom}content") or "")
    text = entries[1].findtext(f"{atom}content") or ""
    assert "Households in home quarantine: 20–24 → 25–29" in text
    assert "Renovation project R1: — → design" in text
