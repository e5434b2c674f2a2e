"""Portal payloads shared by the portal, model, fuzz and sandbox tests: a tiny hand-made season
(solved in well under a second) and the bundled sample as a payload."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path

from matcher.portal import payload_from_folder

SAMPLE = Path(__file__).resolve().parents[2] / "instances" / "sample"


def tiny_season() -> dict:
    """Six students, four slots, two funds: every table, every kind of column."""
    return {
        "name": "tiny",
        "periods": 2,
        "policy": "chenzhou-2018",
        "schools": [
            {"school_id": "SC1", "name": "郴州职院", "county": "苏仙区", "city_area": True},
            {"school_id": "SC2", "name": "永兴职中", "county": "永兴县", "city_area": "否"},
        ],
        "parks": [
            {"park_id": "P1", "name": "高新区", "county": "苏仙区", "local": True,
             "cluster": "有色"},
            {"park_id": "P2", "name": "外地园区", "county": "广州", "local": False,
             "cluster": None},
        ],
        "enterprises": [
            {"enterprise_id": "E1", "name": "甲", "park_id": "P1", "local": True, "staff": 100,
             "size_class": "medium", "certified": True},
            {"enterprise_id": "E2", "name": "乙", "park_id": None, "local": True, "staff": 30,
             "size_class": "small", "certified": None},
            {"enterprise_id": "E3", "name": "丙", "park_id": "P2", "local": False, "staff": 500,
             "size_class": "large", "certified": False},
        ],
        "students": [
            {"student_id": f"S{i}", "name": f"学生{i}", "school_id": "SC1" if i < 4 else "SC2",
             "major": "数控" if i % 2 else "物流", "poor": i == 2, "graduating": i >= 3,
             "score": 60 + 5 * i, "home_county": None}
            for i in range(1, 7)
        ],
        "slots": [
            {"slot_id": "L1", "enterprise_id": "E1", "kind": "post", "majors": "数控;机电",
             "capacity": 2, "durations": "3;6", "school_id": None, "min_size": None,
             "post": "车工", "post_staff": 20},
            {"slot_id": "L2", "enterprise_id": "E2", "kind": "shadow", "majors": ["物流"],
             "capacity": 1, "durations": [3], "school_id": None, "min_size": None,
             "post": None, "post_staff": None},
            {"slot_id": "L3", "enterprise_id": "E1", "kind": "order", "majors": "物流",
             "capacity": 3, "durations": None, "school_id": "SC1", "min_size": 1,
             "post": None, "post_staff": None},
            {"slot_id": "L4", "enterprise_id": "E3", "kind": "employment", "majors": "数控;物流",
             "capacity": 2, "durations": None, "school_id": None, "min_size": None,
             "post": None, "post_staff": None},
        ],
        "funds": [
            {"fund_id": "city_county", "name": "市县", "budget": 5000},
            {"fund_id": "employment", "name": "就业", "budget": 1000},
            {"fund_id": "city_employment", "name": "市就业", "budget": 3000},
        ],
        "preferences": [
            {"student_id": "S1", "slot_id": "L1", "rank": 1},
            {"student_id": "S1", "slot_id": "L4", "rank": 2},
            {"student_id": "S2", "slot_id": "L3", "rank": 1},
            {"student_id": "S2", "slot_id": "L2", "rank": 2},
        ],
    }


def tiny_request(**fields: object) -> dict:
    """A request for the tiny season, with a short time limit and any fields replaced."""
    return {"season": tiny_season(), "time_limit": 10, **fields}


@cache
def _sample() -> dict:
    return payload_from_folder(SAMPLE)


def sample_season() -> dict:
    """The bundled 300-student sample as a season payload (a fresh copy each call)."""
    return copy.deepcopy(_sample())
