"""The exports of services to homes: shop deliveries and stock, water and power meters.

Column names, value words and date forms follow connectors/mappings/EXPORTS.md. Free-text
addresses are written in the several ways people type them; each still names exactly one
dwelling of the housing export.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from connectors.demo import vocab
from connectors.demo.model import Dwelling, MeterReading, Population
from connectors.demo.table import (
    CSV_UTF8,
    CSV_UTF8_BOM,
    Cell,
    Table,
    address_text,
    columns,
    minutes,
    seconds,
    stamp_of,
)

DELIVERY_WORDS = {"DELIVERED": "已送达", "LEFT_AT_DOOR": "无接触配送", "CANCELLED": "已取消"}


def commerce(pop: Population) -> list[Table]:
    """配送订单 (one row per order status change) and 门店库存日报, UTF-8 CSV."""
    return [_orders(pop), _stock(pop)]


def _orders(pop: Population) -> Table:
    table = Table(
        "commerce",
        "配送订单",
        stamp_of(pop.as_of),
        CSV_UTF8,
        columns(
            "订单编号 订单状态 收货地址 收货人 联系电话 商品明细 保供订单 "
            "期望送达时间 门店编码 订单金额(元) 状态时间"
        ),
        "状态时间",
        text_column="商品明细",
        enum_column="订单状态",
        unknown_word="退款中",
        address_column="收货地址",
    )
    homes = {d.dwelling_id: d for d in pop.dwellings}
    steps: list[tuple[datetime, str, dict[str, Cell]]] = []
    for n, d in enumerate(pop.deliveries):
        common: dict[str, Cell] = {
            "订单编号": d.delivery_id,
            # customers type their address in every way there is
            "收货地址": address_text(homes[d.dwelling_id], 1 + n % 5),
            "收货人": d.recipient_name,
            "联系电话": d.recipient_phone or "",
            "门店编码": d.store_code,
        }
        requested = {
            "订单状态": "待配送",
            "商品明细": d.items,
            "保供订单": "是" if d.for_quarantine else "否",
            "期望送达时间": minutes(d.due_at),
            "订单金额(元)": f"¥{d.amount_fen / 100:.2f}",
        }
        steps.append((d.requested_at, "delivery-requested", {**common, **requested}))
        if d.fulfilled_at is not None and d.outcome is not None:
            closed = {"订单状态": DELIVERY_WORDS[d.outcome]}
            steps.append((d.fulfilled_at, "delivery-fulfilled", {**common, **closed}))
    steps.sort(key=lambda s: (s[0], str(s[2]["订单编号"])))
    for at, event, cells in steps:
        table.add(event, {**cells, "状态时间": seconds(at)})
    return table


def _stock(pop: Population) -> Table:
    table = Table(
        "commerce",
        "门店库存日报",
        stamp_of(pop.as_of),
        CSV_UTF8,
        columns("门店编码 社区代码 门店名称 商品名称 库存数量 计量单位 盘点时间"),
        "盘点时间",
        text_column="商品名称",
    )
    names = {c.code: c.name.removesuffix("社区") for c in pop.communities}
    for s in pop.stock:
        shop = vocab.STORES[int(s.store_code[-2:]) - 1]
        table.add(
            "supply-stock-reported",
            {
                "门店编码": s.store_code,
                "社区代码": s.community_code,
                "门店名称": f"{names[s.community_code]}{shop}",
                "商品名称": s.item,
                "库存数量": f"{s.quantity:,.0f}" if s.quantity.is_integer() else f"{s.quantity}",
                "计量单位": s.unit,
                "盘点时间": minutes(s.at),
            },
        )
    return table


WATER_COLUMNS = columns("用户编号 水表编号 用水地址 户名 本期读数 入库时间 抄表时间")
POWER_COLUMNS = columns("户号 电能表资产编号 用电地址 户名 正向有功总示数 采集时间 抄表日期")


def utilities(pop: Population) -> list[Table]:
    """Daily files of the water company (UTF-8 with BOM) and the power company (UTF-8)."""
    homes = {d.dwelling_id: d for d in pop.dwellings}
    names = {r.id_number: r.name for r in pop.residents}
    holders = {h.dwelling_id: names[h.members[0]] for h in pop.households}
    by_day: dict[tuple[str, date], list[MeterReading]] = defaultdict(list)
    for reading in pop.readings:
        by_day[(reading.kind, reading.read_at.date())].append(reading)
    tables = []
    for (kind, day), readings in sorted(by_day.items()):
        water = kind == "WATER"
        table = Table(
            "utilities",
            "水表抄表记录" if water else "电表示数",
            f"{day:%Y%m%d}",
            CSV_UTF8_BOM if water else CSV_UTF8,
            WATER_COLUMNS if water else POWER_COLUMNS,
            "抄表时间" if water else "抄表日期",
            address_column="用水地址" if water else "用电地址",
            text_column="户名",
        )
        row = _water_row if water else _power_row
        for r in readings:
            # an empty dwelling's account has no holder registered in it
            table.add("meter-reading", row(r, homes[r.dwelling_id], holders.get(r.dwelling_id, "")))
        tables.append(table)
    return tables


def _water_row(r: MeterReading, home: Dwelling, holder: str) -> dict[str, Cell]:
    return {
        "用户编号": f"SW{r.meter_id.replace('-', '')[1:]}",
        "水表编号": r.meter_id,
        "用水地址": address_text(home, 1),
        "户名": holder,
        # some meter platforms append the unit: 吨 (= m³)
        "本期读数": f"{r.value:.3f}" + ("吨" if r.meter_id.endswith("7") else ""),
        "入库时间": minutes(r.read_at + timedelta(minutes=5)),
        "抄表时间": minutes(r.read_at),
    }


def _power_row(r: MeterReading, home: Dwelling, holder: str) -> dict[str, Cell]:
    return {
        "户号": f"01{r.meter_id[-8:]}",
        "电能表资产编号": r.meter_id,
        "用电地址": address_text(home, 0),
        "户名": holder,
        "正向有功总示数": f"{r.value:.2f}",
        "采集时间": minutes(r.read_at + timedelta(minutes=15)),
        "抄表日期": minutes(r.read_at),
    }
