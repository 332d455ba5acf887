"""Online CBF controller (Gao, Yang, Prorok, "Online Control Barrier Functions for Decentralized
Multi-Agent Navigation", MRS 2023): every step a GATv2 policy over each agent's local kNN graph picks
the agent's alpha (log scale, at most 1/dt) and a bounded rotation of its nominal input; the same
exact decentralised CBF-QP as ``cbf`` then filters the (rotated) nominal input with that alpha, so
safety never depends on the network. Weights and the training command: policies/online_cbf/weights/.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar

import numpy as np
from pydantic import Field

from robocoord.controller import Commands, Context, Observation
from robocoord.controllers.cbf import FilterParams, FixedAlphaCBF
from robocoord.errors import UserError

_WEIGHTS = Path(__file__).resolve().parents[2] / "policies" / "online_cbf" / "weights"


class OnlineCBFParams(FilterParams):
    sense_radius: float = Field(default=1.5, gt=0, description="neighbours and obstacles farther away are ignored (m); the policy was trained with 1.5")
    weights: str | None = Field(default=None, description="directory with online_cbf.pt + config.json (default: shipped)")


def load_policy(directory: Path | None = None):
    """The shipped (or given) policy, loaded with ``weights_only=True``."""
    import torch

    from policies.online_cbf.model import OnlineCBFPolicy, PolicyConfig

    d = Path(directory) if directory else _WEIGHTS
    pt, cj = d / "online_cbf.pt", d / "config.json"
    if not pt.is_file() or not cj.is_file():
        raise UserError(f"online_cbf: weights not found: expected {pt} and {cj}")
    pol = OnlineCBFPolicy(PolicyConfig(**json.loads(cj.read_text())))
    pol.load_state_dict(torch.load(pt, map_location="cpu", weights_only=True))
    pol.eval()
    return pol


class OnlineCBF(FixedAlphaCBF):
    name = "online_cbf"
    summary = "online CBF: a GATv2 policy picks alpha and a nominal rotation per agent every step; exact CBF-QP filter"
    Params = OnlineCBFParams
    kinds: ClassVar[frozenset[str]] = frozenset({"amr", "uav"})
    decentralised = True

    def reset(self, context: Context) -> None:
        super().reset(context)
        import torch

        torch.set_num_threads(1)
        self._pol = load_policy(Path(self.params.weights) if self.params.weights else None)
        self._turn = np.zeros(context.n)
        # random node tags (drawn once, seeded): let the GNN tell symmetric agents apart
        self._tag = context.rng.uniform(0.0, 1.0, context.n)
        self._polys = list(context.obstacles)  # includes the arena's walls

    def _obstacles(self, pts: np.ndarray) -> np.ndarray | None:
        from planners.cbf.obstacles import closest_points_polygons

        return closest_points_polygons(pts, self._polys, self.params.sense_radius)

    def _nominal(self, obs: Observation, pts: np.ndarray) -> np.ndarray:
        u = super()._nominal(obs, pts).copy()
        c, s = np.cos(self._turn), np.sin(self._turn)  # rotate the horizontal part (UAVs: about z)
        x, y = u[:, 0].copy(), u[:, 1].copy()
        u[:, 0], u[:, 1] = c * x - s * y, s * x + c * y
        return u

    def _point_velocity(self, obs: Observation) -> np.ndarray:
        """Velocity of the filtered point (AMR: v h + l omega n, the policy's training input)."""
        st = obs.state
        if self.context.kind != "amr":
            return st.vel[:, :2]
        c, s = np.cos(st.yaw), np.sin(st.yaw)
        return st.vel[:, :2] + self._l * st.yaw_rate[:, None] * np.column_stack([-s, c])

    def act(self, obs: Observation) -> Commands:
        from policies.online_cbf.env import nearest_obstacles

        pts = self._points(obs)
        xy = pts[:, :2]
        q = self._obstacles(pts)
        obst = nearest_obstacles(None if q is None else q[..., :2], xy)
        alpha, self._turn = self._pol.act(xy, self._point_velocity(obs), obs.goals[:, :2], obst, self._tag)
        cmd = self.filtered(obs, alpha)
        if cmd.overlay is not None:
            cmd.overlay["turn"] = np.round(self._turn, 3).tolist()
        return cmd
