"""Consensus search over collaborator subsets for robust collaborative perception (pure, numpy).

A *consistency function* ``check(subset) -> bool`` says whether fusing the ego with ``subset`` agrees
with the ego's own view; these searches decide which collaborators to accept with few checks:

- :func:`pasac` — CP-Guard's probability-agnostic sample consensus (Hu et al., "CP-Guard: Malicious
  Agent Detection and Defense in Collaborative Bird's Eye View Perception", AAAI 2025): split into
  halves, accept a consistent half, recurse into an inconsistent one; at most ``2n - 1`` checks.
- :func:`robosac` — random sample consensus over collaborator subsets (Li et al., "Among Us:
  Adversarially Robust Collaborative Perception by Consensus", ICCV 2023), with the trial count
  :func:`robosac_trials` from the assumed attacker ratio.
- :func:`generalized_dice` / :func:`ccloss` — the consistency score CP-Guard compares.
"""
from planners.consensus.search import (ConsensusResult, ccloss, generalized_dice, pasac, robosac,
                                       robosac_trials)

__all__ = ["ConsensusResult", "pasac", "robosac", "robosac_trials", "generalized_dice", "ccloss"]
