"""Chinese and English labels for everything a report shows: sheets, columns, metrics, values.

One table per kind of text, each entry `key: (zh, en)`, so the workbook and the summary page
say the same thing in the same words, and a missing translation is a test failure, not a blank.
"""

from __future__ import annotations

__all__ = ["LANGS", "SHEETS", "column", "metric", "note", "sheet", "text", "value"]

LANGS = ("zh", "en")

# Sheet names: at most 31 characters and none of \ / ? * [ ] : (Excel's rules).
SHEETS: dict[str, tuple[str, str]] = {
    "summary": ("概览", "Summary"),
    "assignments": ("安置名单", "Assignments"),
    "ledger": ("补贴台账", "Subsidy ledger"),
    "unplaced": ("未安置", "Unplaced"),
    "park_major": ("园区×专业", "Park × major"),
    "school_major": ("学校×专业", "School × major"),
    "county": ("县区", "Counties"),
    "funds": ("资金使用", "Fund use"),
}

COLUMNS: dict[str, tuple[str, str]] = {
    "student_id": ("学号", "Student ID"),
    "name": ("姓名", "Name"),
    "school_id": ("学校代码", "School ID"),
    "school": ("学校", "School"),
    "major": ("专业", "Major"),
    "poor": ("建档立卡", "Registered poor"),
    "graduating": ("应届毕业生", "Graduating"),
    "slot_id": ("岗位编号", "Slot ID"),
    "kind": ("类型", "Kind"),
    "enterprise_id": ("企业编号", "Enterprise ID"),
    "enterprise": ("企业", "Enterprise"),
    "park_id": ("园区编号", "Park ID"),
    "park": ("园区", "Park"),
    "county": ("县区", "County"),
    "start_period": ("起始期", "Start period"),
    "duration_months": ("时长（月）", "Months"),
    "local": ("本地企业", "Local"),
    "in_park": ("园区内", "In a park"),
    "subsidy": ("补贴（元）", "Subsidy (yuan)"),
    "rule_id": ("规则编号", "Rule ID"),
    "rule": ("补贴项目", "Subsidy"),
    "clause": ("政策条款", "Clause"),
    "payee": ("领取方", "Payee"),
    "fund_id": ("资金编号", "Fund ID"),
    "fund": ("资金", "Fund"),
    "amount": ("金额（元）", "Amount (yuan)"),
    "reason_code": ("原因类别", "Reason"),
    "reason": ("原因说明（审计）", "Details (audit)"),
    "students": ("学生数", "Students"),
    "placed": ("已安置", "Placed"),
    "interns": ("实习（跟岗+顶岗）", "Interns (shadow + post)"),
    "local_placed": ("本地安置", "Placed locally"),
    "local_interns": ("本地实习", "Local interns"),
    "local_employment": ("本地就业", "Local employment"),
    "order": ("订单班人数", "Order-class seats"),
    "hosted": ("本县区园区接收", "Hosted in the county's parks"),
    "budget": ("预算（元）", "Budget (yuan)"),
    "spend": ("支出（元）", "Spend (yuan)"),
    "remaining": ("结余（元）", "Remaining (yuan)"),
    "use": ("使用率", "Use"),
    "local_share": ("本地安置率（占学生数）", "Placed locally (share of students)"),
    "metric": ("指标", "Metric"),
    "value": ("数值", "Value"),
    "rank": ("志愿", "Preference"),
    "count": ("人数", "Students"),
}

METRICS: dict[str, tuple[str, str]] = {
    "season": ("批次", "Season"),
    "policy": ("政策", "Policy"),
    "strategy": ("求解策略", "Strategy"),
    "status": ("求解状态", "Status"),
    "levels_proven": ("已证明最优的目标层", "Levels proven optimal"),
    "gap": ("最优性差距", "Gap"),
    "runtime_s": ("求解时间（秒）", "Solve time (s)"),
    "audit_ok": ("独立审计", "Independent audit"),
    "students": ("学生总数", "Students"),
    "placed": ("已安置", "Placed"),
    "placed_share": ("安置率（占学生数）", "Placed (share of students)"),
    "local": ("本地安置", "Placed locally"),
    "local_share": ("本地安置率（占学生数）", "Placed locally (share of students)"),
    "in_park": ("园区内安置", "Placed in a park"),
    "poor_placed": ("建档立卡学生已安置", "Registered-poor students placed"),
    "unplaced": ("未安置", "Unplaced"),
    "spend": ("补贴总额（元）", "Subsidies (yuan)"),
    "blocking_pairs": ("阻塞对（不稳定）", "Blocking pairs"),
    "objective": ("目标层", "Objective level"),
}

VALUES: dict[str, dict[str, tuple[str, str]]] = {
    "kind": {
        "shadow": ("跟岗实习", "shadow internship"),
        "post": ("顶岗实习", "post internship"),
        "order": ("订单班", "order class"),
        "apprentice": ("学徒", "apprenticeship"),
        "employment": ("就业", "employment"),
    },
    "payee": {
        "student": ("学生", "student"),
        "enterprise": ("企业", "enterprise"),
        "school": ("学校", "school"),
    },
    "bool": {"true": ("是", "yes"), "false": ("否", "no")},
    "status": {
        "optimal": ("最优", "optimal"),
        "feasible": ("可行（未证明最优）", "feasible (not proven optimal)"),
        "infeasible": ("不可行", "infeasible"),
        "unknown": ("未知", "unknown"),
    },
    "reason_code": {
        "capacity": ("名额已满", "capacity full"),
        "budget": ("资金预算不足", "fund budget spent"),
        "enterprise_cap": ("企业实习人数上限", "enterprise intern cap"),
        "same_post_cap": ("同岗位实习人数上限", "same-post cap"),
        "min_size": ("订单班未达开班人数", "order class below its minimum"),
        "poor_first": ("建档立卡学生优先", "registered-poor students first"),
        "no_eligible_slot": ("无符合条件的岗位", "no eligible slot"),
        "not_chosen": ("有空位但未被选中", "an open option left unused"),
    },
    "objective": {
        "placed": ("安置人数", "placed"),
        "local": ("本地安置人数", "placed locally"),
        "in_park": ("园区内安置人数", "placed in a park"),
        "poor_placed": ("建档立卡学生安置人数", "registered-poor placed"),
        "preference": ("志愿满足度", "preference score"),
        "spend": ("补贴支出", "spend"),
        "-spend": ("补贴支出（越少越好）", "spend (less is better)"),
        "blocking_pairs": ("阻塞对", "blocking pairs"),
        "-blocking_pairs": ("阻塞对（越少越好）", "blocking pairs (fewer is better)"),
        "park_coverage": ("园区覆盖", "park coverage"),
    },
}

TEXTS: dict[str, tuple[str, str]] = {
    "total": ("合计", "Total"),
    "outside_parks": ("园区外", "Outside parks"),
    "no_budget": ("无预算", "no budget"),
    "passed": ("通过", "passed"),
    "failed": ("未通过", "FAILED"),
    "no_bound": ("无界（机制类策略）", "no bound (a mechanism)"),
    "unlisted": ("未填志愿", "not on a list"),
    "report_title": ("产教融合安置报告", "Placement report"),
    "headline": ("要点", "Headline"),
    "chart_parks": ("各园区安置人数", "Placements by park"),
    "chart_funds": ("各资金预算使用", "Budget use per fund"),
    "chart_ranks": ("志愿满足分布", "Preference rank of placed students"),
    "chart_schools": ("各学校本地安置率", "Local share by school"),
    "local_placed": ("本地安置", "placed locally"),
    "elsewhere": ("外地安置", "placed elsewhere"),
    "not_placed": ("未安置", "not placed"),
    "share_of_students": ("占本校学生比例", "share of the school's students"),
    "students_axis": ("学生人数", "students"),
    "rank_axis": ("志愿顺序", "preference rank"),
    "spend_legend": ("支出", "spend"),
    "budget_legend": ("预算", "budget"),
    "yuan_axis": ("元", "yuan"),
    "unplaced_reasons": ("未安置原因", "Why students are unplaced"),
    "generated_by": ("由 matcher 生成；数字均来自独立审计后的结果文件。",
                     "Generated by matcher from the audited result files."),
}

# Notes under a sheet's title: which clause asks for the table (郴办发〔2018〕28号).
NOTES: dict[str, tuple[str, str]] = {
    "summary": ("求解结果概览；各项数字由独立审计从安置名单重新计算。",
                "The result at a glance; every figure recomputed by the independent audit."),
    "assignments": ("每名已安置学生一行：岗位、企业、园区、时段与补贴。",
                    "One row per placed student: slot, enterprise, park, period and subsidy."),
    "ledger": ("每项补贴一行，注明政策条款与资金来源（郴办发〔2018〕28号 第21–23条）。",
               "One line per subsidy with its clause and fund (Chenzhou 2018 §21–§23)."),
    "unplaced": ("每名未安置学生一行，原因由独立审计给出。",
                 "One row per unplaced student, with the audit's reason."),
    "park_major": ("郴办发〔2018〕28号 第3条：摸清每个园区分企业、分专业的用工人数；"
                   "第5条：订单班。实习=跟岗+顶岗。",
                   "Chenzhou 2018 §3: per park and major; §5: order classes. "
                   "Interns = shadow + post."),
    "school_major": ("郴办发〔2018〕28号 第3条：各院校毕业生和实习生的专业及人数；"
                     "第26条：学生在本地实习、就业的情况。",
                     "Chenzhou 2018 §3: each school's graduates and interns by major; "
                     "§26: local internships and employment."),
    "county": ("郴办发〔2018〕28号 第3条：各县市区联席会议；第26条：每年发布学生在本地实习、"
               "就业的情况。按学校所在县区统计，另列本县区园区接收人数。",
               "Chenzhou 2018 §3: county joint meetings; §26: yearly local internships and "
               "employment. Counted by the school's county, with placements hosted in the "
               "county's parks."),
    "funds": ("各资金预算、支出、结余与使用率（本批次）。",
              "Each fund's budget, spend, remaining and use this season."),
}


def _pick(table: dict[str, tuple[str, str]], key: str, lang: str) -> str:
    """The label of `key` in `lang`; an unknown key reads as itself, an unknown lang fails."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; known: {', '.join(LANGS)}")
    pair = table.get(key)
    return key if pair is None else pair[LANGS.index(lang)]


def sheet(key: str, lang: str) -> str:
    """A sheet's name."""
    return _pick(SHEETS, key, lang)


def column(key: str, lang: str) -> str:
    """A column header."""
    return _pick(COLUMNS, key, lang)


def metric(key: str, lang: str) -> str:
    """A metric's name on the summary sheet and page."""
    return _pick(METRICS, key, lang)


def note(key: str, lang: str) -> str:
    """The note under a sheet's title (its purpose and the clause that asks for it)."""
    return _pick(NOTES, key, lang)


def text(key: str, lang: str) -> str:
    """Any other phrase of the reports."""
    return _pick(TEXTS, key, lang)


def value(kind: str, code: object, lang: str) -> str:
    """A coded cell (slot kind, payee, boolean, status, reason) in words; unknown codes as is."""
    key = str(code).lower() if kind == "bool" else str(code)
    return _pick(VALUES[kind], key, lang)
