"""GA-MATR-style multi-UAV base-station policy: GATv2 actors over UAV-UAV and UAV-user edges, an
attention critic, PPO-clip updates with a KL trust-region early stop (MAPPO-KL); MLP ablation.
Ref: "Graph Attention-based Reinforcement Learning for Trajectory Design and Resource Assignment in
Multi-UAV Assisted Communication", IEEE Internet of Things Journal, 2024 (GA-MATR)."""
