"""The public release as a page: plain HTML on the server, bilingual, no script. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from services.access.public_figures import GROUPS
from services.api.public_words import FIGURES, NO_BUILDING, count, notice, stage


def _both(zh: str, en: str) -> str:
    if zh == en:  # a number or a building's name: once
        return escape(zh)
    return f'{escape(zh)} <span class="en" lang="en">{escape(en)}</span>'


def _when(iso: str) -> str:
    """A release time as residents read it, inside ``<time>`` with the exact value."""
    shown = iso.replace("T", " ").removesuffix(":00Z") + " UTC" if iso.endswith("Z") else iso
    return f'<time datetime="{escape(iso)}">{escape(shown)}</time>'


def _group(name: str, group: Mapping[str, Any], base: int) -> str:
    rows = []
    for building, value in group["by_building"].items():
        label = (building, building) if building else NO_BUILDING
        rows.append(
            f'<tr><th scope="row">{_both(*label)}</th>'
            f'<td data-testid="count">{_both(*count(value, base))}</td></tr>'
        )
    return (
        f'<section class="card wide" aria-labelledby="{name}"><h2 id="{name}">'
        f"{_both(*FIGURES[name])}</h2>"
        f'<p class="total">合计 <span class="en" lang="en">Total</span>: '
        f'<strong data-testid="count">{_both(*count(group["total"], base))}</strong></p>'
        f'<table><thead><tr><th scope="col">{_both("楼栋", "Building")}</th>'
        f'<th scope="col">{_both("户数", "Count")}</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
        f'<p class="hint">更新于 <span class="en" lang="en">Last changed</span> '
        f"{_when(group['changed_at'])}</p>"
        "</section>"
    )


def _percent(value: object) -> str:
    return f"{value}%" if isinstance(value, int) else "—"


def _projects(projects: list[Mapping[str, Any]]) -> str:
    if not projects:
        return f"<p>{_both('暂无改造项目', 'No renovation project')}</p>"
    items = []
    for p in projects:
        buildings = "、".join(p["buildings"]) or "全部 / all"
        items.append(
            f"<li><strong>{escape(p['project_id'])}</strong> · {_both(*stage(p['stage']))} · "
            f"<span>{_percent(p['percent'])}</span> · {escape(buildings)} · "
            f"{_when(p['changed_at'])}</li>"
        )
    return f'<ul class="catalog-list">{"".join(items)}</ul>'


_NO_CHANGE = f"<li>{_both('本期无变更', 'No change since the last release')}</li>"


def render_page(release: Mapping[str, Any]) -> str:
    """The page of one release (as served: ``public_view``)."""
    base, k = int(release["rounding_base"]), int(release["min_count"])
    community = escape(release["community_code"])
    groups = "".join(_group(g, release[g], base) for g in GROUPS)
    notices = "".join(f"<li>{_both(*notice(n, base))}</li>" for n in release["notices"])
    return f"""<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>社区公告 Community notice · {community}</title>
<link rel="stylesheet" href="/dashboard/style.css">
<link rel="stylesheet" href="/dashboard/catalog.css">
<link rel="alternate" type="application/atom+xml"
 href="/public/{community}.atom">
</head>
<body>
<header class="bar">
<h1>社区公告 <span class="en" lang="en">Community notice</span> · {community}</h1>
<span class="hint">发布于 <span class="en" lang="en">Released</span>
{_when(release["released_at"])}</span>
</header>
<main class="grid">
<p class="card wide hint">少于 {k} 的数字不公布，能推算出它的数字也不公布；数字按 {base} 分档。
<span class="en" lang="en">Counts under {k} are not shown, nor any figure they could be worked out
from; counts are shown as ranges of {base}. Next release:
{_when(release["next_release_at"])}.</span></p>
{groups}
<section class="card wide" aria-labelledby="renovation"><h2 id="renovation">
{_both("老旧小区改造", "Renovation projects")}</h2>
{_projects(release["renovation_projects"])}</section>
<section class="card wide" aria-labelledby="notices">
<h2 id="notices">{_both("变更通知", "Notices of change")}</h2>
<ul class="catalog-list">{notices or _NO_CHANGE}</ul>
</section>
</main>
</body>
</html>
"""
