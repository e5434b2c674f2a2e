"""Generated seasons at city and province scale: sizes, seeded determinism, the skew the
generator promises (popular enterprises, major mix per school, local and non-local parks, poor
share, list lengths), budgets that bind, and few enough eligible edges per student that the
pipeline stays within its budgets at 500 000 students."""

from __future__ import annotations

import filecmp
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from matcher.api import solve
from matcher.cli import app
from matcher.compile import compile_season
from matcher.generate import SCALES, GeneratedSeason, generate, potential_spend, write_season
from matcher.season import load_season

SAMPLE = Path(__file__).resolve().parents[2] / "instances" / "sample"
EDGES_PER_STUDENT = 30


@pytest.fixture(scope="module")
def city() -> GeneratedSeason:
    return generate("city", 11)


def test_scale_sizes() -> None:
    assert SCALES["city"].students == 20_000
    assert SCALES["province"].students == 500_000
    assert len(generate("city", 2).tables["students"]) == 20_000
    assert len(generate("province", 2, students=3_000).tables["students"]) == 3_000


def test_sample_is_unchanged(tmp_path: Path) -> None:
    """instances/sample is generate("sample", seed=1): the bundled season must not drift."""
    out = write_season(generate("sample", seed=1), tmp_path / "sample")
    files = sorted(p.name for p in out.iterdir())
    assert files == sorted(p.name for p in SAMPLE.iterdir() if p.name != "README.md")
    _, mismatch, errors = filecmp.cmpfiles(out, SAMPLE, files, shallow=False)
    assert not mismatch and not errors


def test_seeded_determinism() -> None:
    a, b = generate("city", 5, students=2_000), generate("city", 5, students=2_000)
    c = generate("city", 6, students=2_000)
    for name, table in a.tables.items():
        pd.testing.assert_frame_equal(table, b.tables[name])
    assert not a.tables["preferences"].equals(c.tables["preferences"])


def test_popular_enterprises(city: GeneratedSeason) -> None:
    """Zipf-like demand: the most wanted tenth of enterprises draws far more than a tenth of
    the applications, and the first choices are more concentrated still."""
    prefs, slots = city.tables["preferences"], city.tables["slots"]
    ent = prefs["slot_id"].map(slots.set_index("slot_id")["enterprise_id"])
    counts = ent.value_counts()
    top = counts.iloc[: max(1, len(city.tables["enterprises"]) // 10)].sum()
    assert top / len(prefs) > 0.35
    first = ent[prefs["rank"] == 1].value_counts()
    assert first.iloc[0] > 5 * first.median()


def test_major_mix_per_school(city: GeneratedSeason) -> None:
    st = city.tables["students"]
    mix = st.groupby("school_id")["major"].nunique()
    assert mix.between(2, 8).all() and mix.nunique() > 1
    shares = pd.crosstab(st["school_id"], st["major"], normalize="index")
    assert shares.max(axis=1).min() < 0.9  # no school teaches one major only
    assert shares.std(axis=0).mean() > 0.03  # schools differ in their mix


def test_parks_and_poor_share(city: GeneratedSeason) -> None:
    parks, ent = city.tables["parks"], city.tables["enterprises"]
    assert parks["local"].any() and (~parks["local"]).any()
    in_park = ent["park_id"].notna()
    assert in_park.mean() > 0.5 and (~in_park).any()
    assert ent["local"].mean() > 0.6 and (~ent["local"]).any()
    poor = city.tables["students"]["poor"].mean()
    assert 0.10 < poor < 0.20


def test_list_lengths(city: GeneratedSeason) -> None:
    prefs, n = city.tables["preferences"], len(city.tables["students"])
    per_student = prefs.groupby("student_id").size()
    assert 5 <= per_student.mean() <= 10
    assert per_student.max() <= SCALES["city"].pref_max
    no_list = 1 - len(per_student) / n
    assert 0 < no_list <= 0.10


def test_budgets_bind(tmp_path: Path) -> None:
    """Budgets are 30-45 % of what filling every subsidised seat would cost, so a mechanism
    filling seats in order runs a fund dry and leaves students unplaced for it."""
    gen = generate("city", 3, students=2_000)
    spend = potential_spend(gen.tables)
    for fund, budget in zip(gen.tables["funds"]["fund_id"], gen.tables["funds"]["budget"],
                            strict=True):
        assert 0.25 * spend[fund] <= budget <= 0.5 * spend[fund]
    alloc = solve(load_season(write_season(gen, tmp_path / "s")), strategy="greedy")
    assert alloc.audit.ok, alloc.audit.violations
    assert alloc.unplaced["reason"].str.contains("budget: fund").any()
    used = [alloc.metrics["spend_by_fund"][f] / b
            for f, b in alloc.metrics["budget_by_fund"].items() if b]
    assert max(used) > 0.9


def test_city_edges_per_student(tmp_path: Path, city: GeneratedSeason) -> None:
    season = load_season(write_season(city, tmp_path / "city", format="parquet"))
    problem = compile_season(season).problem
    assert problem.n_edges / problem.n_agents <= EDGES_PER_STUDENT
    assert problem.n_edges == _count_edges(city)  # the independent count below agrees


@pytest.mark.slow
def test_province_edges_per_student() -> None:
    """At 500 000 students a list-less student has thousands of eligible options: they stay
    rare enough that the average is still bounded."""
    province = generate("province", 1)
    assert len(province.tables["students"]) == 500_000
    assert _count_edges(province) / 500_000 <= EDGES_PER_STUDENT


def test_cli_generate_parquet(tmp_path: Path) -> None:
    out = tmp_path / "pq"
    result = CliRunner().invoke(app, ["generate", "--scale", "city", "--students", "600",
                                      "--seed", "4", "--format", "parquet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "students.parquet").exists() and not (out / "students.csv").exists()
    assert len(load_season(out).students) == 600
    bad = CliRunner().invoke(app, ["generate", "--format", "xml", "--out", str(tmp_path / "x")])
    assert bad.exit_code == 2 and not (tmp_path / "x").exists()


def _count_edges(gen: GeneratedSeason) -> int:
    """Eligible (student, option) pairs counted from the generated tables (DESIGN §3, §4a.1),
    without the loader or the compiler: each eligible (student, slot) pair is worth its slot's
    options; list-less students are counted per (major, school, graduating) profile."""
    st, sl, prefs = gen.tables["students"], gen.tables["slots"], gen.tables["preferences"]
    periods = gen.config["periods"]
    whole = sl["kind"].isin(["order", "apprentice", "employment"]).to_numpy()
    durations = sl["durations"].str.split(";").explode().astype(int)
    per_slot = (periods - durations // 3 + 1).clip(lower=0).groupby(level=0).sum().to_numpy()
    options = np.where(whole, 1, per_slot)
    majors = sl["majors"].str.split(";")
    offer = pd.DataFrame({"slot": np.arange(len(sl)), "major": majors}).explode("major")
    codes = pd.Index(pd.unique(pd.concat([offer["major"], st["major"]])))
    offer_key = np.unique(offer["slot"] * len(codes) + codes.get_indexer(offer["major"]))
    schools = pd.Index(pd.unique(st["school_id"]))
    slot_school = schools.get_indexer(sl["school_id"].fillna(""))  # -1: open to every school
    employment = (sl["kind"] == "employment").to_numpy()
    major = codes.get_indexer(st["major"])
    school = schools.get_indexer(st["school_id"])
    grad = st["graduating"].to_numpy(dtype=bool)

    def worth(stu: np.ndarray, slot: np.ndarray) -> np.ndarray:
        ok = np.isin(slot * len(codes) + major[stu], offer_key)
        ok &= (slot_school[slot] < 0) | (slot_school[slot] == school[stu])
        ok &= ~employment[slot] | grad[stu]
        return np.where(ok, options[slot], 0)

    stu = pd.Index(st["student_id"]).get_indexer(prefs["student_id"])
    total = int(worth(stu, pd.Index(sl["slot_id"]).get_indexer(prefs["slot_id"])).sum())
    free = np.flatnonzero(~np.isin(np.arange(len(st)), stu))
    profile = (major[free] * (len(schools) + 1) + school[free]) * 2 + grad[free]
    _, first, size = np.unique(profile, return_index=True, return_counts=True)
    offer_major = codes.get_indexer(offer["major"])
    for f, n in zip(free[first], size, strict=True):
        slots = offer["slot"].to_numpy()[offer_major == major[f]]
        total += int(n) * int(worth(np.full(len(slots), f), slots).sum())
    return total
