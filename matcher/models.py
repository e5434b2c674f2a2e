"""Typed models of the portal's JSON: a season payload, a policy, a solve request and response.

The season payload is the `season.json` document of DESIGN §3 (table name → list of row objects)
plus the settings season.toml holds (name, periods, policy), except that the policy is a preset
name or an inline policy object, never a path: nothing in a payload names a file. The models
check shapes and types; `matcher.season` then checks meaning (ids, references, ranges) exactly
as it does for a season folder.

`python -m matcher.models --write schemas/` regenerates the JSON Schema files kept in the repo.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from matcher.policy import OBJECTIVE_TERMS, preset_names

__all__ = [
    "MODELS",
    "ErrorItem",
    "PolicyModel",
    "SeasonPayload",
    "SolveRequest",
    "SolveResponse",
    "schema_documents",
    "write_schemas",
]

MAX_WHOLE = 10**9  # as matcher.season: counts and ranks
MAX_YUAN = 10**12  # as matcher.season and matcher.policy: money
MAX_PERIODS = 12  # three years of 3-month periods: options grow with periods, so bound them
MAX_TIME_LIMIT = 3600.0

Kind = Literal["shadow", "post", "order", "apprentice", "employment"]
SizeClass = Literal["large", "medium", "small", "micro"]
SignedTerm = Annotated[str, Field(pattern="^-?(" + "|".join(OBJECTIVE_TERMS) + ")$")]
PresetName = Annotated[str, Field(pattern="^[a-z0-9][a-z0-9-]*$", max_length=64,
                                  description="a bundled policy preset (`matcher policies`)")]

_TRUE = {"true", "1", "是", "yes", "y", "t"}
_FALSE = {"false", "0", "否", "no", "n", "f"}


def _bool_cell(value: object) -> object:
    """The booleans of DESIGN §3 written as text (true/false, 1/0, 是/否) as JSON booleans."""
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    return value


Id = Annotated[str, Field(min_length=1)]
Bool = Annotated[bool, BeforeValidator(_bool_cell)]
Whole = Annotated[int, Field(ge=0, le=MAX_WHOLE)]
Rank = Annotated[int, Field(ge=1, le=MAX_WHOLE)]


def _scalar(value: object) -> object:
    if isinstance(value, (list, dict, tuple)):
        raise ValueError("an extra column holds text, a number, a boolean or null, "
                         "not a list or an object")
    return value


# An extra column: kept and ignored, never nested.
Cell = Annotated[Any, AfterValidator(_scalar),
                 WithJsonSchema({"type": ["string", "number", "boolean", "null"]})]


class _Row(BaseModel):
    """A table row: the columns of DESIGN §3; extra columns are kept (scalars only) and ignored.

    Numbers given as ids become text; every column must be present (null for an empty cell)."""

    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True, allow_inf_nan=False)
    __pydantic_extra__: dict[str, Cell]


class SchoolRow(_Row):
    school_id: Id
    name: str | None
    county: str | None
    city_area: Bool | None = Field(description="null reads false")


class ParkRow(_Row):
    park_id: Id
    name: str | None
    county: str | None
    local: Bool | None = Field(description="inside the city's jurisdiction; null reads false")
    cluster: str | None = None


class EnterpriseRow(_Row):
    enterprise_id: Id
    name: str | None
    park_id: str | None = Field(description="null (or empty) when outside parks")
    local: Bool | None
    staff: Whole
    size_class: SizeClass
    certified: Bool | None = None


class StudentRow(_Row):
    student_id: Id
    name: str | None
    school_id: Id
    major: Id
    poor: Bool | None = Field(description="建档立卡; null reads false")
    graduating: Bool | None
    score: float = Field(ge=0, le=100)
    home_county: str | None = None


class SlotRow(_Row):
    slot_id: Id
    enterprise_id: Id
    kind: Kind
    majors: str | list[str] = Field(description="';'-separated text or a list of majors")
    capacity: Whole = Field(description="per period, or seats for a whole-season kind")
    durations: str | list[int] | None = Field(
        description="months, multiples of 3 ('3;6' or [3, 6]); ignored for order, apprentice "
                    "and employment")
    school_id: str | None = None
    min_size: Annotated[int, Field(ge=1, le=MAX_WHOLE)] | None = None
    post: str | None = None
    post_staff: Whole | None = None


class FundRow(_Row):
    fund_id: Id
    name: str | None
    budget: float = Field(ge=0, le=MAX_YUAN, description="yuan")


class PreferenceRow(_Row):
    student_id: Id
    slot_id: Id
    rank: Rank = Field(description="1 = first choice")


class RankingRow(_Row):
    slot_id: Id
    student_id: Id
    rank: Rank


# ----------------------------------------------------------------------------------------------
# Policy (DESIGN §4): strict, unknown keys forbidden, a typo never switches a rule off
# ----------------------------------------------------------------------------------------------

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class ObjectiveModel(_Strict):
    """Lexicographic `order` (first matters most) or a weighted sum, not both."""

    order: list[SignedTerm] | None = Field(None, min_length=1)
    weights: dict[SignedTerm, int] | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _one_of(self) -> ObjectiveModel:
        if self.order is not None and self.weights is not None:
            raise ValueError("give either 'order' (lexicographic) or 'weights', not both")
        return self


class ConstraintsModel(_Strict):
    """Season rules; an absent key is off (DESIGN §4a.4)."""

    enterprise_cap: float | None = Field(None, ge=0, le=1)
    same_post_cap: float | None = Field(None, ge=0, le=1)
    poor_first: list[Kind] | None = None
    park_coverage: bool | None = None
    stability: Literal["none", "student-stable"] | None = None


class WhenModel(_Strict):
    """Conditions a placement must meet for a subsidy rule to pay (DESIGN §4a.11)."""

    min_months: int | None = Field(None, ge=0, le=MAX_WHOLE)
    local: bool | None = None
    in_park: bool | None = None
    size_class: SizeClass | list[SizeClass] | None = None
    city_area_school: bool | None = None
    graduating: bool | None = None


class SubsidyModel(_Strict):
    """One subsidy rule, citing its clause."""

    id: Id
    name: str | None = None
    clause: str
    kind: Kind | list[Kind] | None = Field(None, description="absent: every kind")
    amount: float = Field(ge=0, le=MAX_YUAN, description="yuan")
    per: Literal["once", "month", "year"]
    payee: Literal["student", "enterprise", "school"]
    fund: Id
    when: WhenModel | None = None


class PolicyModel(_Strict):
    """A policy as data (DESIGN §4): objective, constraints and subsidy rules."""

    name: str | None = None
    source: str | None = None
    title: str | None = None
    notes: str | None = None
    objective: ObjectiveModel | None = None
    constraints: ConstraintsModel | None = None
    subsidy: list[SubsidyModel] = Field(default_factory=list)

    def document(self) -> dict[str, Any]:
        """The policy as the TOML-shaped dict `matcher.policy.parse_policy` reads."""
        return self.model_dump(exclude_none=True)


def _policy_tag(value: object) -> str | None:
    if isinstance(value, str):
        return "preset"
    if isinstance(value, (dict, PolicyModel)):
        return "inline"
    return None


PolicyRef = Annotated[
    Annotated[PresetName, Tag("preset")] | Annotated[PolicyModel, Tag("inline")],
    Discriminator(_policy_tag, custom_error_type="policy_ref",
                  custom_error_message="must be a preset name or an inline policy object"),
]


def _known_preset(value: object) -> object:
    if isinstance(value, str) and value not in preset_names():
        raise ValueError(f"unknown policy preset {value!r}; presets: {', '.join(preset_names())}")
    return value


# ----------------------------------------------------------------------------------------------
# Season payload, request, response
# ----------------------------------------------------------------------------------------------

class SeasonPayload(BaseModel):
    """One season: its settings and the tables of DESIGN §3 as lists of row objects."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str = Field("season", min_length=1)
    periods: int = Field(2, ge=1, le=MAX_PERIODS, description="3-month periods")
    policy: PolicyRef
    objective: ObjectiveModel | None = Field(None, description="replaces the policy's")
    constraints: ConstraintsModel | None = Field(None, description="merged key by key")
    description: str | None = None
    schools: list[SchoolRow]
    parks: list[ParkRow]
    enterprises: list[EnterpriseRow]
    students: list[StudentRow]
    slots: list[SlotRow]
    funds: list[FundRow] = Field(default_factory=list)
    preferences: list[PreferenceRow] = Field(default_factory=list)
    rankings: list[RankingRow] | None = None

    _check_policy = field_validator("policy", mode="before")(_known_preset)


class SolveRequest(BaseModel):
    """What the portal asks: a season, an optional policy override, strategy and bounds."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    season: SeasonPayload
    policy: PolicyRef | None = Field(None, description="replaces the season's policy")
    strategy: str = Field("cpsat", pattern="^[a-z][a-z0-9-]*$", max_length=64)
    time_limit: float = Field(60.0, gt=0, le=MAX_TIME_LIMIT,
                              description="seconds for the whole solve, all levels together")
    seed: int = Field(0, ge=0, le=2**31 - 1)
    deterministic: bool = Field(False, description="fixed workers and deterministic time "
                                "limits: the same request gives the same result")

    _check_policy = field_validator("policy", mode="before")(_known_preset)

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, value: str) -> str:
        from solvers.registry import strategies

        if value not in strategies():
            raise ValueError(f"unknown strategy {value!r}; known: {', '.join(strategies())}")
        return value


class ErrorItem(BaseModel):
    """One problem: where (file or table, row as a person counts it, column) and what."""

    file: str
    row: int | None = None
    column: str | None = None
    message: str


class AssignmentRow(BaseModel):
    student_id: str
    slot_id: str
    enterprise_id: str
    park_id: str
    kind: Kind
    start_period: int
    duration_months: int
    local: bool
    in_park: bool
    subsidy: int | float


class LedgerRow(BaseModel):
    student_id: str
    slot_id: str
    rule_id: str
    clause: str
    payee: str
    fund_id: str
    amount: int | float


class UnplacedRow(BaseModel):
    student_id: str
    reason: str = Field(description="'code: detail; code: detail', codes such as capacity, "
                                    "budget, enterprise_cap, min_size, no_eligible_slot")


class Metrics(BaseModel):
    """metrics.json of DESIGN §6 without its timing (under `timing`, so the rest repeats)."""

    model_config = ConfigDict(extra="allow")

    status: Literal["optimal", "feasible", "infeasible", "unknown"]
    strategy: str
    seed: int
    objective: dict[str, int | float]
    bound: float | None
    gap: float | None
    placed: int
    local: int
    in_park: int
    poor_placed: int
    spend_by_fund: dict[str, int | float]
    spend: int | float
    blocking_pairs: int | None
    preference_rank_histogram: dict[str, int]
    audit_ok: bool


class SolveResponse(BaseModel):
    """The answer: `ok` false with `errors` for bad input; else status, metrics and tables.

    Everything but `timing` is the same for the same request with `deterministic` true."""

    ok: bool
    status: str | None = None
    metrics: Metrics | None = None
    timing: dict[str, float] = Field(default_factory=dict,
                                     description="runtime_s and other wall-clock figures")
    assignments: list[AssignmentRow] = Field(default_factory=list)
    ledger: list[LedgerRow] = Field(default_factory=list)
    unplaced: list[UnplacedRow] = Field(default_factory=list)
    held_back: dict[str, int] = Field(default_factory=dict, description="unplaced students "
                                      "per reason code: what held them back")
    errors: list[ErrorItem] = Field(default_factory=list)
    warnings: list[ErrorItem] = Field(default_factory=list)


MODELS: dict[str, type[BaseModel]] = {
    "season": SeasonPayload,
    "policy": PolicyModel,
    "solve-request": SolveRequest,
    "solve-response": SolveResponse,
}


def schema_documents() -> dict[str, dict]:
    """The JSON Schema of every model, by file stem (`season` → `season.schema.json`)."""
    docs = {}
    for name, model in MODELS.items():
        docs[name] = {"$schema": "https://json-schema.org/draft/2020-12/schema",
                      "$id": f"{name}.schema.json", **model.model_json_schema()}
    return docs


def schema_text(schema: dict) -> str:
    """How a schema is written to its file: sorted keys, so regenerating changes nothing."""
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def write_schemas(folder: Path) -> list[Path]:
    """Write `<name>.schema.json` for every model into `folder`; return the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, schema in schema_documents().items():
        path = folder / f"{name}.schema.json"
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(schema_text(schema), encoding="utf-8")
        tmp.replace(path)
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    """`python -m matcher.models --write schemas/`: regenerate the schema files."""
    ap = argparse.ArgumentParser(prog="python -m matcher.models", description=main.__doc__)
    ap.add_argument("--write", type=Path, metavar="FOLDER", required=True)
    args = ap.parse_args(argv)
    for path in write_schemas(args.write):
        sys.stdout.write(f"wrote {path}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
