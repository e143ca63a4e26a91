"""The engine: dependency graph, planner orchestration, executor with bounded concurrency."""
