"""Sales prediction that measures itself: forecast methods, their Monte-Carlo range, and a backtest.

Pure and UI-free, and no numpy: the CLI path stays light. Probabilities are floats (they are
estimates, not money); amounts are Decimal at the edges and integer minor units (cents) inside, so
sums are exact and the Monte-Carlo adds integers.

The methods (docs/prediction.md), each falling back to the one before when data is short:
- ``weighted``: Σ amount × the policy's stage probability, for deals whose close date falls before
  the period's end (overdue included). No timing, no deals from new.
- ``history``: P(won | reached stage) from closed deals, shrunk towards the policy probability by a
  Beta prior worth ``PRIOR_DEALS`` deals; refined by age in stage (buckets at the won deals' median and
  75th percentile of time in that stage); a timing factor (how often a deal won later closes inside
  the period, by where its close date stood); plus what deals created inside a period usually add.
- ``model``: an L2-regularised logistic regression on a dozen features, used only with at least
  ``MODEL_MIN_CLASS`` won and lost deals and only while its Brier score on a time-ordered hold-out
  beats the history method's.

Every method is judged by ``backtest``: the pipeline as it stood at each past period's start is
rebuilt from the deals' stage and close-date histories, every method predicts the period, and the
prediction is compared with what was actually won.
"""

from __future__ import annotations

import math
import random
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from functools import lru_cache, partial
from itertools import compress, pairwise, repeat
from operator import add, and_, attrgetter, is_, mul, sub
from typing import TYPE_CHECKING, Any

from sfa.domain.errors import ValidationError
from sfa.domain.stages import LOST, WON, Stage

if TYPE_CHECKING:
    from functools import cached_property
else:

    class cached_property:  # functools.cached_property without its lock (Python < 3.12)
        """Computed on first use and kept in the instance's __dict__. The standard one takes a lock
        on every first use, and the fits make tens of thousands of deal snapshots (as_of): a third of
        a backtest went to that lock (docs/prediction.md, "Speed")."""

        def __init__(self, func):
            self.func = func
            self.name = func.__name__

        def __set_name__(self, owner, name):
            self.name = name

        def __get__(self, instance, owner=None):
            if instance is None:
                return self
            value = instance.__dict__[self.name] = self.func(instance)
            return value


PRIOR_DEALS = 20  # the policy probability is worth this many deals of evidence
MODEL_MIN_CLASS = 40  # won and lost deals each, before the model is tried
METHODS = ("weighted", "history", "model")
CENTS = Decimal("0.01")


# ----------------------------------------------------------------------------------------------
# History of one deal


@dataclass(frozen=True)
class StageStep:
    stage: str
    at: date


_PATHS: dict[tuple[bool, frozenset[str]], tuple[bool, frozenset[str]]] = {}
_CONTEXTS: dict[tuple[str, str, str, bool], tuple[str, str, str, bool]] = {}


@dataclass(frozen=True)
class DealHistory:
    """One opportunity as its stage changes and close-date changes recorded it."""

    id: str
    created: date
    amount: Decimal
    steps: tuple[StageStep, ...]  # time order; the first is the stage at creation; won/lost last
    close_dates: tuple[tuple[date, date], ...]  # (from, expected close date), time order
    owner: str = ""
    source: str = ""
    currency: str = "EUR"
    # The deal's context (issue 16's model features), each dated so that a feature as of a day
    # counts only what happened before it (no look-ahead; docs/prediction.md, "The model's
    # features"). Empty in the simulated histories.
    account: str = ""
    industry: str = ""
    activities: tuple[date, ...] = ()  # days of the deal's activities, sorted
    contacts: tuple[tuple[date, str], ...] = ()  # (first day on the deal, contact id), sorted

    def activities_before(self, day: date, days: int = 30) -> int:
        """How many of the deal's activities fell in the ``days`` before ``day``."""
        return bisect_left(self.activities, day) - bisect_left(self.activities, day - timedelta(days=days))

    def contacts_before(self, day: date) -> int:
        """How many distinct contacts were on the deal before ``day``."""
        return len({contact for seen, contact in self.contacts if seen < day})

    def as_of(self, day: date) -> DealHistory | None:
        """The deal as someone knew it at the start of ``day`` (None: not created yet)."""
        if self.created >= day:
            return None
        steps, dates = self.steps, self.close_dates
        if steps[-1].at < day and dates[-1][0] < day:
            return self  # everything about it was known by then (most closed deals)
        k = len(steps)
        while k > 1 and steps[k - 1].at >= day:
            k -= 1
        j = len(dates)
        while j > 1 and dates[j - 1][0] >= day:
            j -= 1
        return DealHistory(
            self.id,
            self.created,
            self.amount,
            steps[:k],
            dates[:j],
            self.owner,
            self.source,
            self.currency,
            self.account,
            self.industry,
            self.activities,
            self.contacts,
        )

    # Cached on first use (the dataclass is frozen; cached_property writes the instance's __dict__):
    # the fits ask a closed deal's stage and outcome millions of times.
    @cached_property
    def stage(self) -> str:
        return self.steps[-1].stage

    @cached_property
    def outcome(self) -> tuple[str, date] | None:
        last = self.steps[-1]
        return (last.stage, last.at) if last.stage in (WON, LOST) else None

    @property
    def stage_entered(self) -> date:
        return self.steps[-1].at

    @property
    def close_date(self) -> date:
        return self.close_dates[-1][1]

    @cached_property
    def pushes(self) -> int:
        """How often the expected close date moved later."""
        return sum(1 for a, b in zip(self.close_dates, self.close_dates[1:], strict=False) if b[1] > a[1])

    @cached_property
    def _reached(self) -> frozenset[str]:
        return frozenset(s.stage for s in self.steps)

    def reached(self) -> frozenset[str]:
        return self._reached

    # Both shared among the deals (few distinct values): counting them then finds each in the
    # counter by identity, without comparing sets and strings.
    @cached_property
    def path(self) -> tuple[bool, frozenset[str]]:
        """(won, the stages reached): what the stage estimates count of a closed deal."""
        key = (self.stage == WON, self._reached)
        return _PATHS.setdefault(key, key)

    @cached_property
    def context(self) -> tuple[str, str, str, bool]:
        """(owner, source, industry, won): what the model's rates count of a closed deal."""
        key = (self.owner, self.source, self.industry, self.stage == WON)
        return _CONTEXTS.setdefault(key, key)

    @cached_property
    def first_stays(self) -> tuple[tuple[str, int], ...]:
        """(stage, days) of the first stay in every stage the deal left, in the order it left them
        (``time_in`` of each: the history fit's age buckets read these for every won deal)."""
        left: set[str] = set()
        stays = []
        for step, after in pairwise(self.steps):
            if step.stage not in left:
                left.add(step.stage)
                stays.append((step.stage, (after.at - step.at).days))
        return tuple(stays)

    def time_in(self, stage: str) -> int | None:
        """Days spent in ``stage`` before leaving it (None: never left or never there)."""
        for step, after in zip(self.steps, self.steps[1:], strict=False):
            if step.stage == stage:
                return (after.at - step.at).days
        return None


# ----------------------------------------------------------------------------------------------
# Periods


@lru_cache(maxsize=4096)
def period_bounds(day: date, by: str) -> tuple[date, date]:
    """The month or quarter holding ``day``: first day and the first day after it."""
    months = 3 if by == "quarter" else 1
    first = date(day.year, (day.month - 1) // months * months + 1, 1)
    return first, add_months(first, months)


def add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def period_name(first: date, by: str) -> str:
    if by == "quarter":
        return f"{first.year:04d}-Q{(first.month - 1) // 3 + 1}"
    return f"{first.year:04d}-{first.month:02d}"


def cents(amount: Decimal) -> int:
    return int(amount.quantize(CENTS) * 100)


def from_cents(value: float) -> Decimal:
    return (Decimal(round(value)) / 100).quantize(CENTS)


# ----------------------------------------------------------------------------------------------
# What a method knows at a snapshot, and what it predicts


@dataclass(frozen=True)
class Prediction:
    """A period's prediction by one method."""

    method: str
    expected: Decimal
    deal_probability: dict[str, float]  # P(won inside the period) per open deal id
    from_new: Decimal = Decimal(0)
    p10: Decimal | None = None
    p50: Decimal | None = None
    p90: Decimal | None = None
    p_target: float | None = None
    note: str = ""


@dataclass
class _Known:
    """Everything known at the start of a period: closed deals, open deals, training snapshots."""

    at: date
    end: date
    by: str
    stages: Sequence[Stage]
    deals: list[DealHistory]  # as of ``at``
    open: list[DealHistory]
    closed: list[DealHistory]
    snapshots: list[tuple[date, date, DealHistory, DealHistory]] = field(default_factory=list)
    # (snapshot start, period end, deal as of start, deal as closed) for deals closed by ``at``
    book: _Book | None = None
    # The history method's fit of this snapshot and the model trained on it, kept once made: a
    # backtest's hold-out cut is usually an earlier period's start (docs/prediction.md, "Speed").
    fitted: _History | None = None
    trained: tuple[_Model | None] | None = None
    rates: tuple[int, list[dict[str, float]]] | None = None  # _known_rates
    # Per snapshot, what the history fit counts (``_snapshot_facts``), built with the snapshots.
    facts: list[tuple[str, int, bool, str, bool]] | None = None
    # The closed deals counted per path (``DealHistory.path``) and per context (``.context``),
    # carried by the book from one period start to the next (``_Book.counts``); None: count them.
    paths: Counter[tuple[bool, frozenset[str]]] | None = None
    contexts: Counter[tuple[str, str, str, bool]] | None = None


class _Book:
    """The deals and what was known of them at any period start, built once and shared by every
    period and method of a backtest (docs/prediction.md, "Speed").

    A training snapshot is a deal as it stood at a past period's start while still open, labelled by
    how it closed; each (deal, start) pair is built once, when first needed, and kept.
    """

    def __init__(self, deals: Iterable[DealHistory], by: str, stages: Sequence[Stage]) -> None:
        self.deals = list(deals)
        self.by = by
        self.stages = stages
        self.step = 3 if by == "quarter" else 1
        self.closed = [d for d in self.deals if d.outcome is not None]
        # The day after which everything about a deal is known (its last step and close-date
        # move): from then on `as_of` is the deal itself, and `_know` skips the call.
        self.settled = [max(d.steps[-1].at, d.close_dates[-1][0]) for d in self.deals]
        self.created = [d.created for d in self.deals]
        # The first period has no pipeline yet: snapshots start one period after the first deal.
        self.earliest = min(d.created for d in self.deals) if self.deals else None
        self.first_start = (
            add_months(period_bounds(self.earliest, by)[0], self.step) if self.earliest is not None else None
        )
        self.starts: list[date] = []
        self.known: dict[date, _Known] = {}
        self.pairs: list[
            tuple[date, date, date, DealHistory, DealHistory, tuple[str, int, bool, str, bool]]
        ] = []
        # (closed on, snapshot start, its period's end, deal as of start, deal as closed, its facts)
        self.plain: dict[tuple[int, date], _Plain] = {}  # per (id of deal as of start, start)
        # The deals closed as they are today, in the order they settled: those settled before a
        # start are known then as they are, so their counts are carried from an earlier start.
        order = sorted(
            (settled, i)
            for i, (settled, d) in enumerate(zip(self.settled, self.deals, strict=True))
            if d.outcome
        )
        self.settled_days = [settled for settled, _ in order]
        self.settled_closed = [self.deals[i] for _, i in order]
        self.counted: dict[date, tuple[int, Counter[Any], Counter[Any]]] = {}

    def _extend(self, until: date) -> None:
        """Build the snapshots of every period start before ``until`` not built yet."""
        if self.first_start is None:
            return
        s = add_months(self.starts[-1], self.step) if self.starts else self.first_start
        new = []
        while s < until:
            new.append(s)
            s = add_months(s, self.step)
        if not new:
            return
        self.starts += new
        lo, hi = new[0], new[-1]
        spans = [(start, add_months(start, self.step)) for start in new]
        for deal in self.closed:
            closed_on = deal.steps[-1].at
            created = deal.created
            if closed_on < lo or created >= hi:
                continue
            for start, end in spans:
                if created < start <= closed_on:
                    then = deal.as_of(start)
                    if then is not None:
                        self.pairs.append(
                            (
                                closed_on,
                                start,
                                end,
                                then,
                                deal,
                                _snapshot_facts(start, end, then, deal, self.by),
                            )
                        )

    def release(self) -> None:
        """Drop the snapshots kept (each refers back to this book): freed at once by reference
        counting instead of waiting for a collection of cycles that walks every live object
        (docs/prediction.md, "Speed")."""
        self.known.clear()
        self.pairs.clear()
        self.plain.clear()
        self.counted.clear()

    def know(self, at: date) -> _Known:
        found = self.known.get(at)
        if found is None:
            found = self.known[at] = self._know(at)
        return found

    def counts(
        self, at: date, fresh: list[DealHistory]
    ) -> tuple[Counter[tuple[bool, frozenset[str]]], Counter[tuple[str, str, str, bool]]]:
        """The closed deals known at ``at`` counted per path and per context: those settled before
        ``at`` (each as it is) carried from the latest earlier start counted and added to, plus
        ``fresh``, the closed ones not settled then (as of ``at``). The same integer counts as a
        pass over the closed deals (docs/prediction.md, "Speed", round 7)."""
        k = bisect_left(self.settled_days, at)
        base = max(
            (found for found in self.counted.values() if found[0] <= k),
            key=lambda found: found[0],
            default=(0, Counter(), Counter()),
        )
        added = self.settled_closed[base[0] : k]
        paths, contexts = Counter(base[1]), Counter(base[2])
        paths.update(map(_PATH, added))
        contexts.update(map(_CONTEXT, added))
        self.counted[at] = (k, paths, contexts)
        paths, contexts = Counter(paths), Counter(contexts)
        paths.update(map(_PATH, fresh))
        contexts.update(map(_CONTEXT, fresh))
        return paths, contexts

    def _know(self, at: date) -> _Known:
        first, end = period_bounds(at, self.by)
        self._extend(first)
        chosen = [p for p in self.pairs if p[0] < at and p[1] < first]
        # A deal created before ``at`` is known then (as_of is None only for the others); one
        # settled before ``at`` is known as it is (as_of would return it).
        seen = [
            deal if settled < at else deal.as_of(at)
            for deal, created, settled in zip(self.deals, self.created, self.settled, strict=True)
            if created < at
        ]
        outcomes = list(map(_OUTCOME, seen))
        late = [
            at <= settled for created, settled in zip(self.created, self.settled, strict=True) if created < at
        ]
        paths, contexts = self.counts(at, list(compress(seen, map(and_, late, map(bool, outcomes)))))  # type: ignore[arg-type]
        return _Known(
            first,
            end,
            self.by,
            self.stages,
            seen,  # type: ignore[arg-type]  # never None: created before ``at``
            list(compress(seen, map(_IS_NONE, outcomes))),  # type: ignore[arg-type]
            list(compress(seen, outcomes)),  # type: ignore[arg-type]
            [(s, e, then, deal) for _, s, e, then, deal, _ in chosen],
            self,
            facts=[p[5] for p in chosen],
            paths=paths,
            contexts=contexts,
        )


def _snapshot_facts(
    start: date, end: date, then: DealHistory, now: DealHistory, by: str
) -> tuple[str, int, bool, str, bool]:
    """What the history fit counts of a training snapshot, whatever the fit's age buckets: the
    stage, days in it at the snapshot's start, won, where its close date stood, and whether it was
    won inside the snapshot's period."""
    won = now.stage == WON
    return (
        then.stage,
        (start - then.stage_entered).days,
        won,
        _close_bucket(then.close_date, start, end, by),
        won and start <= now.steps[-1].at < end,
    )


def _know(deals: Iterable[DealHistory], at: date, by: str, stages: Sequence[Stage]) -> _Known:
    return _Book(deals, by, stages).know(at)


# ----------------------------------------------------------------------------------------------
# Estimates from history


def shrink(wins: float, n: float, prior: float, weight: float = PRIOR_DEALS) -> float:
    """A Beta-prior estimate: ``weight`` deals' worth of the prior probability plus the evidence."""
    return (wins + weight * prior) / (n + weight)


def _posterior(wins: float, n: float, prior: float, weight: float) -> tuple[float, float]:
    # Kept off 0 and 1 so a Beta can be drawn even from a certain prior.
    prior = min(max(prior, 0.01), 0.99)
    return wins + weight * prior, n - wins + weight * (1 - prior)


_PATH = attrgetter("path")
_OUTCOME = attrgetter("outcome")
_IS_NONE = partial(is_, None)
_CONTEXT = attrgetter("context")


def reach_probabilities(closed: Iterable[DealHistory], stages: Sequence[Stage]) -> dict[str, tuple[int, int]]:
    """(won, n) of closed deals that reached each stage."""
    # Deals share a few paths: count each (outcome, stages reached) once, then spread (the same
    # integer counts as a pass per deal).
    return _reach_counts(Counter(map(_PATH, closed)), stages)


def _reach_counts(
    paths: dict[tuple[bool, frozenset[str]], int], stages: Sequence[Stage]
) -> dict[str, tuple[int, int]]:
    """(won, n) per open stage from the count of closed deals per (won, stages reached)."""
    counts: dict[str, list[int]] = {s.name: [0, 0] for s in stages if not s.is_closed}
    for (won, reached), times in paths.items():
        for name in reached:
            entry = counts.get(name)
            if entry is not None:
                entry[1] += times
                entry[0] += won * times
    return {k: (v[0], v[1]) for k, v in counts.items()}


@dataclass
class _History:
    policy: dict[str, float]
    stage_p: dict[str, float]
    age_edges: dict[str, tuple[int, int]]
    age_p: dict[tuple[str, int], float]
    timing: dict[str, float]
    from_new: list[int]
    # Beta posterior (alpha, beta) behind each estimate: the Monte-Carlo draws from them so the range
    # carries the estimates' own uncertainty, not only each deal's coin toss.
    evidence: dict[object, tuple[float, float]] = field(default_factory=dict)

    def group_of(self, deal: DealHistory, at: date, end: date, by: str) -> tuple[object, object]:
        key = (deal.stage, self.age_bucket(deal, at))
        return (key if key in self.evidence else deal.stage), _close_bucket(deal.close_date, at, end, by)

    def age_bucket(self, deal: DealHistory, at: date) -> int:
        edges = self.age_edges.get(deal.stage)
        if edges is None:
            return 0
        age = (at - deal.stage_entered).days
        return 0 if age <= edges[0] else 1 if age <= edges[1] else 2

    def p_win(self, deal: DealHistory, at: date) -> float:
        base = self.stage_p.get(deal.stage, self.policy.get(deal.stage, 0.0))
        return self.age_p.get((deal.stage, self.age_bucket(deal, at)), base)

    def p_timing(self, deal: DealHistory, at: date, end: date, by: str) -> float:
        return self.timing[_close_bucket(deal.close_date, at, end, by)]


def _close_bucket(close: date, at: date, end: date, by: str) -> str:
    if close < at:
        return "overdue"
    if close < end:
        return "in"
    return "next" if close < add_months(end, 3 if by == "quarter" else 1) else "later"


_TIMING_PRIOR = {"overdue": 1.0, "in": 1.0, "next": 0.0, "later": 0.0}


def _quantile(values: list[int], q: float) -> int:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _fit_history(known: _Known) -> _History:
    if known.fitted is None:
        known.fitted = _fit(known)
    return known.fitted


def _fit(known: _Known) -> _History:
    reach = (
        reach_probabilities(known.closed, known.stages)
        if known.paths is None
        else _reach_counts(known.paths, known.stages)
    )
    # Each won deal's time in every stage it left (DealHistory.time_in: the first stay), in one pass
    # over its steps rather than one per stage.
    times_in: dict[str, list[int]] = defaultdict(list)
    for deal in known.closed:
        if deal.stage == WON:
            for stage_name, days in deal.first_stays:
                times_in[stage_name].append(days)
    edges: dict[str, tuple[int, int]] = {}
    for stage in known.stages:
        times = times_in.get(stage.name, [])
        if len(times) >= 10:
            edges[stage.name] = (_quantile(times, 0.5), _quantile(times, 0.75))
    facts = known.facts
    if facts is None:
        facts = [_snapshot_facts(s, e, then, now, known.by) for s, e, then, now in known.snapshots]
    # Snapshots share their facts: count each distinct one once (in the order first seen, so the
    # estimates come out in the same order), then add (integer counts: the same as one by one).
    return _fit_counts(known.stages, reach, edges, Counter(facts), _from_new(known))


def _fit_counts(
    stages: Sequence[Stage],
    reach: dict[str, tuple[int, int]],
    edges: dict[str, tuple[int, int]],
    facts: dict[tuple[str, int, bool, str, bool], int],
    from_new: list[int],
) -> _History:
    """The history estimates from what the fit counts: the closed deals' (won, n) per stage reached,
    the age buckets' edges, each distinct snapshot fact's count and the from-new totals. Shared by
    the fit over deals (``_fit``) and the one over the store's per-deal summary (``fit_summary``)."""
    policy = {s.name: s.probability / 100 for s in stages}
    stage_p = {name: shrink(w, n, policy.get(name, 0.0)) for name, (w, n) in reach.items()}
    evidence: dict[object, tuple[float, float]] = {}
    for name, (w, n) in reach.items():
        evidence[name] = _posterior(w, n, policy.get(name, 0.0), PRIOR_DEALS)
    history = _History(policy, stage_p, edges, {}, dict(_TIMING_PRIOR), [], evidence)
    tally: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    timing: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (name, age, won, bucket, inside), count in facts.items():
        limits = edges.get(name)
        key = (name, 0 if limits is None or age <= limits[0] else 1 if age <= limits[1] else 2)
        entry = tally[key]
        entry[0] += count if won else 0
        entry[1] += count
        if won:
            entry = timing[bucket]
            entry[1] += count
            entry[0] += count if inside else 0
    history.age_p = {k: shrink(w, n, stage_p.get(k[0], 0.0)) for k, (w, n) in tally.items()}
    history.timing = {b: shrink(w, n, _TIMING_PRIOR[b], 5) for b, (w, n) in timing.items()}
    for k, (w, n) in tally.items():
        evidence[k] = _posterior(w, n, stage_p.get(k[0], 0.0), PRIOR_DEALS)
    for b, (w, n) in timing.items():
        evidence[b] = _posterior(w, n, _TIMING_PRIOR[b], 5)
    for bucket, prior in _TIMING_PRIOR.items():
        history.timing.setdefault(bucket, prior)
    history.from_new = from_new
    return history


def _from_new(known: _Known) -> list[int]:
    """Won amount (cents) of deals created and won inside each earlier full period."""
    if not known.deals:
        return []
    totals: dict[date, int] = defaultdict(int)
    book = known.book
    earliest = (
        book.earliest
        if book is not None and book.earliest is not None and book.earliest < known.at
        else min(d.created for d in known.deals)
    )  # the book's earliest deal is known at ``at`` once created before it
    first = add_months(period_bounds(earliest, known.by)[0], 3 if known.by == "quarter" else 1)
    s = first
    while s < known.at:
        totals[s] = 0
        s = period_bounds(s, known.by)[1]
    for deal in known.closed:
        if deal.stage != WON:
            continue
        start, end = period_bounds(deal.created, known.by)
        if start in totals and deal.steps[-1].at < end:
            totals[start] += cents(deal.amount)
    return [totals[k] for k in sorted(totals)]


# ----------------------------------------------------------------------------------------------
# The logistic model


def _logistic(x: float) -> float:
    if x < -35:
        return 1e-15
    if x > 35:
        return 1 - 1e-15
    return 1 / (1 + math.exp(-x))


# A snapshot's model columns that depend on the deal and the day only (_Model.plain_features).
_Plain = tuple[tuple[float, ...], tuple[float, float, float, float], tuple[float, float]]


@dataclass
class _Model:
    stages: list[str]
    owner_rate: dict[str, float]
    source_rate: dict[str, float]
    base_rate: float
    weights: list[float] = field(default_factory=list)
    industry_rate: dict[str, float] = field(default_factory=dict)
    account_wins: dict[str, list[date]] = field(default_factory=dict)  # account → won days, sorted

    def features(
        self, deal: DealHistory, at: date, history: _History, plain: _Plain | None = None
    ) -> list[float]:
        """The deal's feature row as of ``at``. ``plain``: its ``plain_features`` already made (the
        same for every model of a backtest's book: they are kept per snapshot and shared)."""
        head, mid, tail = plain if plain is not None else self.plain_features(deal, at)
        return [
            *head,
            float(history.age_bucket(deal, at)),
            *mid,
            self.owner_rate.get(deal.owner, self.base_rate) - self.base_rate,
            self.source_rate.get(deal.source, self.base_rate) - self.base_rate,
            # The deal's context, as of ``at`` (0 where unknown: the column then drops out of the fit).
            self.industry_rate.get(deal.industry, self.base_rate) - self.base_rate if deal.industry else 0.0,
            *tail,
            math.log1p(earlier_wins(self.account_wins, deal.account, at)) if deal.account else 0.0,
        ]

    def plain_features(self, deal: DealHistory, at: date) -> _Plain:
        """The columns of the deal's row that depend on the deal and ``at`` only, not on what the
        model or the history fit learned (those are filled in by ``features``), in three runs: up
        to the age bucket, between it and the rates, and between the rates and the account's wins."""
        onehot = [1.0 if deal.stage == s else 0.0 for s in self.stages]
        age = max(0, (at - deal.stage_entered).days)
        days_to_close = (deal.close_date - at).days
        return (
            (1.0, *onehot, math.log1p(age) / 4),
            (
                max(-1.0, min(1.0, days_to_close / 180)),
                float(min(deal.pushes, 5)),
                math.log10(max(float(deal.amount), 1.0)) - 4,
                1.0 if "quotation sent" in deal.reached() else 0.0,
            ),
            (
                math.log1p(deal.activities_before(at)) if deal.activities else 0.0,
                math.log1p(deal.contacts_before(at)) if deal.contacts else 0.0,
            ),
        )

    def snapshot_rows(
        self,
        snaps: Iterable[tuple[date, date, DealHistory, DealHistory]],
        history: _History,
        book: _Book | None,
    ) -> list[list[float]]:
        """The feature rows of training or hold-out snapshots; each snapshot's plain columns are
        made once per book and kept (a snapshot is in the training rows of several periods, and in
        hold-outs: docs/prediction.md, "Speed", round 7)."""
        kept = book.plain if book is not None else {}
        rows = []
        for start, _, then, _ in snaps:
            key = (id(then), start)
            plain = kept.get(key)
            if plain is None:
                plain = kept[key] = self.plain_features(then, start)
            rows.append(self.features(then, start, history, plain))
        return rows

    def predict(self, row: list[float]) -> float:
        return _logistic(sum(w * x for w, x in zip(self.weights, row, strict=True)))


def account_wins(closed: Iterable[DealHistory]) -> dict[str, list[date]]:
    """Account → the days its deals were won, sorted (the closed deals as known at some day)."""
    found: dict[str, list[date]] = defaultdict(list)
    for deal in closed:
        if deal.account and deal.outcome is not None and deal.outcome[0] == WON:
            found[deal.account].append(deal.outcome[1])
    for days in found.values():
        days.sort()
    return dict(found)


def earlier_wins(wins: dict[str, list[date]], account: str, day: date) -> int:
    """The account's deals won before ``day``."""
    days = wins.get(account)
    return bisect_left(days, day) if days else 0


def _fit_logistic(
    rows: list[list[float]], labels: list[int], l2: float = 1.0, rounds: int = 8
) -> list[float]:
    """Newton's method (IRLS) with an L2 penalty on every weight but the intercept.

    Column-wise, so the inner loops run in C (``map`` and ``sum`` over lists, no numpy): the products
    of every pair of feature columns are formed once, and each round's Hessian entry is then one
    ``sum(map(mul, s, x_a·x_b))`` over the rows (docs/prediction.md, "Speed"). Stops when no weight
    moves by more than ``NEWTON_TOLERANCE`` (the probabilities then move by far less than the Brier
    score can tell: 1e-2, 1e-3 and 1e-4 give the same backtest figures to the 4th decimal)."""
    k = len(rows[0])
    n = len(rows)
    columns = [list(c) for c in zip(*rows, strict=True)]
    used = [i for i in range(k) if any(columns[i])]
    # A pair's product is zero in most rows where a column is (one-hot stages: two stages' product is
    # zero everywhere): such a pair keeps only the rows it is not zero in, and its Hessian entry adds
    # only those terms. The same sum: the terms left out are zeros, and adding a zero changes no
    # float (the sums start at 0.0 and never hold -0.0), so the weights are the same to the bit.
    pairs: dict[tuple[int, int], tuple[list[int] | None, list[float]]] = {}
    for ai, a in enumerate(used):
        for b in used[ai:]:
            product = list(map(mul, columns[a], columns[b]))
            rows_in = list(compress(range(n), product))  # the rows whose product is not zero
            if 2 * len(rows_in) < n:
                pairs[(a, b)] = (rows_in, list(compress(product, product)))
            else:
                pairs[(a, b)] = (None, product)
    ys = [float(y) for y in labels]
    w = [0.0] * k
    exp = math.exp
    for _ in range(rounds):
        z = [0.0] * n
        for i in used:
            if w[i]:
                z = list(map(add, z, map(mul, columns[i], repeat(w[i], n))))
        p = [
            1e-15 if v < -35 else (1 - 1e-15) if v > 35 else 1 / (1 + exp(-v))  # _logistic, inlined
            for v in z
        ]
        err = list(map(sub, p, ys))
        s = [q * (1 - q) for q in p]
        grad = [0.0] * k
        hess = [[0.0] * k for _ in range(k)]
        for i in used:
            grad[i] = sum(map(mul, err, columns[i]))
        at = s.__getitem__
        for (a, b), (nonzero, product) in pairs.items():
            hess[a][b] = hess[b][a] = (
                sum(map(mul, s, product))
                if nonzero is None
                else sum(map(mul, map(at, nonzero), product), 0.0)
            )
        for i in range(1, k):
            grad[i] += l2 * w[i]
            hess[i][i] += l2
        hess[0][0] += 1e-9
        step = _solve(hess, grad)
        w = [wi - si for wi, si in zip(w, step, strict=True)]
        if max(abs(si) for si in step) < NEWTON_TOLERANCE:
            break
    return w


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Gaussian elimination with partial pivoting (a is small and positive definite)."""
    n = len(b)
    m = [[*row, b[i]] for i, row in enumerate(a)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        if abs(m[col][col]) < 1e-12:
            continue
        for r in range(col + 1, n):
            f = m[r][col] / m[col][col]
            if f:
                for c in range(col, n + 1):
                    m[r][c] -= f * m[col][c]
    x = [0.0] * n
    for r in range(n - 1, -1, -1):
        if abs(m[r][r]) < 1e-12:
            continue
        x[r] = (m[r][n] - sum(m[r][c] * x[c] for c in range(r + 1, n))) / m[r][r]
    return x


_RATE_KEYS = ("owner", "source", "industry")


def _closed_rates(
    closed: list[DealHistory], combos: Counter[Any] | None = None
) -> tuple[int, list[dict[str, float]]]:
    """(won deals, the won rate per owner, per source and per industry shrunk towards the overall
    rate) of ``closed``, in one pass: the deals are counted once per (owner, source, industry,
    won), then each rate from those integer counts (the same figures as a pass per key)."""
    if combos is None:
        combos = Counter(map(_CONTEXT, closed))
    won = sum(times for key, times in combos.items() if key[3])
    overall = won / max(1, len(closed))
    rates = []
    for i in range(len(_RATE_KEYS)):
        tally: dict[str, list[int]] = {}
        for key, times in combos.items():
            entry = tally.get(key[i])
            if entry is None:
                entry = tally[key[i]] = [0, 0]
            entry[0] += times if key[3] else 0
            entry[1] += times
        rates.append({k: shrink(w, n, overall) for k, (w, n) in tally.items()})
    return won, rates


def _known_rates(known: _Known) -> tuple[int, list[dict[str, float]]]:
    if known.rates is None:
        known.rates = _closed_rates(known.closed, known.contexts)
    return known.rates


def brier(probabilities: Sequence[float], outcomes: Sequence[int]) -> float | None:
    if not outcomes:
        return None
    return sum((p - y) ** 2 for p, y in zip(probabilities, outcomes, strict=True)) / len(outcomes)


def auc(probabilities: Sequence[float], outcomes: Sequence[int]) -> float | None:
    """The chance a random won deal scores above a random lost one (ties count half)."""
    pairs = sorted(zip(probabilities, outcomes, strict=True))
    positives = sum(outcomes)
    negatives = len(outcomes) - positives
    if not positives or not negatives:
        return None
    rank_sum = 0.0
    i = 0
    while i < len(pairs):
        j = i
        while j < len(pairs) and pairs[j][0] == pairs[i][0]:
            j += 1
        mid_rank = (i + j + 1) / 2  # ranks are 1-based
        rank_sum += mid_rank * sum(y for _, y in pairs[i:j])
        i = j
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


# The model trains on the latest this many snapshots (was 2,000; 1,000 gives the same goal figures on
# seeds 1-5 and halves the backtest's fits: docs/prediction.md, "Speed", round 6).
MAX_TRAINING_ROWS = 1000
NEWTON_TOLERANCE = 1e-2  # the largest weight step at which Newton stops (was 1e-4, then 1e-3)
# Monte-Carlo runs of a backtest, and of the report's range: the range's calibration (P10-P90
# coverage) is measured at this many runs, so the report draws as many (docs/prediction.md, "Speed").
BACKTEST_RUNS = 1000


def _fit_model(known: _Known, history: _History) -> tuple[_Model | None, str]:
    """The model, or None and why not. Judged fairly: the model and the history method are both fit
    on what was known at the hold-out's start and scored on the later snapshots (a time-ordered
    hold-out), so neither sees the outcomes it is scored on."""
    won = _known_rates(known)[0]
    lost = len(known.closed) - won
    if won < MODEL_MIN_CLASS or lost < MODEL_MIN_CLASS:
        return (
            None,
            f"fell back to history: {won} won and {lost} lost, the model needs {MODEL_MIN_CLASS} of each",
        )
    starts = sorted({s[0] for s in known.snapshots})
    if len(starts) < 3:
        return None, "fell back to history: too few past periods to hold one out"
    cut = starts[-max(1, len(starts) // 4)]
    past = (known.book or _Book(known.deals, known.by, known.stages)).know(cut)
    hold = [s for s in known.snapshots if s[0] >= cut]
    past_history = _fit_history(past)
    trial = _train(past, past_history)
    if trial is None:
        return None, "fell back to history: too few closed deals before the hold-out"
    labels = [int(now.stage == WON) for *_, now in hold]
    model_brier = brier(list(map(trial.predict, trial.snapshot_rows(hold, past_history, known.book))), labels)
    history_brier = brier([past_history.p_win(t, s) for s, _, t, _ in hold], labels)
    if model_brier is None or history_brier is None:
        return None, "fell back to history: nothing to hold out"
    if model_brier >= history_brier:
        return None, (
            f"fell back to history: the model's hold-out Brier score {model_brier:.4f} "
            f"does not beat history's {history_brier:.4f}"
        )
    return _train(known, history), ""


def _train(known: _Known, history: _History) -> _Model | None:
    """The model on ``known``'s snapshots; ``history`` is ``known``'s own fit (_fit_history)."""
    if known.trained is None:
        known.trained = (_train_new(known, history),)
    return known.trained[0]


def _train_new(known: _Known, history: _History) -> _Model | None:
    snaps = sorted(known.snapshots, key=lambda s: s[0])[-MAX_TRAINING_ROWS:]
    labels = [int(now.stage == WON) for *_, now in snaps]
    if len(set(labels)) < 2:
        return None
    won, (owner_rate, source_rate, industry_rate) = _known_rates(known)
    model = _Model(
        [s.name for s in known.stages if not s.is_closed],
        owner_rate,
        source_rate,
        won / max(1, len(known.closed)),
        industry_rate=industry_rate,
        account_wins=account_wins(known.closed),
    )
    model.weights = _fit_logistic(model.snapshot_rows(snaps, history, known.book), labels)
    return model


# ----------------------------------------------------------------------------------------------
# Predicting a period


OUTER_DRAWS = 200  # draws of the estimates per Monte-Carlo; each serves runs / OUTER_DRAWS runs
EXACT_DEALS = 500  # above this many open deals, a run's sum is drawn from its normal approximation


def _normal_runs(
    live: list[tuple[int, float, tuple[object, ...]]],
    draws: dict[object, list[float]],
    outer: int,
    block: int,
    totals: list[int],
    rng: random.Random,
) -> None:
    """Add to each run a draw of Σ amount × won over many deals, from the normal distribution with
    that sum's mean and variance given the run's draw of the estimates (a deal won with p × scale).

    With hundreds of independent deals the sum is near normal (Lyapunov); per draw of the estimates
    the moments take one pass over the groups of deals sharing their estimates, not over the deals:
    Σ a·p·s and Σ a²·p·s − Σ a²·p²·s² with the sums over each group precomputed."""
    sums: dict[tuple[object, ...], list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
    for amount, p, groups in live:
        entry = sums[groups]
        entry[0] += amount * p
        entry[1] += amount * amount * p
        entry[2] += amount * amount * p * p
    combos = []
    for groups, (m1, m2, m3) in sums.items():
        combined = [1.0] * outer
        for g in groups:
            combined = [c * d for c, d in zip(combined, draws[g], strict=True)]
        combos.append((combined, m1, m2, m3))
    gauss = rng.gauss
    runs = len(totals)
    for o in range(outer):
        mean = var = 0.0
        for combined, m1, m2, m3 in combos:
            scale = combined[o]
            mean += scale * m1
            var += scale * m2 - scale * scale * m3
        sd = math.sqrt(max(var, 0.0))
        for r in range(o * block, min(runs, (o + 1) * block)):
            totals[r] += max(0, round(gauss(mean, sd)))


SEGMENT_RATIO = 0.85  # a segment of the ranked runs spans scales down to this share of its first


def _ranked(
    groups: tuple[object, ...], draws: dict[object, list[float]], outer: int, block: int, runs: int
) -> tuple[list[int], list[float], list[tuple[int, int, float, float, list[int]]]]:
    """The runs of one combination of estimates ranked by their scale (the product of the run's
    draws of those estimates), largest first: the runs in that order, their scales, and segments
    (first position, end, largest and smallest scale, the draws it spans) in which the scale stays
    within ``SEGMENT_RATIO`` of the segment's first. A draw's block of runs is never split."""
    combined = [1.0] * outer
    for g in groups:
        combined = [c * d for c, d in zip(combined, draws[g], strict=True)]
    ranked = sorted(range(outer), key=combined.__getitem__, reverse=True)
    order: list[int] = []
    scales: list[float] = []
    segments: list[tuple[int, int, float, float, list[int]]] = []
    for o in ranked:
        first, end = o * block, min(runs, (o + 1) * block)
        if first >= end:
            continue
        value = combined[o]
        if not segments or value < SEGMENT_RATIO * segments[-1][2]:
            segments.append((len(order), len(order), value, value, []))
        lo, _, top, _, blocks = segments[-1]
        order += range(first, end)
        scales += [value] * (end - first)
        blocks.append(o)
        segments[-1] = (lo, len(order), top, value, blocks)
    return order, scales, segments


def _exact_runs(
    live: list[tuple[int, float, tuple[object, ...]]],
    draws: dict[object, list[float]],
    outer: int,
    block: int,
    totals: list[int],
    rng: random.Random,
) -> None:
    """Add each deal's amount to the runs it is won in: in run r with probability min(1, p × the
    run's scale), independently — a toss per run in distribution, at a cost of about
    min(p, 1 − p) × runs draws instead of runs.

    The runs are taken in the order of the deal's scale (``_ranked``, once per combination of
    estimates), in segments whose scale varies by less than ``SEGMENT_RATIO``. In a segment where
    the deal is won in few runs, the runs it is won in are found by jumping from one to the next by
    a geometric draw at the segment's highest probability, each kept with the ratio of its run's
    probability to that (thinning; none where the scale is constant, as without estimates). Where it
    is won in most, it is counted in all the segment's runs and the jumps find the runs it is lost
    in. Ranking first keeps the thinning's rejections few (the old jumps over the runs in their own
    order went at the highest probability of all the draws: up to twice the draws)."""
    rnd = rng.random
    log = math.log
    ranked: dict[
        tuple[object, ...], tuple[list[int], list[float], list[tuple[int, int, float, float, list[int]]]]
    ] = {}
    counted: dict[tuple[tuple[object, ...], int], int] = defaultdict(int)  # in every run of a segment
    for amount, p, groups in live:
        found = ranked.get(groups)
        if found is None:
            found = ranked[groups] = _ranked(groups, draws, outer, block, len(totals))
        order, scales, segments = found
        for n, (lo, hi, top, bottom, _) in enumerate(segments):
            p_top = p * top
            if p_top <= 0.5:
                inv = 1.0 / log(1.0 - p_top)
                i = lo + int(log(1.0 - rnd()) * inv)
                if top == bottom:
                    while i < hi:
                        totals[order[i]] += amount
                        i += 1 + int(log(1.0 - rnd()) * inv)
                else:
                    while i < hi:
                        if rnd() * top < scales[i]:
                            totals[order[i]] += amount
                        i += 1 + int(log(1.0 - rnd()) * inv)
                continue
            counted[(groups, n)] += amount
            q_top = 1.0 - p * bottom  # the highest chance to lose in the segment
            if q_top <= 0.0:
                continue
            inv = 1.0 / log(1.0 - q_top) if q_top < 1.0 else 0.0
            i = lo + int(log(1.0 - rnd()) * inv)
            while i < hi:
                if rnd() * q_top < 1.0 - p * scales[i]:
                    totals[order[i]] -= amount
                i += 1 + int(log(1.0 - rnd()) * inv)
    if counted:
        per_draw = [0] * outer
        for (groups, n), amount in counted.items():
            for o in ranked[groups][2][n][4]:
                per_draw[o] += amount
        totals[:] = map(add, totals, [per_draw[r // block] for r in range(len(totals))])


def monte_carlo(
    deals: Sequence[tuple[int, float, Sequence[object]]],
    from_new: Sequence[int],
    runs: int = 2000,
    seed: int = 0,
    target: int | None = None,
    evidence: dict[object, tuple[float, float]] | None = None,
) -> tuple[int, int, int, float | None]:
    """P10, P50, P90 (cents) of Σ amount over deals won with their probability, plus a from-new draw.

    ``deals`` are (amount in cents, probability, the estimates the probability rests on). The
    estimates are drawn from their Beta posteriors in ``evidence`` (``OUTER_DRAWS`` times, each draw
    scaling the probabilities resting on it for a block of runs), then each deal's outcome in every
    run, then a from-new amount from the earlier periods'. Returns the percentiles and P(total ≥
    target).

    Speed (docs/prediction.md): up to ``EXACT_DEALS`` open deals every deal is tossed in every run,
    a whole deal's runs at once (``_exact_runs``); beyond, a run's sum is drawn from its normal
    approximation (``_normal_runs``).
    """
    rng = random.Random(seed)
    evidence = evidence or {}
    live = [(a, p, tuple(g for g in groups if g in evidence)) for a, p, groups in deals if p > 0 and a]
    used = sorted({g for _, _, groups in live for g in groups}, key=repr)
    outer = max(1, min(runs, OUTER_DRAWS))
    block = -(-runs // outer)  # runs per draw of the estimates
    draws: dict[object, list[float]] = {}
    for g in used:
        alpha, beta = evidence[g]
        mean = alpha / (alpha + beta)
        draws[g] = [rng.betavariate(alpha, beta) / mean for _ in range(outer)]
    new = list(from_new) or [0]
    pick = rng.choice
    totals = [pick(new) for _ in range(runs)]
    if len(live) > EXACT_DEALS:
        _normal_runs(live, draws, outer, block, totals, rng)
        live = []
    if live:
        _exact_runs(live, draws, outer, block, totals, rng)
    totals.sort()

    def at(q: float) -> int:
        return totals[min(runs - 1, int(q * runs))]

    reach = None if target is None else sum(1 for t in totals if t >= target) / runs
    return at(0.1), at(0.5), at(0.9), reach


def predict(
    deals: Iterable[DealHistory],
    stages: Sequence[Stage],
    at: date,
    by: str = "quarter",
    method: str = "history",
    runs: int = 2000,
    seed: int = 0,
    target: Decimal | None = None,
) -> Prediction:
    """Predict the won amount of the period starting at ``at`` from what was known then."""
    book = _Book(deals, by, stages)
    try:
        return _predict(book.know(at), method, runs, seed, target)
    finally:
        book.release()


def _predict(known: _Known, method: str, runs: int, seed: int, target: Decimal | None) -> Prediction:
    return _predict_all(known, (method,), runs, seed, target)[method]


def _predict_all(
    known: _Known, methods: Sequence[str], runs: int, seed: int, target: Decimal | None
) -> dict[str, Prediction]:
    """Each method's prediction of ``known``'s period. The history fit is shared, and a model that
    falls back shares the history method's prediction (with its note) instead of recomputing it."""
    out: dict[str, Prediction] = {}
    if "weighted" in methods:
        policy = {s.name: s.probability / 100 for s in known.stages}
        probs = {d.id: (policy.get(d.stage, 0.0) if d.close_date < known.end else 0.0) for d in known.open}
        expected = sum(cents(d.amount) * probs[d.id] for d in known.open)
        out["weighted"] = Prediction("weighted", from_cents(expected), probs)
    if "history" not in methods and "model" not in methods:
        return out
    history = _fit_history(known)
    model: _Model | None = None
    note = ""
    if "model" in methods:
        model, note = _fit_model(known, history)
    if "history" in methods or model is None:
        plain = _range(known, history, None, runs, seed, target)
        if "history" in methods:
            out["history"] = plain
        if "model" in methods and model is None:
            out["model"] = replace(plain, note=note)
    if model is not None:
        out["model"] = _range(known, history, model, runs, seed, target)
    return out


def _range(
    known: _Known, history: _History, model: _Model | None, runs: int, seed: int, target: Decimal | None
) -> Prediction:
    at, end, by = known.at, known.end, known.by
    probs = {}
    deals: list[tuple[int, float, tuple[object, object]]] = []
    # Per deal once: its age and close-date buckets give its probability (History.p_win and
    # p_timing) and the estimates it rests on (History.group_of).
    for deal in known.open:
        stage = deal.stage
        key = (stage, history.age_bucket(deal, at))
        bucket = _close_bucket(deal.close_date, at, end, by)
        p_win = (
            model.predict(model.features(deal, at, history))
            if model
            else history.age_p.get(key, history.stage_p.get(stage, history.policy.get(stage, 0.0)))
        )
        p = probs[deal.id] = p_win * history.timing[bucket]
        deals.append((cents(deal.amount), p, (key if key in history.evidence else stage, bucket)))
    new = sum(history.from_new) / len(history.from_new) if history.from_new else 0.0
    expected = sum(amount * p for amount, p, _ in deals) + new
    p10, p50, p90, reach = monte_carlo(
        deals,
        history.from_new,
        runs,
        seed,
        None if target is None else cents(target),
        history.evidence,
    )
    return Prediction(
        "model" if model else "history",
        from_cents(expected),
        probs,
        from_cents(new),
        from_cents(p10),
        from_cents(p50),
        from_cents(p90),
        reach,
    )


def won_in(deals: Iterable[DealHistory], start: date, end: date) -> Decimal:
    return sum(
        (d.amount for d in deals if d.outcome is not None and d.stage == WON and start <= d.outcome[1] < end),
        Decimal(0),
    )


# ----------------------------------------------------------------------------------------------
# Backtest


@dataclass
class MethodScore:
    method: str
    wmape: float | None
    bias: float | None
    coverage: float | None
    brier: float | None
    auc: float | None
    note: str = ""
    periods: list[tuple[str, Decimal, Decimal, Decimal | None, Decimal | None]] = field(default_factory=list)
    # (period, predicted P50 or expected, actual, P10, P90)


@dataclass
class Backtest:
    periods: int
    scores: dict[str, MethodScore]
    best: str


def backtest(
    deals: Sequence[DealHistory],
    stages: Sequence[Stage],
    today: date,
    periods: int = 8,
    by: str = "quarter",
    runs: int = BACKTEST_RUNS,
    seed: int = 0,
    methods: Sequence[str] = METHODS,
) -> Backtest:
    """Predict each of the ``periods`` full periods before ``today`` as of its start; score each method.

    A method that fell back in some period says so in its note; ``best`` is the lowest-WMAPE method
    among those that never fell back.
    """
    current = period_bounds(today, by)[0]
    step = 3 if by == "quarter" else 1
    starts = [add_months(current, -step * k) for k in range(periods, 0, -1)]
    book = _Book(deals, by, stages)
    final = {d.id: d for d in deals}
    won_by_period: dict[date, Decimal] = defaultdict(Decimal)
    for deal in deals:
        if deal.outcome is not None and deal.outcome[0] == WON:
            won_by_period[period_bounds(deal.outcome[1], by)[0]] += deal.amount
    tallies = {m: _Tally() for m in methods}
    for start in starts:
        known = book.know(start)
        end = known.end
        actual = won_by_period.get(start, Decimal(0))
        labels = []
        for deal in known.open:
            outcome = final[deal.id].outcome
            labels.append(int(outcome is not None and outcome[0] == WON and start <= outcome[1] < end))
        for method, result in _predict_all(known, methods, runs, seed, None).items():
            tallies[method].add(period_name(start, by), result, actual, known.open, labels)
    book.release()
    scores = {m: tallies[m].score(m, len(starts)) for m in methods}
    ranked = [m for m in methods if scores[m].wmape is not None and not scores[m].note]
    best = min(ranked, key=lambda m: scores[m].wmape or 0.0) if ranked else "weighted"
    return Backtest(len(starts), scores, best)


@dataclass
class _Tally:
    abs_err: float = 0.0
    err: float = 0.0
    actual_sum: float = 0.0
    inside: int = 0
    ranged: int = 0
    probs: list[float] = field(default_factory=list)
    outcomes: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    rows: list[tuple[str, Decimal, Decimal, Decimal | None, Decimal | None]] = field(default_factory=list)

    def add(
        self, name: str, result: Prediction, actual: Decimal, open_deals: list[DealHistory], labels: list[int]
    ) -> None:
        point = result.p50 if result.p50 is not None else result.expected
        self.rows.append((name, point, actual, result.p10, result.p90))
        self.abs_err += abs(float(point - actual))
        self.err += float(point - actual)
        self.actual_sum += float(actual)
        if result.p10 is not None and result.p90 is not None:
            self.ranged += 1
            self.inside += result.p10 <= actual <= result.p90
        if result.note:
            self.notes.append(result.note)
        self.probs += [result.deal_probability[d.id] for d in open_deals]
        self.outcomes += labels

    def score(self, method: str, periods: int) -> MethodScore:
        note = ""
        if self.notes:
            note = self.notes[-1]
            if len(self.notes) < periods:
                note += f" (in {len(self.notes)} of {periods} periods)"
        return MethodScore(
            method,
            self.abs_err / self.actual_sum if self.actual_sum else None,
            self.err / self.actual_sum if self.actual_sum else None,
            self.inside / self.ranged if self.ranged else None,
            brier(self.probs, self.outcomes),
            auc(self.probs, self.outcomes),
            note,
            self.rows,
        )


# ----------------------------------------------------------------------------------------------
# A seeded history with known probabilities (demo data and the tests' ground truth)


@dataclass(frozen=True)
class SimulationTruth:
    reach: dict[str, float]  # P(won | reached stage), exactly, as the generator draws it


# Chance to move on from each open stage (for a deal that does not stall); a stalled deal (time in
# stage beyond 1.5 × the mean) moves on half as often.
_ADVANCE = (0.66, 0.68, 0.68, 0.70, 0.68, 0.80)
_MEAN_DAYS = (10, 14, 18, 21, 14, 10)
_STALL_FACTOR = 0.5
_P_STALL = math.exp(-3) * 4  # P(Gamma(2, m/2) > 1.5 m)
_SOURCE_FIRST_STEP = {"web": 0.85, "referral": 1.2, "event": 1.0, "cold call": 0.9}
_OWNER_LAST_STEP = {"ana": 1.1, "ben": 1.0, "cara": 0.9}


def simulation_truth(stages: Sequence[Stage]) -> SimulationTruth:
    """P(won | reached stage) the simulator draws from: an exact expectation over its mix."""
    open_stages = [s.name for s in stages if not s.is_closed][: len(_ADVANCE)]
    eff = [a * (1 - _P_STALL + _P_STALL * _STALL_FACTOR) for a in _ADVANCE]
    owners = list(_OWNER_LAST_STEP.values())
    sources = list(_SOURCE_FIRST_STEP.values())
    reach: dict[str, float] = {}
    for i, name in enumerate(open_stages):
        total = 0.0
        for o in owners:
            for s in sources if i == 0 else [1.0]:
                p = 1.0
                for j in range(i, len(open_stages)):
                    a = eff[j] * (s if j == 0 else 1.0) * (o if j == len(open_stages) - 1 else 1.0)
                    p *= min(a, 1.0)
                total += p / (len(sources) if i == 0 else 1)
        reach[name] = total / len(owners)
    return SimulationTruth(reach)


MAX_HISTORY_MONTHS = 120


def parse_months(text: str, field: str = "history") -> int:
    """ "24m", "2y" or "24" as a number of months (1 to ``MAX_HISTORY_MONTHS``)."""
    raw = text.strip().lower()
    factor = 12 if raw.endswith("y") else 1
    digits = raw[:-1] if raw[-1:] in ("m", "y") else raw
    if not digits.isdigit():
        raise ValidationError(field, f"{text!r} is not a span of months like 24m or 2y")
    months = int(digits) * factor
    if not 1 <= months <= MAX_HISTORY_MONTHS:
        raise ValidationError(field, f"{text!r} is outside 1m..{MAX_HISTORY_MONTHS}m")
    return months


RUN_IN_MONTHS = 6  # history before the first backtest period: it starts with a pipeline and closed deals


def history_window(today: date, months: int, by: str = "quarter") -> tuple[date, int]:
    """Where a demo history of ``months`` starts, and how many calendar months it spans, so that the
    ``months`` before the current period are all backtestable: it starts ``RUN_IN_MONTHS`` earlier
    and runs until ``today``."""
    start = add_months(period_bounds(today, by)[0], -(months + RUN_IN_MONTHS))
    span = (today.year - start.year) * 12 + today.month - start.month + 1
    return start, span


def simulate(
    stages: Sequence[Stage],
    start: date,
    months: int,
    seed: int = 1,
    deals_per_month: int = 150,
    until: date | None = None,
) -> list[DealHistory]:
    """Deals created from ``start`` for ``months`` months, their stage paths and close-date pushes.

    Deals not closed by ``until`` (default: ``start + months``) stay open (today's pipeline); nothing
    happens on or after it. Requires six open stages.
    """
    open_stages = [s.name for s in stages if not s.is_closed]
    if len(open_stages) != len(_ADVANCE):
        raise ValueError(f"the simulator needs {len(_ADVANCE)} open stages, got {len(open_stages)}")
    rng = random.Random(seed)
    end = min(until, add_months(start, months)) if until else add_months(start, months)
    deals: list[DealHistory] = []
    owners = list(_OWNER_LAST_STEP)
    sources = list(_SOURCE_FIRST_STEP)
    for month in range(months):
        first = add_months(start, month)
        days = (add_months(first, 1) - first).days
        mood = rng.uniform(0.8, 1.2)  # a month's market: how many deals come in
        for _ in range(round(deals_per_month * mood)):
            created = first + timedelta(days=rng.randrange(days))
            owner, source = rng.choice(owners), rng.choice(sources)
            amount = Decimal(round(math.exp(rng.gauss(math.log(20000), 0.5)), -2)).quantize(CENTS)
            if created >= end:
                continue
            deals.append(_simulate_one(rng, len(deals), created, end, amount, owner, source, open_stages))
    return deals


def _simulate_one(
    rng: random.Random,
    number: int,
    created: date,
    end: date,
    amount: Decimal,
    owner: str,
    source: str,
    open_stages: list[str],
) -> DealHistory:
    remaining = sum(_MEAN_DAYS)
    close = created + timedelta(days=round(remaining * 0.7))  # reps are optimists: deals slip
    close_dates = [(created, close)]
    steps = [StageStep(open_stages[0], created)]
    day = created
    for i in range(len(open_stages)):
        mean = _MEAN_DAYS[i]
        spent = max(1, round(rng.gammavariate(2, mean / 2)))
        advance = _ADVANCE[i] * (_STALL_FACTOR if spent > 1.5 * mean else 1.0)
        if i == 0:
            advance *= _SOURCE_FIRST_STEP[source]
        if i == len(open_stages) - 1:
            advance *= _OWNER_LAST_STEP[owner]
        leave = day + timedelta(days=spent)
        while close < min(leave, end):  # the expected close date passes while the deal is open
            passed = close
            close = close + timedelta(days=rng.choice((14, 30, 45)))
            close_dates.append((passed, close))
        if leave >= end:
            break
        day = leave
        moved_on = rng.random() < min(advance, 1.0)
        if not moved_on:
            steps.append(StageStep(LOST, day))
            break
        next_stage = open_stages[i + 1] if i + 1 < len(open_stages) else WON
        steps.append(StageStep(next_stage, day))
        if next_stage == WON:
            break
        remaining -= mean
        if close < day + timedelta(days=remaining // 3):
            close = day + timedelta(days=remaining // 2)
            close_dates.append((day, close))
    close_dates.sort()
    return DealHistory(f"sim-{number:05d}", created, amount, tuple(steps), tuple(close_dates), owner, source)


# ----------------------------------------------------------------------------------------------
# Funnel and flow: what the histories show, beside what the stages configure


@dataclass(frozen=True)
class FunnelRow:
    stage: str
    configured: int  # the stage's probability, percent
    reached: int  # closed deals that reached the stage
    won: int  # of those, won
    observed: float | None  # won / reached
    to_next: float | None  # of the deals that left the stage, the share that moved on (not lost)
    median_days: int | None  # days in the stage before leaving it


def funnel(deals: Iterable[DealHistory], stages: Sequence[Stage]) -> list[FunnelRow]:
    """Per open stage: configured against observed P(won | reached), n, stage-to-stage conversion and
    the median days spent in the stage (of the deals that left it)."""
    deals = list(deals)
    closed = [d for d in deals if d.outcome is not None]
    reach = reach_probabilities(closed, stages)
    rows = []
    for stage in stages:
        if stage.is_closed:
            continue
        won, n = reach.get(stage.name, (0, 0))
        days: list[int] = []
        moved = left = 0
        for deal in deals:
            for step, after in zip(deal.steps, deal.steps[1:], strict=False):
                if step.stage == stage.name:
                    days.append((after.at - step.at).days)
                    left += 1
                    moved += after.stage != LOST
                    break
        rows.append(
            FunnelRow(
                stage.name,
                stage.probability,
                n,
                won,
                won / n if n else None,
                moved / left if left else None,
                _quantile(days, 0.5) if days else None,
            )
        )
    return rows


FLOW_KINDS = ("new", "pushed out", "pulled in", "won", "lost")


def flow(deals: Iterable[DealHistory], start: date, end: date) -> dict[str, tuple[int, Decimal]]:
    """What happened between ``start`` and ``end`` (both included), reconstructed from the histories:
    deals created, deals whose expected close date moved later or earlier (open at the end, compared
    with where it stood at the start or at creation), won and lost. (count, amount) per kind."""
    after = end + timedelta(days=1)
    out: dict[str, list[Any]] = {k: [0, Decimal("0.00")] for k in FLOW_KINDS}

    def add(kind: str, deal: DealHistory) -> None:
        out[kind][0] += 1
        out[kind][1] += deal.amount

    for deal in deals:
        now = deal.as_of(after)
        if now is None:
            continue
        then = deal.as_of(start)
        if then is None:
            add("new", deal)
        outcome = now.outcome
        if outcome is not None and start <= outcome[1] < after:
            add("won" if outcome[0] == WON else "lost", deal)
            continue
        if outcome is not None:
            continue
        before = then.close_date if then is not None else now.close_dates[0][1]
        if now.close_date > before:
            add("pushed out", deal)
        elif now.close_date < before:
            add("pulled in", deal)
    return {k: (v[0], v[1]) for k, v in out.items()}


# ----------------------------------------------------------------------------------------------
# One deal's score and what moves it


@dataclass(frozen=True)
class Factor:
    effect: float  # change in the chance to win, -1..1
    text: str

    @property
    def sign(self) -> str:
        return "+" if self.effect >= 0 else "−"


@dataclass(frozen=True)
class Score:
    probability: float  # P(won), eventually (not only this period)
    method: str
    factors: tuple[Factor, ...]  # largest effect first


def score(deals: Sequence[DealHistory], stages: Sequence[Stage], deal_id: str, today: date) -> Score | None:
    """The history method's P(won) for an open deal and the factors behind it: the stage's observed
    rate against the configured one, the time in the stage, close-date pushes. None: closed or
    unknown."""
    book = _Book(deals, "quarter", stages)
    known = book.know(today)
    deal = next((d for d in known.open if d.id == deal_id), None)
    if deal is None:
        book.release()
        return None
    history = _fit_history(known)
    policy = history.policy.get(deal.stage, 0.0)
    base = history.stage_p.get(deal.stage, policy)
    p = history.p_win(deal, today)
    factors = [
        Factor(base - policy, f"stage {deal.stage}: {base:.0%} won from it (configured {policy:.0%})"),
    ]
    if p != base:
        age = (today - deal.stage_entered).days
        edges = history.age_edges.get(deal.stage)
        median = f"; won deals left it after {edges[0]} days at the median" if edges else ""
        factors.append(Factor(p - base, f"{age} days in the stage{median}"))
    if deal.pushes:
        closed = known.closed
        pushed = [d for d in closed if d.pushes >= deal.pushes]
        if pushed and closed:
            rate = sum(1 for d in pushed if d.stage == WON) / len(pushed)
            overall = sum(1 for d in closed if d.stage == WON) / len(closed)
            times = "once" if deal.pushes == 1 else f"{deal.pushes} times"
            factors.append(
                Factor(
                    rate - overall,
                    f"close date moved {times} ({rate:.0%} of such deals won, {overall:.0%} of all)",
                )
            )
    factors += _context_factors(deal, known.closed, today)
    factors.sort(key=lambda f: -abs(f.effect))
    book.release()
    return Score(p, "history", tuple(factors))


FACTOR_MIN_DEALS = 10  # a context factor is named only when this many closed deals share it


def _context_factors(deal: DealHistory, closed: list[DealHistory], today: date) -> list[Factor]:
    """The model's context features as factors: how the closed deals that shared the deal's
    industry, activity, contacts or returning account fared against all closed deals. Each closed
    deal is described as it stood the day it closed (its activities in the 30 days before, its
    contacts, its account's wins before it), so nothing after a deal's own close is used."""
    if not closed or not (deal.industry or deal.activities or deal.contacts or deal.account):
        return []
    overall = sum(1 for d in closed if d.stage == WON) / len(closed)
    wins = account_wins(closed)
    found = []

    def share(test: Any, text: str) -> None:
        group = [d for d in closed if test(d)]
        if len(group) >= FACTOR_MIN_DEALS:
            rate = sum(1 for d in group if d.stage == WON) / len(group)
            found.append(
                Factor(rate - overall, f"{text} ({rate:.0%} of such deals won, {overall:.0%} of all)")
            )

    def closed_on(d: DealHistory) -> date:
        return d.steps[-1].at

    if deal.industry:
        share(lambda d: d.industry == deal.industry, f"industry {deal.industry}")
    active = deal.activities_before(today)
    if deal.activities or active:
        if active:
            share(lambda d: d.activities_before(closed_on(d)) > 0, f"{active} activities in the last 30 days")
        else:
            share(lambda d: d.activities_before(closed_on(d)) == 0, "no activity in the last 30 days")
    people = deal.contacts_before(today)
    if people:
        share(
            lambda d: d.contacts_before(closed_on(d)) >= people,
            f"{people} contact{'s' if people > 1 else ''} on the deal",
        )
    before = earlier_wins(wins, deal.account, today) if deal.account else 0
    if before:
        share(
            lambda d: bool(d.account) and earlier_wins(wins, d.account, d.created) > 0,
            f"the account won {before} deal{'s' if before > 1 else ''} before",
        )
    return found


# ----------------------------------------------------------------------------------------------
# The history method's estimates, kept between runs (the report's cache)


def fit_estimates(deals: Iterable[DealHistory], stages: Sequence[Stage], at: date, by: str) -> dict[str, Any]:
    """The history method's estimates as known at ``at``, in a JSON-ready form (``predict_open``)."""
    book = _Book(deals, by, stages)
    history = _fit_history(book.know(at))
    book.release()
    return _estimates_json(history)


def _estimates_json(history: _History) -> dict[str, Any]:
    return {
        "policy": history.policy,
        "stage_p": history.stage_p,
        "age_edges": {k: list(v) for k, v in history.age_edges.items()},
        "age_p": [[k[0], k[1], v] for k, v in history.age_p.items()],
        "timing": history.timing,
        "from_new": history.from_new,
        "evidence": [
            [list(k) if isinstance(k, tuple) else k, a, b] for k, (a, b) in history.evidence.items()
        ],
    }


def _estimates(data: dict[str, Any]) -> _History:
    return _History(
        dict(data["policy"]),
        dict(data["stage_p"]),
        {k: (int(v[0]), int(v[1])) for k, v in data["age_edges"].items()},
        {(s, int(b)): float(p) for s, b, p in data["age_p"]},
        dict(data["timing"]),
        [int(x) for x in data["from_new"]],
        {(tuple(k) if isinstance(k, list) else k): (float(a), float(b)) for k, a, b in data["evidence"]},
    )


def predict_open(
    open_deals: Sequence[DealHistory],
    estimates: dict[str, Any],
    stages: Sequence[Stage],
    at: date,
    by: str = "quarter",
    runs: int = 2000,
    seed: int = 0,
    target: Decimal | None = None,
) -> Prediction:
    """The history method's prediction from estimates fitted earlier (``fit_estimates``) and the
    open deals alone: the same figures as ``predict(..., method="history")`` for the same data."""
    first, end = period_bounds(at, by)
    seen = [d for d in (deal.as_of(at) for deal in open_deals) if d is not None]
    known = _Known(first, end, by, stages, seen, [d for d in seen if d.outcome is None], [])
    return _range(known, _estimates(estimates), None, runs, seed, target)


# ----------------------------------------------------------------------------------------------
# The store's per-deal summary of the history fit (docs/prediction.md, "Speed", round 5)

Fact = tuple[date, str, int, bool, str, bool]  # (snapshot start, stage, days in it, won, bucket, inside)


@dataclass(frozen=True)
class DealSummary:
    """What one deal adds to the history fit as it stands, whatever the day the fit is made: the
    store keeps one per live deal (forecast_summary) and the report's fit adds them up
    (``fit_summary``) instead of rebuilding every deal's history.

    A deal ``settled`` before the fit's day (its last step and close-date move before it) counts by
    these fields alone; a later-settled one is counted from its history (``fit_summary``'s ``live``).
    """

    currency: str
    created: date
    settled: date
    closed: bool
    won: bool
    path: tuple[str, ...]  # the stages reached, sorted
    new_period: date | None  # won inside its creation's period: that period's start
    amount: int  # cents
    stays: tuple[tuple[str, int], ...]  # a won deal's first stays (``first_stays``)
    facts: tuple[Fact, ...]  # a closed deal's training snapshots, by start


def summarize(deal: DealHistory, by: str = "quarter") -> DealSummary:
    outcome = deal.outcome
    won = outcome is not None and outcome[0] == WON
    new_period = None
    if won:
        start, end = period_bounds(deal.created, by)
        new_period = start if deal.steps[-1].at < end else None
    facts: list[Fact] = []
    if outcome is not None:
        closed_on = deal.steps[-1].at
        step = 3 if by == "quarter" else 1
        s = add_months(period_bounds(deal.created, by)[0], step)
        while s <= closed_on:
            then = deal.as_of(s)
            if then is not None:
                facts.append((s, *_snapshot_facts(s, add_months(s, step), then, deal, by)))
            s = add_months(s, step)
    return DealSummary(
        deal.currency,
        deal.created,
        max(deal.steps[-1].at, deal.close_dates[-1][0]),
        outcome is not None,
        won,
        tuple(sorted(deal.reached())),
        new_period,
        cents(deal.amount),
        deal.first_stays if won else (),
        tuple(facts),
    )


@dataclass
class SummaryCounts:
    """The summary of the deals settled before the fit's day, added up: closed deals per (won,
    stages reached), won deals' first stays per stage and days, snapshot facts (start before the
    fit's period), from-new cents per creation period, and the earliest creation of any deal
    created before the day (settled or not)."""

    paths: dict[tuple[bool, frozenset[str]], int] = field(default_factory=dict)
    stays: dict[str, dict[int, int]] = field(default_factory=dict)
    facts: dict[tuple[str, int, bool, str, bool], int] = field(default_factory=dict)
    new: dict[date, int] = field(default_factory=dict)
    earliest: date | None = None


def _quantile_counts(counts: dict[int, int], q: float) -> int:
    """``_quantile`` of the values a histogram (value → how many) holds."""
    n = sum(counts.values())
    index = min(n - 1, int(q * n))
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen > index:
            return value
    raise ValueError("empty histogram")


def fit_summary(
    counts: SummaryCounts, live: Iterable[DealHistory], stages: Sequence[Stage], at: date, by: str
) -> dict[str, Any]:
    """``fit_estimates`` of the same deals from the summary: ``counts`` of the deals settled before
    ``at`` plus ``live``, the deals created before ``at`` and settled on or after it, counted from
    their histories as ``_Book.know(at)`` would. The same integer counts, so the same estimates."""
    first = period_bounds(at, by)[0]
    step = 3 if by == "quarter" else 1
    paths: Counter[tuple[bool, frozenset[str]]] = Counter(counts.paths)
    stays: dict[str, Counter[int]] = {k: Counter(v) for k, v in counts.stays.items()}
    facts: Counter[tuple[str, int, bool, str, bool]] = Counter(counts.facts)
    new: Counter[date] = Counter(counts.new)
    for deal in live:
        then = deal.as_of(at)
        if then is None:
            continue
        if then.outcome is not None:
            paths[then.path] += 1
            if then.stage == WON:
                for name, days in then.first_stays:
                    stays.setdefault(name, Counter())[days] += 1
                start, end = period_bounds(then.created, by)
                if then.steps[-1].at < end:
                    new[start] += cents(then.amount)
        if deal.outcome is not None and deal.steps[-1].at < at:
            for fact in summarize(deal, by).facts:
                if fact[0] < first:
                    facts[fact[1:]] += 1
    edges: dict[str, tuple[int, int]] = {}
    for stage in stages:
        hist = stays.get(stage.name)
        if hist is not None and sum(hist.values()) >= 10:
            edges[stage.name] = (_quantile_counts(hist, 0.5), _quantile_counts(hist, 0.75))
    from_new: list[int] = []
    if counts.earliest is not None:
        totals: dict[date, int] = {}
        s = add_months(period_bounds(counts.earliest, by)[0], step)
        while s < first:
            totals[s] = 0
            s = period_bounds(s, by)[1]
        for start, amount in new.items():
            if start in totals:
                totals[start] += amount
        from_new = [totals[k] for k in sorted(totals)]
    history = _fit_counts(stages, _reach_counts(paths, stages), edges, dict(facts), from_new)
    return _estimates_json(history)
