"""Lifelong multi-agent path finding on 4-connected grids: pure algorithms on numpy arrays."""
