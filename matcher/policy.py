"""Policies as data: presets citing their clauses, strict key checking, season overrides.

A typo must never switch a rule off in silence, so every key, objective term, `per`, `payee` and
`when` condition is checked against what the engine knows (DESIGN §4, §4a.4).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from fractions import Fraction
from importlib import resources
from pathlib import Path

from matcher.errors import Issue

__all__ = [
    "KINDS",
    "OBJECTIVE_TERMS",
    "Policy",
    "SubsidyRule",
    "load_policy",
    "parse_policy",
    "preset_names",
]

KINDS = ("shadow", "post", "order", "apprentice", "employment")
WHOLE_SEASON_KINDS = ("order", "apprentice", "employment")
SIZE_CLASSES = ("large", "medium", "small", "micro")
OBJECTIVE_TERMS = ("placed", "local", "in_park", "poor_placed", "preference", "spend",
                   "blocking_pairs")
TOP_KEYS = {"name", "source", "title", "notes", "objective", "constraints", "subsidy"}
OBJECTIVE_KEYS = {"order", "weights"}
CONSTRAINT_KEYS = {"enterprise_cap", "same_post_cap", "poor_first", "park_coverage", "stability"}
UNOPTIMISED_TERMS = ("blocking_pairs",)  # DESIGN §4 names it; metrics report it
STABILITY = ("none", "student-stable")
SUBSIDY_KEYS = {"id", "name", "clause", "kind", "amount", "per", "payee", "fund", "when"}
PER = ("once", "month", "year")
PAYEES = ("student", "enterprise", "school")
WHEN_KEYS = {"min_months", "local", "in_park", "size_class", "city_area_school", "graduating"}
MAX_YUAN = 10**12  # a subsidy amount: yuan, kept well inside int64 once counted in fen


@dataclass(frozen=True)
class SubsidyRule:
    """One subsidy rule: who is paid how much from which fund for a matching placement."""

    id: str
    clause: str
    amount: Fraction
    per: str
    payee: str
    fund: str
    kinds: tuple[str, ...] | None = None  # None: every kind
    when: dict = field(default_factory=dict)
    name: str = ""

    def amount_for(self, months: int) -> Fraction:
        """Yuan paid for a placement of `months` months (DESIGN §4a.11)."""
        if self.per == "once":
            return self.amount
        if self.per == "month":
            return self.amount * months
        return self.amount * months / 12


@dataclass(frozen=True)
class Policy:
    """A resolved policy: objective levels, constraints and subsidy rules."""

    name: str
    source: str = ""
    title: str = ""
    notes: str = ""
    order: tuple[str, ...] = ("placed",)
    weights: dict[str, int] | None = None
    enterprise_cap: Fraction | None = None
    same_post_cap: Fraction | None = None
    poor_first: tuple[str, ...] = ()
    park_coverage: bool = False
    stability: str = "none"
    subsidies: tuple[SubsidyRule, ...] = ()
    file: str = ""

    @property
    def funds(self) -> list[str]:
        return sorted({r.fund for r in self.subsidies})

    @property
    def levels(self) -> tuple[str, ...]:
        """Signed objective terms in level order ('weighted' for a weighted sum)."""
        return ("weighted",) if self.weights else self.order


def preset_names() -> list[str]:
    """Names of the bundled policy presets."""
    folder = resources.files("matcher") / "policies"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def _preset_path(name: str) -> Path:
    return Path(str(resources.files("matcher") / "policies" / f"{name}.toml"))


def is_path_ref(ref: str) -> bool:
    """DESIGN §4a.4: a policy reference is a path when it ends in .toml or holds a '/'."""
    return ref.endswith(".toml") or "/" in ref


def load_policy(
    ref: str,
    base: Path | None = None,
    objective: dict | None = None,
    constraints: dict | None = None,
    origin: str = "season.toml",
) -> tuple[Policy | None, list[Issue]]:
    """Load a preset or policy file and apply a season's overrides; collect every issue.

    A problem in the policy file names that file; a problem in the overrides (season.toml's
    `[objective]` and `[constraints]`) names `origin`, where the user wrote it."""
    if is_path_ref(ref):
        path = (base or Path(".")) / ref
        label = ref
    else:
        path = _preset_path(ref)
        label = f"policies/{ref}.toml"
        if not _exists(path):
            known = ", ".join(preset_names())
            return None, [Issue(origin, None, "policy",
                                f"unknown policy preset {ref!r}; presets: {known}")]
    if not _exists(path):
        return None, [Issue(origin, None, "policy", f"policy file {ref!r} does not exist")]
    if path.is_dir():
        return None, [Issue(origin, None, "policy",
                            f"policy file {ref!r} is a folder, not a policy TOML file")]
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, [Issue(label, None, None, f"is not valid TOML: {exc}")]
    except OSError as exc:
        return None, [Issue(origin, None, "policy",
                            f"policy file {ref!r} cannot be read: {exc.strerror or exc}")]
    try:
        doc = tomllib.loads(text)
    except (ValueError, RecursionError) as exc:  # TOMLDecodeError; an integer of 5000 digits
        return None, [Issue(label, None, None, f"is not valid TOML: {exc}")]
    policy, issues = parse_policy(doc, label, default_name=path.stem)
    if objective is None and constraints is None:
        return policy, issues

    def err(column: str, message: str) -> None:
        issues.append(Issue(origin, None, column, message))

    if objective is not None:
        _parse_objective(objective, err)
    if constraints is not None:
        _parse_constraints(constraints, err)
    if issues:
        return None, issues
    merged = dict(doc)
    if objective is not None:
        merged["objective"] = objective
    if constraints is not None:
        merged["constraints"] = {**doc.get("constraints", {}), **constraints}
    return parse_policy(merged, label, default_name=path.stem)


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except (OSError, ValueError):  # a name with a NUL byte, a name too long
        return False


def parse_policy(doc: dict, file: str = "policy", default_name: str = "custom"
                 ) -> tuple[Policy | None, list[Issue]]:
    """Check and convert a policy document (a TOML table) into a Policy."""
    issues: list[Issue] = []

    def err(column: str, message: str) -> None:
        issues.append(Issue(file, None, column, message))

    for key in sorted(set(doc) - TOP_KEYS):
        err(key, f"unknown policy key {key!r}; known: {', '.join(sorted(TOP_KEYS))}")
    order, weights = _parse_objective(doc.get("objective", {}), err)
    cons = _parse_constraints(doc.get("constraints", {}), err)
    rules = _parse_subsidies(doc.get("subsidy", []), err)
    for key in ("name", "source", "title", "notes"):
        if key in doc and not isinstance(doc[key], str):
            err(key, "must be text")
    if issues:
        return None, issues
    policy = Policy(
        name=str(doc.get("name", default_name)),
        source=str(doc.get("source", "")),
        title=str(doc.get("title", "")),
        notes=str(doc.get("notes", "")),
        order=order,
        weights=weights,
        subsidies=rules,
        file=file,
        **cons,
    )
    return policy, issues


def _check_term(term: object, err, where: str) -> str | None:
    if not isinstance(term, str) or term.lstrip("-") not in OBJECTIVE_TERMS:
        err(where, f"unknown objective term {term!r}; known: {', '.join(OBJECTIVE_TERMS)} "
                   "(a leading '-' minimises)")
        return None
    if term.lstrip("-") in UNOPTIMISED_TERMS:
        err(where, f"objective term {term!r} is reported for every result but no strategy "
                   "optimises it; for no blocking pair at all set "
                   "[constraints] stability = \"student-stable\"")
        return None
    return term


def _parse_objective(obj: object, err) -> tuple[tuple[str, ...], dict[str, int] | None]:
    if not isinstance(obj, dict):
        err("objective", "must be a table")
        return ("placed",), None
    for key in sorted(set(obj) - OBJECTIVE_KEYS):
        err(f"objective.{key}", f"unknown objective key {key!r}; known: order, weights")
    if "order" in obj and "weights" in obj:
        err("objective", "give either 'order' (lexicographic) or 'weights', not both")
    weights = None
    order: tuple[str, ...] = ("placed",)
    if "weights" in obj:
        w = obj["weights"]
        if not isinstance(w, dict) or not w:
            err("objective.weights", "must be a non-empty table of term = integer weight")
        else:
            weights = {}
            for term, val in w.items():
                if _check_term(term, err, f"objective.weights.{term}") is None:
                    continue
                if isinstance(val, bool) or not isinstance(val, int):
                    err(f"objective.weights.{term}", f"weight {val!r} is not an integer")
                    continue
                weights[term] = val
    elif "order" in obj:
        raw = obj["order"]
        if not isinstance(raw, list) or not raw:
            err("objective.order", "must be a non-empty list of terms")
        else:
            terms = [_check_term(t, err, "objective.order") for t in raw]
            bases = [t.lstrip("-") for t in terms if t]
            if len(set(bases)) != len(bases):
                err("objective.order", "names a term twice")
            order = tuple(t for t in terms if t)
    return order, weights


def _ratio(value: object, key: str, err) -> Fraction | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        err(f"constraints.{key}", f"{value!r} is not a number")
        return None
    if not _finite(value):
        err(f"constraints.{key}", f"{value!r} is not a ratio in [0, 1]")
        return None
    frac = Fraction(str(value))  # the exact decimal as written: 0.1 × 30 = 3
    if not 0 <= frac <= 1:
        err(f"constraints.{key}", f"{value!r} is not a ratio in [0, 1]")
        return None
    return frac


def _finite(value: int | float) -> bool:
    """Not nan or ±inf (TOML allows them); a TOML integer of any length is finite."""
    return isinstance(value, int) or math.isfinite(value)


def _parse_constraints(cons: object, err) -> dict:
    out: dict = {}
    if not isinstance(cons, dict):
        err("constraints", "must be a table")
        return out
    for key in sorted(set(cons) - CONSTRAINT_KEYS):
        err(f"constraints.{key}",
            f"unknown constraint {key!r}; known: {', '.join(sorted(CONSTRAINT_KEYS))}")
    for key in ("enterprise_cap", "same_post_cap"):
        if key in cons:
            out[key] = _ratio(cons[key], key, err)
    if "poor_first" in cons:
        kinds = cons["poor_first"]
        if not isinstance(kinds, list) or any(k not in KINDS for k in kinds):
            err("constraints.poor_first", f"{kinds!r} must be a list of slot kinds among "
                                          f"{', '.join(KINDS)}")
        else:
            out["poor_first"] = tuple(kinds)
    if "park_coverage" in cons:
        if not isinstance(cons["park_coverage"], bool):
            err("constraints.park_coverage", f"{cons['park_coverage']!r} is not true/false")
        else:
            out["park_coverage"] = cons["park_coverage"]
    if "stability" in cons:
        if cons["stability"] not in STABILITY:
            err("constraints.stability",
                f"{cons['stability']!r} is not one of {', '.join(STABILITY)}")
        else:
            out["stability"] = cons["stability"]
    return out


def _parse_subsidies(raw: object, err) -> tuple[SubsidyRule, ...]:
    if not isinstance(raw, list):
        err("subsidy", "must be an array of tables ([[subsidy]])")
        return ()
    rules: list[SubsidyRule] = []
    seen: set[str] = set()
    for i, rule in enumerate(raw):
        where = f"subsidy[{i + 1}]"
        if not isinstance(rule, dict):
            err(where, "must be a table")
            continue
        bad = False

        def rerr(col: str, msg: str, _where: str = where) -> None:
            nonlocal bad
            bad = True
            err(f"{_where}.{col}", msg)

        for key in sorted(set(rule) - SUBSIDY_KEYS):
            rerr(key, f"unknown subsidy field {key!r}; known: {', '.join(sorted(SUBSIDY_KEYS))}")
        for key in ("id", "clause", "per", "payee", "fund", "amount"):
            if key not in rule:
                rerr(key, "is required")
        rid = rule.get("id")
        if rid is not None:
            if not isinstance(rid, str) or not rid:
                rerr("id", "must be non-empty text")
            elif rid in seen:
                rerr("id", f"rule id {rid!r} appears twice")
            else:
                seen.add(rid)
        for key in ("clause", "fund", "name"):
            if key in rule and not isinstance(rule[key], str):
                rerr(key, "must be text")
        amount = rule.get("amount", 0)
        if (isinstance(amount, bool) or not isinstance(amount, (int, float))
                or not _finite(amount) or amount < 0):
            rerr("amount", f"{amount!r} is not a non-negative number of yuan")
        elif amount > MAX_YUAN:
            rerr("amount", f"{amount!r} is too large (at most {MAX_YUAN:,} yuan)")
        if "per" in rule and rule["per"] not in PER:
            rerr("per", f"{rule['per']!r} is not one of {', '.join(PER)}")
        if "payee" in rule and rule["payee"] not in PAYEES:
            rerr("payee", f"{rule['payee']!r} is not one of {', '.join(PAYEES)}")
        kinds = rule.get("kind")
        if kinds is not None:
            kinds = [kinds] if isinstance(kinds, str) else kinds
            if not isinstance(kinds, list) or any(k not in KINDS for k in kinds):
                rerr("kind", f"{rule.get('kind')!r} must be slot kinds among {', '.join(KINDS)}")
            elif not kinds:
                rerr("kind", "[] names no slot kind: leave 'kind' out to pay for every kind")
        when = rule.get("when", {})
        if not isinstance(when, dict):
            rerr("when", "must be an inline table")
            when = {}
        for key in sorted(set(when) - WHEN_KEYS):
            rerr(f"when.{key}",
                 f"unknown condition {key!r}; known: {', '.join(sorted(WHEN_KEYS))}")
        for key in ("local", "in_park", "city_area_school", "graduating"):
            if key in when and not isinstance(when[key], bool):
                rerr(f"when.{key}", f"{when[key]!r} is not true/false")
        if "min_months" in when:
            mm = when["min_months"]
            if isinstance(mm, bool) or not isinstance(mm, int):
                rerr("when.min_months", f"{mm!r} is not a whole number of months")
            elif mm < 0:
                rerr("when.min_months", f"{mm!r} is not a non-negative whole number of months")
        if "size_class" in when:
            sc = when["size_class"]
            sc_list = [sc] if isinstance(sc, str) else sc
            if not isinstance(sc_list, list) or any(s not in SIZE_CLASSES for s in sc_list):
                rerr("when.size_class", f"{sc!r} must be among {', '.join(SIZE_CLASSES)}")
            else:
                when = {**when, "size_class": tuple(sc_list)}
        if bad:
            continue
        rules.append(SubsidyRule(
            id=rid, clause=rule["clause"], amount=Fraction(str(amount)), per=rule["per"],
            payee=rule["payee"], fund=rule["fund"],
            kinds=tuple(kinds) if kinds is not None else None, when=dict(when),
            name=rule.get("name", ""),
        ))
    return tuple(rules)
