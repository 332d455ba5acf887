"""Static guidance from the map alone: soft one-way "highways" as per-move costs.

Distance tables computed with these costs (`DistanceTables(edge_cost=...)`) steer PIBT's
candidate order so that traffic sorts itself into lanes instead of meeting head-on:

* single-lane corridors (a free cell whose only free neighbours are its two neighbours along one
  axis) become one-way-ish: going against costs ``corridor_penalty`` extra moves; directions
  alternate between neighbouring corridors (by the rank of the corridor's column, or row), so
  two parallel passages carry the two directions;
* every other move gets a weak crisscross pattern (``lane_penalty``): even rows prefer right,
  odd rows left, even columns down, odd columns up.

Highways on warehouse maps: Li et al., "Lifelong Multi-Agent Path Finding in Large-Scale
Warehouses", AAAI 2021; edge-cost guidance for lifelong MAPF: Zhang et al., "Guidance Graph
Optimization for Lifelong Multi-Agent Path Finding", IJCAI 2024 (who optimise the costs; here
they are a fixed rule of the map's geometry).
"""
from __future__ import annotations

import numpy as np

from planners.mapf.graph import GridGraph


def highway_costs(graph: GridGraph, corridor_penalty: float = 10.0, lane_penalty: float = 0.5,
                  scale: int = 4) -> np.ndarray:
    """``(F + 1, 5)`` int32 cost of leaving each node by each action, in units of 1/``scale`` move:
    ``scale`` for a move with the highway, plus the rounded penalty times ``scale`` against it."""
    if corridor_penalty < 0 or lane_penalty < 0 or scale < 1:
        raise ValueError("highway_costs: expected corridor_penalty >= 0, lane_penalty >= 0, scale >= 1")
    F = graph.F
    r, c = graph.cell_of[:, 0], graph.cell_of[:, 1]
    free = graph.nbr[:F, 1:] < F                                    # up, down, left, right
    v_corr = free[:, 0] & free[:, 1] & ~free[:, 2] & ~free[:, 3]
    h_corr = free[:, 2] & free[:, 3] & ~free[:, 0] & ~free[:, 1]
    # a move is a corridor move when its source or its target is a corridor cell of its axis
    v, h = np.append(v_corr, False), np.append(h_corr, False)      # sentinel: no corridor
    in_corr = [axis[:F] | axis[graph.nbr[:F, a]] for a, axis in zip(range(1, 5), (v, v, h, h))]
    down = c % 2 == 0                          # lane directions
    right = r % 2 == 0
    down_corr = np.searchsorted(np.unique(c[v_corr]), c) % 2 == 0    # alternate by corridor rank
    right_corr = np.searchsorted(np.unique(r[h_corr]), r) % 2 == 0
    pen_lane, pen_corr = int(round(lane_penalty * scale)), int(round(corridor_penalty * scale))
    cost = np.full((F + 1, 5), scale, dtype=np.int32)
    against_corr = [down_corr, ~down_corr, right_corr, ~right_corr]     # up, down, left, right
    against_lane = [down, ~down, right, ~right]
    for a in range(1, 5):
        cost[:F, a] += np.where(in_corr[a - 1], pen_corr * against_corr[a - 1], pen_lane * against_lane[a - 1])
    return cost


# Density rule for the highway weights: agents per free cell -> (corridor_penalty, lane_penalty),
# interpolated linearly between these points and constant outside. Tuned by a grid search on the
# POGEMA wfi_warehouse map (6 seeds, 256 steps; see BENCHMARKS.md): weak lanes pay at low density,
# where detours cost more than head-on meetings, strong ones at high density.
DENSITY_POINTS = np.array([0.025, 0.05, 0.075])
CORRIDOR_AT = np.array([2.0, 3.0, 10.0])
LANE_AT = np.array([0.2, 0.3, 0.5])


def density_guidance(n_agents: int, n_free: int) -> tuple[float, float]:
    """``(corridor_penalty, lane_penalty)`` for ``n_agents`` on a map with ``n_free`` free cells."""
    if n_free <= 0:
        raise ValueError("density_guidance: the map has no free cell")
    rho = n_agents / n_free
    return float(np.interp(rho, DENSITY_POINTS, CORRIDOR_AT)), float(np.interp(rho, DENSITY_POINTS, LANE_AT))
