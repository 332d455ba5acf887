"""Loading shipped weights and acting (used by the robocoord controller adapters and the evaluator)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from policies.ga_matr.model import GatActorCritic, MlpActorCritic, graph_batch, mlp_features, node_features

WEIGHTS = Path(__file__).parent / "weights"


def make_net(cfg: dict) -> torch.nn.Module:
    if cfg["arch"] == "gat":
        return GatActorCritic(cfg["in_dim"], hidden=cfg["hidden"])
    return MlpActorCritic(cfg["in_dim"], hidden=cfg["hidden"])


def inputs(net_kind: str, hist: np.ndarray, users: np.ndarray, user_rate: np.ndarray, area: float, speed: float,
           rate_scale: float, version: int = 2):
    """Network inputs and the (E, M, N) shape triple for batched episodes."""
    E, _, M, _ = hist.shape
    N = M + users.shape[1]
    if net_kind == "gat":
        uf, sf = node_features(hist, users, user_rate, area, speed, rate_scale, version)
        return graph_batch(uf, sf, area), (E, M, N)
    return torch.from_numpy(mlp_features(hist, users, user_rate, area, speed, rate_scale)), (E, M, N)


class MovePolicy:
    """A trained actor: ``act(hist (H, M, 2), users (U, 2), user_rate (U,)) -> (M,) move index``."""

    def __init__(self, name: str = "gat", directory: Path = WEIGHTS) -> None:
        self.cfg = json.loads((directory / f"{name}.json").read_text())
        self.net = make_net(self.cfg)
        self.net.load_state_dict(torch.load(directory / f"{name}.pt", weights_only=True))
        self.net.eval()

    @property
    def history(self) -> int:
        return int(self.cfg["history"])

    def act(self, hist: np.ndarray, users: np.ndarray, user_rate: np.ndarray, area: float,
            greedy: bool = True, rng: np.random.Generator | None = None) -> np.ndarray:
        c = self.cfg
        x, shp = inputs(c["arch"], hist[None], users[None], user_rate[None], area, c["speed"], c["rate_scale"],
                        c.get("features", 1))
        with torch.no_grad():
            logits = self.net.logits(x, *shp)[0]
        if greedy or rng is None:
            return logits.argmax(-1).numpy()
        p = torch.softmax(logits, -1).numpy()
        return np.array([rng.choice(len(pi), p=pi / pi.sum()) for pi in p])
