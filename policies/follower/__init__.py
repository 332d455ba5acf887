"""A decentralised learned lifelong-MAPF planner in the spirit of Follower (Skrynnik, Andreychuk,
Nesterova, Yakovlev, Panov, "Learn to Follow: Decentralized Lifelong Multi-agent Pathfinding via
Planning and Learning", AAAI 2024): every agent plans its own shortest path on the static map and a
small convolutional policy, looking only at an 11x11 window around the agent (obstacles, other
agents, its planned path, its goal), picks the action that follows the path or gives way.

Here the policy is trained by imitation of the centralised PIBT planner with density guidance
(``python -m policies.follower.train``), not by PPO as in the paper; see weights/README.md.
"""
from policies.follower.features import FollowerFeatures
from policies.follower.model import FollowerNet, load_policy

__all__ = ["FollowerFeatures", "FollowerNet", "load_policy"]
