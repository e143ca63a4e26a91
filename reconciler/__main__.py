"""Allows `python -m reconciler`, the same entry point as the `ecs-reconciler` script."""

from reconciler.cli import main

raise SystemExit(main())
