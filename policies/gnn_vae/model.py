"""GNN-VAE for passing-order scheduling (Meng et al., "Reliable and Efficient Multi-Agent
Coordination via Graph Neural Network Variational Autoencoders", ICRA 2025, Sec. IV).

* **Features** (`graph_tensors`): per node the interval geometry and nominal timing, times in
  units of the graph's median nominal interval duration ``tau`` and measured relative to the
  node's own nominal entry where absolute times would not transfer across instance sizes. Edges
  are the skeleton of `CoordGraph.edge_index` (precedence, joint u->v, joint v->u) with their
  kind, the nominal entry/exit offsets between the two intervals, whether following is allowed and
  the forced order seen from the source.
* **Encoder**: GATv2 layers over the *assigned* graph (skeleton + per edge: does the source go
  first, is the edge following; per node: the solution's entry delay) -> graph max-pool ->
  ``mu``, ``log sigma`` of the latent ``z``.
* **Decoder**: GATv2 layers over the skeleton with ``z`` concatenated to every node -> node-rank
  branch (``rank = nominal entry / tau + learned offset``, so ``offset = 0`` is FIFO) and
  edge-mode branch (a following logit per joint edge). Decoding to choices goes through
  `planners.scheduling.decode.ranks_to_choices` (feasible by construction).

Only ops that work without torch-scatter / pyg-lib (GATv2Conv, global_max_pool) are used.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch_geometric.data import Batch, Data
from torch_geometric.nn import GATv2Conv, global_max_pool

from planners.scheduling.graph import CoordGraph

WEIGHTS = Path(__file__).resolve().parent / "weights"
NODE_DIM = 10
EDGE_DIM = 9
ENC_NODE_EXTRA = 1   # solution entry delay
ENC_EDGE_EXTRA = 2   # source goes first, following


def _tau(g: CoordGraph) -> float:
    d = g.node_t_out - g.node_t_in
    return float(np.median(d)) if len(d) else 1.0


def node_features(g: CoordGraph) -> np.ndarray:
    """``(V, NODE_DIM)`` float32 node features (module docstring)."""
    tau = _tau(g)
    r = g.node_robot
    length = g.length[r]
    nom = g.nominal_completion[r] - g.release[r]
    deg = np.bincount(g.joint_edges.ravel(), minlength=g.n_nodes) if g.n_edges else \
        np.zeros(g.n_nodes)
    rsize = g.region_n_robots[g.node_region].astype(float) if g.n_nodes else np.zeros(0)
    rcap = g.region_cap[g.node_region].astype(float) if g.n_nodes else np.zeros(0)
    fok = np.zeros(g.n_nodes)
    if g.n_edges:
        fok[g.joint_edges[0]] = g.edge_follow_ok
        fok[g.joint_edges[1]] = g.edge_follow_ok
    x = np.stack([
        g.node_L / length, g.node_U / length,
        (g.node_t_out - g.node_t_in) / tau,
        np.log1p(g.node_t_in / tau), np.log1p(nom / tau),
        np.log1p(np.maximum(nom - (g.node_t_out - g.release[r]), 0) / tau),
        deg, np.log1p(rsize), rcap / np.maximum(rsize, 1), fok], axis=1)
    return x.astype(np.float32)


def edge_features(g: CoordGraph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(edge_index (2, P+2E), edge_attr (P+2E, EDGE_DIM), kind (P+2E,))``."""
    ei, kind = g.edge_index()
    tau = _tau(g)
    s, d = ei
    P, E = g.prec_edges.shape[1], g.n_edges
    onehot = np.eye(3, dtype=np.float32)[kind]
    din = (g.node_t_in[d] - g.node_t_in[s]) / tau
    dout = (g.node_t_out[d] - g.node_t_out[s]) / tau
    overlap = (g.node_t_out[s] - g.node_t_in[d]) / tau
    fok = np.zeros(len(kind), np.float32)
    forced = np.zeros(len(kind), np.float32)
    gain = np.zeros(len(kind), np.float32)
    if E:
        fok[P:P + E] = fok[P + E:] = g.edge_follow_ok
        f = g.edge_forced.astype(np.float32)
        forced[P:P + E] = f          # +1: u (the source of u->v) must go first
        forced[P + E:] = -f
        gl = g.edge_gain / np.maximum(g.speed[g.node_robot[g.joint_edges[0]]] * tau, 1e-9)
        gain[P:P + E] = gain[P + E:] = gl
    attr = np.concatenate([onehot, np.stack([np.tanh(din / 4), np.tanh(dout / 4),
                                             np.tanh(overlap / 4), fok, forced, gain], 1)], 1)
    return ei.astype(np.int64), attr.astype(np.float32), kind


def graph_tensors(g: CoordGraph, entry: np.ndarray | None = None,
                  first: np.ndarray | None = None, follow: np.ndarray | None = None) -> Data:
    """A PyG ``Data`` for one graph. With a solution (``entry``, ``first``, ``follow``) it also
    carries the encoder inputs and the training labels."""
    x = node_features(g)
    ei, attr, kind = edge_features(g)
    P, E = g.prec_edges.shape[1], g.n_edges
    tau = _tau(g)
    data = SchedData(x=torch.from_numpy(x), edge_index=torch.from_numpy(ei),
                edge_attr=torch.from_numpy(attr),
                joint=torch.from_numpy(np.ascontiguousarray(g.joint_edges.T)).long(),
                follow_ok=torch.from_numpy(g.edge_follow_ok.astype(np.float32)),
                t_in=torch.from_numpy((g.node_t_in / tau).astype(np.float32)),
                num_nodes=g.n_nodes)
    data.n_joint = E
    if entry is not None:
        delay = np.log1p(np.maximum(entry - g.node_t_in, 0) / tau).astype(np.float32)
        ef = np.zeros((len(kind), ENC_EDGE_EXTRA), np.float32)
        fr = np.asarray(first, bool)
        fo = np.asarray(follow, bool)
        ef[P:P + E, 0] = np.where(fr, 1.0, -1.0)
        ef[P + E:, 0] = np.where(fr, -1.0, 1.0)
        ef[P:P + E, 1] = ef[P + E:, 1] = fo
        data.x_enc = torch.from_numpy(np.concatenate([x, delay[:, None]], 1))
        data.edge_attr_enc = torch.from_numpy(np.concatenate([attr, ef], 1))
        data.first = torch.from_numpy(fr.astype(np.float32))
        data.follow = torch.from_numpy(fo.astype(np.float32))
    return data


class SchedData(Data):
    """``Data`` whose ``joint`` (E, 2) node indices are shifted when graphs are batched."""

    def __inc__(self, key, value, *args, **kwargs):
        if key == "joint":
            return self.num_nodes
        return super().__inc__(key, value, *args, **kwargs)


class _GAT(nn.Module):
    def __init__(self, in_dim: int, edge_dim: int, hidden: int, layers: int, heads: int):
        super().__init__()
        self.inp = nn.Linear(in_dim, hidden)
        self.convs = nn.ModuleList(
            GATv2Conv(hidden, hidden // heads, heads=heads, edge_dim=edge_dim, add_self_loops=False)
            for _ in range(layers))
        self.norms = nn.ModuleList(nn.LayerNorm(hidden) for _ in range(layers))

    def forward(self, x, edge_index, edge_attr):
        h = torch.relu(self.inp(x))
        for conv, norm in zip(self.convs, self.norms):
            h = norm(h + torch.relu(conv(h, edge_index, edge_attr)))
        return h


@dataclass
class Config:
    hidden: int = 64
    latent: int = 16
    enc_layers: int = 3
    dec_layers: int = 4
    heads: int = 4


class GnnVae(nn.Module):
    """Encoder q(z | assigned graph), decoder p(ranks, modes | skeleton, z)."""

    def __init__(self, cfg: Config | None = None):
        super().__init__()
        cfg = cfg or Config()
        self.cfg = cfg
        h = cfg.hidden
        self.enc = _GAT(NODE_DIM + ENC_NODE_EXTRA, EDGE_DIM + ENC_EDGE_EXTRA, h, cfg.enc_layers,
                        cfg.heads)
        self.to_stats = nn.Linear(h, 2 * cfg.latent)
        self.dec = _GAT(NODE_DIM + cfg.latent, EDGE_DIM, h, cfg.dec_layers, cfg.heads)
        self.rank_head = nn.Sequential(nn.Linear(h, h), nn.ReLU(), nn.Linear(h, 1))
        self.mode_head = nn.Sequential(nn.Linear(2 * h + EDGE_DIM, h), nn.ReLU(), nn.Linear(h, 1))
        nn.init.zeros_(self.rank_head[-1].weight)  # start at FIFO: rank = nominal entry
        nn.init.zeros_(self.rank_head[-1].bias)

    def encode(self, b: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        hn = self.enc(b.x_enc, b.edge_index, b.edge_attr_enc)
        pooled = global_max_pool(hn, b.batch, size=b.num_graphs)
        mu, log_sigma = self.to_stats(pooled).chunk(2, dim=-1)
        return mu, log_sigma.clamp(-6, 2)

    def decode(self, b: Batch, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``z`` (num_graphs, latent) -> (ranks (V_total,), mode logits (E_total,)) with ranks in
        units of tau (nominal entry + offset)."""
        zn = z[b.batch]
        hn = self.dec(torch.cat([b.x, zn], 1), b.edge_index, b.edge_attr)
        ranks = b.t_in + self.rank_head(hn).squeeze(-1)
        u, v = b.joint[:, 0], b.joint[:, 1]
        # joint edge u->v attributes sit right after the precedence edges of each graph; rebuild
        # them from node features instead of indexing, so batching needs no bookkeeping
        ea = self._joint_attr(b)
        modes = self.mode_head(torch.cat([hn[u] + hn[v], hn[u] * hn[v], ea], 1)).squeeze(-1)
        return ranks, modes

    @staticmethod
    def _joint_attr(b: Batch) -> torch.Tensor:
        # edge kind 1 (one-hot column 1) marks the u->v copies, stored in joint-edge order
        return b.edge_attr[b.edge_attr[:, 1] > 0.5]

    def forward(self, b: Batch):
        mu, log_sigma = self.encode(b)
        z = mu + torch.randn_like(mu) * log_sigma.exp()
        ranks, modes = self.decode(b, z)
        return ranks, modes, mu, log_sigma


def save(model: GnnVae, path: Path, extra: dict | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    cfg = dict(vars(model.cfg))
    if extra:
        cfg["training"] = extra
    path.with_suffix(".json").write_text(json.dumps(cfg, indent=1))


def load(path: str | Path | None = None) -> GnnVae:
    """Shipped (or given) weights, loaded with ``weights_only=True``."""
    pt = Path(path) if path is not None else WEIGHTS / "gnn_vae.pt"
    cfg_file = pt.with_suffix(".json")
    if not pt.is_file() or not cfg_file.is_file():
        raise FileNotFoundError(f"{pt}: no GNN-VAE weights (train with "
                                f"`python -m policies.gnn_vae.train`)")
    raw = json.loads(cfg_file.read_text())
    cfg = Config(**{k: raw[k] for k in vars(Config()) if k in raw})
    model = GnnVae(cfg)
    model.load_state_dict(torch.load(pt, map_location="cpu", weights_only=True))
    model.eval()
    return model
