"""Consensus defences: CP-Guard (PASAC + CCLoss, fixed or adaptive threshold) and ROBOSAC.

CP-Guard: Hu et al., "CP-Guard: Malicious Agent Detection and Defense in Collaborative Bird's Eye
View Perception", AAAI 2025. ROBOSAC: Li et al., "Among Us: Adversarially Robust Collaborative
Perception by Consensus", ICCV 2023. A check fuses the ego with a subset of collaborators and
compares it with the ego's own map (CCLoss over the cells the ego observes); the search over subsets
is :mod:`planners.consensus`.
"""
from __future__ import annotations

from robocoord.controllers.cpguard import FusionDefence


class CPGuard(FusionDefence):
    name = "cpguard"
    summary = "CP-Guard: PASAC over collaborator subsets + CCLoss, fixed threshold (<= 2n-1 checks)"

    def select(self, view) -> dict:
        from policies.bev_fusion.pipeline import defend

        d = defend("pasac", view.fuser, view.collaborators, self.threshold, self.rng)
        return {"accepted": d["accepted"], "flagged": d["flagged"], "checks": d["checks"]}


class CPGuardAdaptive(FusionDefence):
    name = "cpguard_adaptive"
    summary = "CP-Guard with an adaptive CCLoss threshold (follows the benign level)"

    def reset(self, context) -> None:
        super().reset(context)
        from policies.bev_fusion.pipeline import AdaptiveThreshold

        self.adaptive = AdaptiveThreshold()

    def select(self, view) -> dict:
        from policies.bev_fusion.pipeline import defend

        d = defend("pasac_adaptive", view.fuser, view.collaborators, self.threshold, self.rng, adaptive=self.adaptive)
        return {"accepted": d["accepted"], "flagged": d["flagged"], "checks": d["checks"], "threshold_scale": d["threshold_scale"]}


class Robosac(FusionDefence):
    name = "robosac"
    summary = "ROBOSAC: random consensus sampling of collaborator subsets"

    def select(self, view) -> dict:
        from policies.bev_fusion.pipeline import defend

        d = defend("robosac", view.fuser, view.collaborators, self.threshold, self.rng,
                   robosac_attackers=self.params.assumed_attackers)
        return {"accepted": d["accepted"], "flagged": d["flagged"], "checks": d["checks"]}


__all__ = ["CPGuard", "CPGuardAdaptive", "Robosac"]
