"""The stable-matching mechanisms: markets worked out by hand, the `matching` package's
hospitals/residents solver as a reference, and the classic invariants under hypothesis."""

from __future__ import annotations

import random
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solvers.mechanisms import (
    Market,
    blocking_pairs,
    boston,
    break_ties,
    da_enterprise,
    da_student,
    serial_dictatorship,
)

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
A, B, C = 0, 1, 2  # slot names in the hand-worked markets


def market(student_prefs: list[list[int]], slot_prefs: list[list[int]],
           capacity: list[int]) -> Market:
    return Market.from_lists(student_prefs, slot_prefs, capacity)


# ---------------------------------------------------------------------------------------------
# Markets worked out by hand


def test_one_seat_each_and_a_loser() -> None:
    # A (1 seat) ranks 2 > 0 > 1, B (1 seat) ranks 0 > 1; students 0 and 1 want A then B, 2 only A.
    # DA (either side): A keeps 2; 0 and 1 fall back to B, which keeps 0; 1 is left out.
    m = market([[A, B], [A, B], [A]], [[2, 0, 1], [0, 1]], [1, 1])
    expected = [B, -1, A]
    assert da_student(m).tolist() == expected
    assert da_enterprise(m).tolist() == expected
    assert boston(m).tolist() == expected  # round 1: A takes 2; round 2: B takes 0 over 1
    assert blocking_pairs(m, np.array(expected)).size == 0


def test_student_and_slot_optimal_differ() -> None:
    # 0: A > B, 1: B > A; A ranks 1 > 0, B ranks 0 > 1 (one seat each). Two stable matchings:
    # students get their first choices (student-optimal), or the slots do (slot-optimal).
    m = market([[A, B], [B, A]], [[1, 0], [0, 1]], [1, 1])
    assert da_student(m).tolist() == [A, B]
    assert da_enterprise(m).tolist() == [B, A]
    assert boston(m).tolist() == [A, B]  # first choices are all different
    assert serial_dictatorship(m, np.array([1, 0])).tolist() == [A, B]
    assert blocking_pairs(m, np.array([A, B])).size == 0
    assert blocking_pairs(m, np.array([B, A])).size == 0


def test_boston_is_not_stable_where_da_is() -> None:
    # 0: A > B, 1: A > B, 2: B > A; A ranks 2 > 0 > 1, B ranks 0 > 1 > 2 (one seat each).
    # Boston, round 1: A takes 0 (over 1), B takes 2; round 2: 1 applies to B, full -> [A, -1, B].
    # DA: A holds 0, B holds 2; 1 -> B, B swaps 2 for 1; 2 -> A, A swaps 0 for 2; 0 -> B,
    #     B swaps 1 for 0; 1 has nothing left -> [B, -1, A] (also the slot-optimal one).
    m = market([[A, B], [A, B], [B, A]], [[2, 0, 1], [0, 1, 2]], [1, 1])
    assert boston(m).tolist() == [A, -1, B]
    assert da_student(m).tolist() == [B, -1, A]
    assert da_enterprise(m).tolist() == [B, -1, A]
    # under Boston, 1 and B block: 1 is unmatched and B prefers 1 to its holder 2
    pair_1b = int(np.flatnonzero((m.pair_student == 1) & (m.pair_slot == B))[0])
    assert blocking_pairs(m, boston(m)).tolist() == [pair_1b]
    # serial dictatorship 2, 1, 0: 2 takes B, 1 takes A, 0 finds both full
    assert serial_dictatorship(m, np.array([2, 1, 0])).tolist() == [-1, A, B]
    # only students named in the order take part
    assert serial_dictatorship(m, np.array([0])).tolist() == [A, -1, -1]


def test_capacities_and_an_empty_slot() -> None:
    # A has 2 seats and ranks 3 > 2 > 1 > 0; B 1 seat ranks 0 > 1 > 2 > 3; C has no seat.
    # Everyone wants A > C > B. A keeps 3 and 2; C rejects all; B keeps 0 over 1.
    order = [3, 2, 1, 0]
    m = market([[A, C, B]] * 4, [order, [0, 1, 2, 3], order], [2, 1, 0])
    expected = [B, -1, A, A]
    assert da_student(m).tolist() == expected
    assert da_enterprise(m).tolist() == expected
    assert boston(m).tolist() == expected  # round 2: C takes no one; round 3: B takes 0 over 1
    # serial dictatorship 3, 2, 1, 0: 3 and 2 take A, 1 takes B, 0 finds nothing
    assert serial_dictatorship(m, np.array(order)).tolist() == [-1, B, A, A]
    assert blocking_pairs(m, np.array(expected)).size == 0


def test_a_longer_rejection_chain() -> None:
    # 4 students, 3 one-seat slots. Students: 0: A B C, 1: A C B, 2: B A C, 3: B C A.
    # Slots: A: 2 0 3 1, B: 0 3 1 2, C: 1 2 0 3.
    # Student-proposing: r1 A{0,1} keeps 0, B{2,3} keeps 3; r2 1->C keeps 1, 2->A keeps 2
    # (0 out); r3 0->B keeps 0 (3 out); r4 3->C keeps 1 (3 out); r5 3->A keeps 2; 3 unmatched.
    # Slot-proposing: A->2, B->0, C->1; each student holds one offer: done at once.
    m = market([[A, B, C], [A, C, B], [B, A, C], [B, C, A]],
               [[2, 0, 3, 1], [0, 3, 1, 2], [1, 2, 0, 3]], [1, 1, 1])
    assert da_student(m).tolist() == [B, C, A, -1]
    assert da_enterprise(m).tolist() == [B, C, A, -1]


def test_empty_markets() -> None:
    m = Market(0, 0, [], [], [], [], [])
    for result in (da_student(m), da_enterprise(m), boston(m),
                   serial_dictatorship(m, np.array([], dtype=np.int64))):
        assert result.shape == (0,)
    m = Market(3, 2, [1, 1], [], [], [], [])
    assert da_student(m).tolist() == [-1, -1, -1]
    assert da_enterprise(m).tolist() == [-1, -1, -1]
    assert blocking_pairs(m, np.array([-1, -1, -1])).size == 0


def test_ties_are_refused_then_broken() -> None:
    # two students tie at A (one seat): the lottery decides; both rank A first
    m = Market(2, 2, [1, 1], [0, 1, 0, 1], [0, 0, 1, 1], [1, 1, 2, 2], [1, 1, 1, 1])
    assert m.strict() == (True, False)
    for mech in (da_student, da_enterprise, boston):
        with pytest.raises(ValueError, match="break_ties"):
            mech(m)
    winners = set()
    for seed in range(20):
        strict = break_ties(m, seed)
        assert strict.strict() == (True, True)
        match = da_student(strict)
        assert sorted(match.tolist()) == [0, 1]
        winners.add(int(np.flatnonzero(match == 0)[0]))
        # weak stability under the original ties
        assert blocking_pairs(m, match).size == 0
    assert winners == {0, 1}
    # serial dictatorship reads students' ranks only: ties among slots' ranks are fine
    assert serial_dictatorship(m, np.array([1, 0])).tolist() == [1, 0]


def test_blocking_pairs_with_ties_needs_strict_preference() -> None:
    # A (1 seat) ranks 0 and 1 equally; 1 holds A, 0 is unmatched: A does not strictly prefer 0
    m = Market(2, 1, [1], [0, 1], [0, 0], [1, 1], [1, 1])
    assert blocking_pairs(m, np.array([-1, 0])).size == 0
    m = Market(2, 1, [1], [0, 1], [0, 0], [1, 1], [1, 2])  # now A prefers 0
    assert blocking_pairs(m, np.array([-1, 0])).tolist() == [0]
    m = Market(2, 1, [2], [0, 1], [0, 0], [1, 1], [1, 1])  # a free seat: 0 blocks
    assert blocking_pairs(m, np.array([-1, 0])).tolist() == [0]


def test_blocking_pairs_rejects_infeasible_matchings() -> None:
    m = market([[A], [A, B]], [[0, 1], [1]], [1, 1])
    with pytest.raises(ValueError, match="acceptable"):
        blocking_pairs(m, np.array([B, A]))  # 0 did not list B
    with pytest.raises(ValueError, match="capacity"):
        blocking_pairs(m, np.array([A, A]))
    with pytest.raises(ValueError, match="one entry per student"):
        blocking_pairs(m, np.array([A]))
    with pytest.raises(ValueError, match="out of range"):
        blocking_pairs(m, np.array([A, 7]))


@pytest.mark.parametrize(("change", "message"), [
    (dict(pair_student=[0, 0], pair_slot=[1, 1]), "twice"),
    (dict(pair_slot=[0, 2]), "pair_slot out of range"),
    (dict(pair_student=[0, 3]), "pair_student out of range"),
    (dict(slot_rank=[0, 1]), "ranks start at 1"),
    (dict(student_rank=[1, 2.5]), "integers"),
    (dict(capacity=[1, -1]), "non-negative"),
    (dict(capacity=[1]), "capacity needs 2"),
    (dict(slot_rank=[1]), "one entry per pair"),
    (dict(pair_student=[[0, 1]]), "1-d"),
    (dict(n_students=-1), "non-negative integer"),
])
def test_market_validation(change: dict, message: str) -> None:
    base = dict(n_students=2, n_slots=2, capacity=[1, 1], pair_student=[0, 1],
                pair_slot=[0, 1], student_rank=[1, 1], slot_rank=[1, 1])
    with pytest.raises(ValueError, match=message):
        Market(**{**base, **change})


def test_market_arrays_are_read_only() -> None:
    m = market([[A]], [[0]], [1])
    with pytest.raises(ValueError):
        m.pair_slot[0] = 1


def test_serial_dictatorship_order_is_checked() -> None:
    m = market([[A], [A]], [[0, 1]], [1])
    with pytest.raises(ValueError, match="twice"):
        serial_dictatorship(m, np.array([0, 0]))
    with pytest.raises(ValueError, match="out of range"):
        serial_dictatorship(m, np.array([2]))


# ---------------------------------------------------------------------------------------------
# Random markets, and what the reference implementation says


def random_market(rng: np.random.Generator, n_students: int, n_slots: int, max_list: int = 6,
                  max_cap: int = 3, layout: str = "shuffled") -> Market:
    """A random strict market. `layout`: how its pairs come, which picks the sorting path:
    "sorted" (by student, best first), "dense" (shuffled, each side's ranks 1..k), "grouped"
    (by student, lists unordered, gaps in ranks), "shuffled" (any order, gaps in ranks)."""
    student, slot = [], []
    for s in range(n_students):
        k = int(rng.integers(0, min(max_list, n_slots) + 1))
        student += [s] * k
        slot += rng.choice(n_slots, k, replace=False).tolist()
    student_arr, slot_arr = np.array(student, dtype=np.int64), np.array(slot, dtype=np.int64)
    n = len(student_arr)
    student_rank = np.zeros(n, dtype=np.int64)
    slot_rank = np.zeros(n, dtype=np.int64)
    gaps = layout in ("grouped", "shuffled")
    for owner, ranks in ((student_arr, student_rank), (slot_arr, slot_rank)):
        key = rng.random(n)
        for o in np.unique(owner):
            idx = np.flatnonzero(owner == o)
            idx = idx[np.argsort(key[idx])]
            step = rng.integers(1, 4, len(idx)) if gaps else np.ones(len(idx), dtype=np.int64)
            ranks[idx] = np.cumsum(step)
    if layout == "sorted":
        order = np.lexsort((student_rank, student_arr))
    elif layout == "grouped":
        order = np.lexsort((rng.random(n), student_arr))
    else:
        order = rng.permutation(n)
    cap = rng.integers(0, max_cap + 1, n_slots)
    return Market(n_students, n_slots, cap, student_arr[order], slot_arr[order],
                  student_rank[order], slot_rank[order])


def reference(m: Market, optimal: str) -> np.ndarray:
    """The `matching` package's hospitals/residents answer (residents = students)."""
    hr = pytest.importorskip("matching.games")
    by_student = np.lexsort((m.student_rank, m.pair_student))
    by_slot = np.lexsort((m.slot_rank, m.pair_slot))
    open_slots = {t for t in range(m.n_slots) if m.capacity[t] > 0}
    resident_prefs: dict[int, list[int]] = {}
    for s, t in zip(m.pair_student[by_student].tolist(), m.pair_slot[by_student].tolist(),
                    strict=True):
        if t in open_slots:  # the package cannot take a hospital without a seat
            resident_prefs.setdefault(s, []).append(t)
    hospital_prefs: dict[int, list[int]] = {}
    for t, s in zip(m.pair_slot[by_slot].tolist(), m.pair_student[by_slot].tolist(),
                    strict=True):
        if t in open_slots:
            hospital_prefs.setdefault(t, []).append(s)
    out = np.full(m.n_students, -1, dtype=np.int64)
    if not resident_prefs:
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        game = hr.HospitalResident.create_from_dictionaries(
            resident_prefs, hospital_prefs, {t: int(m.capacity[t]) for t in hospital_prefs})
        solved = game.solve(optimal=optimal)
    for hospital, residents in solved.items():
        for resident in residents:
            out[resident.name] = hospital.name
    return out


@pytest.mark.parametrize("layout", ["sorted", "dense", "grouped", "shuffled"])
def test_da_equals_the_matching_package(layout: str) -> None:
    rng = np.random.default_rng(["sorted", "dense", "grouped", "shuffled"].index(layout))
    for _ in range(100):
        m = random_market(rng, int(rng.integers(0, 25)), int(rng.integers(1, 8)),
                          layout=layout)
        assert da_student(m).tolist() == reference(m, "resident").tolist()
        assert da_enterprise(m).tolist() == reference(m, "hospital").tolist()


def test_da_equals_the_matching_package_on_a_crowded_market() -> None:
    # 300 students, 12 slots, long lists: long rejection chains and many rounds
    rng = np.random.default_rng(7)
    for layout in ("sorted", "shuffled"):
        m = random_market(rng, 300, 12, max_list=12, max_cap=25, layout=layout)
        assert da_student(m).tolist() == reference(m, "resident").tolist()
        assert da_enterprise(m).tolist() == reference(m, "hospital").tolist()


def test_a_larger_market_is_stable() -> None:
    rng = np.random.default_rng(11)
    n, n_slots, k = 20_000, 500, 8
    popularity = 1.0 / np.arange(1, n_slots + 1) ** 0.8
    lists = np.argsort(-np.log(rng.random((n, n_slots))) / popularity, axis=1)[:, :k]
    student = np.repeat(np.arange(n), k)
    slot = lists.reshape(-1)
    score = rng.random(len(slot))
    slot_rank = np.empty(len(slot), dtype=np.int64)
    order = np.lexsort((score, slot))
    start = np.searchsorted(slot[order], np.arange(n_slots))
    slot_rank[order] = np.arange(len(slot)) - start[slot[order]] + 1
    m = Market(n, n_slots, rng.integers(1, 40, n_slots), student, slot,
               np.tile(np.arange(1, k + 1), n), slot_rank)
    ds, de = da_student(m), da_enterprise(m)
    assert blocking_pairs(m, ds).size == 0
    assert blocking_pairs(m, de).size == 0
    assert np.array_equal(ds >= 0, de >= 0)


# ---------------------------------------------------------------------------------------------
# Invariants under hypothesis


@st.composite
def markets(draw: st.DrawFn, ties: bool = False) -> Market:
    """Up to 10 students and 5 slots; each student lists some slots. Strict ranks (with gaps),
    or small ranks full of ties; pairs in any order."""
    n_students = draw(st.integers(0, 10))
    n_slots = draw(st.integers(1, 5))
    capacity = draw(st.lists(st.integers(0, 3), min_size=n_slots, max_size=n_slots))
    rows = []
    for s in range(n_students):
        slots = draw(st.lists(st.integers(0, n_slots - 1), unique=True, max_size=n_slots))
        rows += [[s, t, r + 1] for r, t in enumerate(slots)]
    slot_orders = [draw(st.permutations(range(n_students))) for _ in range(n_slots)]
    for row in rows:
        row.append(slot_orders[row[1]].index(row[0]) + 1)
        if ties:
            row[2] = draw(st.integers(1, 2))
            row[3] = draw(st.integers(1, 2))
        else:
            row[2] *= 2  # gaps are allowed
    draw(st.randoms(use_true_random=False)).shuffle(rows)
    cols = np.array(rows, dtype=np.int64).reshape(-1, 4).T
    return Market(n_students, n_slots, capacity, *cols)


def rank_of(m: Market, match: np.ndarray) -> np.ndarray:
    """Each student's rank of their slot; unmatched = a rank after every slot."""
    out = np.full(m.n_students, np.iinfo(np.int64).max, dtype=np.int64)
    held = match[m.pair_student] == m.pair_slot
    out[m.pair_student[held]] = m.student_rank[held]
    return out


def assert_feasible(m: Market, match: np.ndarray) -> None:
    assert match.shape == (m.n_students,)
    acceptable = {(int(s), int(t)) for s, t in zip(m.pair_student, m.pair_slot, strict=True)}
    for s, t in enumerate(match.tolist()):
        assert t == -1 or (s, t) in acceptable
    fill = np.bincount(match[match >= 0], minlength=m.n_slots)
    assert (fill <= m.capacity).all()


@FAST
@given(markets())
def test_da_is_stable_and_student_optimal(m: Market) -> None:
    ds, de = da_student(m), da_enterprise(m)
    for match in (ds, de):
        assert_feasible(m, match)
        assert blocking_pairs(m, match).size == 0
    # every student weakly prefers the student-proposing result
    assert (rank_of(m, ds) <= rank_of(m, de)).all()
    # rural hospitals: the same students are placed, every slot has the same fill
    assert np.array_equal(ds >= 0, de >= 0)
    assert np.array_equal(np.bincount(ds[ds >= 0], minlength=m.n_slots),
                          np.bincount(de[de >= 0], minlength=m.n_slots))


def brute_boston(m: Market) -> list[int]:
    lists = [sorted((int(r), int(t)) for s2, t, r in zip(m.pair_student, m.pair_slot,
                                                          m.student_rank, strict=True)
                    if s2 == s) for s in range(m.n_students)]
    prio = {(int(s), int(t)): int(r) for s, t, r in zip(m.pair_student, m.pair_slot,
                                                         m.slot_rank, strict=True)}
    seats = m.capacity.tolist()
    match = [-1] * m.n_students
    for r in range(max((len(x) for x in lists), default=0)):
        applicants = [(prio[s, lists[s][r][1]], s, lists[s][r][1])
                      for s in range(m.n_students) if match[s] == -1 and len(lists[s]) > r]
        for _, s, t in sorted(applicants):
            if seats[t] > 0:
                seats[t] -= 1
                match[s] = t
    return match


def brute_serial(m: Market, order: list[int]) -> list[int]:
    seats = m.capacity.tolist()
    match = [-1] * m.n_students
    for s in order:
        choices = sorted((int(r), int(t)) for s2, t, r in zip(m.pair_student, m.pair_slot,
                                                              m.student_rank, strict=True)
                         if s2 == s)
        for _, t in choices:
            if seats[t] > 0:
                seats[t] -= 1
                match[s] = t
                break
    return match


@FAST
@given(markets(), st.randoms(use_true_random=False))
def test_boston_and_serial_dictatorship(m: Market, rnd: random.Random) -> None:
    b = boston(m)
    assert_feasible(m, b)
    assert b.tolist() == brute_boston(m)
    order = list(range(m.n_students))
    rnd.shuffle(order)
    order = order[:rnd.randint(0, len(order))]
    sd = serial_dictatorship(m, np.array(order, dtype=np.int64))
    assert_feasible(m, sd)
    assert sd.tolist() == brute_serial(m, order)


@FAST
@given(markets(ties=True), st.integers(0, 2**32 - 1))
def test_break_ties(m: Market, seed: int) -> None:
    strict = break_ties(m, seed)
    again = break_ties(m, seed)
    assert strict.strict() == (True, True)
    for name in ("student_rank", "slot_rank"):
        assert np.array_equal(getattr(strict, name), getattr(again, name))
    # every strict preference of the original is kept
    for owner, before, after in ((m.pair_student, m.student_rank, strict.student_rank),
                                 (m.pair_slot, m.slot_rank, strict.slot_rank)):
        same = owner[:, None] == owner[None, :]
        worse = before[:, None] < before[None, :]
        assert (after[:, None] < after[None, :])[same & worse].all()
    # a strict market is returned as it is
    assert break_ties(strict, seed + 1) is strict
    # a stable matching of the tie-broken market is weakly stable in the original
    assert blocking_pairs(m, da_student(strict)).size == 0


def test_single_tie_breaking_uses_one_lottery() -> None:
    # every slot ranks every student equally: with one lottery, all slots order them alike
    n, n_slots = 30, 4
    student = np.repeat(np.arange(n), n_slots)
    slot = np.tile(np.arange(n_slots), n)
    m = Market(n, n_slots, [1] * n_slots, student, slot, np.ones(n * n_slots),
               np.ones(n * n_slots))
    strict = break_ties(m, 5)
    orders = [student[slot == t][np.argsort(strict.slot_rank[slot == t])]
              for t in range(n_slots)]
    assert all(np.array_equal(orders[0], o) for o in orders[1:])
    assert not np.array_equal(orders[0], np.sort(orders[0]))  # shuffled, not by index


def brute_blocking(m: Market, match: np.ndarray) -> list[int]:
    pairs = list(zip(m.pair_student.tolist(), m.pair_slot.tolist(), m.student_rank.tolist(),
                     m.slot_rank.tolist(), strict=True))
    out = []
    for p, (s, t, sr, tr) in enumerate(pairs):
        if match[s] == t:
            continue
        own = [r for s2, t2, r, _ in pairs if s2 == s and t2 == match[s]]
        if own and not sr < own[0]:
            continue
        holders = [r for s2, t2, _, r in pairs if t2 == t and match[s2] == t]
        if len(holders) < m.capacity[t] or any(tr < r for r in holders):
            out.append(p)
    return out


@FAST
@given(st.one_of(markets(), markets(ties=True)), st.randoms(use_true_random=False))
def test_blocking_pairs_by_definition(m: Market, rnd: random.Random) -> None:
    # a random feasible matching: students in random order take a random acceptable seat or not
    seats = m.capacity.tolist()
    match = np.full(m.n_students, -1, dtype=np.int64)
    students = list(range(m.n_students))
    rnd.shuffle(students)
    for s in students:
        options = [int(t) for t in m.pair_slot[m.pair_student == s] if seats[t] > 0]
        if options and rnd.random() < 0.8:
            t = rnd.choice(options)
            seats[t] -= 1
            match[s] = t
    assert blocking_pairs(m, match).tolist() == brute_blocking(m, match)
