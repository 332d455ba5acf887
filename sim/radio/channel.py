"""Al-Hourani air-to-ground channel and OFDMA downlink rates.

Channel (A. Al-Hourani, S. Kandeepan, S. Lardner, "Optimal LAP altitude for maximum coverage",
IEEE Wireless Communications Letters 3(6), 2014):

- ``P_LoS(theta) = 1 / (1 + a exp(-b (theta - a)))`` with ``theta`` the elevation angle **in degrees**;
- mean path loss ``PL = FSPL(d, f) + P_LoS * eta_LoS + (1 - P_LoS) * eta_NLoS`` (all in dB), with
  ``FSPL = 20 log10(4 pi f d / c)``.

Downlink model: each UAV transmits on K subchannels of bandwidth B with a per-subchannel power. A user
``u`` is served by one UAV ``m`` on one subchannel ``k`` (decision arrays ``assoc``/``subchannel``); users
on the same (m, k) resource block time-share it equally. Every other UAV that serves anyone on ``k``
transmits on ``k`` for the whole slot, so it interferes:
``SINR_u = P_mk g_mu / (sum_{m' != m, k active at m'} P_m'k g_m'u + N)`` and
``rate_u = B log2(1 + SINR_u) / n_mk``. Noise ``N = k_B T B * NF`` (-174 dBm/Hz + 10 log10 B + NF).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

C_LIGHT = 299_792_458.0
KT_DBM_HZ = -174.0  # thermal noise density at 290 K


@dataclass(frozen=True)
class ChannelPreset:
    """Environment parameters of the Al-Hourani model (a, b; excess losses in dB)."""

    a: float
    b: float
    eta_los_db: float
    eta_nlos_db: float


PRESETS: dict[str, ChannelPreset] = {
    "suburban": ChannelPreset(4.88, 0.43, 0.1, 21.0),
    "urban": ChannelPreset(9.61, 0.16, 1.0, 20.0),
    "dense_urban": ChannelPreset(12.08, 0.11, 1.6, 23.0),
    "highrise_urban": ChannelPreset(27.23, 0.08, 2.3, 34.0),
}


def preset(name: str) -> ChannelPreset:
    if name not in PRESETS:
        raise ValueError(f"channel preset: expected one of {sorted(PRESETS)}, got {name!r}")
    return PRESETS[name]


@dataclass(frozen=True)
class RadioConfig:
    """Link budget of the downlink (defaults: 2 GHz, 8 x 180 kHz, 30 dBm per UAV split over K)."""

    preset: str = "urban"
    carrier_hz: float = 2e9
    n_subchannels: int = 8
    subchannel_hz: float = 180e3
    tx_power_dbm: float = 30.0  # per UAV, split evenly over its K subchannels
    noise_figure_db: float = 7.0

    def __post_init__(self) -> None:
        preset(self.preset)
        if self.n_subchannels < 1:
            raise ValueError(f"n_subchannels: expected >= 1, got {self.n_subchannels}")
        if not (self.carrier_hz > 0 and self.subchannel_hz > 0):
            raise ValueError("carrier_hz and subchannel_hz must be > 0")

    @property
    def power_per_subchannel_w(self) -> float:
        return 10 ** ((self.tx_power_dbm - 30.0) / 10.0) / self.n_subchannels

    @property
    def noise_w(self) -> float:
        return thermal_noise_w(self.subchannel_hz, self.noise_figure_db)


def thermal_noise_w(bandwidth_hz: float, noise_figure_db: float) -> float:
    """Thermal noise power over ``bandwidth_hz`` with the receiver's noise figure (W)."""
    return 10 ** ((KT_DBM_HZ + 10 * np.log10(bandwidth_hz) + noise_figure_db - 30.0) / 10.0)


def fspl_db(d: np.ndarray | float, carrier_hz: float) -> np.ndarray:
    """Free-space path loss ``20 log10(4 pi f d / c)`` in dB (d in metres, clipped at 1 m)."""
    d = np.maximum(np.asarray(d, dtype=float), 1.0)
    return 20.0 * np.log10(4.0 * np.pi * carrier_hz * d / C_LIGHT)


def p_los(theta_deg: np.ndarray | float, a: float, b: float) -> np.ndarray:
    """Al-Hourani LoS probability; ``theta_deg`` is the elevation angle in degrees."""
    return 1.0 / (1.0 + a * np.exp(-b * (np.asarray(theta_deg, dtype=float) - a)))


def mean_path_loss_db(uav_pos: np.ndarray, user_pos: np.ndarray, cfg: RadioConfig) -> np.ndarray:
    """(M, U) mean path loss in dB between UAVs (M, 3) and ground users (U, 2 or 3; z=0 if 2)."""
    uav = np.asarray(uav_pos, dtype=float).reshape(-1, 3)
    usr = np.asarray(user_pos, dtype=float)
    if usr.shape[-1] == 2:
        usr = np.column_stack([usr, np.zeros(len(usr))])
    horiz = np.linalg.norm(uav[:, None, :2] - usr[None, :, :2], axis=-1)
    dz = np.abs(uav[:, None, 2] - usr[None, :, 2])
    d = np.sqrt(horiz ** 2 + dz ** 2)
    theta = np.degrees(np.arctan2(dz, horiz))
    pr = preset(cfg.preset)
    pl = p_los(theta, pr.a, pr.b)
    return fspl_db(d, cfg.carrier_hz) + pl * pr.eta_los_db + (1.0 - pl) * pr.eta_nlos_db


def link_gain(uav_pos: np.ndarray, user_pos: np.ndarray, cfg: RadioConfig) -> np.ndarray:
    """(M, U) linear channel gain ``10^(-PL/10)``."""
    return 10.0 ** (-mean_path_loss_db(uav_pos, user_pos, cfg) / 10.0)


def rates(gain: np.ndarray, assoc: np.ndarray, sub: np.ndarray, cfg: RadioConfig,
          power_w: np.ndarray | None = None, share: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-user rate (bit/s) and SINR (linear) for an assignment.

    ``gain`` (M, U); ``assoc`` (U,) serving UAV or -1; ``sub`` (U,) subchannel in [0, K) (ignored where
    ``assoc`` is -1); ``power_w`` (M, K) per-subchannel transmit power (default: ``cfg``'s even split).
    ``share`` (U,) optional time fractions of each user's block; a block whose shares sum past 1 is
    scaled down to 1 (default: equal split). Unserved users get rate 0 and SINR 0.
    """
    M, U = gain.shape
    K = cfg.n_subchannels
    assoc = np.asarray(assoc, dtype=int).reshape(U)
    sub = np.asarray(sub, dtype=int).reshape(U)
    served = assoc >= 0
    if np.any(assoc >= M) or np.any(assoc < -1):
        raise ValueError(f"assoc: expected values in [-1, {M}), got range [{assoc.min()}, {assoc.max()}]")
    if np.any(served & ((sub < 0) | (sub >= K))):
        raise ValueError(f"subchannel: expected values in [0, {K}) for served users")
    P = np.full((M, K), cfg.power_per_subchannel_w) if power_w is None else np.asarray(power_w, float).reshape(M, K)
    load = np.zeros((M, K), dtype=int)
    np.add.at(load, (assoc[served], sub[served]), 1)
    active = load > 0
    rate = np.zeros(U)
    sinr = np.zeros(U)
    if not served.any():
        return rate, sinr
    u = np.flatnonzero(served)
    m, k = assoc[u], sub[u]
    tx = (P * active)[:, k]  # (M, n_served): power each UAV radiates on the user's subchannel
    rx = tx * gain[:, u]
    signal = P[m, k] * gain[m, u]
    interference = rx.sum(axis=0) - rx[m, np.arange(len(u))]
    sinr[u] = signal / (interference + cfg.noise_w)
    if share is None:
        frac = 1.0 / load[m, k]
    else:
        sh = np.clip(np.asarray(share, dtype=float).reshape(U)[u], 0.0, 1.0)
        tot = np.zeros((M, K))
        np.add.at(tot, (m, k), sh)
        frac = sh / np.maximum(tot[m, k], 1.0)
    rate[u] = cfg.subchannel_hz * np.log2(1.0 + sinr[u]) * frac
    return rate, sinr


def jain(x: np.ndarray) -> float:
    """Jain's fairness index ``(sum x)^2 / (n sum x^2)``; 1 when all equal, 0 for an all-zero vector."""
    x = np.asarray(x, dtype=float).ravel()
    s2 = float(np.sum(x * x))
    return float(np.sum(x) ** 2 / (len(x) * s2)) if s2 > 0 else 0.0


def percentile_rate(x: np.ndarray, q: float = 5.0) -> float:
    """The ``q``-th percentile user rate (numpy's linear interpolation)."""
    return float(np.percentile(np.asarray(x, dtype=float), q))
