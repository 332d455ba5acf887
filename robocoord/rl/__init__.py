"""Reinforcement-learning adapters over robocoord worlds (PettingZoo)."""
from robocoord.rl.grid_env import GridMAPFParallelEnv, local_windows

__all__ = ["GridMAPFParallelEnv", "local_windows"]
