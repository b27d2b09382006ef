"""Two objectives at once: a value to maximise (AP) and a cost to minimise (latency, FLOPs).

Points are `(cost, value)` pairs. The front is the set no other point beats on both; the ranks of
non-dominated sorting (Deb et al. 2002, NSGA-II) peel fronts off one after another, and crowding
distance prefers the points with the emptiest neighbourhood within a front. The hypervolume is the
area the front dominates up to a reference point (`ref_cost`, `ref_value`): the one number that
grows with both a better and a wider front, so two searches are compared by it at equal budget.
With two objectives all of these are a sort and a sweep; no library is needed for them.
"""

from __future__ import annotations

import math
from typing import Sequence

Point = tuple[float, float]  # (cost, value)


def dominates(a: Point, b: Point) -> bool:
    """`a` is no worse than `b` on both objectives and better on one."""
    return a[0] <= b[0] and a[1] >= b[1] and (a[0] < b[0] or a[1] > b[1])


def pareto_front(points: Sequence[Point]) -> list[Point]:
    """The points no other point dominates, by increasing cost (one of equal duplicates kept)."""
    front: list[Point] = []
    for cost, value in sorted(points, key=lambda p: (p[0], -p[1])):
        if not front or value > front[-1][1]:
            front.append((cost, value))
    return front


def front_indices(points: Sequence[Point]) -> list[int]:
    """Indices of the non-dominated points (every copy of a front point), by increasing cost."""
    return [i for i in sorted(range(len(points)), key=lambda i: points[i]) if not any(dominates(q, points[i]) for q in points)]


def nondominated_ranks(points: Sequence[Point]) -> list[int]:
    """Rank of each point: 0 on the front, 1 on the front of the rest, and so on."""
    ranks = [-1] * len(points)
    left = set(range(len(points)))
    rank = 0
    while left:
        layer = {i for i in left if not any(dominates(points[j], points[i]) for j in left if j != i)}
        for i in layer:
            ranks[i] = rank
        left -= layer
        rank += 1
    return ranks


def crowding(points: Sequence[Point], members: Sequence[int]) -> dict[int, float]:
    """Crowding distance of each index in `members` (one front): the ends get infinity, the others
    the normalised side lengths of the box their two neighbours span, summed over both objectives."""
    out = {i: 0.0 for i in members}
    if len(members) <= 2:
        return {i: math.inf for i in members}
    for axis in (0, 1):
        order = sorted(members, key=lambda i: points[i][axis])
        lo, hi = points[order[0]][axis], points[order[-1]][axis]
        out[order[0]] = out[order[-1]] = math.inf
        if hi == lo:
            continue
        for k in range(1, len(order) - 1):
            out[order[k]] += (points[order[k + 1]][axis] - points[order[k - 1]][axis]) / (hi - lo)
    return out


def hypervolume(points: Sequence[Point], ref_cost: float, ref_value: float = 0.0) -> float:
    """Area dominated by `points` inside the box cost < `ref_cost`, value > `ref_value`."""
    area, prev_value = 0.0, ref_value
    for cost, value in pareto_front([p for p in points if p[0] < ref_cost and p[1] > ref_value]):
        # The front by increasing cost has increasing value: each point adds the strip above the previous.
        area += (ref_cost - cost) * (value - prev_value)
        prev_value = value
    return area
