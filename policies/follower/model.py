"""The Follower-style policy network: a small CNN over the 4-channel local window -> 5 action logits."""
from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

WEIGHTS = Path(__file__).resolve().parent / "weights"


class FollowerNet(nn.Module):
    def __init__(self, radius: int = 5, channels: int = 4, width: int = 32, hidden: int = 128) -> None:
        super().__init__()
        self.config = {"radius": radius, "channels": channels, "width": width, "hidden": hidden}
        k = 2 * radius + 1
        self.conv = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1), nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1, stride=2), nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1), nn.ReLU(),
        )
        m = (k + 1) // 2
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(width * m * m, hidden), nn.ReLU(), nn.Linear(hidden, 5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.conv(x))


def save_policy(net: FollowerNet, name: str = "follower") -> Path:
    WEIGHTS.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), WEIGHTS / f"{name}.pt")
    (WEIGHTS / f"{name}.json").write_text(json.dumps(net.config, indent=1))
    return WEIGHTS / f"{name}.pt"


def load_policy(name: str = "follower", path: str | Path | None = None) -> FollowerNet:
    """Load shipped (or given) weights; ``weights_only=True``: a weights file can never run code."""
    pt = Path(path) if path is not None else WEIGHTS / f"{name}.pt"
    cfg_file = pt.with_suffix(".json")
    if not pt.is_file() or not cfg_file.is_file():
        raise FileNotFoundError(f"{pt}: no Follower weights (train with `python -m policies.follower.train`)")
    net = FollowerNet(**json.loads(cfg_file.read_text()))
    net.load_state_dict(torch.load(pt, map_location="cpu", weights_only=True))
    net.eval()
    return net
