"""Actors and critics.

GA-MATR (graph): one heterogeneous graph per episode with UAV and user nodes; directed edges
user -> UAV (every pair) and UAV -> UAV (every ordered pair), edge features = (relative position,
distance) / area. Two GATv2 layers (Brody, Alon, Yahav, ICLR 2022; torch-geometric ``GATv2Conv``)
give UAV embeddings; the actor maps each to 9 move logits (parameters shared by all UAVs, so the same
weights run at any M, U). The critic has its own GATv2 encoder followed by multi-head self-attention
over the UAVs of an episode (an attention critic, as in MAAC, Iqbal & Sha, ICML 2019) -> one value per
UAV. Partial observability is handled by stacking ``history`` frames of UAV positions (displacements
are node features).

MLP ablation (MAPPO, Yu et al., NeurIPS 2022 benchmarks): per-UAV vector = own position, displacement
history, the 3 nearest other UAVs (relative), a 5x5 histogram of user positions and of their last rates;
centralised MLP critic over the mean of all agents' vectors and the agent's own.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch_geometric.nn import GATv2Conv

HIST_BINS = 5


def node_features(hist: np.ndarray, users: np.ndarray, user_rate: np.ndarray, area: float,
                  speed: float, rate_scale: float, version: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(E, M, F) UAV and (E, U, F) user features. ``hist`` (E, H, M, 2) oldest first.

    Version 2 adds two egocentric vectors to each UAV (x5 / area): to the centroid of the users nearest
    to it and to its nearest other UAV. GATv2's edge features only enter the attention scores, not the
    messages, so without them a UAV sees its users only as an attention-weighted mean of absolute
    positions (version 1, which trained poorly)."""
    E, H, M, _ = hist.shape
    U = users.shape[1]
    disp = np.diff(hist, axis=1).transpose(0, 2, 1, 3).reshape(E, M, 2 * (H - 1)) / max(speed, 1e-9)
    assoc = np.argmin(np.linalg.norm(hist[:, -1, :, None] - users[:, None], axis=-1), axis=1)  # (E, U)
    load = np.stack([np.bincount(a, minlength=M) for a in assoc]) / U
    uav = np.concatenate([hist[:, -1] / area, disp, np.ones((E, M, 1)), np.zeros((E, M, 1)), load[..., None]], -1)
    usr = np.concatenate([users / area, np.zeros((E, U, 2 * (H - 1))), np.zeros((E, U, 1)), np.ones((E, U, 1)),
                          (user_rate / rate_scale)[..., None]], -1)
    if version >= 2:
        pos = hist[:, -1]
        onehot = (assoc[:, None, :] == np.arange(M)[None, :, None]).astype(float)  # (E, M, U)
        cnt = onehot.sum(-1, keepdims=True)
        cen = np.where(cnt > 0, onehot @ users / np.maximum(cnt, 1), pos)
        d = np.linalg.norm(pos[:, :, None] - pos[:, None], axis=-1) + np.eye(M)[None] * 1e9
        near = np.take_along_axis(pos, np.argmin(d, axis=-1)[..., None].repeat(2, -1), axis=1) if M > 1 else pos
        ego = np.concatenate([(cen - pos), (near - pos)], -1) * 5.0 / area
        uav = np.concatenate([uav, ego], -1)
        usr = np.concatenate([usr, np.zeros((E, U, 4))], -1)
    return uav.astype(np.float32), usr.astype(np.float32)


def graph_batch(uav_f: np.ndarray, usr_f: np.ndarray, area: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Stack E episodes into one graph: x (E(M+U), F), edge_index (2, Ne), edge_attr (Ne, 3).
    Node order per episode: M UAVs then U users."""
    E, M, F = uav_f.shape
    U = usr_f.shape[1]
    N = M + U
    x = np.concatenate([uav_f, usr_f], axis=1)  # (E, N, F)
    uu_s, uu_d = np.nonzero(~np.eye(M, dtype=bool))
    us_s = np.repeat(np.arange(M, N), M)
    us_d = np.tile(np.arange(M), U)
    src = np.concatenate([uu_s, us_s])
    dst = np.concatenate([uu_d, us_d])
    pos = x[:, :, :2]  # normalised positions
    rel = pos[:, dst] - pos[:, src]  # (E, Ne, 2)
    attr = np.concatenate([rel, np.linalg.norm(rel, axis=-1, keepdims=True)], -1)
    off = (np.arange(E) * N)[:, None]
    ei = np.stack([(src[None] + off).ravel(), (dst[None] + off).ravel()])
    return (torch.from_numpy(x.reshape(E * N, F)), torch.from_numpy(ei).long(),
            torch.from_numpy(attr.reshape(-1, 3).astype(np.float32)))


class GatEncoder(nn.Module):
    def __init__(self, in_dim: int, hidden: int = 32, heads: int = 2) -> None:
        super().__init__()
        self.inp = nn.Linear(in_dim, hidden)
        self.g1 = GATv2Conv(hidden, hidden, heads=heads, concat=False, edge_dim=3, add_self_loops=False)
        self.g2 = GATv2Conv(hidden, hidden, heads=heads, concat=False, edge_dim=3, add_self_loops=False)

    def forward(self, x, ei, ea, E: int, M: int, N: int) -> torch.Tensor:
        h = torch.relu(self.inp(x))
        h = h + torch.relu(self.g1(h, ei, ea))
        h = h + torch.relu(self.g2(h, ei, ea))
        return h.view(E, N, -1)[:, :M]  # UAV embeddings (E, M, hidden)


class GatActorCritic(nn.Module):
    kind = "gat"

    def __init__(self, in_dim: int, n_actions: int = 9, hidden: int = 32, heads: int = 2) -> None:
        super().__init__()
        self.actor_enc = GatEncoder(in_dim, hidden, heads)
        self.pi = nn.Sequential(nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, n_actions))
        self.critic_enc = GatEncoder(in_dim, hidden, heads)
        self.attn = nn.MultiheadAttention(hidden, 2, batch_first=True)
        self.v = nn.Sequential(nn.Linear(2 * hidden, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def logits(self, batch, E: int, M: int, N: int) -> torch.Tensor:
        return self.pi(self.actor_enc(*batch, E, M, N))  # (E, M, A)

    def value(self, batch, E: int, M: int, N: int) -> torch.Tensor:
        h = self.critic_enc(*batch, E, M, N)
        a, _ = self.attn(h, h, h)
        return self.v(torch.cat([h, a], -1)).squeeze(-1)  # (E, M)


def mlp_features(hist: np.ndarray, users: np.ndarray, user_rate: np.ndarray, area: float, speed: float,
                 rate_scale: float, k_near: int = 3) -> np.ndarray:
    """(E, M, F) per-UAV vectors for the MLP ablation (size independent of M and U)."""
    E, H, M, _ = hist.shape
    pos = hist[:, -1]
    disp = np.diff(hist, axis=1).transpose(0, 2, 1, 3).reshape(E, M, 2 * (H - 1)) / max(speed, 1e-9)
    rel = (pos[:, None] - pos[:, :, None]) / area  # (E, M, M, 2) other - self
    d = np.linalg.norm(rel, axis=-1) + np.eye(M)[None] * 1e9
    order = np.argsort(d, axis=-1)[:, :, :k_near]
    near = np.take_along_axis(rel, order[..., None], axis=2)
    if near.shape[2] < k_near:
        near = np.concatenate([near, np.zeros((E, M, k_near - near.shape[2], 2))], axis=2)
    cell = np.clip((users / area * HIST_BINS).astype(int), 0, HIST_BINS - 1)
    flat = cell[..., 0] * HIST_BINS + cell[..., 1]
    cnt = np.stack([np.bincount(f, minlength=HIST_BINS ** 2) for f in flat]) / users.shape[1] * 4
    rt = np.stack([np.bincount(f, weights=r, minlength=HIST_BINS ** 2) for f, r in zip(flat, user_rate)])
    rt = rt / np.maximum(cnt * users.shape[1] / 4, 1) / rate_scale
    glob = np.concatenate([cnt, rt], -1)[:, None].repeat(M, 1)
    return np.concatenate([pos / area, disp, near.reshape(E, M, -1), glob], -1).astype(np.float32)


class MlpActorCritic(nn.Module):
    kind = "mlp"

    def __init__(self, in_dim: int, n_actions: int = 9, hidden: int = 128) -> None:
        super().__init__()
        self.pi = nn.Sequential(nn.Linear(in_dim, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                                nn.Linear(hidden, n_actions))
        self.v = nn.Sequential(nn.Linear(2 * in_dim, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                               nn.Linear(hidden, 1))

    def logits(self, x: torch.Tensor, *_) -> torch.Tensor:
        return self.pi(x)

    def value(self, x: torch.Tensor, *_) -> torch.Tensor:
        g = x.mean(dim=1, keepdim=True).expand_as(x)
        return self.v(torch.cat([x, g], -1)).squeeze(-1)
