"""The pure planner: (desired, observed) -> actions with reasons; replicas, rollouts, scheduler."""
