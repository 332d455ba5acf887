"""Executing grid MAPF plans on real robots that are late, early or stopped: the action dependency
graph, and PIBT plans without the one-step rotations an ADG cannot execute."""
from planners.mapf_exec.adg import ADG, build_adg
from planners.mapf_exec.rotations import RotationFreePIBT, dependency_cycle, rotation_cycles

__all__ = ["ADG", "RotationFreePIBT", "build_adg", "dependency_cycle", "rotation_cycles"]
