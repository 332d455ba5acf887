"""Online CBF (Gao, Yang, Prorok, MRS 2023): a GNN over each agent's local neighbourhood picks the
class-K gain alpha (log scale, up to 1/dt) and a bounded rotation of the nominal input every step;
the exact CBF-QP filter of ``planners.cbf`` keeps every step safe whatever the policy outputs."""
