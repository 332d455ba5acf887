"""Online control barrier functions: a decentralised CBF-QP safety filter for single integrators
(2D/3D), unicycles (near-identity diffeomorphism) and UAVs (altitude band), solved exactly and
vectorised over all agents; a numpy k-nearest-neighbour builder; and a centralised CBF-QP baseline.

Gao, Yang, Prorok, "Online Control Barrier Functions for Decentralized Multi-Agent Navigation",
MRS 2023 (alpha chosen online per agent/edge); Wang, Ames, Egerstedt, "Safety Barrier Certificates
for Collisions-Free Multirobot Systems", T-RO 2017 (reciprocal and centralised barrier
certificates). Pure numpy (+ highspy for the centralised baseline); no simulator imports.

Typical use::

    res = cbf_filter(pos, u_nom, radius=0.2, alpha=alpha, dt=0.05, u_max=1.0, sense_radius=2.0)
    pos = pos + res.u * dt            # res.infeasible agents brake (u = 0)
"""
from planners.cbf.central import CentralResult, centralized_cbf_filter
from planners.cbf.filter import (FilterResult, agent_alpha, cbf_filter, closest_points_boxes,
                                 closest_points_circles)
from planners.cbf.kinematics import (UnicycleFilterResult, control_point, point_to_unicycle,
                                     uav_cbf_filter, unicycle_cbf_filter, unicycle_to_point)
from planners.cbf.neighbours import knn_within_radius, pairs_within_radius
from planners.cbf.qp import QPResult, solve_projection_qp
from planners.cbf.swap import SwapResult, antipodal_swap

__all__ = [
    "CentralResult", "FilterResult", "QPResult", "SwapResult", "UnicycleFilterResult",
    "agent_alpha", "antipodal_swap", "cbf_filter", "centralized_cbf_filter", "closest_points_boxes",
    "closest_points_circles", "control_point", "knn_within_radius", "pairs_within_radius",
    "point_to_unicycle", "solve_projection_qp", "uav_cbf_filter", "unicycle_cbf_filter",
    "unicycle_to_point",
]
