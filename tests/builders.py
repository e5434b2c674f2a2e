"""Small hand-made seasons for tests: rows as dicts, sensible defaults, written as UTF-8 CSV."""

from __future__ import annotations

import csv
from pathlib import Path

COLUMNS = {
    "schools": ["school_id", "name", "county", "city_area"],
    "parks": ["park_id", "name", "county", "local"],
    "enterprises": ["enterprise_id", "name", "park_id", "local", "staff", "size_class"],
    "students": ["student_id", "name", "school_id", "major", "poor", "graduating", "score"],
    "slots": ["slot_id", "enterprise_id", "kind", "majors", "capacity", "durations"],
    "funds": ["fund_id", "name", "budget"],
    "preferences": ["student_id", "slot_id", "rank"],
    "rankings": ["slot_id", "student_id", "rank"],
}
DEFAULTS = {
    "schools": {"name": "郴州职业技术学院", "county": "北湖区", "city_area": "true"},
    "parks": {"name": "郴州高新区", "county": "苏仙区", "local": "true"},
    "enterprises": {"name": "企业", "park_id": "P1", "local": "true", "staff": 1000,
                    "size_class": "large"},
    "students": {"name": "学生", "school_id": "SC1", "major": "机电", "poor": "false",
                 "graduating": "false", "score": 60},
    "slots": {"enterprise_id": "E1", "kind": "shadow", "majors": "机电", "capacity": 1,
              "durations": "3"},
    "funds": {"name": "资金"},
}


def student(sid: str, **kw: object) -> dict:
    return {"student_id": sid, **kw}


def slot(tid: str, **kw: object) -> dict:
    return {"slot_id": tid, **kw}


def write_season(
    folder: Path,
    *,
    students: list[dict],
    slots: list[dict],
    enterprises: list[dict] | None = None,
    parks: list[dict] | None = None,
    schools: list[dict] | None = None,
    funds: list[dict] | None = None,
    preferences: list[dict] | None = None,
    rankings: list[dict] | None = None,
    policy: str = "none",
    periods: int = 2,
    objective: list[str] | None = None,
    constraints: dict | None = None,
    policy_text: str | None = None,
) -> Path:
    """Write a season folder; `policy_text` writes a policy.toml beside it and points to it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tables = {
        "schools": schools if schools is not None else [{"school_id": "SC1"}],
        "parks": parks if parks is not None else [{"park_id": "P1"}],
        "enterprises": enterprises if enterprises is not None else [{"enterprise_id": "E1"}],
        "students": students,
        "slots": slots,
        "funds": funds or [],
        "preferences": preferences or [],
    }
    if rankings is not None:
        tables["rankings"] = rankings
    for name, rows in tables.items():
        cols = list(COLUMNS[name])
        for r in rows:
            cols += [k for k in r if k not in cols]
        with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(cols)
            for r in rows:
                full = {**DEFAULTS.get(name, {}), **r}
                w.writerow(["" if full.get(c) is None else full.get(c, "") for c in cols])
    lines = ['name = "test"', f"periods = {periods}"]
    if policy_text is not None:
        (folder / "policy.toml").write_text(policy_text, encoding="utf-8")
        lines.append('policy = "policy.toml"')
    else:
        lines.append(f'policy = "{policy}"')
    if objective is not None:
        lines.append("[objective]")
        lines.append("order = [" + ", ".join(f'"{t}"' for t in objective) + "]")
    if constraints:
        lines.append("[constraints]")
        for k, v in constraints.items():
            lines.append(f"{k} = {_toml(v)}")
    (folder / "season.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _toml(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return str(v)


def forget_season(out: Path) -> None:
    """Drop the season `matcher solve` records in a result's metrics.json, as in a result
    folder that comes from elsewhere."""
    import json

    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    metrics.pop("season", None)
    (out / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
