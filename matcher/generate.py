"""Synthetic seasons at any scale (DESIGN §5), valid under the season contract (DESIGN §3, §4a).

Researchers compare strategies and budgets on these, benchmarks time them, and `instances/sample`
(what `make demo` solves) is one of them, named after Chenzhou's own parks and schools. Everything
is drawn from one `numpy.random.Generator(seed)` and vectorised, so a province-sized season
(500 000 students, ~10 preferences each) takes seconds, not a Python loop per student.

    >>> season = generate("city", seed=3)
    >>> write_season(season, "seasons/city-3")
"""

from __future__ import annotations

import math
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "FORMATS",
    "FUND_NAMES",
    "MAJORS",
    "SCALES",
    "GeneratedSeason",
    "Scale",
    "generate",
    "potential_spend",
    "write_season",
]

PERIODS = 2  # two 3-month periods: one half-year application round (Chenzhou §5)

MAJORS: tuple[str, ...] = (
    "机电一体化技术",
    "数控技术",
    "电子信息工程技术",
    "计算机应用技术",
    "有色金属冶炼技术",
    "化工技术",
    "电子商务",
    "物流管理",
    "会计",
    "护理",
    "旅游管理",
    "汽车检测与维修",
)
_MAJOR = {m: i for i, m in enumerate(MAJORS)}
# Relative number of students enrolled in each major (supply side).
_MAJOR_SUPPLY = np.array([1.2, 0.9, 1.0, 1.3, 0.5, 0.6, 1.2, 0.8, 1.2, 1.1, 0.7, 0.9])

# Sector of an enterprise -> weight of each major in the slots it offers (demand side).
_SECTORS: dict[str, dict[str, float]] = {
    "有色金属": {"有色金属冶炼技术": 3, "化工技术": 2, "机电一体化技术": 2, "数控技术": 1,
                 "会计": 0.3},
    "装备制造": {"机电一体化技术": 3, "数控技术": 3, "电子信息工程技术": 1, "汽车检测与维修": 1,
                 "会计": 0.3},
    "电子信息": {"电子信息工程技术": 3, "计算机应用技术": 3, "电子商务": 1, "机电一体化技术": 1,
                 "会计": 0.3},
    "汽车制造": {"汽车检测与维修": 3, "机电一体化技术": 2, "数控技术": 2, "物流管理": 0.5},
    "现代物流": {"物流管理": 3, "电子商务": 2, "计算机应用技术": 0.5, "会计": 0.5},
    "化工新材料": {"化工技术": 3, "有色金属冶炼技术": 1, "机电一体化技术": 1, "会计": 0.3},
    "现代服务": {"会计": 2, "护理": 3, "旅游管理": 2, "电子商务": 2, "物流管理": 1,
                 "计算机应用技术": 1},
}
_SECTOR_NAMES = tuple(_SECTORS)
_SERVICE = _SECTOR_NAMES.index("现代服务")
_MANUFACTURING = np.array([i for i in range(len(_SECTOR_NAMES)) if i != _SERVICE])
_SECTOR_W = np.array([[w.get(m, 0.0) for m in MAJORS] for w in _SECTORS.values()])

# Two post (岗位) names per major; same-post caps (DESIGN §4a.6) group slots by these.
_POSTS: dict[str, tuple[str, str]] = {
    "机电一体化技术": ("设备维修工", "装配钳工"),
    "数控技术": ("数控车工", "加工中心操作工"),
    "电子信息工程技术": ("电子装接工", "测试技术员"),
    "计算机应用技术": ("网络管理员", "软件测试员"),
    "有色金属冶炼技术": ("冶炼工", "化验员"),
    "化工技术": ("化工操作工", "质检员"),
    "电子商务": ("网店运营", "客服专员"),
    "物流管理": ("仓管员", "物流调度员"),
    "会计": ("出纳", "会计助理"),
    "护理": ("护士", "护理员"),
    "旅游管理": ("导游", "前台接待"),
    "汽车检测与维修": ("汽车维修工", "汽车检测员"),
}
_POST_NAMES = np.array([p for m in MAJORS for p in _POSTS[m]], dtype=object)

# A student without a list is eligible for every option of their major (DESIGN §4a.2): at most
# this share of students has none, fewer where that would exceed this many edges per student.
_NO_LIST_SHARE = 0.10
_EDGES_PER_STUDENT = 24.0

KINDS: tuple[str, ...] = ("shadow", "post", "order", "apprentice", "employment")
_SHADOW, _POST, _ORDER, _APPRENTICE, _EMPLOYMENT = range(5)
_KIND_SHARE = np.array([0.30, 0.28, 0.12, 0.10, 0.20])  # share of slots of each kind
_KIND_SEATS = np.array([1.0, 1.0, 2.0, 0.7, 1.2])  # relative seats of one slot of each kind
_KIND_APPEAL = np.array([1.0, 1.0, 1.3, 0.8, 1.5])  # how much students like each kind
_KIND_MIN_CAPACITY = np.array([1, 1, 3, 1, 1])  # an order class of one student is no class

FUND_NAMES: dict[str, str] = {
    "city_county": "市县两级受益财政",
    "employment": "同级财政就业配套资金",
    "city_employment": "市级财政就业配套资金",
    "hr_finance": "人社与财政部门就业补助资金",
    "finance": "财政以奖代补资金",
    "skills": "职业技能提升行动资金",
    "district": "区级财政定向培养补助",
}
_CHENZHOU_FUNDS = ("city_county", "employment", "city_employment")
_BUDGET_SHARE = (0.3, 0.45)  # budget / spend of a full placement: binds on placed, not only local

_LOCAL_COUNTIES = ("北湖区", "苏仙区", "资兴市", "桂阳县", "宜章县", "永兴县", "嘉禾县", "临武县",
                   "汝城县", "桂东县", "安仁县")
_CITY_COUNTIES = ("北湖区", "苏仙区")
_OTHER_COUNTIES = ("长沙县", "南沙区", "宝安区", "东莞市", "天河区", "雨花区")

# The sample's parks: name, county, local, cluster, relative number of enterprises, name prefix.
_SAMPLE_PARKS = (
    ("郴州高新区", "苏仙区", True, "有色金属", 3.0, "郴州"),
    ("郴州经开区", "北湖区", True, "装备制造", 3.0, "郴州"),
    ("资兴经开区", "资兴市", True, "电子信息", 1.5, "资兴"),
    ("永兴经开区", "永兴县", True, "有色金属", 1.5, "永兴"),
    ("桂阳高新区", "桂阳县", True, "装备制造", 1.0, "桂阳"),
    ("长沙经开区", "长沙县", False, "汽车制造", 1.0, "长沙"),
    ("广州南沙开发区", "南沙区", False, "现代物流", 0.8, "广州"),
)
# The sample's schools (Chenzhou §3): name, county, city_area, relative size, majors taught.
_SAMPLE_SCHOOLS = (
    ("郴州职业技术学院", "苏仙区", True, 3.0,
     ("机电一体化技术", "电子信息工程技术", "计算机应用技术", "有色金属冶炼技术", "会计", "护理",
      "旅游管理", "电子商务")),
    ("郴州技师学院", "北湖区", True, 2.0,
     ("机电一体化技术", "数控技术", "汽车检测与维修", "电子信息工程技术", "化工技术")),
    ("郴州市理工职业技术学校", "北湖区", True, 1.0,
     ("数控技术", "计算机应用技术", "电子商务", "汽车检测与维修")),
    ("郴州工业交通学校", "苏仙区", True, 1.0,
     ("汽车检测与维修", "物流管理", "机电一体化技术", "有色金属冶炼技术", "化工技术")),
    ("郴州市综合职业中专", "北湖区", True, 1.0,
     ("会计", "旅游管理", "护理", "电子商务", "物流管理")),
    ("郴州市第一职业中专", "北湖区", True, 1.0,
     ("计算机应用技术", "会计", "电子商务", "旅游管理")),
    ("永兴县职业中等专业学校", "永兴县", False, 0.7,
     ("有色金属冶炼技术", "化工技术", "数控技术", "会计")),
)
_BRANDS = (
    "恒达", "华鑫", "金源", "东江", "瑞丰", "宏图", "鑫达", "福城", "天一", "中盛", "同创",
    "嘉和", "正源", "博远", "新航", "明德", "利泰", "汇通", "永盛", "安康", "长青", "三和",
    "万隆", "德胜", "润泽", "顺发", "众兴", "华晨", "金桥", "广源", "银河", "泰丰", "宏远",
    "英特", "景程", "高科", "凯旋", "兴业", "春晖", "启明", "晟达", "佳美", "立信", "康宁",
    "远航", "林邑",
)
_TRADES: dict[str, tuple[str, ...]] = {
    "有色金属": ("有色金属有限公司", "冶炼有限责任公司", "新材料股份有限公司", "矿业有限公司"),
    "装备制造": ("机械制造有限公司", "智能装备有限公司", "精密机械有限公司", "重工有限公司"),
    "电子信息": ("电子科技有限公司", "信息技术有限公司", "数据科技有限公司", "光电有限公司"),
    "汽车制造": ("汽车零部件有限公司", "汽车有限公司", "动力科技有限公司"),
    "现代物流": ("物流有限公司", "供应链管理有限公司", "仓储有限公司"),
    "化工新材料": ("化工有限公司", "新材料科技有限公司", "精细化工有限公司"),
}
_SERVICE_TRADES: dict[str, tuple[str, ...]] = {  # service firms are named after what they do
    "护理": ("医院", "健康管理有限公司"),
    "旅游管理": ("国际旅行社", "大酒店"),
    "会计": ("会计师事务所", "财务咨询有限公司"),
    "电子商务": ("电子商务有限公司", "网络科技有限公司"),
    "计算机应用技术": ("网络科技有限公司", "软件有限公司"),
    "物流管理": ("快递服务有限公司", "物流有限公司"),
}
_OUTSIDE_PREFIX_LOCAL = ("郴州", "郴州", "北湖", "苏仙", "宜章", "嘉禾", "临武")
_OUTSIDE_PREFIX_OTHER = ("东莞", "深圳", "广州", "长沙")
_SURNAMES = np.array(list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗谢曹邓彭曾雷肖唐邝廖欧首"))
_SURNAME_W = np.linspace(3.0, 0.5, len(_SURNAMES))
_GIVEN = np.array(list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建文辉力晨宇浩"
                       "欣怡梓涵子轩雨婷思佳俊博诗琪嘉铭一鸣志远湘郴林溪"))


@dataclass(frozen=True)
class Scale:
    """Sizes of one generated scale; counts other than `students` scale with the student count."""

    students: int
    schools: int
    local_parks: int
    other_parks: int
    enterprises: int
    slots: int
    pref_mean: float  # mean preference-list length of a student who has one
    pref_max: int
    named: bool  # Chenzhou's real park and school names (the sample) or generated ones


SCALES: dict[str, Scale] = {
    "sample": Scale(300, 7, 5, 2, 40, 80, 4.0, 8, True),
    "city": Scale(20_000, 24, 10, 4, 900, 2_000, 8.0, 15, False),
    "province": Scale(500_000, 450, 100, 30, 16_000, 40_000, 10.0, 20, False),
}


@dataclass(frozen=True)
class GeneratedSeason:
    """A season in memory: `config` is season.toml, `tables` the CSV tables by name (no `.csv`).

    Booleans are bool columns, lists `;`-separated text, optional integers nullable `Int64`, as the
    typed formats of DESIGN §3 hold them.
    """

    name: str
    config: dict
    tables: dict[str, pd.DataFrame]


def generate(
    scale: str = "sample",
    seed: int = 1,
    *,
    students: int | None = None,
    policy: str = "chenzhou-2018",
    rankings: bool = False,
) -> GeneratedSeason:
    """Draw a season of the given scale, deterministic in `seed`.

    `students` overrides the scale's student count (the other counts follow in proportion);
    `policy` is written to season.toml and decides which fund rows exist; `rankings` adds
    enterprise rankings (rankings.csv) for about a third of the slots.
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; expected one of {', '.join(SCALES)}")
    sc = SCALES[scale]
    n = sc.students if students is None else int(students)
    if n < 1:
        raise ValueError(f"students must be positive, got {n}")
    ratio = n / sc.students
    rng = np.random.default_rng(seed)

    parks, park_cluster, park_weight, park_prefix = _parks(rng, sc, ratio)
    schools, school_majors, school_weight = _schools(rng, sc, ratio)
    studs, st_school, st_major, st_grad = _students(rng, n, schools, school_majors, school_weight)
    ent = _enterprises(rng, sc, ratio, parks, park_cluster, park_weight, park_prefix)
    slots = _slots(rng, sc, ratio, n, ent, schools, st_school, st_major)
    enterprises = _finish_enterprises(rng, ent, slots)
    slots_df = _slots_table(rng, slots, ent, schools)
    prefs = _preferences(rng, sc, studs, st_school, st_major, st_grad, slots, ent, len(schools))

    tables: dict[str, pd.DataFrame] = {
        "schools": schools,
        "parks": parks,
        "enterprises": enterprises,
        "students": studs,
        "slots": slots_df,
    }
    funds = potential_spend(tables, PERIODS)
    fund_ids = _CHENZHOU_FUNDS if policy == "chenzhou-2018" else tuple(FUND_NAMES)
    share = rng.uniform(*_BUDGET_SHARE, size=len(fund_ids))
    tables["funds"] = pd.DataFrame({
        "fund_id": list(fund_ids),
        "name": [FUND_NAMES[f] for f in fund_ids],
        "budget": [int(round(funds[f] * s, -2)) for f, s in zip(fund_ids, share, strict=True)],
    })
    tables["preferences"] = prefs
    if rankings:
        tables["rankings"] = _rankings(rng, prefs, studs)

    name = f"{scale}-seed{seed}" if students is None else f"{scale}-{n}-seed{seed}"
    config = {"name": name, "periods": PERIODS, "policy": policy}
    return GeneratedSeason(name=name, config=config, tables=tables)


def potential_spend(tables: dict[str, pd.DataFrame], periods: int = PERIODS) -> dict[str, int]:
    """What each fund would pay if every seat that can earn its subsidy were filled (yuan).

    Chenzhou (POLICY §3): order 1000/year and shadow ≥ 3 months 200 once (city_county), post
    ≥ 6 months 100/month (employment), a city-area graduate in a local park 500 + 1200
    (city_employment). The other presets' funds: Linfen small/micro hires 300 (hr_finance),
    Sanmenxia interns 200/month (finance) and apprentices 5000/year (skills), Wuhua order classes,
    taken as 1000/year (district). city_employment seats count at the share of their main major's
    graduating students who study at city-area schools, the only ones it pays for. Generated
    budgets are a share of these figures.
    """
    slots, ents = tables["slots"], tables["enterprises"]
    studs = tables["students"].merge(tables["schools"][["school_id", "city_area"]], on="school_id")
    grads = studs[studs["graduating"].astype(bool)]
    city_share = grads["city_area"].astype(bool).groupby(grads["major"]).mean()
    main_major = slots["majors"].astype(str).str.split(";").str[0]
    city_share = city_share.reindex(main_major).fillna(0.0).to_numpy()
    ent = ents.set_index("enterprise_id").loc[slots["enterprise_id"]]
    kind = slots["kind"].to_numpy()
    cap = slots["capacity"].to_numpy(dtype=np.int64)
    durs = slots["durations"].astype(str)
    has3 = durs.str.contains(r"(?:^|;)\s*3\s*(?:;|$)").to_numpy(dtype=bool)
    has6 = durs.str.contains(r"(?:^|;)\s*6\s*(?:;|$)").to_numpy(dtype=bool)
    months = 3 * periods
    whole = np.isin(kind, ["order", "apprentice", "employment"])
    shadow, post = kind == "shadow", kind == "post"
    # Most placements a slot can hold in the season (3-month options fill every period).
    shadow_n = np.where(has3, cap * periods, cap * (periods // 2))
    post6_n = np.where(has6, cap * (periods // 2), 0)
    park_local = ent["park_id"].notna().to_numpy() & ent["local"].to_numpy(dtype=bool)
    small = ent["size_class"].isin(["small", "micro"]).to_numpy()
    seats = np.where(whole, cap, 0)
    return {
        "city_county": int((seats * (kind == "order")).sum() * 1000 * months // 12
                           + (shadow_n * shadow).sum() * 200),
        "employment": int((post6_n * post).sum() * 100 * 6),
        "city_employment": int(
            (seats * ((kind == "employment") & park_local) * city_share).sum() * 1700),
        "hr_finance": int((seats * ((kind == "employment") & small)).sum() * 300),
        "finance": int((cap * (shadow | post)).sum() * months * 200),
        "skills": int((seats * (kind == "apprentice")).sum() * 5000 * months // 12),
        "district": int((seats * (kind == "order")).sum() * 1000 * months // 12),
    }


FORMATS = ("csv", "parquet")


def write_season(season: GeneratedSeason, out_dir: str | Path, format: str = "csv") -> Path:
    """Write `season` as a season folder (season.toml and one UTF-8 CSV, or one Parquet file,
    per table: DESIGN §3) and return its path. Parquet keeps integer and boolean columns typed
    and loads several times faster than CSV at province scale.

    The files go to a temporary folder beside `out_dir` that is renamed into place, so a reader
    never sees half a season; an existing non-empty `out_dir` is never overwritten.
    """
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; expected one of {', '.join(FORMATS)}")
    out = Path(out_dir)
    _check_free(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.parent / f".{out.name}.{secrets.token_hex(4)}.tmp"
    tmp.mkdir()  # unlike mkdtemp, keeps the umask's permissions once renamed into place
    try:
        (tmp / "season.toml").write_text(_toml(season.config), encoding="utf-8")
        for table, df in season.tables.items():
            if format == "parquet":
                df.to_parquet(tmp / f"{table}.parquet", index=False)
            else:
                _csv(df).to_csv(tmp / f"{table}.csv", index=False, encoding="utf-8",
                                lineterminator="\n")
        _check_free(out)
        if out.is_dir():
            out.rmdir()  # empty, checked above
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


# ---------------------------------------------------------------------------------------------
# Entities


def _parks(
    rng: np.random.Generator, sc: Scale, ratio: float
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, list[str]]:
    """Parks, local ones first, with each park's cluster (sector index) and relative size."""
    if sc.named:
        rows = _SAMPLE_PARKS
        names = [r[0] for r in rows]
        county = [r[1] for r in rows]
        local = np.array([r[2] for r in rows])
        cluster = np.array([_SECTOR_NAMES.index(r[3]) for r in rows])
        weight = np.array([r[4] for r in rows])
        prefix = [r[5] for r in rows]
    else:
        n_local = max(2, round(sc.local_parks * ratio))
        n_other = max(1, round(sc.other_parks * ratio))
        k = n_local + n_other
        names = list(_numbered("园区", k))
        local = np.arange(k) < n_local
        county = np.where(local, rng.choice(_LOCAL_COUNTIES, k), rng.choice(_OTHER_COUNTIES, k))
        cluster = rng.choice(_MANUFACTURING, k)
        weight = rng.lognormal(0.0, 0.6, k)
        prefix = ["" for _ in range(k)]
    df = pd.DataFrame({
        "park_id": _ids("P", len(names), 2),
        "name": names,
        "county": county,
        "local": local,
        "cluster": [_SECTOR_NAMES[c] for c in cluster],
    })
    return df, cluster, weight, prefix


def _schools(
    rng: np.random.Generator, sc: Scale, ratio: float
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Schools with the majors each teaches (bool matrix school x major) and relative size."""
    if sc.named:
        rows = _SAMPLE_SCHOOLS
        names = [r[0] for r in rows]
        county = [r[1] for r in rows]
        city = np.array([r[2] for r in rows])
        weight = np.array([r[3] for r in rows])
        teaches = np.array([[m in r[4] for m in MAJORS] for r in rows])
    else:
        k = max(2, round(sc.schools * ratio))
        names = list(_numbered("职业学校", k))
        city = rng.random(k) < 0.4
        county = np.where(city, rng.choice(_CITY_COUNTIES, k), rng.choice(_LOCAL_COUNTIES[2:], k))
        weight = rng.lognormal(0.0, 0.6, k)
        n_majors = rng.integers(4, 9, k)  # each school teaches 4..8 majors (Gumbel top-k)
        keys = np.log(_MAJOR_SUPPLY)[None, :] + rng.gumbel(size=(k, len(MAJORS)))
        rank = np.argsort(np.argsort(-keys, axis=1), axis=1)
        teaches = rank < n_majors[:, None]
    df = pd.DataFrame({
        "school_id": _ids("SCH", len(names), 2),
        "name": names,
        "county": county,
        "city_area": city,
    })
    return df, teaches, weight


def _students(
    rng: np.random.Generator,
    n: int,
    schools: pd.DataFrame,
    teaches: np.ndarray,
    school_weight: np.ndarray,
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Students: school by size, major among the school's majors, ~15 % poor, ~40 % graduating."""
    school = rng.choice(len(schools), n, p=school_weight / school_weight.sum())
    mix = teaches * _MAJOR_SUPPLY[None, :] * rng.lognormal(0.0, 0.4, teaches.shape)
    major = _row_choice(rng, mix, school)
    graduating = rng.random(n) < 0.40
    rural = ~schools["city_area"].to_numpy(dtype=bool)[school]
    p_poor = np.where(rural, 1.6, 1.0)
    poor = rng.random(n) < 0.15 * p_poor / p_poor.mean()
    score = np.round(np.clip(rng.normal(70.0, 13.0, n), 40.0, 100.0), 1)
    home = np.where(rng.random(n) < 0.7, schools["county"].to_numpy()[school],
                    rng.choice(_LOCAL_COUNTIES, n))
    df = pd.DataFrame({
        "student_id": _ids("S", n, 5),
        "name": _person_names(rng, n),
        "school_id": schools["school_id"].to_numpy()[school],
        "major": np.array(MAJORS, dtype=object)[major],
        "poor": poor,
        "graduating": graduating,
        "score": score,
        "home_county": home,
    })
    return df, school, major, graduating


@dataclass
class _Ents:
    """Enterprise arrays between drawing and the final table; `_finish_enterprises` raises
    `staff` to fit the slots, before `_slots_table` reads it for post_staff."""

    ids: np.ndarray
    names: np.ndarray | None  # generated names, or None: named after their slots (the sample)
    prefix: np.ndarray | None  # place part of a sample enterprise's name
    park: np.ndarray  # park index or -1
    park_ids: np.ndarray
    local: np.ndarray
    sector: np.ndarray
    staff: np.ndarray
    popularity: np.ndarray  # Zipf weight: how much students want to go there


def _enterprises(
    rng: np.random.Generator,
    sc: Scale,
    ratio: float,
    parks: pd.DataFrame,
    park_cluster: np.ndarray,
    park_weight: np.ndarray,
    park_prefix: list[str],
) -> _Ents:
    """Enterprises in local parks, other parks and outside parks, with staff and popularity."""
    k = max(3, round(sc.enterprises * ratio))
    park_local = parks["local"].to_numpy(dtype=bool)
    # where: 0 local park, 1 other park, 2 outside parks (local), 3 outside parks (elsewhere)
    where = rng.choice(4, k, p=[0.62, 0.10, 0.20, 0.08])
    park = np.full(k, -1)
    for w, group in ((0, park_local), (1, ~park_local)):
        sel = where == w
        pw = np.where(group, park_weight, 0.0)
        park[sel] = rng.choice(len(pw), sel.sum(), p=pw / pw.sum())
    local = np.where(park >= 0, park_local[np.maximum(park, 0)], where == 2)
    sector = np.where(rng.random(k) < 0.8, park_cluster[np.maximum(park, 0)],
                      rng.choice(_MANUFACTURING, k))
    outside = park < 0
    service = outside & (rng.random(k) < np.where(local, 0.7, 0.3))
    sector = np.where(outside, np.where(service, _SERVICE, rng.choice(_MANUFACTURING, k)), sector)
    staff = np.clip(rng.lognormal(math.log(150.0), 1.1, k), 8, 30_000).astype(np.int64)
    # Zipf popularity, ranked mostly by size: the big names draw most applications.
    order = np.argsort(-(np.log(staff) + rng.normal(0.0, 1.0, k)))
    popularity = np.empty(k)
    popularity[order] = 1.0 / np.arange(1, k + 1) ** 0.9
    ids = _ids("E", k, 3)
    names, prefix = None, None
    if sc.named:
        elsewhere = np.where(local, rng.choice(_OUTSIDE_PREFIX_LOCAL, k),
                             rng.choice(_OUTSIDE_PREFIX_OTHER, k))
        prefix = np.where(park >= 0, np.array(park_prefix, dtype=object)[np.maximum(park, 0)],
                          elsewhere)
    else:
        names = _numbered("企业", k)
    park_ids = np.where(park >= 0, parks["park_id"].to_numpy()[np.maximum(park, 0)], None)
    return _Ents(ids, names, prefix, park, park_ids, local, sector, staff, popularity)


@dataclass
class _Slots:
    """Slot arrays shared by the slot table, the staff revision and the preference draw."""

    ent: np.ndarray
    kind: np.ndarray
    primary: np.ndarray
    mask: np.ndarray  # bit m set when major m is listed
    school: np.ndarray  # order class held at this school index, or -1
    durations: np.ndarray  # text
    capacity: np.ndarray


def _slots(
    rng: np.random.Generator,
    sc: Scale,
    ratio: float,
    n_students: int,
    ent: _Ents,
    schools: pd.DataFrame,
    st_school: np.ndarray,
    st_major: np.ndarray,
) -> _Slots:
    """Slots of all kinds; seats add up to ~90 % of students, spread unevenly across majors."""
    k_ent = len(ent.ids)
    k = max(k_ent, max(5, round(sc.slots * ratio)))
    # Every enterprise offers at least one slot; larger ones offer more.
    extra = rng.choice(k_ent, k - k_ent, p=_normalise(ent.staff ** 0.6))
    slot_ent = np.sort(np.concatenate([np.arange(k_ent), extra]))
    counts = _largest_remainder(_KIND_SHARE * k)
    kind = rng.permutation(np.repeat(np.arange(len(KINDS)), counts))
    sector = ent.sector[slot_ent]
    primary = _row_choice(rng, _SECTOR_W, sector)
    # A workshop often offers several slots for the same major (shadow and post, say).
    same = np.zeros(k, dtype=bool)
    same[1:] = (slot_ent[1:] == slot_ent[:-1]) & (rng.random(k - 1) < 0.35)
    primary[1:] = np.where(same[1:], primary[:-1], primary[1:])
    mask = np.left_shift(1, primary)
    for p_extra in (0.35, 0.12):
        other = _row_choice(rng, _SECTOR_W, sector)
        mask |= np.where(rng.random(k) < p_extra, np.left_shift(1, other), 0)

    # Order classes: ~70 % are held at one school that teaches the major, chosen by enrolment.
    n_sch = len(schools)
    enrol = np.zeros((n_sch, len(MAJORS)))
    np.add.at(enrol, (st_school, st_major), 1.0)
    school = np.full(k, -1)
    at_school = (kind == _ORDER) & (rng.random(k) < 0.7) & (enrol.sum(0)[primary] > 0)
    school[at_school] = _row_choice(rng, enrol.T, primary[at_school])
    mask = np.where(at_school, np.left_shift(1, primary), mask)

    durations = np.full(k, str(3 * PERIODS), dtype=object)
    durations[kind == _SHADOW] = rng.choice(["3", "3;6", "6"], (kind == _SHADOW).sum(),
                                            p=[0.5, 0.35, 0.15])
    durations[kind == _POST] = rng.choice(["6", "3;6", "3"], (kind == _POST).sum(),
                                          p=[0.55, 0.35, 0.10])
    intern = kind <= _POST
    # Students one unit of capacity can hold over the season.
    per_unit = np.where(intern & (durations == "6"), PERIODS // 2, np.where(intern, PERIODS, 1))

    # Seats per major: students of the major x a lognormal imbalance, 90 % of students in all.
    n_major = np.bincount(st_major, minlength=len(MAJORS)).astype(float)
    offered = np.bincount(primary, minlength=len(MAJORS)) > 0
    target = n_major * rng.lognormal(0.0, 0.45, len(MAJORS)) * offered
    target *= 0.9 * n_students / max(target.sum(), 1.0)
    w = _KIND_SEATS[kind] * ent.staff[slot_ent] ** 0.3 * rng.lognormal(0.0, 0.5, k)
    share = w / np.bincount(primary, weights=w, minlength=len(MAJORS))[primary]
    goal = target.sum()
    for _ in range(4):  # every slot has at least one seat: correct the overshoot of small seasons
        capacity = np.maximum(_KIND_MIN_CAPACITY[kind], np.rint(target[primary] * share / per_unit))
        capacity = capacity.astype(np.int64)
        target *= goal / max(float((capacity * per_unit).sum()), 1.0)
    return _Slots(slot_ent, kind, primary, mask, school, durations, capacity)


def _finish_enterprises(rng: np.random.Generator, ent: _Ents, slots: _Slots) -> pd.DataFrame:
    """Raise staff so that the 10 % intern cap mostly fits the slots (it binds at about one in
    five), then derive the size class and certification."""
    k = len(ent.ids)
    intern_cap = np.bincount(slots.ent, weights=slots.capacity * (slots.kind <= _POST),
                             minlength=k)
    needed = np.ceil(10 * intern_cap * rng.uniform(0.8, 1.5, k)).astype(np.int64)
    ent.staff = np.maximum(ent.staff, needed)
    size = np.select([ent.staff >= 1000, ent.staff >= 300, ent.staff >= 20],
                     ["large", "medium", "small"], "micro")
    big = np.isin(size, ["large", "medium"])
    certified = rng.random(k) < np.where(big, 0.25, 0.05)
    names = ent.names
    if names is None:
        main = slots.primary[np.searchsorted(slots.ent, np.arange(k))]  # of its first slot
        names = _enterprise_names(rng, ent.prefix, ent.sector, main)
    return pd.DataFrame({
        "enterprise_id": ent.ids,
        "name": names,
        "park_id": ent.park_ids,
        "local": ent.local,
        "staff": ent.staff,
        "size_class": size,
        "certified": certified,
        "sector": [_SECTOR_NAMES[s] for s in ent.sector],  # extra column: kept and ignored
    })


def _slots_table(
    rng: np.random.Generator, slots: _Slots, ent: _Ents, schools: pd.DataFrame
) -> pd.DataFrame:
    """The slots table: majors as text, min_size for some order classes, posts for some intern
    slots of large and medium enterprises (several slots of one enterprise may share a post)."""
    k = len(slots.kind)
    n_m = len(MAJORS)
    uniq, inv = np.unique(slots.mask * n_m + slots.primary, return_inverse=True)
    text = np.array(  # the main major first; one join per distinct (major set, main major)
        [";".join([MAJORS[u % n_m]] + [m for i, m in enumerate(MAJORS)
                                       if (u // n_m) >> i & 1 and i != u % n_m]) for u in uniq],
        dtype=object,
    )

    min_size = pd.array(np.full(k, pd.NA), dtype="Int64")
    order = (slots.kind == _ORDER) & (slots.capacity >= 3) & (rng.random(k) < 0.6)
    lo = np.maximum(2, np.floor(slots.capacity * rng.uniform(0.3, 0.6, k))).astype(np.int64)
    min_size[order] = np.minimum(lo, slots.capacity)[order]

    staff = ent.staff[slots.ent]
    big = staff >= 300
    has_post = (slots.kind <= _POST) & big & (rng.random(k) < 0.6)
    code = 2 * slots.primary + (rng.random(k) < 0.25)
    group = np.unique(slots.ent * 2 * n_m + code, return_inverse=True)[1]
    group_cap = np.bincount(group, weights=slots.capacity * has_post)[group]
    post_staff_v = np.clip(np.ceil(5 * group_cap * rng.uniform(0.8, 1.6, group.max() + 1)[group]),
                           5, staff).astype(np.int64)
    post_staff = pd.array(np.where(has_post, post_staff_v, 0), dtype="Int64")
    post_staff[~has_post] = pd.NA
    post = np.where(has_post, _POST_NAMES[code], None)

    school_ids = schools["school_id"].to_numpy()
    return pd.DataFrame({
        "slot_id": _ids("SL", k, 4),
        "enterprise_id": ent.ids[slots.ent],
        "kind": np.array(KINDS, dtype=object)[slots.kind],
        "majors": text[inv],
        "capacity": slots.capacity,
        "durations": slots.durations,
        "school_id": np.where(slots.school >= 0, school_ids[np.maximum(slots.school, 0)], None),
        "min_size": min_size,
        "post": post,
        "post_staff": post_staff,
    })


# ---------------------------------------------------------------------------------------------
# Preferences and rankings


def _preferences(
    rng: np.random.Generator,
    sc: Scale,
    studs: pd.DataFrame,
    st_school: np.ndarray,
    st_major: np.ndarray,
    st_grad: np.ndarray,
    slots: _Slots,
    ent: _Ents,
    n_schools: int,
) -> pd.DataFrame:
    """Ranked lists of eligible slots, drawn without replacement with Zipf-skewed weights.

    Sequential sampling without replacement equals drawing with replacement and keeping first
    occurrences, so each student draws a fixed number of slots at once and keeps the first k
    distinct ones. A student's pool is the slots of their major open to every school
    (employment only when graduating) plus order classes held at their own school; ~10 % of
    students have no list.
    """
    n_m = len(MAJORS)
    appeal = (ent.popularity[slots.ent] * _KIND_APPEAL[slots.kind]
              * np.where(ent.local[slots.ent], 1.3, 1.0)
              * rng.lognormal(0.0, 0.3, len(slots.kind)))
    s_idx, m_idx = np.nonzero((slots.mask[:, None] >> np.arange(n_m)) & 1)
    open_ = slots.school[s_idx] < 0
    # Open pools, keyed major * 2 + graduating; employment slots only in graduating pools.
    emp = slots.kind[s_idx] == _EMPLOYMENT
    gen_s = np.concatenate([s_idx[open_ & ~emp], s_idx[open_]])
    gen_key = np.concatenate([2 * m_idx[open_ & ~emp], 2 * m_idx[open_] + 1])
    # School pools, keyed school * n_majors + major: order classes held at the school.
    sch_s = s_idx[~open_]
    sch_key = slots.school[sch_s] * n_m + m_idx[~open_]
    gen = _Pool(gen_key, gen_s, appeal[gen_s], 2 * n_m)
    sch = _Pool(sch_key, sch_s, appeal[sch_s], n_schools * n_m)

    n = len(st_major)
    g_key = 2 * st_major + st_grad
    s_key = st_school * n_m + st_major
    w_gen, w_sch = gen.total[g_key], sch.total[s_key]
    k = np.minimum(rng.poisson(sc.pref_mean - 1.0, n) + 1, sc.pref_max)
    share = _no_list_share(sc, slots, gen, sch, g_key, s_key)
    k = np.where((rng.random(n) < share) | (w_gen + w_sch <= 0), 0, k)
    who = np.flatnonzero(k > 0)
    who = who[np.argsort(g_key[who], kind="stable")]  # rows of one open pool lie together
    p_sch = w_sch / np.maximum(w_gen + w_sch, 1e-300)
    draws = int(2 * sc.pref_mean) + 10
    out_student, out_slot, out_rank = [], [], []
    for lo in range(0, len(who), 50_000):  # bounded memory at province scale
        rows = who[lo:lo + 50_000]
        shape = (len(rows), draws)
        u = rng.random(shape)
        d = np.empty(shape, dtype=np.int64)
        bounds = np.searchsorted(g_key[rows], np.arange(2 * n_m + 1))
        for g in range(2 * n_m):  # one small cache-friendly search per open pool
            d[bounds[g]:bounds[g + 1]] = gen.draw_group(g, u[bounds[g]:bounds[g + 1]])
        use_sch = rng.random(shape) < p_sch[rows, None]  # the few from their school's pool
        d[use_sch] = sch.draw(np.broadcast_to(s_key[rows, None], shape)[use_sch], u[use_sch])
        srt = np.argsort(d, axis=1, kind="stable")
        ds = np.take_along_axis(d, srt, 1)
        first_sorted = np.ones(shape, dtype=bool)
        first_sorted[:, 1:] = ds[:, 1:] != ds[:, :-1]
        first = np.empty(shape, dtype=bool)
        np.put_along_axis(first, srt, first_sorted, 1)
        rank = np.cumsum(first, axis=1)
        keep = first & (rank <= k[rows, None]) & (d >= 0)
        out_student.append(np.broadcast_to(rows[:, None], shape)[keep])
        out_slot.append(d[keep])
        out_rank.append(rank[keep])
    student = np.concatenate(out_student) if out_student else np.zeros(0, np.int64)
    order = np.argsort(student, kind="stable")  # by student, ranks ascending within
    slot = np.concatenate(out_slot)[order] if out_slot else np.zeros(0, np.int64)
    rank = np.concatenate(out_rank)[order] if out_rank else np.zeros(0, np.int64)
    return pd.DataFrame({
        "student_id": _take(studs["student_id"], student[order]),
        "slot_id": _take(pd.Series(_ids("SL", len(slots.kind), 4)), slot),
        "rank": rank.astype(np.int64),
    })


def _slot_options(slots: _Slots) -> np.ndarray:
    """Options each slot offers in the season (DESIGN §4a.1): one per (start, duration) of an
    internship, one whole-season seat otherwise."""
    uniq, inv = np.unique(slots.durations.astype(str), return_inverse=True)
    count = np.array([sum(max(0, PERIODS - int(d) // 3 + 1) for d in u.split(";")) for u in uniq],
                     dtype=np.int64)
    return np.where(slots.kind <= _POST, count[inv], 1)


def _no_list_share(sc: Scale, slots: _Slots, gen: _Pool, sch: _Pool, g_key: np.ndarray,
                   s_key: np.ndarray) -> float:
    """Share of students without a preference list: 10 %, or less where the season is so large
    that list-less students (eligible for every option of their major) would push the average
    number of eligible edges per student above `_EDGES_PER_STUDENT`."""
    opts = _slot_options(slots).astype(float)
    free_gen = np.bincount(gen.key, weights=opts[gen.item], minlength=len(gen.total))
    free_sch = np.bincount(sch.key, weights=opts[sch.item], minlength=len(sch.total))
    free = float(np.mean(free_gen[g_key] + free_sch[s_key])) if len(g_key) else 0.0
    listed = sc.pref_mean * float(np.mean(opts))
    if free <= _EDGES_PER_STUDENT or free <= listed:
        return _NO_LIST_SHARE
    return min(_NO_LIST_SHARE, max(0.0, (_EDGES_PER_STUDENT - listed) / (free - listed)))


class _Pool:
    """Weighted pools of items stored as one sorted table: group g's cumulative weights lie in
    (g, g + 1], so one searchsorted draws for every group at once."""

    def __init__(self, key: np.ndarray, item: np.ndarray, weight: np.ndarray, n_groups: int):
        order = np.argsort(key, kind="stable")
        self.key, self.item = key[order], item[order]
        w = weight[order]
        self.total = np.bincount(self.key, weights=w, minlength=n_groups)
        self.start = np.searchsorted(self.key, np.arange(n_groups + 1))
        cum = np.cumsum(w)
        before = np.concatenate([[0.0], cum])[self.start[self.key]]
        tot = np.where(self.total > 0, self.total, 1.0)[self.key]
        self.cum = (cum - before) / tot  # within the group, in (0, 1]
        self.edge = self.key + self.cum

    def draw(self, group: np.ndarray, u: np.ndarray) -> np.ndarray:
        """One item per (group, uniform) pair; groups of zero weight return -1."""
        if len(self.item) == 0:
            return np.full(group.shape, -1)
        idx = np.searchsorted(self.edge, group + u, side="right")
        idx = np.clip(idx, self.start[group], self.start[group + 1] - 1)
        return np.where(self.total[group] > 0, self.item[np.clip(idx, 0, len(self.item) - 1)], -1)

    def draw_group(self, group: int, u: np.ndarray) -> np.ndarray:
        """Items of one group for an array of uniforms; -1 when the group has no weight."""
        a, b = self.start[group], self.start[group + 1]
        if self.total[group] <= 0:
            return np.full(u.shape, -1)
        return self.item[a + np.minimum(np.searchsorted(self.cum[a:b], u, side="right"), b - a - 1)]


def _rankings(rng: np.random.Generator, prefs: pd.DataFrame, studs: pd.DataFrame) -> pd.DataFrame:
    """Enterprise rankings for about a third of the slots: the students who listed the slot,
    ordered by score plus an interview impression."""
    slot_ids = prefs["slot_id"].unique()
    chosen = slot_ids[rng.random(len(slot_ids)) < 1 / 3]
    sub = prefs.loc[prefs["slot_id"].isin(chosen), ["slot_id", "student_id"]]
    score = studs.set_index("student_id")["score"].loc[sub["student_id"]].to_numpy()
    sub = sub.assign(_key=score + rng.normal(0.0, 10.0, len(sub)))
    sub = sub.sort_values(["slot_id", "_key", "student_id"], ascending=[True, False, True])
    sub["rank"] = sub.groupby("slot_id").cumcount() + 1
    return sub.drop(columns="_key").reset_index(drop=True)


# ---------------------------------------------------------------------------------------------
# Helpers


def _ids(prefix: str, n: int, width: int) -> np.ndarray:
    """Ids like S00001, zero-padded to a common width so text order is numeric order."""
    width = max(width, len(str(n)))
    return np.char.add(prefix, np.char.zfill(np.arange(1, n + 1).astype(str), width))


def _numbered(stem: str, n: int) -> np.ndarray:
    """Generated names like 企业0001."""
    return _ids(stem, n, 2 if n < 100 else 4)


def _take(values: pd.Series, idx: np.ndarray) -> pd.Series:
    """values[idx] as a fresh Series; far faster for text than indexing a numpy string array."""
    return values.take(idx).reset_index(drop=True)


def _normalise(w: np.ndarray) -> np.ndarray:
    """Probabilities proportional to w."""
    w = np.asarray(w, dtype=float)
    return w / w.sum()


def _largest_remainder(x: np.ndarray) -> np.ndarray:
    """Integers summing to round(sum(x)), each floor or ceil of x (at least one of each kind)."""
    total = round(float(x.sum()))
    out = np.floor(x).astype(np.int64)
    out[np.argsort(-(x - out))[: total - out.sum()]] += 1
    short = np.flatnonzero(out == 0)
    for i in short:  # five kinds at most: every kind appears when there is room
        j = int(np.argmax(out))
        if out[j] > 1:
            out[j] -= 1
            out[i] += 1
    return out


def _row_choice(rng: np.random.Generator, weights: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """For each entry of `rows`, a column index drawn with probability proportional to that row
    of `weights` (rows x columns); vectorised over entries."""
    cum = np.cumsum(weights, axis=1)
    cum = cum / np.where(cum[:, -1:] > 0, cum[:, -1:], 1.0)
    u = rng.random(len(rows))
    out = np.empty(len(rows), dtype=np.int64)
    for lo in range(0, len(rows), 200_000):  # bounded temporary (entries x columns)
        sl = slice(lo, lo + 200_000)
        out[sl] = (cum[rows[sl]] <= u[sl, None]).sum(1)
    return np.minimum(out, weights.shape[1] - 1)


def _person_names(rng: np.random.Generator, n: int) -> np.ndarray:
    """Chinese personal names: a common surname and one or two given characters."""
    sur = _SURNAMES[rng.choice(len(_SURNAMES), n, p=_normalise(_SURNAME_W))]
    g1 = _GIVEN[rng.integers(0, len(_GIVEN), n)]
    g2 = np.where(rng.random(n) < 0.7, _GIVEN[rng.integers(0, len(_GIVEN), n)], "")
    return np.char.add(np.char.add(sur, g1), g2)


def _enterprise_names(
    rng: np.random.Generator, prefix: np.ndarray, sector: np.ndarray, main_major: np.ndarray
) -> np.ndarray:
    """Plausible company names for the sample: place + brand + trade, made unique. The trade
    follows the sector, or for a service firm the main major it hires (a hospital for 护理)."""
    k = len(prefix)
    brands = np.array(_BRANDS, dtype=object)[rng.permutation(k) % len(_BRANDS)]
    trades = [_SERVICE_TRADES.get(MAJORS[m], ("服务有限公司",)) if s == _SERVICE
              else _TRADES[_SECTOR_NAMES[s]] for s, m in zip(sector, main_major, strict=True)]
    pick = rng.integers(0, 12, k)  # one name per enterprise of the sample, a few dozen
    trade = np.array([t[i % len(t)] for t, i in zip(trades, pick, strict=True)], dtype=object)
    names = pd.Series(prefix + brands + trade)
    dup = names.groupby(names).cumcount()
    names = names.where(dup == 0, names + dup.astype(str).radd("（").add("）"))
    return names.to_numpy(dtype=object)


def _check_free(out: Path) -> None:
    """Refuse a target that exists and is not an empty folder."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise FileExistsError(f"{out} exists and is not an empty folder; not overwriting it")


def _csv(df: pd.DataFrame) -> pd.DataFrame:
    """Booleans as true/false text for CSV; everything else as it is."""
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_bool_dtype(out[col]):
            out[col] = out[col].map({True: "true", False: "false"})
    return out


def _toml(config: dict) -> str:
    """A small TOML writer for season.toml: top-level scalars, then one table per dict."""
    lines = [f"{k} = {_toml_value(v)}" for k, v in config.items() if not isinstance(v, dict)]
    for key, table in config.items():
        if isinstance(table, dict):
            lines += ["", f"[{key}]"]
            lines += [f"{k} = {_toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def _toml_value(v: object) -> str:
    """One TOML value: bool, int, float, string or a list of these."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")
