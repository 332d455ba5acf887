"""Lifelong multi-agent path finding on 4-connected grids: pure algorithms on numpy arrays.

Planners (all `LifelongPlanner`): `PIBT` (Okumura et al. 2019/2022, optional congestion-aware
guidance), `WindowedPlanner` (RHCR family, Li et al. 2021, prioritised planning), and the naive
`IndependentAStar` baseline. Building blocks: `GridGraph`, `DistanceTables`, `astar`,
`space_time_astar`, `ReservationTable`; utilities `cells_to_actions`, `check_conflicts`.
"""
from planners.mapf.astar import IndependentAStar, ReservationTable, astar, space_time_astar
from planners.mapf.base import LifelongPlanner
from planners.mapf.distance import DistanceTables
from planners.mapf.graph import GridGraph
from planners.mapf.moves import MOVES, cells_to_actions, check_conflicts
from planners.mapf.pibt import PIBT
from planners.mapf.windowed import WindowedPlanner

__all__ = ["DistanceTables", "GridGraph", "IndependentAStar", "LifelongPlanner", "MOVES", "PIBT",
           "ReservationTable", "WindowedPlanner", "astar", "cells_to_actions", "check_conflicts",
           "space_time_astar"]
