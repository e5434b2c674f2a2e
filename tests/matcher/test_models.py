"""The portal's models: the schema files in the repo match them, they accept what the season
contract allows, and an inline policy means exactly what the same preset file means."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from matcher.cli import app
from matcher.models import (
    MODELS,
    PolicyModel,
    SeasonPayload,
    SolveRequest,
    main,
    schema_documents,
    schema_text,
)
from matcher.policy import load_policy, parse_policy, preset_names
from tests.matcher.payloads import sample_season, tiny_season

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "schemas"
PRESETS = ROOT / "matcher" / "policies"


@pytest.mark.parametrize("name", sorted(MODELS))
def test_schema_file_matches_model(name: str) -> None:
    path = SCHEMAS / f"{name}.schema.json"
    assert path.exists(), f"{path} missing: run python -m matcher.models --write schemas/"
    assert path.read_text(encoding="utf-8") == schema_text(schema_documents()[name]), (
        f"{path} is stale: run python -m matcher.models --write schemas/")


def test_no_stray_schema_files() -> None:
    assert {p.name for p in SCHEMAS.glob("*.json")} == {f"{n}.schema.json" for n in MODELS}


def test_write_schemas_module_and_cli(tmp_path: Path) -> None:
    assert main(["--write", str(tmp_path / "a")]) == 0
    result = CliRunner().invoke(app, ["schema", "--write", str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    for name in MODELS:
        a = (tmp_path / "a" / f"{name}.schema.json").read_text(encoding="utf-8")
        assert a == (tmp_path / "b" / f"{name}.schema.json").read_text(encoding="utf-8")
        assert json.loads(a)["$id"] == f"{name}.schema.json"
    printed = CliRunner().invoke(app, ["schema", "policy"])
    assert printed.exit_code == 0
    assert json.loads(printed.stdout)["title"] == "PolicyModel"
    assert CliRunner().invoke(app, ["schema", "nope"]).exit_code == 2


def test_payloads_validate_against_the_published_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((SCHEMAS / "solve-request.schema.json").read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    for season in (tiny_season(), sample_season()):
        season["schools"][1]["city_area"] = False  # the schema's canonical boolean
        validator.validate({"season": season, "strategy": "greedy", "seed": 3})
        SolveRequest.model_validate({"season": season})
    bad = {"season": {**tiny_season(), "periods": 0}}
    assert not validator.is_valid(bad)
    with pytest.raises(ValidationError):
        SolveRequest.model_validate(bad)


@pytest.mark.parametrize("preset", preset_names())
def test_inline_policy_means_what_the_preset_means(preset: str) -> None:
    doc = tomllib.loads((PRESETS / f"{preset}.toml").read_text(encoding="utf-8"))
    model = PolicyModel.model_validate(doc)
    inline, issues = parse_policy(model.document(), "inline", default_name=preset)
    assert not issues
    from_file, _ = load_policy(preset)
    assert inline is not None and from_file is not None
    assert inline.levels == from_file.levels
    assert inline.weights == from_file.weights
    for key in ("enterprise_cap", "same_post_cap", "poor_first", "park_coverage", "stability"):
        assert getattr(inline, key) == getattr(from_file, key), key
    assert inline.subsidies == from_file.subsidies


def test_row_cells_in_the_contracts_spellings() -> None:
    season = tiny_season()
    season["students"][0].update(poor="是", graduating="0", score="88.5", extra_col="kept")
    season["schools"][0]["school_id"] = 7  # a number as an id is text
    season["students"][0]["school_id"] = 7
    parsed = SeasonPayload.model_validate(season)
    student = parsed.students[0]
    assert (student.poor, student.graduating, student.score) == (True, False, 88.5)
    assert parsed.schools[0].school_id == "7"
    assert student.model_dump()["extra_col"] == "kept"


@pytest.mark.parametrize("where, value", [
    (("students", 0, "extra_col"), {"nested": 1}),
    (("slots", 0, "capacity"), -1),
    (("slots", 0, "kind"), "internship"),
    (("students", 0, "score"), float("nan")),
    (("enterprises", 0, "staff"), 10**10),
])
def test_row_models_refuse(where: tuple, value: object) -> None:
    season = tiny_season()
    table, i, column = where
    season[table][i][column] = value
    with pytest.raises(ValidationError) as err:
        SeasonPayload.model_validate(season)
    assert any(e["loc"][:3] == where for e in err.value.errors())


@pytest.mark.parametrize("policy", [
    {"objective": {"order": ["placed"]}, "typo": 1},
    {"constraints": {"enterprise_cap": 1.5}},
    {"constraints": {"enterprise_cap": "0.1"}},
    {"objective": {"order": ["placed"], "weights": {"placed": 1}}},
    {"subsidy": [{"id": "a", "clause": "§1", "amount": 1, "per": "week", "payee": "student",
                  "fund": "f"}]},
    {"subsidy": [{"id": "a", "clause": "§1", "amount": 1, "per": "once", "payee": "student",
                  "fund": "f", "when": {"local": True, "in_city": True}}]},
    "../../etc/passwd",
    "my-policy.toml",
    "no-such-preset",
])
def test_policy_is_data_and_strict(policy: object) -> None:
    with pytest.raises(ValidationError):
        SeasonPayload.model_validate({**tiny_season(), "policy": policy})


def test_request_defaults_and_unknown_strategy() -> None:
    req = SolveRequest.model_validate({"season": tiny_season()})
    assert (req.strategy, req.seed, req.deterministic, req.policy) == ("cpsat", 0, False, None)
    with pytest.raises(ValidationError, match="unknown strategy"):
        SolveRequest.model_validate({"season": tiny_season(), "strategy": "magic"})
