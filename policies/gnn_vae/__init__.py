"""GNN-VAE passing-order scheduler (Meng et al., ICRA 2025)."""
