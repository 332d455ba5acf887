"""Radio for UAV base stations: Al-Hourani air-to-ground channel, OFDMA rates, fairness, propulsion
energy, ground-user mobility. Pure numpy (no pybullet), shared by the domain task and the training env."""
from sim.radio.channel import (PRESETS, ChannelPreset, RadioConfig, fspl_db, jain, link_gain, mean_path_loss_db,
                               p_los, percentile_rate, rates, thermal_noise_w)
from sim.radio.energy import RotaryWingParams, propulsion_power
from sim.radio.mobility import UserMobility

__all__ = ["PRESETS", "ChannelPreset", "RadioConfig", "fspl_db", "jain", "link_gain", "mean_path_loss_db",
           "p_los", "percentile_rate", "rates", "thermal_noise_w", "RotaryWingParams", "propulsion_power",
           "UserMobility"]
