"""Stable-matching mechanisms on a market of acceptable (student, slot) pairs, numpy only.

A `Market` holds the acceptable pairs, both sides' ranks and the slots' capacities (hospitals /
residents with slot = hospital). The mechanisms return the slot of every student (-1 when
unmatched):

- `da_student`: student-proposing deferred acceptance, the student-optimal stable matching;
- `da_enterprise`: slot-proposing deferred acceptance, the slot-optimal stable matching;
- `boston`: immediate acceptance; `serial_dictatorship`: students in a given order;
- `blocking_pairs`: the pairs that block a matching (weak stability, ties allowed);
- `break_ties`: single tie-breaking, one seeded lottery number per student and per slot.

The mechanisms need strict ranks (`break_ties` first when there are ties). Everything runs in
vectorised rounds: no Python loop per student or per proposal. A slot's pairs are laid out once
in its order of preference ("positions"); a slot that is full keeps a cut-off position that only
moves towards its better students, so finding whom it rejects scans each of its pairs at most a
few times over the whole run, and a student skips at once the slots whose cut-off rejects them.

Laying the pairs out is cheapest when they come grouped by student, best first, or when each
side's ranks are 1..k within each student or slot (as `break_ties` leaves them); otherwise it
takes two sparse-matrix sorts (about 2 s more at 10 million pairs on 2 cores).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse

__all__ = ["Market", "blocking_pairs", "boston", "break_ties", "da_enterprise", "da_student",
           "serial_dictatorship"]

_NONE = np.iinfo(np.int64).max  # "no rank yet": worse than every rank


def _as_array(name: str, values: object) -> np.ndarray:
    """A read-only int64 view of a 1-d array of integers (copied only to convert)."""
    raw = np.asarray(values)
    if raw.ndim != 1:
        raise ValueError(f"{name} must be a 1-d array")
    if raw.size and raw.dtype.kind not in "iub" and (
            raw.dtype.kind != "f" or not np.array_equal(raw, np.round(raw))):
        raise ValueError(f"{name} must hold integers")
    arr = np.ascontiguousarray(raw, dtype=np.int64).view()
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class Market:
    """Acceptable (student, slot) pairs: both sides' ranks, and the slots' capacities.

    Ranks are integers >= 1; equal ranks are ties and gaps are allowed. The arrays are kept as
    read-only int64 views (copied only when converted): do not change the arrays passed in.
    """

    n_students: int
    n_slots: int
    capacity: np.ndarray  # int64 [n_slots], seats per slot (>= 0)
    pair_student: np.ndarray  # int64 [n_pairs]
    pair_slot: np.ndarray  # int64 [n_pairs]
    student_rank: np.ndarray  # int64 [n_pairs]: the student's rank of the slot, 1 = first
    slot_rank: np.ndarray  # int64 [n_pairs]: the slot's rank of the student, 1 = best

    def __post_init__(self) -> None:
        for name in ("n_students", "n_slots"):
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
            object.__setattr__(self, name, int(value))
        for name in ("capacity", "pair_student", "pair_slot", "student_rank", "slot_rank"):
            object.__setattr__(self, name, _as_array(name, getattr(self, name)))
        if len(self.capacity) != self.n_slots:
            raise ValueError(f"capacity needs {self.n_slots} entries, got {len(self.capacity)}")
        if len(self.capacity) and self.capacity.min() < 0:
            raise ValueError("capacity must be non-negative")
        n = len(self.pair_student)
        for name in ("pair_slot", "student_rank", "slot_rank"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} needs one entry per pair ({n}), got "
                                 f"{len(getattr(self, name))}")
        if n == 0:
            return
        if self.pair_student.min() < 0 or self.pair_student.max() >= self.n_students:
            raise ValueError("pair_student out of range")
        if self.pair_slot.min() < 0 or self.pair_slot.max() >= self.n_slots:
            raise ValueError("pair_slot out of range")
        if self.student_rank.min() < 1 or self.slot_rank.min() < 1:
            raise ValueError("ranks start at 1")
        if not _distinct(self.pair_student, self.pair_slot, self.n_students, self.n_slots):
            raise ValueError("a (student, slot) pair appears twice")

    @property
    def n_pairs(self) -> int:
        return len(self.pair_student)

    @classmethod
    def from_lists(cls, student_prefs: Sequence[Sequence[int]],
                   slot_prefs: Sequence[Sequence[int]], capacity: Sequence[int]) -> Market:
        """A strict market from preference lists, best first: `student_prefs[s]` lists slots,
        `slot_prefs[t]` lists students. A pair is acceptable when both lists name it."""
        slot_pos = [{s: r for r, s in enumerate(p, 1)} for p in slot_prefs]
        rows = [(s, t, r, slot_pos[t][s]) for s, prefs in enumerate(student_prefs)
                for r, t in enumerate(prefs, 1) if s in slot_pos[t]]
        cols = np.array(rows, dtype=np.int64).reshape(-1, 4).T
        return cls(len(student_prefs), len(slot_prefs), np.asarray(capacity), *cols)

    def strict(self) -> tuple[bool, bool]:
        """(no student ranks two slots equally, no slot ranks two students equally)."""
        return (_order_by(self.pair_student, self.student_rank, self.n_students)[1],
                _order_by(self.pair_slot, self.slot_rank, self.n_slots)[1])


# ---------------------------------------------------------------------------------------------
# Orders


class _Order:
    """Pairs grouped by an owner (student or slot) and ordered by the owner's rank: `ptr` is
    the owners' CSR, `at()` the pair at each place, `where()` the place of each pair (one is
    computed from the other on first use; both are the identity when `identity`)."""

    def __init__(self, ptr: np.ndarray, at: np.ndarray | None, where: np.ndarray | None) -> None:
        self.ptr, self._at, self._where = ptr, at, where

    @property
    def identity(self) -> bool:
        return self._at is None and self._where is None

    def at(self) -> np.ndarray:
        if self._at is None:
            self._at = _inverse(self._where, int(self.ptr[-1]))
        return self._at

    def where(self) -> np.ndarray:
        if self._where is None:
            self._where = _inverse(self._at, int(self.ptr[-1]))
        return self._where

    def arrange(self, values: np.ndarray) -> np.ndarray:
        """`values` (one per pair) in this order."""
        if self._at is not None:
            return values[self._at]
        if self._where is None:
            return values
        out = np.empty_like(values)
        out[self._where] = values
        return out


def _inverse(perm: np.ndarray | None, n: int) -> np.ndarray:
    if perm is None:
        return np.arange(n, dtype=np.int64)
    out = np.empty(n, dtype=np.int64)
    out[perm] = np.arange(n, dtype=np.int64)
    return out


def _order_by(owner: np.ndarray, rank: np.ndarray, n_owners: int) -> tuple[_Order, bool]:
    """Pairs ordered by (owner, rank), and whether no owner ranks two pairs equally (when it
    does, the order is not computed: `at`/`where` must not be used).

    Fast paths: pairs already in that order (nothing to do); ranks that are 1..k within each
    owner (a place is `ptr[owner] + rank - 1`). Otherwise one sparse-matrix conversion
    (a counting sort by owner, then a sort inside each owner's row).
    """
    n = len(owner)
    ptr = _offsets(owner, n_owners)
    if n == 0:
        return _Order(ptr, None, None), True
    grouped = bool((owner[1:] >= owner[:-1]).all())
    if grouped:
        same = owner[1:] == owner[:-1]
        if not (same & (rank[1:] < rank[:-1])).any():
            return _Order(ptr, None, None), not (same & (rank[1:] == rank[:-1])).any()
    if int(rank.max()) <= int(np.diff(ptr).max()):
        place = ptr[owner]
        place += rank
        place -= 1
        if (place < ptr[1:][owner]).all():
            seen = np.zeros(n, dtype=bool)
            seen[place] = True
            if seen.all():
                return _Order(ptr, None, place), True
    csr = _rows(owner, rank - 1, np.arange(n, dtype=np.int64), n_owners, int(rank.max()),
                ptr if grouped else None)
    if csr.nnz != n:
        return _Order(ptr, None, None), False
    return _Order(ptr, np.asarray(csr.data, dtype=np.int64), None), True


def _rows(row: np.ndarray, col: np.ndarray, data: np.ndarray, n_rows: int, n_cols: int,
          ptr: np.ndarray | None) -> scipy.sparse.csr_array:
    """A sparse matrix in canonical form (each row sorted by column, duplicates summed): a
    counting sort by row, then a sort inside each row. `ptr`: the rows' offsets when the
    entries are already grouped by row (saves the counting sort; `col` and `data` are then
    sorted in place). Needs n_rows >= 1."""
    shape = (n_rows, max(n_cols, 1))
    if ptr is None:
        return scipy.sparse.coo_array((data, (row, col)), shape=shape).tocsr()
    csr = scipy.sparse.csr_array((data, col, ptr), shape=shape)
    csr.sum_duplicates()
    return csr


def _distinct(owner: np.ndarray, other: np.ndarray, n_owners: int, n_others: int) -> bool:
    """No (owner, other) pair appears twice."""
    if not len(owner):
        return True
    grouped = bool((owner[1:] >= owner[:-1]).all())
    csr = _rows(owner, other.copy(), np.ones(len(owner), dtype=np.int8), n_owners, n_others,
                _offsets(owner, n_owners) if grouped else None)
    return csr.nnz == len(owner)


def _offsets(group: np.ndarray, n_groups: int) -> np.ndarray:
    """CSR offsets [n_groups + 1] of an array grouped by `group` (sorted)."""
    ptr = np.zeros(n_groups + 1, dtype=np.int64)
    np.cumsum(np.bincount(group, minlength=n_groups), out=ptr[1:])
    return ptr


def _add_counts(total: np.ndarray, items: np.ndarray) -> np.ndarray:
    """Add to `total` how many times each index appears in `items`; return those indices."""
    if 4 * len(items) > len(total):
        count = np.bincount(items, minlength=len(total))
        total += count
        return np.flatnonzero(count)
    index, count = np.unique(items, return_counts=True)
    total[index] += count
    return index


def _ranges(first: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The concatenated ranges first[u], first[u] + 1, ..., first[u] + lengths[u] - 1."""
    total = int(lengths.sum())
    starts = np.cumsum(lengths) - lengths
    return np.repeat(first - starts, lengths) + np.arange(total, dtype=np.int64)


def _scan(mask: Callable[[np.ndarray], np.ndarray], first: np.ndarray, lengths: np.ndarray,
          step: int) -> tuple[
        np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Windows of positions, window u being first[u], first[u] + step, ... (`lengths[u]` of
    them, `step` = 1 or -1), where `mask(positions)` flags some: the positions, the flagged
    indices into them (window by window), and each window's first flagged index and count."""
    starts = np.cumsum(lengths) - lengths
    total = int(lengths.sum())
    if step > 0:
        pos = np.repeat(first - starts, lengths) + np.arange(total, dtype=np.int64)
    else:
        pos = np.repeat(first + starts, lengths) - np.arange(total, dtype=np.int64)
    hits = np.flatnonzero(mask(pos))
    lo = np.searchsorted(hits, starts)
    return pos, hits, lo, np.searchsorted(hits, starts + lengths) - lo


@dataclass(frozen=True)
class _Layout:
    """A strict market sorted both ways. Student order (index i): `s_ptr`, and the slot and the
    slot position of each i. Slot order (position q): `t_ptr`, and `slots` (`at()` is the pair
    at each position)."""

    s_ptr: np.ndarray
    i_slot: np.ndarray
    i_pos: np.ndarray
    t_ptr: np.ndarray
    slots: _Order


def _layout(n_students: int, n_slots: int, pair_student: np.ndarray, pair_slot: np.ndarray,
            student_rank: np.ndarray, slot_rank: np.ndarray, student_order: bool) -> _Layout:
    """Sort the pairs by (student, student rank) and by (slot, slot rank); ValueError on ties.
    Without `student_order` the student side is only checked for ties."""
    students, s_strict = _order_by(pair_student, student_rank, n_students)
    slots, t_strict = _order_by(pair_slot, slot_rank, n_slots)
    if not (s_strict and t_strict):
        side = "students" if not s_strict else "slots"
        raise ValueError(f"some {side} rank two pairs equally: call break_ties(market) first")
    if not student_order:
        empty = np.zeros(0, dtype=np.int64)
        return _Layout(students.ptr, empty, empty, slots.ptr, slots)
    pos = slots.where()
    return _Layout(students.ptr, students.arrange(pair_slot), students.arrange(pos), slots.ptr,
                   slots)


# ---------------------------------------------------------------------------------------------
# Student-proposing deferred acceptance


def _tighten(full: np.ndarray, n_held: np.ndarray, capacity: np.ndarray, cut: np.ndarray,
             t_start: np.ndarray, held: np.ndarray) -> np.ndarray:
    """For each slot in `full`, holding `n_held` >= `capacity` students, all at positions below
    `cut`: un-hold its `n_held - capacity` worst, and move `cut` just past the worst one kept.
    Scans down from the cut-off in windows, first sized by the density of holders, then
    doubling. Returns the positions rejected."""
    k = n_held - capacity + 1  # the k-th held position below the cut is the worst one kept
    hi = cut[full]
    lo_bound = t_start[full]
    span = hi - lo_bound
    width = np.minimum(span, k * span // n_held * 5 // 4 + 8)
    slots = full
    rejected = []
    while True:
        lo = np.maximum(hi - width, lo_bound)
        pos, hits, first, count = _scan(held.__getitem__, hi - 1, hi - lo, -1)
        rejected.append(pos[hits[_ranges(first, np.minimum(k - 1, count))]])
        found = count >= k
        cut[slots[found]] = pos[hits[first[found] + k[found] - 1]] + 1
        rest = ~found
        if not rest.any():
            break
        if (lo[rest] <= lo_bound[rest]).any():  # pragma: no cover - an invariant
            raise AssertionError("a slot holds fewer students than it counts")
        slots, hi, lo_bound = slots[rest], lo[rest], lo_bound[rest]
        k, width = k[rest] - count[rest], width[rest] * 2
    return np.concatenate(rejected) if len(rejected) > 1 else rejected[0]


def _da_student(n_students: int, capacity: np.ndarray, lay: _Layout) -> np.ndarray:
    """Student-proposing DA in simultaneous rounds on a strict market laid out by `_layout`."""
    s_end = lay.s_ptr[1:]
    t_start = lay.t_ptr[:-1]
    ptr = lay.s_ptr[:-1].copy()  # each student's next (or held) index in student order
    cut = np.where(capacity > 0, lay.t_ptr[1:], t_start)  # admissible: position < cut
    n_held = np.zeros(len(capacity), dtype=np.int64)
    held = np.zeros(len(lay.i_pos), dtype=bool)
    holder = np.empty(len(lay.i_pos), dtype=np.int64)  # the student at a held position
    free = np.flatnonzero(ptr < s_end)
    while free.size:
        # every free student proposes to their best slot whose cut-off still admits them
        stud, idx = free, ptr[free]
        got_s, got_i, got_q, got_t = [], [], [], []
        while stud.size:
            alive = idx < s_end[stud]
            if not alive.all():
                stud, idx = stud[alive], idx[alive]
            q = lay.i_pos[idx]
            t = lay.i_slot[idx]
            ok = q < cut[t]
            got_s.append(stud[ok])
            got_i.append(idx[ok])
            got_q.append(q[ok])
            got_t.append(t[ok])
            no = ~ok
            stud, idx = stud[no], idx[no] + 1
        stud = np.concatenate(got_s)
        if not stud.size:
            break
        ptr[stud] = np.concatenate(got_i)
        q = np.concatenate(got_q)
        held[q] = True
        holder[q] = stud
        slots = _add_counts(n_held, np.concatenate(got_t))
        full = slots[n_held[slots] >= capacity[slots]]
        if not full.size:
            break
        rejected = _tighten(full, n_held[full], capacity[full], cut, t_start, held)
        n_held[full] = capacity[full]
        held[rejected] = False
        free = holder[rejected]
        ptr[free] += 1
    match = np.full(n_students, -1, dtype=np.int64)
    some = np.flatnonzero(ptr < s_end)
    idx = ptr[some]
    ok = held[lay.i_pos[idx]]
    match[some[ok]] = lay.i_slot[idx[ok]]
    return match


def da_student(market: Market) -> np.ndarray:
    """Student-proposing deferred acceptance: the student-optimal stable matching.

    Returns the slot of each student, -1 if unmatched. Needs strict ranks on both sides
    (ValueError otherwise; see `break_ties`). Rounds: every free student proposes to their next
    slot (skipping slots whose cut-off already rejects them); each slot keeps its best
    `capacity` among holders and proposers.
    """
    m = market
    lay = _layout(m.n_students, m.n_slots, m.pair_student, m.pair_slot, m.student_rank,
                  m.slot_rank, True)
    return _da_student(m.n_students, m.capacity, lay)


# ---------------------------------------------------------------------------------------------
# Slot-proposing deferred acceptance


def da_enterprise(market: Market) -> np.ndarray:
    """Slot-proposing deferred acceptance: the slot-optimal stable matching.

    Returns the slot of each student, -1 if unmatched. Needs strict ranks on both sides. Rounds:
    every slot with a free seat offers it to its next best students (skipping those who already
    hold a better offer), up to its free seats; each student keeps their best offer.
    """
    m = market
    lay = _layout(m.n_students, m.n_slots, m.pair_student, m.pair_slot, m.student_rank,
                  m.slot_rank, False)
    t_ptr = lay.t_ptr
    q_student = lay.slots.arrange(m.pair_student)  # the student at each slot position
    q_rank = lay.slots.arrange(m.student_rank)  # ... and their rank of the slot
    t_end = t_ptr[1:]
    nxt = t_ptr[:-1].copy()  # each slot's next position to consider
    free_seats = m.capacity.copy()
    held_rank = np.full(m.n_students, _NONE, dtype=np.int64)
    held_slot = np.full(m.n_students, -1, dtype=np.int64)
    best = np.full(m.n_students, _NONE, dtype=np.int64)  # scratch

    def accepts(pos: np.ndarray) -> np.ndarray:
        return q_rank[pos] < held_rank[q_student[pos]]

    active = np.flatnonzero((free_seats > 0) & (nxt < t_end))
    while active.size:
        # offers: each active slot scans forward for students who would accept it
        need = free_seats[active]
        width = need + need // 2 + 4
        slots = active
        off_t, off_q = [], []
        while slots.size:
            lo = nxt[slots]
            lengths = np.minimum(lo + width, t_end[slots]) - lo
            pos, hits, first, count = _scan(accepts, lo, lengths, 1)
            take = np.minimum(need, count)
            off_t.append(np.repeat(slots, take))
            off_q.append(pos[hits[_ranges(first, take)]])
            found = count >= need
            nxt[slots[found]] = pos[hits[first[found] + need[found] - 1]] + 1
            rest = ~found
            nxt[slots[rest]] = lo[rest] + lengths[rest]
            keep = rest & (nxt[slots] < t_end[slots])
            slots, need, width = slots[keep], need[keep] - count[keep], width[keep] * 2
        t = np.concatenate(off_t)
        if not t.size:
            break
        q = np.concatenate(off_q)
        s, r = q_student[q], q_rank[q]
        free_seats -= np.bincount(t, minlength=m.n_slots)
        # each student keeps their best offer; the rest, and what winners held, free a seat
        np.minimum.at(best, s, r)
        win = r == best[s]
        best[s] = _NONE
        sw, tw = s[win], t[win]
        before = held_slot[sw]
        back = np.concatenate([t[~win], before[before >= 0]])
        held_slot[sw], held_rank[sw] = tw, r[win]
        active = _add_counts(free_seats, back)
        active = active[nxt[active] < t_end[active]]
    return held_slot


# ---------------------------------------------------------------------------------------------
# Boston, serial dictatorship


def boston(market: Market) -> np.ndarray:
    """Immediate acceptance: in round r every unmatched student applies to the r-th slot of their
    list; a slot accepts applicants by its rank up to its remaining seats, for good.

    Returns the slot of each student, -1 if unmatched. Needs strict ranks on both sides.
    """
    m = market
    lay = _layout(m.n_students, m.n_slots, m.pair_student, m.pair_slot, m.student_rank,
                  m.slot_rank, True)
    match = np.full(m.n_students, -1, dtype=np.int64)
    seats = m.capacity.copy()
    length = np.diff(lay.s_ptr)
    waiting = np.flatnonzero(length > 0)
    r = 0
    while waiting.size:
        idx = lay.s_ptr[waiting] + r
        order = np.argsort(lay.i_pos[idx])  # by slot, then by the slot's rank
        stud, idx = waiting[order], idx[order]
        t = lay.i_slot[idx]
        first = np.ones(len(t), dtype=bool)
        first[1:] = t[1:] != t[:-1]
        starts = np.flatnonzero(first)
        place = np.arange(len(t)) - np.repeat(starts, np.diff(np.append(starts, len(t))))
        ok = place < seats[t]
        match[stud[ok]] = t[ok]
        np.subtract.at(seats, t[ok], 1)
        r += 1
        waiting = stud[~ok]
        waiting = waiting[length[waiting] > r]
    return match


def serial_dictatorship(market: Market, order: np.ndarray) -> np.ndarray:
    """Students in `order` (distinct student indices; others stay unmatched) each take, in turn,
    their best slot with a free seat. Slots' ranks are ignored; students' must be strict.

    Computed as student-proposing DA where every slot ranks students by `order` (the same
    matching, without a loop over students).
    """
    m = market
    order = np.asarray(order, dtype=np.int64).reshape(-1)
    if order.size and (order.min() < 0 or order.max() >= m.n_students):
        raise ValueError("order names a student out of range")
    turn = np.full(m.n_students, -1, dtype=np.int64)
    turn[order] = np.arange(1, len(order) + 1)
    if (turn > 0).sum() != len(order):
        raise ValueError("order names a student twice")
    keep = turn[m.pair_student] > 0
    student, slot = m.pair_student[keep], m.pair_slot[keep]
    lay = _layout(m.n_students, m.n_slots, student, slot, m.student_rank[keep],
                  turn[student], True)
    return _da_student(m.n_students, m.capacity, lay)


# ---------------------------------------------------------------------------------------------
# Ties and stability


def break_ties(market: Market, seed: int = 0) -> Market:
    """Strict ranks on both sides by single tie-breaking.

    One seeded lottery: a random permutation of the students and one of the slots. A slot's
    equal-ranked students are ordered by their lottery number (the same number at every slot),
    a student's equal-ranked slots by the slots' lottery numbers. A side with no ties keeps its
    ranks as they are; a side with ties gets ranks 1, 2, ... in the tie-broken order, so every
    strict preference stays as it was. Deterministic in `seed`.
    """
    m = market
    rng = np.random.default_rng(seed)
    student_lot = rng.permutation(m.n_students)
    slot_lot = rng.permutation(m.n_slots)
    student_strict, slot_strict = m.strict()
    student_rank, slot_rank = m.student_rank, m.slot_rank
    if not student_strict:
        student_rank = _strict_ranks(m.pair_student, m.n_students, m.student_rank,
                                     slot_lot[m.pair_slot], m.n_slots)
    if not slot_strict:
        slot_rank = _strict_ranks(m.pair_slot, m.n_slots, m.slot_rank,
                                  student_lot[m.pair_student], m.n_students)
    if student_strict and slot_strict:
        return m
    return Market(m.n_students, m.n_slots, m.capacity, m.pair_student, m.pair_slot,
                  student_rank, slot_rank)


def _strict_ranks(owner: np.ndarray, n_owners: int, rank: np.ndarray, lottery: np.ndarray,
                  n_lottery: int) -> np.ndarray:
    """Ranks 1..k within each owner, ordered by (rank, lottery)."""
    if len(rank) and int(rank.max()) < (1 << 62) // max(n_lottery, 1):
        order, _ = _order_by(owner, (rank - 1) * n_lottery + lottery + 1, n_owners)
    else:  # pragma: no cover - ranks beyond 2**62 / n
        order = _Order(_offsets(owner, n_owners), np.lexsort((lottery, rank, owner)), None)
    return order.where() - order.ptr[owner] + 1


def blocking_pairs(market: Market, match: np.ndarray) -> np.ndarray:
    """Indices of the pairs (s, t) that block `match` (slot of each student, -1 unmatched).

    (s, t) blocks when s strictly prefers t to their slot (or is unmatched), and t has a free
    seat or strictly prefers s to its worst holder. Ties are allowed (weak stability). Raises
    ValueError when `match` uses an unacceptable pair or overfills a slot.
    """
    m = market
    match = np.asarray(match, dtype=np.int64).reshape(-1)
    if len(match) != m.n_students:
        raise ValueError(f"match needs one entry per student ({m.n_students})")
    if match.size and (match.min() < -1 or match.max() >= m.n_slots):
        raise ValueError("match names a slot out of range")
    is_match = match[m.pair_student] == m.pair_slot
    matched = np.flatnonzero(is_match)
    if len(matched) != int((match >= 0).sum()):
        raise ValueError("match places a student in a slot they do not find acceptable")
    fill = np.bincount(m.pair_slot[matched], minlength=m.n_slots)
    if (fill > m.capacity).any():
        raise ValueError("match puts more students in a slot than its capacity")
    own_rank = np.full(m.n_students, _NONE, dtype=np.int64)
    own_rank[m.pair_student[matched]] = m.student_rank[matched]
    worst = np.zeros(m.n_slots, dtype=np.int64)
    np.maximum.at(worst, m.pair_slot[matched], m.slot_rank[matched])
    wants = m.student_rank < own_rank[m.pair_student]
    open_ = (fill < m.capacity)[m.pair_slot] | (m.slot_rank < worst[m.pair_slot])
    return np.flatnonzero(wants & open_)
