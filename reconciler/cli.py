"""Command-line entry point: parses arguments, calls the engine, renders output. Nothing else."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from reconciler import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ecs-reconciler",
        description="Converge Amazon ECS estates to desired-state spec files.",
    )
    parser.add_argument("--version", action="version", version=f"ecs-reconciler {__version__}")
    parser.add_subparsers(dest="command", metavar="COMMAND")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    arguments = parser.parse_args(argv)
    if arguments.command is None:
        parser.print_help()
        return 1
    return 0
