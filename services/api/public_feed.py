"""The public release as an Atom feed: one entry per release, its notices as the text. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape

from services.api.public_words import notice


def render_feed(releases: Sequence[Mapping[str, Any]], url: str) -> str:
    """An Atom document of a community's releases, newest first (as served: ``public_view``)."""
    community = escape(str(releases[0]["community_code"]))
    page = escape(url.removesuffix(".atom"))
    entries = []
    for release in releases:
        base, at = int(release["rounding_base"]), escape(str(release["released_at"]))
        lines = [" / ".join(notice(n, base)) for n in release["notices"]]
        text = "\n".join(lines) or "本期无变更 / No change since the last release"
        entries.append(
            f"<entry><id>{page}#{at}</id><title>社区公告 Community notice {at}</title>"
            f'<updated>{at}</updated><link href="{page}"/>'
            f'<content type="text">{escape(text)}</content></entry>'
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>{page}</id><title>社区公告 Community notice {community}</title>"
        f"<updated>{escape(str(releases[0]['released_at']))}</updated>"
        f'<author><name>datong</name></author><link rel="self" href="{escape(url)}"/>'
        f"{''.join(entries)}</feed>\n"
    )
