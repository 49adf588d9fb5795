"""Haversine distances and route ordering, checked against brute force."""

from __future__ import annotations

import itertools
import random

import pytest

from sfa.domain.geo import EXACT_LIMIT, _matrix, haversine_km, path_length, plan_route

BERLIN = (52.5200, 13.4050)
PARIS = (48.8566, 2.3522)
POTSDAM = (52.3906, 13.0645)


def test_haversine_known_distances() -> None:
    assert haversine_km(BERLIN, PARIS) == pytest.approx(878, abs=3)
    assert haversine_km(BERLIN, POTSDAM) == pytest.approx(27, abs=1)
    assert haversine_km(BERLIN, BERLIN) == 0
    assert haversine_km(BERLIN, PARIS) == pytest.approx(haversine_km(PARIS, BERLIN))


def brute_force(start: tuple[float, float], stops: list[tuple[float, float]], round_trip: bool) -> float:
    dist = _matrix(start, stops)
    return min(
        path_length(dist, order, round_trip) for order in itertools.permutations(range(1, len(stops) + 1))
    )


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("round_trip", [False, True])
def test_exact_route_is_the_brute_force_optimum(seed: int, round_trip: bool) -> None:
    rng = random.Random(seed)
    n = rng.randint(2, 8)
    stops = [(52 + rng.random(), 13 + rng.random()) for _ in range(n)]
    route = plan_route(BERLIN, stops, round_trip=round_trip)
    assert route.exact
    assert sorted(route.order) == list(range(n))
    assert route.total_km == pytest.approx(brute_force(BERLIN, stops, round_trip), rel=1e-12)
    assert len(route.legs) == n + (1 if round_trip else 0)


def test_obvious_order_along_a_line() -> None:
    # Stops on a meridian north of home, given out of order: the route goes outwards.
    stops = [(52.9, 13.0), (52.1, 13.0), (52.5, 13.0), (52.3, 13.0)]
    route = plan_route((52.0, 13.0), stops)
    assert route.order == (1, 3, 2, 0)
    assert route.legs[0] == pytest.approx(haversine_km((52.0, 13.0), (52.1, 13.0)))
    assert route.total_km == pytest.approx(haversine_km((52.0, 13.0), (52.9, 13.0)))


def test_empty_and_single() -> None:
    assert plan_route(BERLIN, []).order == ()
    assert plan_route(BERLIN, []).total_km == 0
    one = plan_route(BERLIN, [POTSDAM], round_trip=True)
    assert one.order == (0,)
    assert one.total_km == pytest.approx(2 * haversine_km(BERLIN, POTSDAM))


def test_heuristic_beyond_the_exact_limit() -> None:
    rng = random.Random(42)
    stops = [(52 + rng.random(), 13 + rng.random()) for _ in range(EXACT_LIMIT + 6)]
    route = plan_route(BERLIN, stops)
    assert not route.exact
    assert sorted(route.order) == list(range(len(stops)))
    # 2-opt never ends worse than the nearest-neighbour tour it starts from.
    dist = _matrix(BERLIN, stops)
    left, here, greedy = set(range(1, len(stops) + 1)), 0, []
    while left:
        here = min(left, key=lambda k: (dist[here][k], k))
        greedy.append(here)
        left.remove(here)
    assert route.total_km <= path_length(dist, greedy, False) + 1e-9
