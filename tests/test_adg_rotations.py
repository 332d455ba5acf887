"""An instance on which a plain PIBT plan rotated (four robots round a 2x2 block in one step), which
made the ADG cyclic and stopped 9 of 16 robots for ever: the rotation-free plan finishes, safely."""
from __future__ import annotations

import robocoord
from conftest import SCENARIOS


def test_kinematic_instance_that_used_to_rotate_finishes_safely():
    sc = robocoord.load_scenario(SCENARIOS / "warehouse_physics.yaml",
                                 ["fidelity=kinematic", "seed=2", "horizon=700"])
    s = robocoord.run(sc).summary
    assert s["finish_rate"] == 1.0
    assert s["collisions"] == 0 and s["robot_contacts"] == 0 and s["obstacle_contacts"] == 0
    assert s["min_clearance"] > 0                  # centre distance >= 2r all the time
