"""The world: pybullet scene, robot kinds and their dynamics, sensors, maps, goal streams.

Imports neither ``planners`` nor ``policies`` nor ``robocoord`` (see DESIGN.md §2).
"""
