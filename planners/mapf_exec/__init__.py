"""Executing grid MAPF plans on real robots that are late, early or stopped: the action dependency graph."""
from planners.mapf_exec.adg import ADG, build_adg

__all__ = ["ADG", "build_adg"]
