"""ecs-reconciler: converge Amazon ECS estates to desired-state spec files."""

__version__ = "0.1.0"
