"""The prediction methods measured against the truth that generated the history (issue 16 goals).

The history is the one `sfa demo --history 24m --seed N` stores (test_forecasting checks that the
store holds exactly the simulated deals), so these are the goals as the issue states them. If a goal
is missed the test fails with the figures; it is never loosened to pass.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sfa.domain import prediction as P
from sfa.domain.stages import DEFAULT_STAGES

TODAY = date(2026, 11, 29)
SEEDS = (1, 2, 3, 4, 5)


@cache
def _history(seed: int) -> tuple[P.DealHistory, ...]:
    start, span = P.history_window(TODAY, 24)
    return tuple(P.simulate(DEFAULT_STAGES, start, span, seed=seed, until=TODAY))


@cache
def _backtest(seed: int) -> P.Backtest:
    return P.backtest(_history(seed), DEFAULT_STAGES, TODAY, periods=8)


def test_history_window_leaves_every_backtest_quarter_a_pipeline() -> None:
    start, span = P.history_window(TODAY, 24)
    assert start == date(2024, 4, 1)  # 6 months before the first of the 8 quarters (2024-Q4)
    assert P.add_months(start, span) > TODAY
    result = _backtest(1)
    assert result.scores["history"].periods[0][0] == "2024-Q4"
    assert all(actual > 0 for _, _, actual, _, _ in result.scores["history"].periods)


@pytest.mark.parametrize("seed", SEEDS)
def test_best_method_beats_weighted_by_30_percent(seed: int) -> None:
    result = _backtest(seed)
    best = result.scores[result.best]
    weighted = result.scores["weighted"]
    assert result.best != "weighted"
    assert best.wmape is not None and weighted.wmape is not None
    assert best.wmape <= 0.7 * weighted.wmape, (best.wmape, weighted.wmape)


def test_range_is_calibrated_over_seeds_and_periods() -> None:
    inside = cases = 0
    for seed in SEEDS:
        for _, _, actual, p10, p90 in _backtest(seed).scores[_backtest(seed).best].periods:
            assert p10 is not None and p90 is not None
            cases += 1
            inside += p10 <= actual <= p90
    assert 0.70 <= inside / cases <= 0.90, f"{inside} of {cases} inside P10-P90"


@pytest.mark.parametrize("seed", SEEDS)
def test_model_is_no_worse_than_history_or_says_it_fell_back(seed: int) -> None:
    scores = _backtest(seed).scores
    model, history = scores["model"], scores["history"]
    assert model.brier is not None and history.brier is not None
    if model.brier > history.brier:
        assert model.note.startswith("fell back to history"), model.note


@pytest.mark.parametrize("seed", SEEDS)
def test_recovered_stage_probabilities_within_5_points(seed: int) -> None:
    truth = P.simulation_truth(DEFAULT_STAGES).reach
    closed = [d for d in _history(seed) if d.outcome is not None]
    for stage, (won, n) in P.reach_probabilities(closed, DEFAULT_STAGES).items():
        if n >= 100:
            assert abs(won / n - truth[stage]) <= 0.05, (stage, won / n, truth[stage], n)


def test_backtest_json_shape_and_notes() -> None:
    result = _backtest(1)
    assert result.periods == 8 and set(result.scores) == {"weighted", "history", "model"}
    assert result.scores["weighted"].coverage is None
    assert result.best in {"weighted", "history", "model"}
    assert not result.scores[result.best].note


def test_model_needs_enough_won_and_lost_deals() -> None:
    start, span = P.history_window(TODAY, 3)
    few = P.simulate(DEFAULT_STAGES, start, span, seed=1, until=TODAY, deals_per_month=10)
    result = P.backtest(few, DEFAULT_STAGES, TODAY, periods=2)
    assert result.scores["model"].note.startswith("fell back to history")
    assert result.best != "model"


# -- the Monte-Carlo: jumping between the runs a deal is won in is the same as tossing in each --------


@settings(max_examples=30, deadline=None)
@given(st.floats(0.001, 0.999), st.integers(0, 10_000))
def test_monte_carlo_wins_a_deal_with_its_probability(p: float, seed: int) -> None:
    runs = 4000
    deals = [(1, p, ())]
    _, _, _, reach = P.monte_carlo(deals, [], runs=runs, seed=seed, target=1)
    assert reach is not None
    sigma = math.sqrt(p * (1 - p) / runs)
    assert abs(reach - p) <= 5 * sigma + 1 / runs


@pytest.mark.parametrize("count", [300, P.EXACT_DEALS + 600])  # tossed; drawn from the normal
def test_monte_carlo_percentiles_match_independent_tosses(count: int) -> None:
    rng = random.Random(7)
    deals = [(rng.randrange(1000, 100_000), rng.uniform(0.01, 0.9), ()) for _ in range(count)]
    p10, p50, p90, _ = P.monte_carlo(deals, [], runs=4000, seed=3)
    mean = sum(a * p for a, p, _ in deals)
    sd = math.sqrt(sum(a * a * p * (1 - p) for a, p, _ in deals))
    # A sum of hundreds of independent deals is near normal: P10/P90 at mean ∓ 1.2816 sd.
    assert abs(p50 - mean) < 0.1 * sd
    assert abs(p10 - (mean - 1.2816 * sd)) < 0.15 * sd
    assert abs(p90 - (mean + 1.2816 * sd)) < 0.15 * sd


def test_monte_carlo_is_seeded_and_target_is_a_probability() -> None:
    deals = [(500, 0.3, ("a",)), (700, 0.6, ("a", "b"))]
    evidence = {"a": (3.0, 7.0), "b": (6.0, 4.0)}
    first = P.monte_carlo(deals, [100, 200], runs=500, seed=1, target=800, evidence=evidence)
    assert first == P.monte_carlo(deals, [100, 200], runs=500, seed=1, target=800, evidence=evidence)
    many = deals * P.EXACT_DEALS
    assert P.monte_carlo(many, [], runs=300, seed=2, evidence=evidence) == P.monte_carlo(
        many, [], runs=300, seed=2, evidence=evidence
    )
    assert first[3] is not None and 0 <= first[3] <= 1
    assert first[0] <= first[1] <= first[2]


def test_predict_gives_a_range_and_p_target() -> None:
    deals = _history(2)
    result = P.predict(deals, DEFAULT_STAGES, TODAY, method="history", target=Decimal("1000000"))
    assert result.p10 is not None and result.p50 is not None and result.p90 is not None
    assert result.p10 <= result.p50 <= result.p90
    assert result.p_target is not None and 0 <= result.p_target <= 1


@pytest.mark.parametrize("text,months", [("24m", 24), ("2y", 24), ("7", 7), (" 120M ", 120)])
def test_parse_months(text: str, months: int) -> None:
    assert P.parse_months(text) == months


# -- funnel and flow ---------------------------------------------------------------------------------


def _deal(
    name: str,
    created: date,
    steps: list[tuple[str, date]],
    closes: list[tuple[date, date]],
    amount: str = "100",
) -> P.DealHistory:
    return P.DealHistory(
        name,
        created,
        Decimal(amount),
        tuple(P.StageStep(s, d) for s, d in steps),
        tuple(closes),
    )


def test_flow_counts_each_kind_between_two_dates() -> None:
    d = date
    deals = [
        # created inside, then won inside
        _deal(
            "a",
            d(2026, 3, 2),
            [("initiation", d(2026, 3, 2)), ("won", d(2026, 3, 20))],
            [(d(2026, 3, 2), d(2026, 3, 30))],
        ),
        # open before, close date pushed inside the window
        _deal(
            "b",
            d(2026, 1, 5),
            [("qualification", d(2026, 1, 5))],
            [(d(2026, 1, 5), d(2026, 3, 15)), (d(2026, 3, 16), d(2026, 5, 1))],
            "250",
        ),
        # open before, pulled in
        _deal(
            "c",
            d(2026, 1, 5),
            [("qualification", d(2026, 1, 5))],
            [(d(2026, 1, 5), d(2026, 6, 1)), (d(2026, 3, 3), d(2026, 4, 1))],
        ),
        # lost inside
        _deal(
            "e",
            d(2026, 2, 1),
            [("initiation", d(2026, 2, 1)), ("lost", d(2026, 3, 31))],
            [(d(2026, 2, 1), d(2026, 4, 1))],
        ),
        # lost after the window: nothing inside
        _deal(
            "f",
            d(2026, 2, 1),
            [("initiation", d(2026, 2, 1)), ("lost", d(2026, 4, 1))],
            [(d(2026, 2, 1), d(2026, 4, 1))],
        ),
        # created after the window: not seen
        _deal("g", d(2026, 4, 2), [("initiation", d(2026, 4, 2))], [(d(2026, 4, 2), d(2026, 5, 1))]),
    ]
    result = P.flow(deals, d(2026, 3, 1), d(2026, 3, 31))
    assert result == {
        "new": (1, Decimal("100")),
        "pushed out": (1, Decimal("250")),
        "pulled in": (1, Decimal("100")),
        "won": (1, Decimal("100")),
        "lost": (1, Decimal("100")),
    }


def test_funnel_observed_is_the_truth_within_5_points() -> None:
    truth = P.simulation_truth(DEFAULT_STAGES).reach
    rows = P.funnel(_history(1), DEFAULT_STAGES)
    assert [r.stage for r in rows] == [s.name for s in DEFAULT_STAGES if not s.is_closed]
    for row in rows:
        assert row.observed is not None and row.reached >= 100
        assert abs(row.observed - truth[row.stage]) <= 0.05
        assert row.configured == next(s.probability for s in DEFAULT_STAGES if s.name == row.stage)
        assert row.median_days is not None and row.median_days > 0
        assert row.to_next is not None and 0 < row.to_next < 1


def test_predict_open_from_kept_estimates_is_predict() -> None:
    import json

    deals = _history(3)
    estimates = json.loads(json.dumps(P.fit_estimates(deals, DEFAULT_STAGES, TODAY, "quarter")))
    open_deals = [d for d in deals if d.outcome is None]
    kept = P.predict_open(open_deals, estimates, DEFAULT_STAGES, TODAY, "quarter", target=Decimal("500000"))
    fresh = P.predict(deals, DEFAULT_STAGES, TODAY, "quarter", "history", target=Decimal("500000"))
    assert kept == fresh


# -- the model's context features (industry, activities, contacts, the account's earlier wins) -----


def _with_context(deal: P.DealHistory, rng: random.Random) -> P.DealHistory:
    """The simulated deal with a context that tells its outcome: won deals are worked (an activity
    a week while open, a second contact), lost ones are not; every deal is at one of 40 accounts."""
    from dataclasses import replace

    worked = deal.stage == "won" if deal.outcome is not None else rng.random() < 0.5
    end = deal.steps[-1].at if deal.outcome is not None else TODAY
    days = tuple(date.fromordinal(o) for o in range(deal.created.toordinal(), end.toordinal(), 7))
    people = ((deal.created, "c1"), (deal.created, "c2")) if worked else ((deal.created, "c1"),)
    return replace(
        deal,
        account=f"acct-{rng.randrange(40)}",
        industry=rng.choice(("Food", "Steel")),
        activities=days if worked else (),
        contacts=people,
    )


def test_context_features_see_only_history_before_the_day() -> None:
    """No look-ahead: what happened on or after the day changes none of the deal's features."""
    deal = _deal(
        "a", date(2026, 1, 5), [("initiation", date(2026, 1, 5))], [(date(2026, 1, 5), date(2026, 6, 30))]
    )
    at = date(2026, 4, 1)
    before = P.replace(
        deal,
        account="acme",
        industry="Food",
        activities=(date(2026, 3, 1), date(2026, 3, 20)),
        contacts=((date(2026, 2, 1), "c1"),),
    )
    later = P.replace(
        before,
        activities=(*before.activities, at, date(2026, 5, 1)),
        contacts=(*before.contacts, (at, "c2"), (date(2026, 5, 1), "c3")),
    )
    assert later.activities_before(at) == before.activities_before(at) == 1  # 03-01 is 31 days before
    assert later.contacts_before(at) == 1
    won_then = _deal("w", date(2025, 1, 5), [("initiation", date(2025, 1, 5)), ("won", at)], [])
    wins = P.account_wins([P.replace(won_then, account="acme")])
    assert P.earlier_wins(wins, "acme", at) == 0 and P.earlier_wins(wins, "acme", date(2026, 4, 2)) == 1
    model = P._Model(["initiation"], {}, {}, 0.5, industry_rate={"Food": 0.7}, account_wins=wins)
    history = P._fit_history(P._know([deal], at, "quarter", DEFAULT_STAGES))
    assert model.features(before, at, history) == model.features(later, at, history)


def test_model_learns_from_the_context_features() -> None:
    """Where the context tells the outcome, the fitted model weighs it (activities and contacts up)
    and its hold-out Brier score beats the same model without context."""
    rng = random.Random(7)
    deals = [_with_context(d, rng) for d in _history(1)]
    book = P._Book(deals, "quarter", DEFAULT_STAGES)
    known = book.know(TODAY)
    model = P._train_new(known, P._fit_history(known))
    assert model is not None
    *_, _industry, activities, contacts, _account = model.weights
    assert activities > 0.5 and contacts > 0.5, model.weights[-4:]
    with_context = P.backtest(deals, DEFAULT_STAGES, TODAY, periods=4).scores["model"]
    without = P.backtest(_history(1), DEFAULT_STAGES, TODAY, periods=4).scores["model"]
    assert with_context.brier is not None and without.brier is not None
    assert with_context.brier < without.brier


def test_score_names_the_context_factors() -> None:
    rng = random.Random(3)
    deals = [_with_context(d, rng) for d in _history(2)]
    open_deal = next(d for d in deals if d.outcome is None and d.activities_before(TODAY))
    found = P.score(deals, DEFAULT_STAGES, open_deal.id, TODAY)
    assert found is not None
    texts = " | ".join(f.text for f in found.factors)
    assert f"industry {open_deal.industry}" in texts
    assert "activities in the last 30 days" in texts and "contacts on the deal" in texts


# -- the exact Monte-Carlo path against the jumps it replaced ---------------------------------------


def _old_monte_carlo(
    deals: list[tuple[int, float, tuple[object, ...]]],
    runs: int,
    seed: int,
    evidence: dict[object, tuple[float, float]],
) -> tuple[int, int, int]:
    """The exact path before the runs were ranked by scale (geometric jumps over the runs in their
    own order at the highest probability of all the draws, thinned): the reference."""
    rng = random.Random(seed)
    rnd = rng.random
    live = [(a, p, tuple(g for g in groups if g in evidence)) for a, p, groups in deals if p > 0 and a]
    outer = max(1, min(runs, P.OUTER_DRAWS))
    block = -(-runs // outer)
    draws = {}
    for g in sorted({g for _, _, groups in live for g in groups}, key=repr):
        alpha, beta = evidence[g]
        draws[g] = [rng.betavariate(alpha, beta) * (alpha + beta) / alpha for _ in range(outer)]
    totals = [0] * runs
    base = 0
    for amount, p, groups in live:
        scale = [1.0] * outer
        for g in groups:
            scale = [c * d for c, d in zip(scale, draws[g], strict=True)]
        p_top = min(1.0, p * max(scale))
        if p_top > 0.5:
            q_top = 1.0 - min(1.0, p * min(scale))
            base += amount
            if q_top <= 0.0:
                continue
            r = int(math.log(1.0 - rnd()) / math.log(1.0 - q_top))
            while r < runs:
                if rnd() * q_top < 1.0 - min(1.0, p * scale[r // block]):
                    totals[r] -= amount
                r += 1 + int(math.log(1.0 - rnd()) / math.log(1.0 - q_top))
            continue
        r = int(math.log(1.0 - rnd()) / math.log(1.0 - p_top))
        while r < runs:
            if rnd() * p_top < p * scale[r // block]:
                totals[r] += amount
            r += 1 + int(math.log(1.0 - rnd()) / math.log(1.0 - p_top))
    totals = sorted(t + base for t in totals)
    return totals[runs // 10], totals[runs // 2], totals[9 * runs // 10]


@pytest.mark.parametrize("with_evidence", [False, True])
def test_exact_monte_carlo_agrees_with_the_old_jumps(with_evidence: bool) -> None:
    """P10/P50/P90 of the ranked-segment path agree with the old jumps' within sampling error, on
    400 deals × 2,000 runs with a fixed seed: without estimates (every run alike), and with Beta
    posteriors of very different strength (the scales then vary from run to run)."""
    rng = random.Random(11)
    evidence: dict[object, tuple[float, float]] = {}
    if with_evidence:
        evidence = {f"g{k}": (rng.uniform(4, 60), rng.uniform(4, 90)) for k in range(8)}
        evidence.update({f"t{k}": (rng.uniform(10, 100), rng.uniform(10, 100)) for k in range(3)})
    deals = [
        (
            rng.randrange(1000, 1_000_000),
            rng.uniform(0.01, 0.95),
            (f"g{rng.randrange(8)}", f"t{rng.randrange(3)}"),
        )
        for _ in range(P.EXACT_DEALS)
    ]
    runs = 2000
    new = P.monte_carlo(deals, [], runs=runs, seed=5, evidence=evidence)[:3]
    old = _old_monte_carlo(deals, runs, 6, evidence)
    spread = (new[2] - new[0]) / 2.563  # the total's standard deviation, from its P10-P90
    # A percentile's standard error is ~1.7 sd / √n (P10, P90; less for P50) with n the runs, or the
    # draws of the estimates (200) when they vary; the two estimates are independent: 5 × √2 of it.
    n = P.OUTER_DRAWS if with_evidence else runs
    tolerance = 5 * math.sqrt(2) * 1.71 * spread / math.sqrt(n)
    for got, want in zip(new, old, strict=True):
        assert abs(got - want) <= tolerance, (new, old, tolerance)
    # and the mean of the runs is the expected total (no estimates: exactly Σ amount × p)
    if not with_evidence:
        expected = sum(a * p for a, p, _ in deals)
        assert abs(new[1] - expected) <= 5 * spread / math.sqrt(runs) + 0.05 * spread


# -- the fits' counting shortcuts (docs/prediction.md, "Speed", round 4) give the plain counts --------


_STAGE_NAMES = [s.name for s in DEFAULT_STAGES]


def _random_deals(rng: random.Random, count: int) -> list[P.DealHistory]:
    """Deals with random paths over every stage, reopened ones included (won or lost before their
    last step), random close-date moves, owners, sources and industries."""
    deals = []
    for k in range(count):
        created = date.fromordinal(TODAY.toordinal() - rng.randrange(30, 700))
        day = created
        steps = [P.StageStep(rng.choice(_STAGE_NAMES), day)]
        for _ in range(rng.randrange(0, 5)):
            day = date.fromordinal(day.toordinal() + rng.randrange(1, 120))
            if day >= TODAY:
                break
            stage = rng.choice(_STAGE_NAMES)
            if stage != steps[-1].stage:
                steps.append(P.StageStep(stage, day))
        day = date.fromordinal(day.toordinal() + rng.randrange(1, 60))
        if rng.random() < 0.6 and day < TODAY and steps[-1].stage not in ("won", "lost"):
            steps.append(P.StageStep("won" if rng.random() < 0.6 else "lost", day))  # most deals close
        closes = [(created, date.fromordinal(created.toordinal() + rng.randrange(0, 200)))]
        for _ in range(rng.randrange(0, 3)):
            moved = date.fromordinal(closes[-1][0].toordinal() + rng.randrange(1, 90))
            if moved < TODAY:
                closes.append((moved, date.fromordinal(moved.toordinal() + rng.randrange(-30, 150))))
        deals.append(
            P.DealHistory(
                f"d{k}",
                created,
                Decimal(rng.randrange(100, 100_000)),
                tuple(steps),
                tuple(closes),
                owner=rng.choice(("ana", "ben", "cara")),
                source=rng.choice(("web", "event", "")),
                industry=rng.choice(("Food", "Steel", "")),
            )
        )
    return deals


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 300), st.integers(0, 400))
def test_the_fits_counts_are_the_plain_counts(seed: int, count: int, back: int) -> None:
    """The reach counts, the model's rates and the history fit (its snapshot tally counted per
    distinct fact) equal the deal-by-deal counts they replaced, on random deals as known on a day."""
    from collections import defaultdict
    from dataclasses import replace

    rng = random.Random(seed)
    deals = _random_deals(rng, count)
    at = date.fromordinal(TODAY.toordinal() - back)
    known = P._Book(deals, "quarter", DEFAULT_STAGES).know(at)

    reach: dict[str, list[int]] = {s.name: [0, 0] for s in DEFAULT_STAGES if not s.is_closed}
    for deal in known.closed:
        for name in deal.reached():
            if name in reach:
                reach[name][0] += deal.stage == "won"
                reach[name][1] += 1
    assert P.reach_probabilities(known.closed, DEFAULT_STAGES) == {k: (w, n) for k, (w, n) in reach.items()}

    won, rates = P._closed_rates(known.closed)
    assert won == sum(1 for d in known.closed if d.stage == "won")
    for key, got in zip(("owner", "source", "industry"), rates, strict=True):
        tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for deal in known.closed:
            tally[getattr(deal, key)][0] += deal.stage == "won"
            tally[getattr(deal, key)][1] += 1
        overall = won / max(1, len(known.closed))
        assert got == {k: P.shrink(w, n, overall) for k, (w, n) in tally.items()}

    fitted = P._fit(known)
    # the same snapshots with their facts made here, one by one
    plain = P._fit(replace(known, facts=None, fitted=None, rates=None))
    assert fitted == plain
    assert list(fitted.age_p) == list(plain.age_p) and list(fitted.evidence) == list(plain.evidence)
    age_tally: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    for start, _end, then, now in known.snapshots:
        key = (then.stage, fitted.age_bucket(then, start))
        age_tally[key][0] += now.stage == "won"
        age_tally[key][1] += 1
    assert fitted.age_p == {
        k: P.shrink(w, n, fitted.stage_p.get(k[0], 0.0)) for k, (w, n) in age_tally.items()
    }
    for deal in deals:  # each stage's first stay, as time_in gives it
        stays = dict(deal.first_stays)
        assert len(stays) == len(deal.first_stays)
        for name in {step.stage for step in deal.steps}:
            assert stays.get(name) == deal.time_in(name)


def test_snapshot_rows_kept_per_book_are_the_rows_made_afresh() -> None:
    """The model's rows of training snapshots, their deal-and-day columns kept per book and shared
    by the fits (``_Model.snapshot_rows``), are the rows ``features`` makes from scratch, for two
    models (different rates, fits and account wins) over the same snapshots, the second served from
    what the first kept."""
    rng = random.Random(3)
    deals = [_with_context(d, rng) for d in _history(1)]
    book = P._Book(deals, "quarter", DEFAULT_STAGES)
    late, early = book.know(TODAY), book.know(P.add_months(P.period_bounds(TODAY, "quarter")[0], -6))
    snaps = sorted(early.snapshots, key=lambda s: s[0])[-300:]
    assert snaps
    for known in (early, late):
        history = P._fit_history(known)
        model = P._train(known, history)
        assert model is not None
        fresh = [model.features(then, start, history) for start, _, then, _ in snaps]
        assert model.snapshot_rows(snaps, history, book) == fresh
        assert model.snapshot_rows(snaps, history, None) == fresh
    assert len(book.plain) >= len(snaps)
    book.release()
    assert not book.plain


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10_000), st.permutations(range(10)))
def test_closed_counts_carried_between_starts_are_a_fresh_count(seed: int, order: list[int]) -> None:
    """The closed deals' counts per path and per context a book carries from one period start to
    the next (``_Book.counts``) equal a fresh count of the deals closed as known at each start, asked
    in any order, with deals that were won or lost and then reopened (closed at one start, open at a
    later one) and deals whose close date moved after they closed."""
    rng = random.Random(seed)
    deals = list(_history(1 + seed % 5)[:400])
    d = date
    for i in range(30):
        created = d(2025, 1, 1) + timedelta(days=rng.randrange(500))
        closed = created + timedelta(days=rng.randrange(1, 120))
        later = closed + timedelta(days=rng.randrange(1, 200))
        outcome = rng.choice(("won", "lost"))
        steps = [("initiation", created), (outcome, closed)]
        closes = [(created, closed)]
        if i % 2:
            steps.append(("negotiation", later))  # reopened
        else:
            closes.append((later, later + timedelta(days=30)))  # close date moved after it closed
        deals.append(
            P.replace(_deal(f"x{i}", created, steps, closes), owner=rng.choice(("ana", "ben")), source="web")
        )
    rng.shuffle(deals)
    book = P._Book(deals, "quarter", DEFAULT_STAGES)
    starts = [P.add_months(d(2024, 7, 1), 3 * k) for k in range(10)]
    for k in order:
        known = book.know(starts[k])
        assert known.paths == Counter(deal.path for deal in known.closed)
        assert known.contexts == Counter(deal.context for deal in known.closed)
        assert P._known_rates(known) == P._closed_rates(known.closed)
        assert P._fit(known) == P._fit(P.replace(known, paths=None, contexts=None, fitted=None))
    book.release()
