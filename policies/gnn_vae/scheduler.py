"""Inference: sample K latents in one batched forward pass, decode each with the feasible-by-
construction rank decoder and keep the best by the exact evaluator (Meng et al., ICRA 2025,
Sec. IV-C). ``k=1, use_vae=False`` decodes ``z = 0`` only: the "no-VAE" ablation.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from torch_geometric.data import Batch

from planners.scheduling.decode import ranks_to_choices
from planners.scheduling.evaluate import Choices, Schedule, evaluate
from planners.scheduling.graph import CoordGraph
from policies.gnn_vae.model import GnnVae, graph_tensors, load


@dataclass(frozen=True, eq=False)
class VaeResult:
    name: str
    choices: Choices
    schedule: Schedule
    wall_s: float           # features + forward + decoding + evaluation
    forward_s: float
    samples: int
    feasible: int           # decoded samples that were admissible and deadlock-free
    objectives: np.ndarray  # every sample's objective

    @property
    def objective(self) -> float:
        return self.schedule.objective


class GnnVaeScheduler:
    """Wraps a trained `GnnVae`; ``model=None`` loads the shipped weights."""

    def __init__(self, model: GnnVae | None = None):
        self.model = model if model is not None else load()
        self.model.eval()

    @torch.no_grad()
    def raw(self, graph: CoordGraph, z: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """Ranks (K, V) and mode logits (K, E) for latents ``z`` (K, latent), one forward pass
        over a batch of K copies of the graph."""
        data = graph_tensors(graph)
        b = Batch.from_data_list([data] * z.shape[0])
        ranks, modes = self.model.decode(b, z)
        return (ranks.view(z.shape[0], -1).double().numpy(),
                modes.view(z.shape[0], -1).double().numpy())

    def __call__(self, graph: CoordGraph, rng: np.random.Generator, *, k: int = 16,
                 use_vae: bool = True) -> VaeResult:
        """Best of ``k`` latent samples (``z = 0`` is always the first); ``use_vae=False``:
        decode ``z = 0`` only."""
        if k < 1:
            raise ValueError(f"k: need at least one sample, got {k}")
        t0 = time.perf_counter()
        latent = self.model.cfg.latent
        if not use_vae:
            k = 1
        z = np.zeros((k, latent), np.float32)
        if k > 1:
            z[1:] = rng.standard_normal((k - 1, latent)).astype(np.float32)
        V, E = graph.n_nodes, graph.n_edges
        if V == 0:
            ch = ranks_to_choices(graph, np.zeros(0))
            sc = evaluate(graph, ch)
            return VaeResult("gnn_vae" if use_vae else "no_vae", ch, sc,
                             time.perf_counter() - t0, 0.0, 1, 1, np.array([sc.objective]))
        tf = time.perf_counter()
        ranks, modes = self.raw(graph, torch.from_numpy(z))
        forward_s = time.perf_counter() - tf
        best = None
        objs = np.empty(k)
        feasible = 0
        for s in range(k):
            ch = ranks_to_choices(graph, ranks[s], modes[s] if E else None)
            sc = evaluate(graph, ch)
            objs[s] = sc.objective
            feasible += int(sc.feasible)
            if sc.feasible and (best is None or sc.objective < best[1].objective):
                best = (ch, sc)
        if best is None:  # cannot happen: the decoder is feasible by construction
            raise AssertionError("no decoded sample was feasible")
        return VaeResult("gnn_vae" if use_vae else "no_vae", best[0], best[1],
                         time.perf_counter() - t0, forward_s, k, feasible, objs)
