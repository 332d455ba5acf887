"""Small shared helpers for the robot kinds: angles, quaternions (x, y, z, w as pybullet), base I/O."""
from __future__ import annotations

import numpy as np
import pybullet as p


def wrap_angle(a: np.ndarray) -> np.ndarray:
    """Wrap angles to [-pi, pi)."""
    return (np.asarray(a, dtype=float) + np.pi) % (2.0 * np.pi) - np.pi


def yaw_to_quat(yaw: np.ndarray) -> np.ndarray:
    """(N,) yaw -> (N, 4) quaternions (x, y, z, w) of a rotation about world z."""
    h = 0.5 * np.asarray(yaw, dtype=float).reshape(-1)
    q = np.zeros((h.size, 4))
    q[:, 2] = np.sin(h)
    q[:, 3] = np.cos(h)
    return q


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    """(N, 4) unit quaternions (x, y, z, w) -> (N, 3, 3) rotation matrices (body -> world)."""
    x, y, z, w = np.asarray(q, dtype=float).reshape(-1, 4).T
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)], axis=-1),
        np.stack([2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)], axis=-1),
        np.stack([2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)], axis=-1),
    ], axis=-2)


def quat_to_yaw(q: np.ndarray) -> np.ndarray:
    """Heading of the body x axis projected on the ground plane (well defined under tilt)."""
    x, y, z, w = np.asarray(q, dtype=float).reshape(-1, 4).T
    return np.arctan2(2 * (x * y + z * w), 1 - 2 * (y * y + z * z))


def read_bases(client: int, bodies: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Base pose and velocity of every body: pos (N,3), quat (N,4), linear vel (N,3), angular vel (N,3).

    pybullet has no batched query: two calls per body (~1.3 us each).
    """
    n = len(bodies)
    pos, quat = np.zeros((n, 3)), np.zeros((n, 4))
    lin, ang = np.zeros((n, 3)), np.zeros((n, 3))
    for i, b in enumerate(bodies):
        pos[i], quat[i] = p.getBasePositionAndOrientation(b, physicsClientId=client)
        lin[i], ang[i] = p.getBaseVelocity(b, physicsClientId=client)
    return pos, quat, lin, ang


def check_rows(name: str, arr: np.ndarray, n: int, k: int) -> np.ndarray:
    """Reshape to (n, k) float or raise naming what was expected."""
    a = np.asarray(arr, dtype=float)
    if a.size != n * k:
        raise ValueError(f"{name}: expected shape ({n}, {k}), got {a.shape}")
    a = a.reshape(n, k)
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: contains NaN or infinite values")
    return a


def rot_x_quat(angle: float) -> list[float]:
    return [float(np.sin(angle / 2)), 0.0, 0.0, float(np.cos(angle / 2))]


# A cylinder's axis is its local z; wheels spin about y, so their shapes are turned by -90 deg about x.
WHEEL_SHAPE_QUAT = rot_x_quat(-np.pi / 2)


# Visual shapes double the cost of creating a body (~2.4 ms vs 1.3 ms with links) and only matter
# for pybullet's own window (the viewer draws from the run's scene description). Set this to True
# to get them in DIRECT mode too, e.g. for getCameraImage.
VISUALS_IN_DIRECT_MODE = False


def wants_visuals(client: int) -> bool:
    """Whether to build visual shapes on this client: GUI clients, or when asked for explicitly."""
    if VISUALS_IN_DIRECT_MODE:
        return True
    return p.getConnectionInfo(physicsClientId=client).get("connectionMethod") == p.GUI
