"""Passing-order scheduling controllers (task ``paths``), one shared executor."""
CONTROLLERS = {
    "schedule_gnn_vae": "robocoord.controllers.schedule:ScheduleGnnVae",
    "schedule_milp": "robocoord.controllers.schedule:ScheduleMilp",
    "schedule_fifo": "robocoord.controllers.schedule:ScheduleExecutor",
    "schedule_cmaes": "robocoord.controllers.schedule:ScheduleCmaes",
    "schedule_random": "robocoord.controllers.schedule:ScheduleRandom",
}
