"""Collaborative BEV perception for CAVs: fusion model, attacks, CP-Guard/ROBOSAC defences, benchmark."""
