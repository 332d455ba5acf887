"""Rank decoder shared by CMA-ES and the GNN-VAE (Meng et al., ICRA 2025, Sec. IV-B: the node-rank
branch orients joint edges, the edge-mode branch picks following edges per region).

``ranks_to_choices`` is feasible by construction (admissible and deadlock-free for any ranks):

* **Modes.** Per region, among the edges that allow following and have a positive score, the
  ``region_cap[r]`` highest scores become following edges; the rest are exclusive.
* **Order.** Nodes are grouped into *units*, contiguous runs of a robot's nodes (initially one
  node each). A unit's key is the smallest rank of its nodes. Units are list-scheduled: repeatedly
  take, among every robot's next unit whose forced predecessors are placed, the one with the
  lowest key; every joint edge is oriented from the earlier to the later unit. This never
  contradicts a robot's own order, but when a robot's intervals overlap it can still deadlock
  (the robot must enter a later interval before leaving an earlier one). The exact timing graph
  is checked; every timing cycle contains such a backward step inside a robot's block, and the
  units it spans are merged (for a set of disjoint cycles at once), then we schedule again.
  Units never grow beyond blocks (maximal runs of overlapping intervals), where the order is
  deadlock-free by construction
  (`planners.scheduling.graph`), so the loop ends with an acyclic timing graph.

Ranks equal to the entry times of any feasible schedule (e.g. the MILP's) decode back to that
schedule's orders exactly: entries are sorted along each robot, every joint edge already goes
from the earlier to the later entry, and the timing graph is acyclic, so no merge happens.
"""
from __future__ import annotations

import numpy as np

from planners.scheduling.evaluate import Choices, find_cycles, timing_edges
from planners.scheduling.graph import CoordGraph, list_schedule

MAX_MERGE_ROUNDS = 256  # then fall back to whole blocks (always deadlock-free)


def _check_ranks(graph: CoordGraph, ranks: np.ndarray) -> np.ndarray:
    ranks = np.asarray(ranks, dtype=float).reshape(-1)
    if ranks.shape != (graph.n_nodes,):
        raise ValueError(f"ranks: expected shape ({graph.n_nodes},) (one per node), got "
                         f"{ranks.shape}")
    if not np.all(np.isfinite(ranks)):
        raise ValueError("ranks: contains NaN or infinite values")
    return ranks


def select_following(graph: CoordGraph, mode_scores: np.ndarray | None = None) -> np.ndarray:
    """Top-k following per region within its cap. ``mode_scores`` (E,): edges with a score > 0
    are candidates (default: every edge that allows following, scored by its overlap length)."""
    E = graph.n_edges
    if mode_scores is None:
        score = graph.edge_gain.astype(float)
    else:
        score = np.asarray(mode_scores, dtype=float).reshape(-1)
        if score.shape != (E,):
            raise ValueError(f"mode_scores: expected shape ({E},) (one per joint edge), got "
                             f"{score.shape}")
        if np.isnan(score).any():
            raise ValueError("mode_scores: contains NaN")
    cand = np.nonzero(graph.edge_follow_ok & (score > 0))[0]
    follow = np.zeros(E, dtype=bool)
    if len(cand) == 0:
        return follow
    reg = graph.edge_region[cand]
    order = np.lexsort((cand, -score[cand], reg))  # by region, best score first, stable ids
    reg_sorted = reg[order]
    first_of_region = np.searchsorted(reg_sorted, reg_sorted, side="left")
    rank_in_region = np.arange(len(order)) - first_of_region
    keep = rank_in_region < graph.region_cap[reg_sorted]
    follow[cand[order[keep]]] = True
    return follow


def _orient(graph: CoordGraph, unit_start: np.ndarray, ranks: np.ndarray) -> np.ndarray | None:
    """List-schedule the units given by ``unit_start`` (True where a node opens a new unit) and
    return ``first`` per joint edge, or None if forced orders cannot be met at this grain."""
    unit = np.cumsum(unit_start) - 1
    n_units = int(unit[-1]) + 1 if len(unit) else 0
    unit_robot = np.empty(n_units, np.int64)
    unit_robot[unit] = graph.node_robot
    robot_unit_ptr = np.searchsorted(unit_robot, np.arange(graph.n_robots + 1))
    key = np.full(n_units, np.inf)
    np.minimum.at(key, unit, ranks)
    u, v = graph.joint_edges
    forced = graph.edge_forced
    fu = forced != 0
    fsrc = unit[np.where(forced > 0, u, v)[fu]]
    fdst = unit[np.where(forced > 0, v, u)[fu]]
    pos = list_schedule(graph.n_robots, unit_robot, robot_unit_ptr,
                        np.stack([fsrc, fdst]).astype(np.int64), key)
    if (pos < 0).any():
        return None
    return pos[unit[u]] < pos[unit[v]]


def ranks_to_choices(graph: CoordGraph, ranks: np.ndarray,
                     mode_scores: np.ndarray | None = None) -> Choices:
    """Decode node ranks (V,) and optional edge mode scores (E,) into admissible, deadlock-free
    `Choices` (see module docstring). Lower rank = goes earlier."""
    ranks = _check_ranks(graph, ranks)
    follow = select_following(graph, mode_scores)
    V = graph.n_nodes
    if V == 0:
        return Choices(first=np.zeros(0, bool), follow=follow)
    unit_start = np.ones(V, dtype=bool)
    block_start = np.ones(V, dtype=bool)
    block_start[1:] = graph.node_block[1:] != graph.node_block[:-1]
    n_ev = 2 * V + graph.n_robots
    for _ in range(MAX_MERGE_ROUNDS):
        first = _orient(graph, unit_start, ranks)
        if first is None:
            break
        ch = Choices(first=first, follow=follow)
        src, dst, _ = timing_edges(graph, ch)
        cycles = find_cycles(n_ev, src, dst)
        if not cycles:
            return ch
        merged = False
        for cyc in cycles:
            for a, b in zip(cyc, cyc[1:] + cyc[:1]):
                na, nb = a % V, b % V  # events -> nodes (goals never lie on a cycle)
                if a < 2 * V and b < 2 * V and graph.node_robot[na] == graph.node_robot[nb] \
                        and nb < na and unit_start[nb + 1:na + 1].any():
                    unit_start[nb + 1:na + 1] = False  # robot steps back to an earlier unit
                    merged = True
        unit_start |= block_start
        if not merged:  # cannot happen (see docstring); keep the guarantee regardless
            break
    first = _orient(graph, block_start, ranks)
    if first is None:  # graph construction checked block-level feasibility
        raise AssertionError("forced orders infeasible at block level despite graph check")
    return Choices(first=first, follow=follow)


def ranks_from_entry_times(entry_times: np.ndarray) -> np.ndarray:
    """Rank labels from a feasible schedule (e.g. the MILP's): each node's entry time. Decoding
    them reproduces the schedule's orders exactly (module docstring)."""
    t = np.asarray(entry_times, dtype=float).copy()
    if not np.all(np.isfinite(t)):
        raise ValueError("entry_times: contains NaN or infinite values (deadlocked schedule?)")
    return t
