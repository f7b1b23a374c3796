"""Every department's YAML mapping: a realistic row of each export becomes an event that fits
its Avro contract, with no raw ID number, name or phone number in it.

The rows follow connectors/mappings/EXPORTS.md, which the demo generator writes from.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from connectors.base import Event
from connectors.errors import RecordError
from connectors.gazetteer import Gazetteer
from connectors.mappings import DEPARTMENT_DIRS, MAPPINGS
from connectors.mappings.loader import department_spec
from connectors.mappings.mapper import DepartmentMapper, MappingError
from schemas.catalog import Catalog, department_name
from schemas.serde import Serde
from tests.support.factories import resident_id
from tests.support.stores import connector_state, embedded_registry

KEY = b"k" * 32
PERSON = resident_id(21, date(1942, 3, 15))
NAME, PHONE = "赵秀英", "13600002222"
ADDRESS = "朝阳区幸福里小区3号楼2单元502"
DWELLING = "FW110105012003-3-2-502"


@dataclass(frozen=True)
class Sample:
    """One row of a department export and the event it must become."""

    directory: str
    export: str
    event: str
    cells: str  # "column=value; column=value", as a clerk's row reads

    @property
    def row(self) -> dict[str, str]:
        return dict(pair.split("=", 1) for pair in self.cells.split("; "))

    def __str__(self) -> str:
        return f"{self.directory}.{self.export}.{self.event}"


# One row per event each export yields.
SAMPLES = [
    Sample(
        "public_security",
        "registry",
        "resident-registered",
        f"业务流水号=RB2024030500017; 业务类型=登记; 公民身份号码={PERSON}; 姓名={NAME}; "
        f"性别=女; 出生日期=1942-03-15; 联系电话={PHONE}; 户号=H000123; "
        f"房屋编码={DWELLING}; 社区代码=110105012003; 住址={ADDRESS}; "
        f"办理时间=2024-03-05 10:00:00",
    ),
    Sample(
        "public_security",
        "registry",
        "resident-moved",
        f"业务流水号=RB2024030500018; 业务类型=迁移; 公民身份号码={PERSON}; "
        f"房屋编码={DWELLING}; 社区代码=110105012003; 办理时间=2024/3/6",
    ),
    Sample(
        "public_security",
        "registry",
        "resident-deregistered",
        f"业务流水号=RB2024030500019; 业务类型=死亡注销; 公民身份号码={PERSON}; "
        f"办理时间=2024年3月7日 9时30分",
    ),
    Sample(
        "health",
        "health_code",
        "health-status-changed",
        f"记录编号=JKM20240305000123; 证件号码={PERSON}; 姓名={NAME}; 健康码状态=黄码; "
        f"变更时间=2024-03-05 08:12:30; 变更原因=密接人员",
    ),
    Sample(
        "health",
        "test_result",
        "test-result-reported",
        f"样本编号=S110105240305000123; 证件号码={PERSON}; 姓名={NAME}; "
        f"检测项目=核酸检测; 检测结果=阴性; 采样时间=2024-03-04 09:30; "
        f"报告时间=2024-03-05 02:10; 检测机构代码=LAB-CY-003",
    ),
    Sample(
        "health",
        "vaccination",
        "vaccination-recorded",
        f"接种记录编号=YM2024000456; 受种者身份证号={PERSON}; 受种者姓名={NAME}; "
        f"疫苗名称=新冠病毒灭活疫苗(Vero细胞); 接种剂次=第2剂; 疫苗批号=202312A045; "
        f"接种单位编码=JZ-110105-07; 接种时间=2024/3/5 14:20",
    ),
    Sample(
        "health",
        "quarantine",
        "quarantine-ordered",
        f"流水号=GL20240305000031; 管控措施=开始隔离; 隔离编号=QZ2024-000031; "
        f"证件号码={PERSON}; 姓名={NAME}; 联系电话={PHONE}; 隔离方式=居家隔离; "
        f"隔离地址={ADDRESS}; 隔离点编码=; 隔离开始时间=2024-03-05 12:00; "
        f"计划解除时间=2024-03-12 12:00; 隔离原因=密切接触者; 解除方式=; "
        f"操作时间=2024-03-05 11:40",
    ),
    Sample(
        "health",
        "quarantine",
        "quarantine-lifted",
        f"流水号=GL20240312000007; 管控措施=解除隔离; 隔离编号=QZ2024-000031; "
        f"证件号码={PERSON}; 隔离方式=集中隔离; 隔离地址=; 解除方式=期满解除; "
        f"操作时间=2024-03-12 12:05",
    ),
    Sample(
        "civil_affairs",
        "care_assessment",
        "care-need-assessed",
        f"评估编号=MZPG2024-00088; 身份证号码={PERSON}; 姓名={NAME}; 是否独居老人=是; "
        f"残疾等级=二级; 是否低保=是; 低保金额（元）=1,120.50; 评估日期=2024年3月1日; "
        f"下次复核日期=2024-09-01",
    ),
    Sample(
        "civil_affairs",
        "care_visit",
        "care-visit-logged",
        f"走访编号=ZF2024030500012; 身份证号码={PERSON}; 姓名={NAME}; 走访方式=入户走访; "
        f"走访结果=情况良好; 走访单位=幸福里社区养老驿站; 走访时间=2024-03-05 15:00; "
        f"备注=血压偏高，已提醒按时服药",
    ),
    Sample(
        "housing",
        "dwelling",
        "dwelling-registered",
        f"房屋编码={DWELLING}; 社区代码=110105012003; 社区名称=幸福里社区; "
        f"网格编号=110105012003-G03; 省=北京市; 市=北京市; 区县=朝阳区; 街道=三里屯街道; "
        f"楼栋=3号楼; 单元=2单元; 房号=502; 所在楼层=5层; 有无电梯=无; "
        f"户型=两室一厅一卫; 独立卫生间=; "
        f"房屋坐落=北京市朝阳区三里屯街道幸福里社区3号楼2单元502室; 登记时间=2019-06-01",
    ),
    Sample(
        "housing",
        "renovation",
        "renovation-progress-reported",
        "项目编号=GZ2024-0012; 社区代码=110105012003; 项目名称=幸福里小区综合整治; "
        "改造楼栋=1号楼、3号楼、5号楼; 当前阶段=施工; 完成进度=45%; "
        "改造内容=更换供水管线、加装电梯; "
        "批复预算(万元)=320.5; 填报日期=2024-03-01",
    ),
    Sample(
        "grid",
        "grid_report",
        "grid-report-filed",
        f"上报编号=WG20240305-0042; 社区代码=110105012003; "
        f"网格编号=110105012003-G03; 上报类型=入户走访; 房屋地址=3栋2单元502; "
        f"当事人身份证号={PERSON}; 网格员=刘强; 情况描述=独居老人家中无人应答，已联系家属; "
        f"是否需要跟进=是; "
        f"发生时间=2024-03-05 09:40",
    ),
    Sample(
        "grid",
        "grid_task",
        "task-assigned",
        f"流水号=RW20240305-0007-01; 操作类型=派单; 任务编号=RW20240305-0007; "
        f"社区代码=110105012003; 网格编号=110105012003-G03; 任务类型=预警处置; "
        f"预警编号=WELFARE_CHECK:FW110105012003-3-2-502; 预警类型=独居老人关怀; "
        f"房屋地址=幸福里3号楼2单元502室; 对象身份证号={PERSON}; 处置人工号=WGY-0315; "
        f"要求完成时间=2024-03-05 18:00; 任务说明=上门查看独居老人情况; "
        f"操作时间=2024-03-05 10:05",
    ),
    Sample(
        "grid",
        "grid_task",
        "task-completed",
        "流水号=RW20240305-0007-02; 操作类型=办结; 任务编号=RW20240305-0007; "
        "社区代码=110105012003; 网格编号=110105012003-G03; "
        "预警编号=WELFARE_CHECK:FW110105012003-3-2-502; 办结结果=已完成; "
        "办结说明=老人身体无恙，水管冻裂已报修; 操作时间=2024-03-05 16:20",
    ),
    Sample(
        "commerce",
        "delivery",
        "delivery-requested",
        f"订单编号=PS202403050000871; 订单状态=待配送; 收货地址={ADDRESS}; "
        f"收货人={NAME}; 联系电话={PHONE}; 商品明细=大米5kg, 蔬菜包1份, 鸡蛋30枚; 保供订单=是; "
        f"期望送达时间=2024-03-05 18:00; 门店编码=MD-XFL-01; 订单金额(元)=¥86.50; "
        f"状态时间=2024-03-05 10:31:05",
    ),
    Sample(
        "commerce",
        "delivery",
        "delivery-fulfilled",
        f"订单编号=PS202403050000871; 订单状态=已放门口; 收货地址={ADDRESS}; "
        f"状态时间=2024-03-05 17:02:44",
    ),
    Sample(
        "commerce",
        "stock",
        "supply-stock-reported",
        "门店编码=MD-XFL-01; 社区代码=110105012003; 门店名称=幸福里便民超市; 商品名称=大米; "
        "库存数量=1,200; 计量单位=公斤; 盘点时间=2024-03-05 07:00",
    ),
    Sample(
        "utilities",
        "water",
        "meter-reading",
        f"用户编号=SW0012003345; 水表编号=W-0012-3344; 用水地址={ADDRESS}; "
        f"户名={NAME}; 本期读数=1234.5吨; 抄表时间=2024-03-05 06:00; 入库时间=",
    ),
    Sample(
        "utilities",
        "electricity",
        "meter-reading",
        f"户号=0102345678; 电能表资产编号=1100123456789012; "
        f"用电地址=北京市朝阳区幸福里社区3号楼2单元502室; 户名={NAME}; 正向有功总示数=8832.15度; "
        f"抄表日期=2024-03-05 00:00; 采集时间=2024-03-05 00:15",
    ),
]


@pytest.fixture(scope="module")
def serde() -> Serde:
    return Serde(Catalog.load(), embedded_registry(sa.create_engine("sqlite://")))


@pytest.fixture(scope="module")
def gazetteer() -> Iterator[Gazetteer]:
    """A gazetteer fed the way production feeds it: by mapping the housing export."""
    engine = connector_state(sa.create_engine("sqlite://"))
    gazetteer = Gazetteer(engine)
    housing = MAPPINGS["housing"](KEY, gazetteer)
    for sample in SAMPLES:
        if sample.export == "dwelling":
            housing(sample.row)
    yield gazetteer
    engine.dispose()


def sample_of(event: str) -> Sample:
    return next(s for s in SAMPLES if event in (s.event, s.export))


def map_sample(sample: Sample, gazetteer: Gazetteer, **changes: str) -> Event:
    mapper = MAPPINGS[department_name(sample.directory)](KEY, gazetteer)
    return mapper({**sample.row, **changes})


def test_every_export_of_every_department_has_a_sample() -> None:
    declared = {
        (directory, export.name, event)
        for directory in DEPARTMENT_DIRS
        for export in department_spec(directory).exports
        for event in export.events
    }
    assert declared == {(s.directory, s.export, s.event) for s in SAMPLES}


def test_every_department_of_the_catalog_has_a_mapping() -> None:
    assert sorted(MAPPINGS) == Catalog.load().departments()


@pytest.mark.parametrize("sample", SAMPLES, ids=str)
def test_a_sample_row_becomes_an_event_that_fits_its_contract(
    serde: Serde, gazetteer: Gazetteer, sample: Sample
) -> None:
    mapped = map_sample(sample, gazetteer)
    assert (mapped.department, mapped.event) == (department_name(sample.directory), sample.event)
    contract = serde.catalog.event(mapped.department, mapped.event)
    serde.check(contract, mapped.record)
    assert serde.decode(contract, serde.encode(contract, mapped.record)) == mapped.record
    assert mapped.key == mapped.record[contract.key_field]
    assert mapped.record["event_id"].startswith(f"{mapped.department}:")


@pytest.mark.parametrize("sample", SAMPLES, ids=str)
def test_a_sample_row_s_header_picks_its_export(gazetteer: Gazetteer, sample: Sample) -> None:
    mapper = MAPPINGS[department_name(sample.directory)](KEY, gazetteer)
    assert mapper.export_for(sample.row).plan.name == sample.export


@pytest.mark.parametrize("sample", SAMPLES, ids=str)
def test_no_sample_output_holds_an_id_number_name_or_phone(
    gazetteer: Gazetteer, sample: Sample
) -> None:
    mapped = map_sample(sample, gazetteer)
    text = repr(mapped) + repr(mapped.record)
    for secret in (PERSON, PERSON[:17], NAME, PHONE, "刘强"):
        assert secret not in text


def test_mapping_a_row_twice_gives_the_same_event(gazetteer: Gazetteer) -> None:
    for sample in SAMPLES:
        assert map_sample(sample, gazetteer) == map_sample(sample, gazetteer)


def test_free_text_addresses_of_every_department_resolve_to_the_housing_dwelling(
    gazetteer: Gazetteer,
) -> None:
    resolving = [s for s in SAMPLES if s.directory in ("health", "grid", "commerce", "utilities")]
    dwellings = {map_sample(s, gazetteer).record.get("dwelling_id") for s in resolving}
    assert dwellings == {DWELLING, None}  # None: centralized quarantine, closed tasks, stock


def test_the_housing_sample_maps_layout_floor_and_address(gazetteer: Gazetteer) -> None:
    record = map_sample(sample_of("dwelling"), gazetteer).record
    assert (record["rooms"], record["floor"], record["has_separate_bathroom"]) == (2, 5, False)
    assert record["address"]["community"] == "幸福里社区"
    assert record["event_time"] == datetime(2019, 5, 31, 16, 0, tzinfo=UTC)


def test_units_money_and_lists_are_converted(gazetteer: Gazetteer) -> None:
    records = {s.event: map_sample(s, gazetteer).record for s in SAMPLES}
    assert records["renovation-progress-reported"]["buildings"] == ["1号楼", "3号楼", "5号楼"]
    assert records["renovation-progress-reported"]["budget_fen"] == 320_500_000
    assert records["care-need-assessed"]["subsistence_allowance_fen"] == 112_050
    assert records["delivery-requested"]["amount_fen"] == 8_650
    assert records["supply-stock-reported"]["quantity"] == 1200.0


def test_a_reading_without_a_received_time_takes_the_read_time(gazetteer: Gazetteer) -> None:
    record = map_sample(sample_of("water"), gazetteer).record
    assert record["event_time"] == record["read_at"]
    assert (record["value"], record["unit"]) == (1234.5, "CUBIC_METRE")


def test_a_home_quarantine_whose_address_is_missing_is_named(gazetteer: Gazetteer) -> None:
    with pytest.raises(RecordError) as caught:
        map_sample(sample_of("quarantine-ordered"), gazetteer, 隔离地址="")
    assert (caught.value.field, caught.value.code) == ("隔离地址", "missing_field")


def test_a_header_of_another_department_is_not_an_export(gazetteer: Gazetteer) -> None:
    mapper = MAPPINGS["utilities"](KEY, gazetteer)
    with pytest.raises(RecordError) as caught:
        mapper(sample_of("resident-registered").row)
    assert (caught.value.field, caught.value.code) == ("(header)", "unknown_export")


@pytest.mark.parametrize("directory", ["health", "housing", "grid", "commerce", "utilities"])
def test_a_department_that_resolves_addresses_needs_a_gazetteer(directory: str) -> None:
    with pytest.raises(MappingError, match="needs one"):
        DepartmentMapper(department_spec(directory), KEY)


@pytest.mark.parametrize("directory", ["public_security", "civil_affairs"])
def test_a_department_without_addresses_builds_without_a_gazetteer(directory: str) -> None:
    assert MAPPINGS[department_name(directory)](KEY).department == department_name(directory)
