"""Exact evaluator: with every joint edge's direction and type fixed, the earliest schedule is a
longest path in the event-level timing DAG (Meng et al., ICRA 2025, Sec. III-B).

Timing model. Robot i moves at most at ``speed[i]`` along its path and may wait anywhere. For
each node v (interval ``[L, U]`` of robot i) there are two events, entry (centre reaches L) and
exit (centre reaches U), plus a goal event per robot. Constraints, all of the form
``t[b] >= t[a] + w``:

* chain: consecutive events of a robot (sorted by arc length) ``w = ds / speed``; every event
  also has ``t >= release + s / speed``;
* exclusive edge, f first, g second: ``entry(g) >= exit(f)``;
* following edge, f leads, g follows: ``entry(g) >= entry(f) + headway`` and
  ``exit(g) >= exit(f) + headway``.

The least solution (earliest times) is computed in topological order, O(V + E). A cycle means
no finite schedule exists: the result has ``deadlock=True`` and ``objective=inf``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from planners.scheduling.graph import CoordGraph


@dataclass(frozen=True, eq=False)
class Choices:
    """One decision per joint edge ``(u, v)`` of a `CoordGraph`: ``first[e]`` is True when u's
    robot goes first, ``follow[e]`` True for a following (else exclusive) edge."""

    first: np.ndarray
    follow: np.ndarray

    @staticmethod
    def of(graph: CoordGraph, first: np.ndarray, follow: np.ndarray | None = None) -> "Choices":
        first = np.asarray(first, dtype=bool).reshape(-1)
        follow = (np.zeros(graph.n_edges, bool) if follow is None
                  else np.asarray(follow, dtype=bool).reshape(-1))
        if first.shape != (graph.n_edges,) or follow.shape != (graph.n_edges,):
            raise ValueError(f"choices: expected first/follow of shape ({graph.n_edges},), got "
                             f"{first.shape} and {follow.shape}")
        return Choices(first, follow)


@dataclass(frozen=True, eq=False)
class Schedule:
    """Earliest schedule for fixed choices. Times in seconds; NaN where a deadlock leaves an
    event unreachable."""

    entry: np.ndarray        # (V,)
    exit: np.ndarray         # (V,)
    completion: np.ndarray   # (N,)
    objective: float         # mean completion time (inf when deadlocked)
    deadlock: bool
    violations: list[str] = field(default_factory=list)  # broken forced order / mode / cap rules

    @property
    def feasible(self) -> bool:
        return not self.deadlock and not self.violations


def check_choices(graph: CoordGraph, choices: Choices) -> list[str]:
    """Rule violations other than deadlock: forced orders, following on an edge that does not
    allow it, region caps. Empty list when the choices are admissible."""
    out = []
    bad = np.nonzero(((graph.edge_forced > 0) & ~choices.first) |
                     ((graph.edge_forced < 0) & choices.first))[0]
    if len(bad):
        out.append(f"{len(bad)} joint edge(s) break a forced order (first: edge {int(bad[0])})")
    bad = np.nonzero(choices.follow & ~graph.edge_follow_ok)[0]
    if len(bad):
        out.append(f"{len(bad)} following edge(s) where paths do not share a direction "
                   f"(first: edge {int(bad[0])})")
    if graph.n_regions:
        used = np.bincount(graph.edge_region[choices.follow], minlength=graph.n_regions)
        over = np.nonzero(used > graph.region_cap)[0]
        if len(over):
            r = int(over[0])
            out.append(f"{len(over)} region(s) over their following cap (region {r}: "
                       f"{int(used[r])} > {int(graph.region_cap[r])})")
    return out


def timing_edges(graph: CoordGraph, choices: Choices) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All timing constraints ``t[dst] >= t[src] + w`` as ``(src, dst, w)`` event arrays."""
    V = graph.n_nodes
    u, v = graph.joint_edges
    f = np.where(choices.first, u, v)
    g = np.where(choices.first, v, u)
    ex = ~choices.follow
    fo = choices.follow
    h = graph.headway
    src = np.concatenate([graph.chain_src, V + f[ex], f[fo], V + f[fo]])
    dst = np.concatenate([graph.chain_dst, g[ex], g[fo], V + g[fo]])
    w = np.concatenate([graph.chain_w, np.zeros(int(ex.sum())), np.full(int(fo.sum()), h),
                        np.full(int(fo.sum()), h)])
    return src, dst, w


def _kahn(n_events: int, src: np.ndarray, dst: np.ndarray, w: np.ndarray | None,
          base: np.ndarray | None) -> tuple[list | None, list]:
    """Kahn's topological sweep; with ``w``/``base`` also the longest-path times. Returns
    ``(times or None, remaining in-degrees)`` (non-zero in-degree = on or behind a cycle)."""
    order = np.argsort(src, kind="stable")
    dst_s = dst[order].tolist()
    ptr = np.searchsorted(src[order], np.arange(n_events + 1)).tolist()
    deg = np.bincount(dst, minlength=n_events).tolist()
    stack = [e for e in range(n_events) if deg[e] == 0]
    if w is None:
        while stack:
            a = stack.pop()
            for k in range(ptr[a], ptr[a + 1]):
                b = dst_s[k]
                deg[b] -= 1
                if deg[b] == 0:
                    stack.append(b)
        return None, deg
    w_s = w[order].tolist()
    t = base.astype(float).tolist()
    while stack:
        a = stack.pop()
        ta = t[a]
        for k in range(ptr[a], ptr[a + 1]):
            b = dst_s[k]
            tb = ta + w_s[k]
            if tb > t[b]:
                t[b] = tb
            deg[b] -= 1
            if deg[b] == 0:
                stack.append(b)
    return t, deg


def earliest_times(n_events: int, base: np.ndarray, src: np.ndarray, dst: np.ndarray,
                   w: np.ndarray) -> tuple[np.ndarray, bool]:
    """Longest-path earliest times (Kahn's topological order). Returns ``(t, deadlock)``; events
    on or behind a cycle get NaN."""
    t, deg = _kahn(n_events, src, dst, w, base)
    t_arr = np.asarray(t)
    left = np.asarray(deg) > 0
    if left.any():
        t_arr[left] = np.nan
        return t_arr, True
    return t_arr, False


def evaluate(graph: CoordGraph, choices: Choices) -> Schedule:
    """Earliest schedule and mean completion time for fixed choices (never raises on a
    deadlock; see `Schedule.deadlock` and `Schedule.violations`)."""
    V, N = graph.n_nodes, graph.n_robots
    src, dst, w = timing_edges(graph, choices)
    t, deadlock = earliest_times(2 * V + N, graph.event_base, src, dst, w)
    completion = t[2 * V:]
    obj = float("inf") if deadlock else float(completion.mean()) if N else 0.0
    return Schedule(entry=t[:V], exit=t[V:2 * V], completion=completion, objective=obj,
                    deadlock=deadlock, violations=check_choices(graph, choices))


def find_cycles(n_events: int, src: np.ndarray, dst: np.ndarray) -> list[list[int]]:
    """Vertex-disjoint cycles of the timing graph (each in arc order); empty when acyclic.
    Every strongly connected part left after Kahn's algorithm yields at least one."""
    _, deg = _kahn(n_events, src, dst, None, None)
    left = np.asarray(deg) > 0
    if not left.any():
        return []
    # every remaining event has a remaining predecessor: walk predecessors until one repeats
    keep = left[src] & left[dst]
    d_keep, first_idx = np.unique(dst[keep], return_index=True)
    pred_arr = np.full(n_events, -1, np.int64)
    pred_arr[d_keep] = src[keep][first_idx]
    pred = pred_arr.tolist()
    visited: dict[int, int] = {}  # event -> walk id
    cycles = []
    for w, e in enumerate(np.nonzero(left)[0].tolist()):
        if e in visited:
            continue
        walk = []
        while e not in visited:
            visited[e] = w
            walk.append(e)
            e = pred[e]
        if visited[e] == w:  # closed on this walk: a new cycle
            cycles.append(walk[walk.index(e):][::-1])
    return cycles
