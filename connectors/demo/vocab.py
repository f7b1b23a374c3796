"""Words the demo community is made of: surnames, given names, places, shops, goods.

Surname weights are shares (per mille, rounded) of the 2020 census ranking, so a thousand
residents show roughly as many 王 and 李 as a real community would. Given-name characters
follow the fashions of the decade a resident was born in.
"""

from __future__ import annotations

from dataclasses import dataclass

SURNAMES: tuple[tuple[str, int], ...] = (
    ("王", 71), ("李", 70), ("张", 62), ("刘", 54), ("陈", 46), ("杨", 31), ("黄", 26),
    ("赵", 23), ("吴", 20), ("周", 19), ("徐", 16), ("孙", 15), ("马", 14), ("朱", 13),
    ("胡", 13), ("郭", 12), ("何", 12), ("林", 11), ("高", 11), ("罗", 10), ("郑", 9),
    ("梁", 9), ("谢", 8), ("宋", 7), ("唐", 7), ("许", 7), ("韩", 6), ("冯", 6), ("邓", 6),
    ("曹", 6), ("彭", 6), ("曾", 5), ("肖", 5), ("田", 5), ("董", 5), ("袁", 5), ("潘", 4),
    ("于", 4), ("蒋", 4), ("蔡", 4), ("余", 4), ("杜", 4), ("叶", 4), ("程", 4), ("苏", 3),
    ("魏", 3), ("吕", 3), ("丁", 3), ("任", 3), ("沈", 3), ("姚", 3), ("卢", 3), ("姜", 3),
    ("崔", 3), ("钟", 3), ("谭", 3), ("陆", 3), ("汪", 3), ("范", 3), ("金", 3), ("廖", 2),
    ("贾", 2), ("夏", 2), ("韦", 2), ("付", 2), ("方", 2), ("邹", 2), ("孟", 2), ("熊", 2),
    ("秦", 2), ("邱", 2), ("尹", 2), ("薛", 2), ("闫", 2), ("段", 2), ("雷", 2), ("侯", 2),
    ("史", 2), ("陶", 1), ("贺", 1), ("顾", 1), ("毛", 1), ("郝", 1), ("龚", 1), ("邵", 1),
    ("钱", 1), ("严", 1), ("覃", 1), ("戴", 1), ("莫", 1), ("孔", 1), ("欧阳", 1), ("司马", 1),
)  # fmt: skip

# Given-name characters by birth cohort and gender: (male, female).
GIVEN: dict[str, tuple[str, str]] = {
    "1920": ("德福贵生荣忠义顺宝根", "秀英兰珍凤桂淑玉芝"),
    "1950": ("建国华明志刚军民强海", "秀英兰珍凤芳桂玉淑琴"),
    "1970": ("伟勇磊涛斌鹏辉超刚平", "丽娟艳静敏燕红霞玲萍"),
    "1990": ("浩宇轩俊博睿晨航铭哲", "欣怡涵萱诗佳琪馨睿婷"),
}


def cohort(year: int) -> str:
    """The given-name fashion of a birth year."""
    if year < 1950:
        return "1920"
    if year < 1970:
        return "1950"
    if year < 1990:
        return "1970"
    return "1990"


@dataclass(frozen=True, slots=True)
class Place:
    """A city district and the sub-district offices (街道) the demo communities sit in."""

    province: str
    city: str
    district: str
    region_code: str
    streets: tuple[str, ...]
    communities: tuple[str, ...]


# Region codes are the real GB/T 2260 county-level codes of these districts.
PLACES: tuple[Place, ...] = (
    Place("北京市", "北京市", "朝阳区", "110105", ("劲松街道", "八里庄街道", "和平街街道"),
          ("光华里社区", "农光里社区", "甜水园社区", "延静里社区")),
    Place("上海市", "上海市", "浦东新区", "310115", ("潍坊新村街道", "洋泾街道", "塘桥街道"),
          ("潍坊三村社区", "泾东社区", "蓝村社区", "东昌新村社区")),
    Place("广东省", "广州市", "天河区", "440106", ("沙河街道", "五山街道", "棠下街道"),
          ("先烈东社区", "茶山社区", "棠东社区", "华工社区")),
    Place("四川省", "成都市", "武侯区", "510107", ("浆洗街街道", "望江路街道", "火车南站街道"),
          ("蜀汉路社区", "锦官新城社区", "大悦路社区", "川大社区")),
    Place("湖北省", "武汉市", "武昌区", "420106", ("水果湖街道", "中南路街道", "首义路街道"),
          ("东亭社区", "省直机关社区", "大东门社区", "紫阳社区")),
    Place("陕西省", "西安市", "碑林区", "610103", ("长安路街道", "文艺路街道", "太乙路街道"),
          ("省体育场社区", "建设西路社区", "互助路社区", "仁厚庄社区")),
    Place("辽宁省", "沈阳市", "和平区", "210102", ("南湖街道", "太原街街道", "新华街道"),
          ("三好社区", "民族社区", "同泽社区", "砂山社区")),
    Place("山东省", "济南市", "历下区", "370102", ("泉城路街道", "解放路街道", "文东街道"),
          ("县西巷社区", "山大路社区", "青龙后街社区", "燕子山社区")),
)  # fmt: skip

# Where people were born: the region code in their ID number (local ones weigh more).
BIRTH_REGIONS: tuple[str, ...] = (
    "130102", "370203", "410105", "430102", "340104", "360102", "500103", "120101",
    "220102", "230102", "140105", "450103", "520102", "530102", "620102", "320106",
)  # fmt: skip

MOBILE_PREFIXES = ("135", "136", "137", "138", "139", "150", "151", "152", "158", "159",
                   "177", "180", "186", "187", "188", "189", "199")  # fmt: skip

STORES = ("便民超市", "生鲜驿站", "社区药房", "粮油店")
SUPPLIES: tuple[tuple[str, str], ...] = (
    ("大米", "公斤"), ("面粉", "公斤"), ("食用油", "升"), ("鸡蛋", "公斤"), ("蔬菜包", "份"),
    ("牛奶", "箱"), ("口罩", "只"), ("消毒液", "瓶"), ("退烧药", "盒"),
)  # fmt: skip
DELIVERY_ITEMS = ("蔬菜包", "米面粮油", "鸡蛋牛奶", "常用药品", "生活用品", "水果", "冻品肉类")

FACILITIES = ("GLD-01", "GLD-02", "GLD-03")  # centralized quarantine sites
QUARANTINE_REASONS = ("密切接触者", "次密切接触者", "中高风险地区返回", "入境人员")
LABS = ("LAB-CDC-001", "LAB-RMYY-002", "LAB-JY-003")  # district CDC, city hospital, private lab
VACCINES = ("新冠病毒灭活疫苗(Vero细胞)", "重组新冠病毒蛋白疫苗(CHO细胞)", "流感病毒裂解疫苗")

GRID_INCIDENTS = (
    "楼道堆放杂物", "消防通道占用", "管道漏水", "电梯故障", "路灯损坏", "噪音扰民",
    "化粪池堵塞", "外墙脱落隐患", "私拉电线充电", "垃圾清运不及时",
)  # fmt: skip
GRID_INSPECTIONS = ("日常巡查，未见异常", "巡查消防设施，完好", "巡查楼道卫生，已督促清理")
GRID_VISITS = ("走访独居老人，身体状况良好", "走访残疾人家庭，了解生活需求", "走访隔离户，物资充足")
VISITOR_ORGS = ("社区居委会", "街道社工站", "养老服务中心", "志愿者服务队")
CARE_NOTES = ("精神状态良好", "需要助餐服务", "腿脚不便，需要上门服务", "电话无人接听")

RENOVATION_WORKS = (
    "外墙保温改造", "加装电梯", "雨污分流", "屋面防水", "管网改造", "楼道照明",
    "适老化改造", "停车位整治",
)  # fmt: skip
