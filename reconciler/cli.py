"""Command-line entry point: parses arguments, calls the engine, renders output. Nothing else.

``main(argv)`` is the console script. Each command is a subparser built with ``add_command``,
which gives it the options every command shares (``--region``, ``--endpoint-url``,
``--output``/``--format``) and the handler that runs it; add a command by writing a
``_add_<name>_command(commands)`` beside the ones here and calling it from ``build_parser``.

Import the engine and the AWS SDK inside handlers, never at module level: ``validate`` and
``schema`` must run without loading botocore (a test pins this), so they work offline and fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TextIO

from reconciler import __version__

Handler = Callable[[argparse.Namespace], int]

EXIT_OK = 0
EXIT_FAILED = 1  # invalid spec, failed call, conflict, waiting resource, bad usage
EXIT_PENDING = 2  # plan/drift: changes or drift pending

OUTPUT_TEXT = "text"
OUTPUT_JSON = "json"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error exits 1: exit code 2 means "changes pending" in this CLI."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_FAILED, f"{self.prog}: error: {message}\n")


def add_common_options(
    parser: argparse.ArgumentParser, *, output_choices: Sequence[str] = (OUTPUT_TEXT, OUTPUT_JSON)
) -> None:
    """The options every command takes, so scripts can pass them uniformly."""
    group = parser.add_argument_group("common options")
    group.add_argument("--region", help="AWS Region (default: the standard AWS configuration chain)")
    group.add_argument(
        "--endpoint-url",
        dest="endpoint_url",
        help="send every AWS call to this endpoint (e.g. a local AWS); default: AWS_ENDPOINT_URL or AWS",
    )
    group.add_argument(
        "--output",
        "--format",
        dest="output",
        choices=list(output_choices),
        default=OUTPUT_TEXT,
        help="output format (default: text); json prints one object {ok, errors, resources, calls}",
    )


def add_command(
    commands: argparse._SubParsersAction[_Parser],
    name: str,
    *,
    help: str,
    description: str,
    handler: Handler,
    output_choices: Sequence[str] = (OUTPUT_TEXT, OUTPUT_JSON),
) -> _Parser:
    """A subcommand with the common options and its handler; returns it to add its own arguments."""
    parser = commands.add_parser(name, help=help, description=description)
    add_common_options(parser, output_choices=output_choices)
    parser.set_defaults(handler=handler)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="ecs-reconciler",
        description="Converge Amazon ECS estates to desired-state spec files.",
    )
    parser.add_argument("--version", action="version", version=f"ecs-reconciler {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _add_validate_command(commands)
    _add_schema_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        arguments = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, --version and usage errors; in-process callers get a code
        return exit_.code if isinstance(exit_.code, int) else EXIT_FAILED
    handler: Handler | None = getattr(arguments, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_FAILED
    try:
        return handler(arguments)
    except BrokenPipeError:
        # The reader went away (`... | head`): stop quietly instead of a traceback, and keep the
        # interpreter from failing again when it flushes stdout at exit.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - must outlive this function
        return EXIT_FAILED


def print_json(payload: Any, stream: TextIO | None = None) -> None:
    """One JSON object on stdout, keys in a stable order for diffs and golden files."""
    json.dump(payload, stream or sys.stdout, indent=2, sort_keys=False)
    (stream or sys.stdout).write("\n")


# --- validate -----------------------------------------------------------------------------------


def _add_validate_command(commands: argparse._SubParsersAction[_Parser]) -> None:
    parser = add_command(
        commands,
        "validate",
        help="check spec files without calling AWS",
        description=(
            "Load and validate spec files: YAML, unknown fields, values AWS would reject, duplicate "
            "names, dangling references and cycles. Never calls AWS. Exit 0 when valid, 1 otherwise."
        ),
        handler=_validate,
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="spec files or folders (*.yaml, *.yml)")


def _validate(arguments: argparse.Namespace) -> int:
    from reconciler.spec import load_spec_set

    spec_set, errors = load_spec_set(arguments.paths)
    documents = list(spec_set) if spec_set is not None else []
    if arguments.output == OUTPUT_JSON:
        print_json(
            {
                "ok": not errors,
                "errors": [error.as_dict() for error in errors],
                "resources": [
                    {
                        "kind": document.kind.value,
                        "name": document.name,
                        "file": document.file,
                        "line": document.line,
                    }
                    for document in documents
                ],
                "calls": {},
            }
        )
    else:
        for error in errors:
            print(error)
        if errors:
            files = len({error.file for error in errors})
            print(f"invalid: {_plural(len(errors), 'error')} in {_plural(files, 'file')}")
        else:
            files = len({document.file for document in documents})
            print(f"valid: {_plural(len(documents), 'document')} in {_plural(files, 'file')}")
    return EXIT_FAILED if errors else EXIT_OK


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


# --- schema -------------------------------------------------------------------------------------


def _add_schema_command(commands: argparse._SubParsersAction[_Parser]) -> None:
    add_command(
        commands,
        "schema",
        help="print the JSON Schema of spec documents",
        description=(
            "Print the JSON Schema (draft 2020-12) of one spec document, for editors and linters. "
            "It checks shapes and values; cross-document rules need `validate`."
        ),
        handler=_schema,
        output_choices=(OUTPUT_JSON, OUTPUT_TEXT),
    )


def _schema(arguments: argparse.Namespace) -> int:
    from reconciler.spec.schema import json_schema

    del arguments  # a schema is JSON whatever --output says
    print_json(json_schema())
    return EXIT_OK
