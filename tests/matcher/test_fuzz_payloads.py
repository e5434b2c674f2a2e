"""Malformed input, by kind and fuzzed: every one is a typed error with a message, none a
traceback. Each named kind below is asserted twice: `solve_json` answers `ok: false` with
errors naming where (never an `engine` error), and the library path (`parse_request` then
`season_from_payload`) raises a `SeasonError` subclass."""

from __future__ import annotations

import copy
import math
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from matcher.errors import SeasonError
from matcher.portal import LIMITS, Limits, parse_request, season_from_payload, solve_json
from matcher.season import load_season, validate_season
from tests.matcher.payloads import SAMPLE, tiny_request

Mutation = Callable[[dict], object]


def _set(path: tuple, value: object) -> Mutation:
    """Set request[path] = value (the last key of `path` is created if need be)."""

    def mutate(req: dict) -> dict:
        node = req
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        return req

    return mutate


def _delete(path: tuple) -> Mutation:
    def mutate(req: dict) -> dict:
        node = req
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
        return req

    return mutate


def _whole(value: object) -> Mutation:
    return lambda req: value


def _append_copy(table: str, row: int, **changes: object) -> Mutation:
    def mutate(req: dict) -> dict:
        rows = req["season"][table]
        rows.append({**rows[row], **changes})
        return req

    return mutate


def _nested(depth: int) -> object:
    value: object = "bottom"
    for _ in range(depth):
        value = [value]
    return value


S = ("season",)
STU0, SLOT0, ENT0 = ("season", "students", 0), ("season", "slots", 0), ("season", "enterprises", 0)
SUBSIDY = {"id": "a", "clause": "§1", "amount": 100, "per": "once", "payee": "student",
           "fund": "city_county"}

# name -> (mutation of the tiny request, where an error must point: (file, row, column) with
# None for "any", limits)
KINDS: dict[str, tuple[Mutation, tuple, Limits]] = {}


def kind(name: str, mutate: Mutation, where: tuple = (None, None, None),
         limits: Limits = LIMITS) -> None:
    assert name not in KINDS, name
    KINDS[name] = (mutate, where, limits)


# --- the request as a whole ---
kind("empty_payload", _whole({}), ("request", None, "season"))
kind("payload_is_list", _whole([]), ("request", None, None))
kind("payload_is_null", _whole(None), ("request", None, None))
kind("payload_is_number", _whole(42), ("request", None, None))
kind("payload_invalid_json_text", _whole('{"season": '), ("request", None, None))
kind("payload_invalid_utf8_bytes", _whole(b'\xff\xfe{"season": 1}'), ("request", None, None))
kind("payload_json_text_nested_deep", _whole("[" * 100_000), ("request", None, None))
kind("payload_text_too_large", _whole(" " * 2_000), ("request", None, None),
     Limits(max_bytes=1_000))
kind("season_missing", _delete(S), ("request", None, "season"))
kind("season_is_list", _set(S, []), ("request", None, "season"))
kind("season_is_a_path", _set(S, "instances/sample"), ("request", None, "season"))
kind("unknown_request_key_out_path", _set(("out",), "/tmp/result"), ("request", None, "out"))
kind("strategy_unknown", _set(("strategy",), "quantum"), ("request", None, "strategy"))
kind("strategy_not_text", _set(("strategy",), 5), ("request", None, "strategy"))
kind("time_limit_negative", _set(("time_limit",), -1), ("request", None, "time_limit"))
kind("time_limit_zero", _set(("time_limit",), 0), ("request", None, "time_limit"))
kind("time_limit_nan", _set(("time_limit",), math.nan), ("request", None, "time_limit"))
kind("time_limit_inf", _set(("time_limit",), math.inf), ("request", None, "time_limit"))
kind("time_limit_huge", _set(("time_limit",), 1e9), ("request", None, "time_limit"))
kind("time_limit_text", _set(("time_limit",), "fast"), ("request", None, "time_limit"))
kind("seed_negative", _set(("seed",), -1), ("request", None, "seed"))
kind("seed_huge", _set(("seed",), 2**80), ("request", None, "seed"))
kind("seed_fraction", _set(("seed",), 1.5), ("request", None, "seed"))
kind("deterministic_junk", _set(("deterministic",), "maybe"), ("request", None, "deterministic"))
# --- season settings and policy ---
kind("periods_zero", _set((*S, "periods"), 0), ("request", None, "season.periods"))
kind("periods_huge", _set((*S, "periods"), 10**6), ("request", None, "season.periods"))
kind("name_empty", _set((*S, "name"), ""), ("request", None, "season.name"))
kind("policy_missing", _delete((*S, "policy")), ("request", None, "season.policy"))
kind("policy_absolute_path", _set((*S, "policy"), "/etc/passwd"),
     ("request", None, "season.policy"))
kind("policy_relative_toml", _set((*S, "policy"), "my-policy.toml"),
     ("request", None, "season.policy"))
kind("policy_dotdot_path", _set((*S, "policy"), "../../secret"),
     ("request", None, "season.policy"))
kind("policy_unknown_preset", _set((*S, "policy"), "beijing-2030"),
     ("request", None, "season.policy"))
kind("policy_number", _set((*S, "policy"), 7), ("request", None, "season.policy"))
kind("policy_override_path", _set(("policy",), "/etc/passwd"), ("request", None, "policy"))
kind("policy_unknown_key", _set((*S, "policy"), {"objective": {"order": ["placed"]}, "fun": 1}),
     ("request", None, "season.policy.fun"))
kind("policy_wrong_per", _set((*S, "policy"), {"subsidy": [{**SUBSIDY, "per": "week"}]}),
     ("request", None, "season.policy.subsidy[0].per"))
kind("policy_wrong_payee", _set((*S, "policy"), {"subsidy": [{**SUBSIDY, "payee": "mayor"}]}),
     ("request", None, "season.policy.subsidy[0].payee"))
kind("policy_ratio_above_one", _set((*S, "policy"), {"constraints": {"enterprise_cap": 1.5}}),
     ("request", None, "season.policy.constraints.enterprise_cap"))
kind("policy_ratio_as_text", _set((*S, "policy"), {"constraints": {"same_post_cap": "0.2"}}),
     ("request", None, "season.policy.constraints.same_post_cap"))
kind("policy_unknown_term", _set((*S, "policy"), {"objective": {"order": ["happiness"]}}),
     ("request", None, "season.policy.objective.order[0]"))
kind("policy_term_twice", _set((*S, "policy"), {"objective": {"order": ["placed", "placed"]}}),
     ("request.policy", None, "objective.order"))
kind("policy_order_and_weights",
     _set((*S, "policy"), {"objective": {"order": ["placed"], "weights": {"placed": 1}}}),
     ("request", None, "season.policy.objective"))
kind("policy_negative_amount", _set((*S, "policy"), {"subsidy": [{**SUBSIDY, "amount": -5}]}),
     ("request", None, "season.policy.subsidy[0].amount"))
kind("policy_amount_huge", _set((*S, "policy"), {"subsidy": [{**SUBSIDY, "amount": 1e15}]}),
     ("request", None, "season.policy.subsidy[0].amount"))
kind("policy_unknown_when", _set((*S, "policy"),
                                 {"subsidy": [{**SUBSIDY, "when": {"in_city": True}}]}),
     ("request", None, "season.policy.subsidy[0].when.in_city"))
kind("policy_duplicate_rule_ids", _set((*S, "policy"), {"subsidy": [SUBSIDY, SUBSIDY]}),
     ("request.policy", None, "subsidy[2].id"))
kind("policy_unknown_kind", _set((*S, "policy"), {"subsidy": [{**SUBSIDY, "kind": "gig"}]}),
     ("request", None, "season.policy.subsidy[0].kind"))
kind("override_unknown_constraint", _set((*S, "constraints"), {"enterprize_cap": 0.1}),
     ("request", None, "season.constraints.enterprize_cap"))
kind("override_objective_not_object", _set((*S, "objective"), "placed"),
     ("request", None, "season.objective"))
kind("unknown_table_typo", _set((*S, "student"), []), ("request", None, "season.student"))
# --- tables ---
kind("table_missing", _delete((*S, "students")), ("season.json[students]", None, None))
kind("table_is_object", _set((*S, "schools"), {"SC1": {"name": "x"}}),
     ("season.json[schools]", None, None))
kind("table_is_text", _set((*S, "parks"), "P1,P2"), ("season.json[parks]", None, None))
kind("row_is_list", _set((*S, "students", 0), ["S1", "x"]), ("season.json[students]", 1, None))
kind("row_is_null", _set((*S, "students", 1), None), ("season.json[students]", 2, None))
kind("column_missing", _delete((*STU0, "major")), ("season.json[students]", 1, "major"))
kind("capacity_text", _set((*SLOT0, "capacity"), "two"), ("season.json[slots]", 1, "capacity"))
kind("capacity_negative", _set((*SLOT0, "capacity"), -3), ("season.json[slots]", 1, "capacity"))
kind("capacity_fraction", _set((*SLOT0, "capacity"), 2.5), ("season.json[slots]", 1, "capacity"))
kind("staff_huge", _set((*ENT0, "staff"), 10**30), ("season.json[enterprises]", 1, "staff"))
kind("score_nan", _set((*STU0, "score"), math.nan), ("season.json[students]", 1, "score"))
kind("score_out_of_range", _set((*STU0, "score"), 101), ("season.json[students]", 1, "score"))
kind("budget_inf", _set(("season", "funds", 0, "budget"), math.inf),
     ("season.json[funds]", 1, "budget"))
kind("budget_negative", _set(("season", "funds", 0, "budget"), -1),
     ("season.json[funds]", 1, "budget"))
kind("duplicate_student_id", _append_copy("students", 0), ("season.json[students]", 7,
                                                            "student_id"))
kind("duplicate_slot_id", _append_copy("slots", 1), ("season.json[slots]", 5, "slot_id"))
kind("dangling_school", _set((*STU0, "school_id"), "SC9"), ("season.json[students]", 1,
                                                            "school_id"))
kind("dangling_enterprise", _set((*SLOT0, "enterprise_id"), "E9"),
     ("season.json[slots]", 1, "enterprise_id"))
kind("dangling_park", _set((*ENT0, "park_id"), "P9"), ("season.json[enterprises]", 1, "park_id"))
kind("dangling_order_school", _set(("season", "slots", 2, "school_id"), "SC9"),
     ("season.json[slots]", 3, "school_id"))
kind("dangling_preference_slot", _set(("season", "preferences", 0, "slot_id"), "L9"),
     ("season.json[preferences]", 1, "slot_id"))
kind("dangling_ranking_student", _set((*S, "rankings"),
                                      [{"slot_id": "L1", "student_id": "S9", "rank": 1}]),
     ("season.json[rankings]", 1, "student_id"))
kind("preference_listed_twice", _append_copy("preferences", 0, rank=3),
     ("season.json[preferences]", 5, "slot_id"))
kind("rank_zero", _set(("season", "preferences", 0, "rank"), 0),
     ("season.json[preferences]", 1, "rank"))
kind("rank_text", _set(("season", "preferences", 0, "rank"), "first"),
     ("season.json[preferences]", 1, "rank"))
kind("slot_kind_unknown", _set((*SLOT0, "kind"), "internship"), ("season.json[slots]", 1, "kind"))
kind("size_class_unknown", _set((*ENT0, "size_class"), "huge"),
     ("season.json[enterprises]", 1, "size_class"))
kind("durations_not_multiple_of_3", _set((*SLOT0, "durations"), "4;7"),
     ("season.json[slots]", 1, "durations"))
kind("durations_missing_for_post", _set((*SLOT0, "durations"), None),
     ("season.json[slots]", 1, "durations"))
kind("majors_empty", _set((*SLOT0, "majors"), ""), ("season.json[slots]", 1, "majors"))
kind("majors_twice", _set((*SLOT0, "majors"), "数控;数控"), ("season.json[slots]", 1, "majors"))
kind("boolean_junk", _set((*STU0, "poor"), "maybe"), ("season.json[students]", 1, "poor"))
kind("id_empty", _set((*STU0, "student_id"), ""), ("season.json[students]", 1, "student_id"))
kind("id_is_object", _set((*STU0, "student_id"), {"a": 1}),
     ("season.json[students]", 1, "student_id"))
kind("min_size_zero", _set(("season", "slots", 2, "min_size"), 0),
     ("season.json[slots]", 3, "min_size"))
kind("post_staff_negative", _set((*SLOT0, "post_staff"), -2),
     ("season.json[slots]", 1, "post_staff"))
kind("extra_column_nested", _set((*STU0, "notes"), {"deep": [1, 2]}),
     ("season.json[students]", 1, "notes"))
# --- JSON that is not JSON, sizes ---
kind("string_too_long", _set((*STU0, "name"), "名" * (LIMITS.max_string + 1)),
     ("season.json[students]", 1, "name"))
kind("too_many_rows", _set((*S, "preferences"), [{}] * (LIMITS.max_rows + 1)),
     ("season.json[preferences]", None, None))
kind("payload_too_many_bytes", _set((*S, "description"), "x" * 4_000), ("request", None, None),
     Limits(max_bytes=3_000))
kind("deeply_nested_junk", _set((*STU0, "notes"), _nested(100_000)),
     ("season.json[students]", 1, "notes"))
kind("lone_surrogate", _set((*STU0, "name"), "abc\ud800"), ("season.json[students]", 1, "name"))
kind("key_not_text", _set((*STU0, 7), "x"), ("season.json[students]", 1, None))
kind("bytes_value", _set((*STU0, "name"), b"\xff\xfe"), ("season.json[students]", 1, "name"))
kind("set_value", _set((*SLOT0, "majors"), {"数控"}), ("season.json[slots]", 1, "majors"))


def test_at_least_fifty_kinds() -> None:
    assert len(KINDS) >= 50


def _matches(error: dict, where: tuple) -> bool:
    return all(w is None or error[k] == w for k, w in zip(("file", "row", "column"), where,
                                                          strict=True))


@pytest.mark.parametrize("name", sorted(KINDS))
def test_malformed_kind(name: str) -> None:
    mutate, where, limits = KINDS[name]
    payload = mutate(copy.deepcopy(tiny_request()))
    answer = solve_json(payload, limits=limits)
    assert answer["ok"] is False, name
    assert answer["errors"], name
    for error in answer["errors"]:
        assert error["file"] not in ("engine", "audit"), error
        assert isinstance(error["message"], str) and error["message"].strip()
    assert any(_matches(e, where) for e in answer["errors"]), answer["errors"]
    with pytest.raises(SeasonError) as err:
        request = parse_request(payload, limits)
        season_from_payload(request.season, request.policy)
    assert err.value.errors and str(err.value)


# ----------------------------------------------------------------------------------------------
# Fuzzed
# ----------------------------------------------------------------------------------------------

_scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
            | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12)
            | st.sampled_from(["", "是", "true", "3;6", "S1", "L1", "E1", "SC1", "P1", "-1",
                               "1e400", "nan", "\ud800", "0x10", " 12 "]))
_json = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
_FUZZ = settings(max_examples=60, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _no_traceback(answer: dict) -> None:
    assert isinstance(answer, dict)
    assert not any(e["file"] == "engine" for e in answer["errors"]), answer["errors"]
    if answer["ok"]:
        assert answer["metrics"]["audit_ok"]
    else:
        assert answer["errors"] and all(e["message"] for e in answer["errors"])


@_FUZZ
@given(payload=_json)
def test_fuzzed_whole_payload(payload: object) -> None:
    _no_traceback(solve_json(payload))
    _no_traceback(solve_json({"season": payload}))


_TABLES = ["schools", "parks", "enterprises", "students", "slots", "funds", "preferences"]


@_FUZZ
@given(data=st.data(), table=st.sampled_from(_TABLES), value=_json)
def test_fuzzed_cell(data: st.DataObject, table: str, value: object) -> None:
    """One cell (or a new column) of the tiny season replaced by junk: an error or a valid
    solve, never a traceback."""
    request = tiny_request(time_limit=5, strategy="greedy")
    rows = request["season"][table]
    row = rows[data.draw(st.integers(0, len(rows) - 1), label="row")]
    column = data.draw(st.sampled_from([*row, "junk_column"]), label="column")
    row[column] = value
    _no_traceback(solve_json(request))


@_FUZZ
@given(key=st.sampled_from(["name", "periods", "policy", "objective", "constraints",
                            "strategy", "time_limit", "seed", "deterministic", "policy_override"]),
       value=_json)
def test_fuzzed_setting(key: str, value: object) -> None:
    request = tiny_request(time_limit=5, strategy="greedy")
    if key in ("strategy", "time_limit", "seed", "deterministic"):
        request[key] = value
    elif key == "policy_override":
        request["policy"] = value
    else:
        request["season"][key] = value
    _no_traceback(solve_json(request))


# Season files on disk: the loader's own path, fuzzed file by file
_FILES = ["schools.csv", "parks.csv", "enterprises.csv", "students.csv", "slots.csv",
          "funds.csv", "preferences.csv", "season.toml"]
_lines = st.lists(st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
                  | st.sampled_from(["student_id,name,school_id,major,poor,graduating,score",
                                     "slot_id,enterprise_id,kind,majors,capacity,durations",
                                     '"unclosed,quote', "a,b,c,d,e,f,g,h,i,j,k", ",,,,", "",
                                     "name = 'x'", "policy = '../x.toml'", "periods = -1"]),
                  max_size=6)


@pytest.fixture(scope="module")
def season_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("fuzz") / "season"
    shutil.copytree(SAMPLE, folder)
    return folder


@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(file=st.sampled_from(_FILES), lines=_lines, raw=st.binary(max_size=64),
       use_raw=st.booleans(), keep_header=st.booleans())
def test_fuzzed_season_file(season_copy: Path, file: str, lines: list[str], raw: bytes,
                            use_raw: bool, keep_header: bool) -> None:
    """A season folder with one file replaced by junk (text or bytes, with or without its
    real header): issues by file, row and column, never a traceback."""
    path = season_copy / file
    original = (SAMPLE / file).read_bytes()
    header = original.split(b"\n", 1)[0] + b"\n" if keep_header and file != "season.toml" else b""
    body = raw if use_raw else "\n".join(lines).encode("utf-8", "surrogatepass")
    path.write_bytes(header + body)
    try:
        issues = validate_season(season_copy)
        assert all(i.file and i.message for i in issues)
        try:
            load_season(season_copy)
        except SeasonError as exc:
            assert exc.errors
    finally:
        path.write_bytes(original)
