"""Passing-order scheduling on fixed reference paths (Meng et al., "Reliable and Efficient
Multi-Agent Coordination via Graph Neural Network Variational Autoencoders", ICRA 2025):
instances, coordination graph, exact evaluator, MILP oracle, rank decoder and classic baselines.
Pure numpy + shapely + pulp; no simulator imports.

Typical use::

    rng = np.random.default_rng(0)
    inst = open_area_instance(25, rng)
    g = build_graph(inst)
    fifo_result = fifo(g)                        # deadlock-free by construction
    milp = solve_milp(g, time_limit=30)          # oracle: status, objective, bound, gap
    choices = ranks_to_choices(g, ranks, mode_scores)   # what the GNN-VAE decodes
    schedule = evaluate(g, choices)              # exact earliest schedule, objective
"""
from planners.scheduling.baselines import BaselineResult, CMAES, cma_es, fifo, random_priorities
from planners.scheduling.decode import ranks_from_entry_times, ranks_to_choices, select_following
from planners.scheduling.evaluate import Choices, Schedule, check_choices, evaluate
from planners.scheduling.graph import (CoordGraph, InfeasibleInstanceError, Sections, build_graph,
                                       find_sections, graph_from_sections)
from planners.scheduling.instances import (SchedulingInstance, intersection_instance,
                                           open_area_instance, warehouse_instance)
from planners.scheduling.milp import MilpResult, solve_milp

__all__ = [
    "BaselineResult", "CMAES", "Choices", "CoordGraph", "InfeasibleInstanceError", "MilpResult",
    "Schedule", "SchedulingInstance", "Sections", "build_graph", "check_choices", "cma_es",
    "evaluate", "fifo", "find_sections", "graph_from_sections", "intersection_instance",
    "open_area_instance", "random_priorities", "ranks_from_entry_times", "ranks_to_choices",
    "select_following", "solve_milp", "warehouse_instance",
]
