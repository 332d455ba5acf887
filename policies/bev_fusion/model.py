"""Small intermediate-fusion BEV segmentation model (torch).

Per-agent encoder (lidar BEV, 4 channels, S x S) -> intermediate feature map (C x S/2 x S/2: what a
collaborator shares) -> warped into the ego frame with ``affine_grid``/``grid_sample`` from the relative
pose (reported, so pose noise enters here) -> fused over the accepted agents (masked mean or max) ->
decoder -> vehicle logits (S x S) in the ego frame. Intermediate fusion as in V2X-Sim/DiscoNet-style
collaborative perception (Li et al., "V2X-Sim", RA-L 2022), the setting of CP-Guard (Hu et al., AAAI 2025).

Frames follow :mod:`sim.bev` (column = local x forward, row = local y left), so normalised grid
coordinates are local metres over the half extent.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class BevFusionConfig:
    in_ch: int = 4
    feat_ch: int = 24
    hidden: int = 16
    size: int = 128
    res: float = 0.5
    fusion: str = "mean"  # "mean" | "max"

    def to_dict(self) -> dict:
        return asdict(self)


def pose_theta(rel: torch.Tensor, half_extent: float) -> torch.Tensor:
    """(A, 3) agent poses (x, y, yaw) in the ego frame -> (A, 2, 3) affine_grid matrices mapping
    ego-normalised coordinates to the agent's normalised coordinates."""
    c, s = torch.cos(rel[:, 2]), torch.sin(rel[:, 2])
    tx, ty = rel[:, 0] / half_extent, rel[:, 1] / half_extent
    row0 = torch.stack([c, s, -(c * tx + s * ty)], dim=-1)
    row1 = torch.stack([-s, c, -(-s * tx + c * ty)], dim=-1)
    return torch.stack([row0, row1], dim=1)


class BevFusionNet(nn.Module):
    def __init__(self, cfg: BevFusionConfig | None = None) -> None:
        super().__init__()
        self.cfg = cfg or BevFusionConfig()
        c = self.cfg
        self.encoder = nn.Sequential(
            nn.Conv2d(c.in_ch, c.hidden, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(c.hidden, c.feat_ch, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c.feat_ch, c.feat_ch, 3, padding=2, dilation=2), nn.ReLU(),
            nn.Conv2d(c.feat_ch, c.feat_ch, 3, padding=1),
        )
        self.decoder = nn.Sequential(
            nn.Conv2d(c.feat_ch, c.feat_ch, 3, padding=2, dilation=2), nn.ReLU(),
            nn.Conv2d(c.feat_ch, c.feat_ch, 3, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(c.feat_ch, c.hidden, 2, stride=2), nn.ReLU(),
            nn.Conv2d(c.hidden, 1, 3, padding=1),
        )

    @property
    def half_extent(self) -> float:
        return 0.5 * self.cfg.size * self.cfg.res

    def encode(self, bev: torch.Tensor) -> torch.Tensor:
        """(A, in_ch, S, S) -> (A, feat_ch, S/2, S/2): the shared intermediate features."""
        return self.encoder(bev)

    def warp(self, feats: torch.Tensor, rel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Warp (A, C, h, w) features with poses ``rel`` (A, 3) into the ego frame; returns the warped
        features and (A, 1, h, w) coverage masks (1 where the agent's map reaches)."""
        theta = pose_theta(rel.to(feats.dtype), self.half_extent)
        grid = F.affine_grid(theta, list(feats.shape), align_corners=False)
        warped = F.grid_sample(feats, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
        ones = torch.ones_like(feats[:, :1])
        mask = F.grid_sample(ones, grid, mode="nearest", padding_mode="zeros", align_corners=False)
        return warped, mask

    def fuse(self, warped: torch.Tensor, mask: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        """Fuse (A, C, h, w) warped features; ``weights`` (A,) in {0, 1} selects the accepted agents."""
        m = mask if weights is None else mask * weights.view(-1, 1, 1, 1).to(mask.dtype)
        if self.cfg.fusion == "max":
            neg = torch.finfo(warped.dtype).min
            f = torch.where(m > 0, warped, torch.full_like(warped, neg)).max(dim=0).values
            return torch.where(m.sum(0) > 0, f, torch.zeros_like(f))
        return (warped * m).sum(0) / m.sum(0).clamp_min(1.0)

    def decode(self, fused: torch.Tensor) -> torch.Tensor:
        """(C, h, w) or (B, C, h, w) fused features -> logits (S, S) or (B, S, S)."""
        single = fused.dim() == 3
        out = self.decoder(fused[None] if single else fused)[:, 0]
        return out[0] if single else out

    def forward(self, bev: torch.Tensor, rel: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        """One frame: (A, in_ch, S, S) BEVs with agent 0 the ego, (A, 3) poses in the ego frame -> logits."""
        warped, mask = self.warp(self.encode(bev), rel)
        return self.decode(self.fuse(warped, mask, weights))


def load_model(weights: str, config: str) -> BevFusionNet:
    """Load shipped weights (plain state_dict, ``weights_only=True``) and their JSON config."""
    import json

    with open(config) as fh:
        cfg = BevFusionConfig(**json.load(fh))
    net = BevFusionNet(cfg)
    net.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    net.eval()
    return net


__all__ = ["BevFusionConfig", "BevFusionNet", "pose_theta", "load_model"]
