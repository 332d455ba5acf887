"""GATv2 actor-critic over each agent's local k-nearest-neighbour graph (built with torch.cdist,
no torch-scatter needed).

Node features (world axes): goal offset (clipped to 2 m), own velocity, the two nearest obstacle
closest points (offset, clearance, present-flag), and a random tag in [0, 1) drawn once per agent
and episode (random node features, Sato, Yamada, Kashima, SDM 2021: they let a GNN tell otherwise
identical agents apart, so it can learn asymmetric yielding in symmetric jams such as circle swaps). Edge features j -> i: relative
position, relative velocity, barrier clearance ``||dp|| - D``. Output per agent: a 2-vector of raw
actions ``z`` (Gaussian policy) and a value. ``z[0]`` maps to alpha on a log scale in
``[alpha_min, 1/dt]``, ``z[1]`` to a rotation of the nominal input in ``[-max_turn, max_turn]``
(the learned perturbation that breaks symmetric deadlocks; the CBF-QP still filters the result).
GATv2: Brody, Alon, Yahav, "How Attentive are Graph Attention Networks?", ICLR 2022.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch_geometric.nn import GATv2Conv

N_OBS = 2  # nearest obstacle points per agent fed to the network
NODE_F = 5 + 4 * N_OBS
EDGE_F = 5


@dataclass(frozen=True)
class PolicyConfig:
    hidden: int = 64
    heads: int = 2
    k: int = 8
    sense_radius: float = 1.5
    diameter: float = 0.31        # safety distance D used for the clearance feature (m)
    u_max: float = 0.5            # m/s, velocity feature scale
    dt: float = 0.05
    alpha_min: float = 0.2
    alpha_init: float = 5.0       # initial mean alpha (the best fixed alpha is the starting point)
    max_turn: float = 0.8         # rad, bound of the nominal rotation

    def to_json(self) -> dict:
        return asdict(self)


def alpha_from_raw(z: torch.Tensor, cfg: PolicyConfig) -> torch.Tensor:
    lo, hi = math.log(cfg.alpha_min), math.log(1.0 / cfg.dt)
    return torch.exp(lo + torch.sigmoid(z) * (hi - lo))


def turn_from_raw(z: torch.Tensor, cfg: PolicyConfig) -> torch.Tensor:
    return cfg.max_turn * torch.tanh(z)


def knn_graph(pos: torch.Tensor, k: int, radius: float) -> tuple[torch.Tensor, torch.Tensor]:
    """pos (B, N, 2) -> edge_index (2, E) over the flattened B*N nodes (src = neighbour j, dst = i),
    at most k neighbours within ``radius``; and the flat (B*N) batch offsets are implicit."""
    b, n, _ = pos.shape
    kk = min(k, n - 1)
    if kk <= 0:
        return torch.zeros(2, 0, dtype=torch.long), torch.zeros(0, dtype=torch.bool)
    d = torch.cdist(pos, pos)
    d = d + torch.eye(n, dtype=pos.dtype) * 1e9
    dist, j = torch.topk(d, kk, dim=2, largest=False)              # (B, N, kk)
    keep = dist <= radius
    off = (torch.arange(b) * n)[:, None, None]
    i = torch.arange(n)[None, :, None].expand(b, n, kk)
    src = (j + off)[keep]
    dst = (i + off)[keep]
    return torch.stack([src, dst]), keep


def node_edge_features(pos: torch.Tensor, vel: torch.Tensor, goal: torch.Tensor, obst: torch.Tensor,
                       tag: torch.Tensor, cfg: PolicyConfig) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """pos/vel/goal (B, N, 2), obst (B, N, N_OBS, 2) closest obstacle points (NaN = absent), tag (B, N).
    Returns x (B*N, NODE_F), edge_index, edge_attr."""
    b, n, _ = pos.shape
    g = goal - pos
    gn = g.norm(dim=-1, keepdim=True)
    g = g * torch.clamp(2.0 / gn.clamp_min(1e-9), max=1.0)
    present = ~torch.isnan(obst[..., 0])
    dq = torch.nan_to_num(obst - pos[:, :, None, :], nan=0.0) / cfg.sense_radius
    clr = torch.where(present, dq.norm(dim=-1), torch.ones_like(dq[..., 0]))
    of = torch.cat([dq, clr[..., None], present[..., None].to(pos.dtype)], dim=-1).reshape(b, n, -1)
    x = torch.cat([g / 2.0, vel / cfg.u_max, of, tag[..., None]], dim=-1).reshape(b * n, -1)
    ei, _ = knn_graph(pos, cfg.k, cfg.sense_radius)
    pf, vf = pos.reshape(b * n, 2), vel.reshape(b * n, 2)
    dp = pf[ei[0]] - pf[ei[1]]
    dv = vf[ei[0]] - vf[ei[1]]
    dist = dp.norm(dim=-1, keepdim=True)
    ea = torch.cat([dp / cfg.sense_radius, dv / cfg.u_max, (dist - cfg.diameter) / cfg.sense_radius], dim=-1)
    return x, ei, ea


class OnlineCBFPolicy(nn.Module):
    """Shared-parameter actor-critic: two GATv2 layers, per-agent Gaussian head and value head."""

    def __init__(self, cfg: PolicyConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or PolicyConfig()
        h = self.cfg.hidden
        self.enc = nn.Sequential(nn.Linear(NODE_F, h), nn.Tanh())
        self.g1 = GATv2Conv(h, h, heads=self.cfg.heads, concat=False, edge_dim=EDGE_F, add_self_loops=False)
        self.g2 = GATv2Conv(h, h, heads=self.cfg.heads, concat=False, edge_dim=EDGE_F, add_self_loops=False)
        self.pi = nn.Sequential(nn.Linear(2 * h, h), nn.Tanh(), nn.Linear(h, 2))
        self.v = nn.Sequential(nn.Linear(2 * h, h), nn.Tanh(), nn.Linear(h, 1))
        self.log_std = nn.Parameter(torch.full((2,), -0.3))
        with torch.no_grad():  # start at the best fixed alpha, no rotation, small weights on top
            self.pi[-1].weight.mul_(0.01)
            lo, hi = math.log(self.cfg.alpha_min), math.log(1 / self.cfg.dt)
            s = (math.log(self.cfg.alpha_init) - lo) / (hi - lo)
            self.pi[-1].bias.copy_(torch.tensor([math.log(s / (1 - s)), 0.0]))

    def forward(self, pos: torch.Tensor, vel: torch.Tensor, goal: torch.Tensor,
                obst: torch.Tensor, tag: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, N, ...) inputs -> raw action mean (B, N, 2), value (B, N)."""
        b, n, _ = pos.shape
        x, ei, ea = node_edge_features(pos, vel, goal, obst, tag, self.cfg)
        h0 = self.enc(x)
        h1 = torch.tanh(self.g1(h0, ei, ea)) + h0
        h2 = torch.tanh(self.g2(h1, ei, ea)) + h1
        z = torch.cat([h0, h2], dim=-1)
        return self.pi(z).reshape(b, n, 2), self.v(z).reshape(b, n)

    @torch.no_grad()
    def act(self, pos, vel, goal, obst, tag):
        """numpy (N, 2) arrays (obst (N, N_OBS, 2), NaN = absent; tag (N,)) -> alpha (N,), turn (N,)
        (the mean action)."""
        t = lambda a: torch.as_tensor(a, dtype=torch.float32)[None]  # noqa: E731
        mu, _ = self(t(pos), t(vel), t(goal), t(obst), t(tag))
        mu = mu[0]
        return (alpha_from_raw(mu[:, 0], self.cfg).double().numpy(),
                turn_from_raw(mu[:, 1], self.cfg).double().numpy())
