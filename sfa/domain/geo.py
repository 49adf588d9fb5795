"""Distances and visit routing: pure functions, no I/O.

Distances are great-circle (haversine) kilometres on a sphere of radius 6371.0088 km (the mean
Earth radius): a fair stand-in for driving order, not for driving time.

Routing is an open path that starts at a fixed point (the rep's home) and visits every stop once;
with ``round_trip`` it also returns to the start. Up to :data:`EXACT_LIMIT` stops the optimum is
found exactly (Held-Karp dynamic programming over subsets, O(n² 2ⁿ)); beyond that, nearest
neighbour followed by 2-opt improvement, which is fast and usually within a few per cent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

EARTH_RADIUS_KM = 6371.0088
EXACT_LIMIT = 9

Point = tuple[float, float]  # (latitude, longitude) in degrees


def haversine_km(a: Point, b: Point) -> float:
    lat1, lon1 = math.radians(a[0]), math.radians(a[1])
    lat2, lon2 = math.radians(b[0]), math.radians(b[1])
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class Route:
    order: tuple[int, ...]  # indexes into the stops, in driving order
    legs: tuple[float, ...]  # km of each leg: start→first, ..., (last→start if round trip)
    exact: bool  # True when the order is proven shortest

    @property
    def total_km(self) -> float:
        return sum(self.legs)


def _matrix(start: Point, stops: Sequence[Point]) -> list[list[float]]:
    """Distances between node 0 (the start) and nodes 1..n (the stops)."""
    nodes = [start, *stops]
    return [[haversine_km(p, q) for q in nodes] for p in nodes]


def path_length(dist: Sequence[Sequence[float]], order: Sequence[int], round_trip: bool) -> float:
    """Length of start → order... (node numbers 1..n) [→ start]."""
    total, here = 0.0, 0
    for node in order:
        total += dist[here][node]
        here = node
    if round_trip and order:
        total += dist[here][0]
    return total


def _held_karp(dist: Sequence[Sequence[float]], n: int, round_trip: bool) -> list[int]:
    full = (1 << n) - 1
    inf = math.inf
    # best[mask][j]: shortest path from the start through the stops in mask, ending at stop j.
    best = [[inf] * n for _ in range(1 << n)]
    parent = [[-1] * n for _ in range(1 << n)]
    for j in range(n):
        best[1 << j][j] = dist[0][j + 1]
    for mask in range(1, full + 1):
        row = best[mask]
        for j in range(n):
            here = row[j]
            if here == inf or not mask & (1 << j):
                continue
            for k in range(n):
                if mask & (1 << k):
                    continue
                nxt = mask | (1 << k)
                cost = here + dist[j + 1][k + 1]
                if cost < best[nxt][k]:
                    best[nxt][k] = cost
                    parent[nxt][k] = j
    ends = [best[full][j] + (dist[j + 1][0] if round_trip else 0.0) for j in range(n)]
    last = min(range(n), key=lambda j: (ends[j], j))
    order: list[int] = []
    mask = full
    while last != -1:
        order.append(last + 1)
        previous = parent[mask][last]
        mask &= ~(1 << last)
        last = previous
    return order[::-1]


def _nearest_neighbour(dist: Sequence[Sequence[float]], n: int) -> list[int]:
    left = set(range(1, n + 1))
    order: list[int] = []
    here = 0
    while left:
        here = min(left, key=lambda k: (dist[here][k], k))
        order.append(here)
        left.remove(here)
    return order


def _two_opt(dist: Sequence[Sequence[float]], order: list[int], round_trip: bool) -> list[int]:
    best = order[:]
    best_len = path_length(dist, best, round_trip)
    improved = True
    while improved:
        improved = False
        for i in range(len(best) - 1):
            for j in range(i + 1, len(best)):
                candidate = best[:i] + best[i : j + 1][::-1] + best[j + 1 :]
                length = path_length(dist, candidate, round_trip)
                if length < best_len - 1e-9:
                    best, best_len, improved = candidate, length, True
    return best


def plan_route(start: Point, stops: Sequence[Point], *, round_trip: bool = False) -> Route:
    """The visiting order of ``stops`` from ``start`` with the shortest total distance."""
    n = len(stops)
    if n == 0:
        return Route((), (), True)
    dist = _matrix(start, stops)
    exact = n <= EXACT_LIMIT
    order = (
        _held_karp(dist, n, round_trip) if exact else _two_opt(dist, _nearest_neighbour(dist, n), round_trip)
    )
    legs: list[float] = []
    here = 0
    for node in order:
        legs.append(dist[here][node])
        here = node
    if round_trip:
        legs.append(dist[here][0])
    return Route(tuple(k - 1 for k in order), tuple(legs), exact)
