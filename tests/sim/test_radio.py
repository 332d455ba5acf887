"""sim.radio against hand-computed values (P_LoS, FSPL, mean path loss per preset; SINR/rates; Jain)."""
import math

import numpy as np
import pytest

from sim.radio import (PRESETS, RadioConfig, UserMobility, fspl_db, jain, link_gain, mean_path_loss_db, p_los,
                       percentile_rate, propulsion_power, rates, thermal_noise_w)

# (preset, horizontal distance m) at 100 m altitude, 2 GHz -> (P_LoS, mean path loss dB); worked by hand:
# theta = atan(100/r) in degrees (45 deg at 100 m, 11.3099 deg at 500 m); FSPL(141.42 m) = 81.4787 dB,
# FSPL(509.90 m) = 92.6181 dB; PL = FSPL + P eta_LoS + (1 - P) eta_NLoS.
HAND = {
    ("suburban", 100): (1.0, 81.5787), ("suburban", 500): (0.764898, 97.6317),
    ("urban", 100): (0.967692, 83.0925), ("urban", 500): (0.120171, 110.3349),
    ("dense_urban", 100): (0.755774, 88.3051), ("dense_urban", 500): (0.070682, 114.1055),
    ("highrise_urban", 100): (0.132077, 111.2918), ("highrise_urban", 500): (0.010172, 126.2957),
}


@pytest.mark.parametrize("key", sorted(HAND))
def test_plos_and_mean_path_loss_hand_values(key):
    name, r = key
    pr = PRESETS[name]
    theta = math.degrees(math.atan2(100.0, r))
    assert p_los(theta, pr.a, pr.b) == pytest.approx(HAND[key][0], abs=2e-6)
    pl = mean_path_loss_db(np.array([[0.0, 0.0, 100.0]]), np.array([[r, 0.0]]), RadioConfig(preset=name))
    assert pl.shape == (1, 1)
    assert pl[0, 0] == pytest.approx(HAND[key][1], abs=1e-3)


def test_presets_are_al_hourani_table():
    assert (PRESETS["urban"].a, PRESETS["urban"].b, PRESETS["urban"].eta_los_db, PRESETS["urban"].eta_nlos_db) == \
        (9.61, 0.16, 1.0, 20.0)
    assert PRESETS["highrise_urban"].a == 27.23 and PRESETS["suburban"].eta_nlos_db == 21.0


def test_plos_uses_degrees_and_is_monotone():
    pr = PRESETS["urban"]
    th = np.linspace(0, 90, 91)
    p = p_los(th, pr.a, pr.b)
    assert np.all(np.diff(p) > 0) and p[-1] > 0.99 and p[0] < 0.05  # radians would give ~0.04 at 90


def test_fspl_hand_values():
    # 20 log10(4 pi 2e9 / c) = 38.4684 dB at 1 m; +20 dB per decade
    assert fspl_db(1.0, 2e9) == pytest.approx(38.4684, abs=1e-3)
    assert fspl_db(1000.0, 2e9) == pytest.approx(98.4684, abs=1e-3)
    assert fspl_db(100.0, 1e9) == pytest.approx(72.4478, abs=1e-3)


def test_thermal_noise():
    # -174 dBm/Hz + 10 log10(180 kHz) + 7 dB = -114.447 dBm
    assert 10 * math.log10(thermal_noise_w(180e3, 7.0) * 1e3) == pytest.approx(-114.4473, abs=1e-3)


def test_sinr_and_rate_two_uavs_two_users():
    cfg = RadioConfig(n_subchannels=2, tx_power_dbm=30.0)  # 0.5 W per subchannel
    P, N, B = 0.5, cfg.noise_w, 180e3
    g = np.array([[1e-9, 2e-11], [3e-11, 4e-10]])
    # same subchannel: each user hears the other UAV
    r, s = rates(g, np.array([0, 1]), np.array([0, 0]), cfg)
    s0 = P * 1e-9 / (P * 3e-11 + N)
    s1 = P * 4e-10 / (P * 2e-11 + N)
    assert s == pytest.approx([s0, s1], rel=1e-12)
    assert r == pytest.approx([B * math.log2(1 + s0), B * math.log2(1 + s1)], rel=1e-12)
    # different subchannels: no interference
    r, s = rates(g, np.array([0, 1]), np.array([0, 1]), cfg)
    assert s == pytest.approx([P * 1e-9 / N, P * 4e-10 / N], rel=1e-12)
    # both users on UAV 0's block 0: time-share, no interference (UAV 1 silent)
    r, s = rates(g, np.array([0, 0]), np.array([0, 0]), cfg)
    assert r == pytest.approx([B * math.log2(1 + P * 1e-9 / N) / 2, B * math.log2(1 + P * 2e-11 / N) / 2])
    # unserved user
    r, s = rates(g, np.array([0, -1]), np.array([1, 0]), cfg)
    assert r[1] == 0 and s[1] == 0 and s[0] == pytest.approx(P * 1e-9 / N)
    # explicit shares: 0.75 / 0.25 of the block
    r, _ = rates(g, np.array([0, 0]), np.array([0, 0]), cfg, share=np.array([0.75, 0.25]))
    assert r == pytest.approx([B * math.log2(1 + P * 1e-9 / N) * 0.75, B * math.log2(1 + P * 2e-11 / N) * 0.25])


def test_rates_reject_bad_indices():
    cfg = RadioConfig(n_subchannels=2)
    with pytest.raises(ValueError, match="assoc"):
        rates(np.ones((2, 2)), np.array([0, 2]), np.array([0, 0]), cfg)
    with pytest.raises(ValueError, match="subchannel"):
        rates(np.ones((2, 2)), np.array([0, 1]), np.array([0, 2]), cfg)
    with pytest.raises(ValueError, match="preset"):
        RadioConfig(preset="rural")


def test_jain_and_percentile():
    assert jain(np.array([1.0, 1.0, 1.0, 1.0])) == pytest.approx(1.0)
    assert jain(np.array([1.0, 0.0, 0.0, 0.0])) == pytest.approx(0.25)
    assert jain(np.array([1.0, 2.0, 3.0])) == pytest.approx(36.0 / (3 * 14.0))
    assert jain(np.zeros(3)) == 0.0
    assert percentile_rate(np.arange(101.0), 5) == pytest.approx(5.0)


def test_propulsion_power_zeng_table():
    # hover = P0 + Pi = 168.49 W (Zeng, Xu, Zhang 2019 Table I); minimum near 10 m/s
    assert float(propulsion_power(0.0)) == pytest.approx(168.49, abs=1e-9)
    v = np.linspace(0, 30, 301)
    pw = propulsion_power(v)
    assert 8 < v[np.argmin(pw)] < 13 and pw.min() < 130


def test_link_gain_matches_path_loss():
    cfg = RadioConfig()
    uav, usr = np.array([[0, 0, 100.0], [300, 0, 80.0]]), np.array([[10, 20], [400, 5.0], [0, 0]])
    assert np.allclose(10 * np.log10(link_gain(uav, usr, cfg)), -mean_path_loss_db(uav, usr, cfg))


@pytest.mark.parametrize("model", ["random_waypoint", "hotspot", "static"])
def test_mobility_seeded_and_bounded(model):
    a = UserMobility(50, (1000, 500), np.random.default_rng(3), model=model)
    b = UserMobility(50, (1000, 500), np.random.default_rng(3), model=model)
    p0 = a.pos.copy()
    for _ in range(300):
        pa, pb = a.step(1.0), b.step(1.0)
    assert np.array_equal(pa, pb)
    assert pa.min() >= 0 and np.all(pa.max(axis=0) <= [1000, 500])
    step = np.linalg.norm(a.step(1.0) - pa, axis=1)
    assert step.max() <= 1.5 + 1e-9
    assert (model == "static") == np.array_equal(pa, p0)
