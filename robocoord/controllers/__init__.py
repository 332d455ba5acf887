"""Controller adapters: one small module per method, turning observations into planner/policy inputs."""
