"""Passing-order scheduling on fixed reference paths (Meng et al., ICRA 2025): instances,
coordination graph, exact evaluator, MILP oracle, rank decoder and classic baselines.
Pure numpy + pulp; no simulator imports."""
