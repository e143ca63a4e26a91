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
import pathlib
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, TextIO

from reconciler import __version__

Handler = Callable[[argparse.Namespace], int]

EXIT_OK = 0
EXIT_FAILED = 1  # invalid spec, failed call, conflict, waiting resource, bad usage
EXIT_PENDING = 2  # plan/drift: changes or drift pending

OUTPUT_TEXT = "text"
OUTPUT_JSON = "json"
OUTPUT_MARKDOWN = "markdown"


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
    common_options: bool = True,
) -> _Parser:
    """A subcommand with its handler and (unless `common_options` is False, for a command that
    calls no AWS and prints no result) the common options; returns it to add its own arguments."""
    parser = commands.add_parser(name, help=help, description=description)
    if common_options:
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
    _add_plan_command(commands)
    _add_apply_command(commands)
    _add_drift_command(commands)
    _add_run_command(commands)
    _add_import_command(commands)
    _add_local_aws_command(commands)
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
    stdout = sys.stdout
    sys.stdout = _ReaderMayLeave(stdout)
    try:
        code = handler(arguments)
        sys.stdout.flush()  # here, where a reader gone is handled, not in the interpreter's exit
        return code
    finally:
        sys.stdout = stdout


class _ReaderMayLeave:
    """Standard output for the length of a command, for when the reader goes away early
    (`drift ... | head`): the rest of the output is discarded and the command finishes, exiting as
    it would have. The exit code then says what the command found, never how much of it was read
    (it used to be 1 or 2 depending on the pipe's buffer), and an `apply` is never cut short by
    its reader."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._reader_gone = False

    def write(self, text: str) -> int:
        if not self._reader_gone:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._discard_from_now_on()
        return len(text)

    def flush(self) -> None:
        if not self._reader_gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._discard_from_now_on()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def _discard_from_now_on(self) -> None:
        self._reader_gone = True
        # What is still buffered would fail again when the interpreter flushes stdout at exit
        # ("Exception ignored ... BrokenPipeError", exit 120): point the descriptor at /dev/null.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):  # not backed by a descriptor: nothing to flush later
            pass


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
    from reconciler.resources.registry import load_estate, spec_kinds
    from reconciler.spec import spec_warnings

    estate, errors = load_estate(arguments.paths)
    spec_sets = list(estate.namespaces.values()) if estate is not None else []
    documents = [document for spec_set in spec_sets for document in spec_set]
    targets = list(estate.targets) if estate is not None else []
    warnings = sorted(warning for spec_set in spec_sets for warning in spec_warnings(spec_set, spec_kinds()))
    if arguments.output == OUTPUT_JSON:
        print_json(
            {
                "ok": not errors,
                "errors": [error.as_dict() for error in errors],
                "warnings": [warning.as_dict() for warning in warnings],
                "resources": [
                    {
                        "kind": document.kind,
                        "name": document.name,
                        # Only an estate with Targets has namespaces to name.
                        **({"namespace": document.metadata.namespace} if targets else {}),
                        "file": document.file,
                        "line": document.line,
                    }
                    for document in documents
                ],
                **(
                    {
                        "targets": [
                            {
                                "name": target.name,
                                "accountId": target.account_id,
                                "region": target.region,
                                "roleArn": target.role_arn,
                                "file": target.file,
                                "line": target.line,
                            }
                            for target in targets
                        ]
                    }
                    if targets
                    else {}
                ),
                "calls": {},
            }
        )
    else:
        for error in errors:
            print(error)
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)
        if errors:
            files = len({error.file for error in errors})
            print(f"invalid: {_plural(len(errors), 'error')} in {_plural(files, 'file')}")
        else:
            files = len({document.file for document in documents} | {target.file for target in targets})
            estate_part = f" and {_plural(len(targets), 'Target')}" if targets else ""
            print(f"valid: {_plural(len(documents), 'document')}{estate_part} in {_plural(files, 'file')}")
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
    from reconciler.resources.registry import json_schema

    del arguments  # a schema is JSON whatever --output says
    print_json(json_schema())
    return EXIT_OK


# --- plan, apply, drift -------------------------------------------------------------------------


def parse_duration(text: str) -> float:
    """Seconds, as a bare number (`5`) or with a unit (`30s`, `5m`, `1h`)."""
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    value = text.strip().lower()
    multiplier = units.get(value[-1:])
    number = value[:-1] if multiplier is not None else value
    try:
        seconds = float(number) * (multiplier or 1.0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (use 30, 30s, 5m or 1h)") from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"a duration must be positive: {text!r}")
    return seconds


def parse_count(text: str) -> int:
    """A whole number, 0 or more: a negative limit would become a Python slice bound
    (`--max-deletes -1` planned all deletions but one)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text!r}")
    return value


def _add_engine_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="spec files or folders (*.yaml, *.yml)")
    _add_estate_options(parser)
    parser.add_argument(
        "--namespace",
        dest="namespaces",
        action="append",
        default=[],
        metavar="NAME",
        help="act on this namespace's Target only (repeatable; `default`: the documents without a "
        "namespace); default: every target",
    )


def _add_estate_options(parser: argparse.ArgumentParser) -> None:
    """Which account, which installation, and how far pruning may go: shared by plan, apply,
    drift and run so each means the same everywhere."""
    group = parser.add_argument_group("estate options")
    group.add_argument(
        "--instance",
        default="default",
        help="this installation's name in the ownership tags (default: default)",
    )
    group.add_argument("--prune", action="store_true", help="delete owned resources whose documents are gone")
    group.add_argument(
        "--max-deletes",
        dest="max_deletes",
        type=parse_count,
        default=10,
        help="at most N deletions a pass, orphans and old task definition revisions together (default 10)",
    )
    group.add_argument(
        "--allow-mass-prune",
        dest="allow_mass_prune",
        action="store_true",
        help="allow pruning more than half of what is owned, or with no documents at all",
    )
    group.add_argument(
        "--keep-revisions",
        dest="keep_revisions",
        type=parse_count,
        default=5,
        help="owned task definition revisions kept per family besides the ones in use (default 5)",
    )
    group.add_argument(
        "--perpetual-diff-limit",
        dest="perpetual_diff_limit",
        type=_positive_int,
        default=3,
        help="writes of the same differences to one resource before writes to it stop and it is "
        "reported as perpetual-diff (default 3)",
    )
    _add_role_options(group)


def _add_role_options(group: argparse._ArgumentGroup | argparse.ArgumentParser) -> None:
    group.add_argument(
        "--assume-role",
        dest="assume_role",
        metavar="ROLE_ARN",
        help="act in a workload account through this role, assumed from the current credentials",
    )
    group.add_argument(
        "--external-id", dest="external_id", help="the external id the role's trust policy asks for"
    )


def _add_plan_command(commands: argparse._SubParsersAction[_Parser]) -> None:
    parser = add_command(
        commands,
        "plan",
        help="show the calls that would converge AWS to the specs",
        description="Observe AWS, compare with the specs and print the plan. Writes nothing. "
        "Exit 0 in sync, 2 changes pending, 1 error (invalid specs, conflicts, waiting resources).",
        handler=_plan,
        output_choices=(OUTPUT_TEXT, OUTPUT_JSON, OUTPUT_MARKDOWN),
    )
    _add_engine_arguments(parser)


def _add_apply_command(commands: argparse._SubParsersAction[_Parser]) -> None:
    parser = add_command(
        commands,
        "apply",
        help="converge AWS to the specs",
        description="Observe, plan and issue the calls that converge AWS to the specs. "
        "Exit 0 converged, 1 otherwise (failed calls, conflicts, waiting resources).",
        handler=_apply,
    )
    _add_engine_arguments(parser)
    parser.add_argument(
        "--dry-run",
        dest="dry_run",
        action="store_true",
        help="the plan, as `plan` shows it and exits (2 when changes are pending); issue no write",
    )
    parser.add_argument("--wait", action="store_true", help="follow rollouts until the services are steady")
    parser.add_argument(
        "--timeout", type=parse_duration, default=600.0, help="how long --wait waits (default 10m)"
    )


def _add_drift_command(commands: argparse._SubParsersAction[_Parser]) -> None:
    parser = add_command(
        commands,
        "drift",
        help="report every difference between the specs and AWS",
        description="Per resource: in-sync, drifted, missing, orphaned or conflict, and per field the "
        "path, desired and live values and the spec line; documents changed in git and not applied "
        "yet are listed apart (changed). Exit 0 no drift, 2 drift (or missing or orphaned), 1 error.",
        handler=_drift,
        output_choices=(OUTPUT_TEXT, OUTPUT_JSON, OUTPUT_MARKDOWN),
    )
    _add_engine_arguments(parser)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _load_estate(arguments: argparse.Namespace) -> Any:
    """The estate (every namespace's spec set and the Targets), restricted to `--namespace`, or
    None after printing its errors (nothing is sent to AWS then)."""
    from reconciler.resources.registry import load_estate
    from reconciler.spec import SpecError

    # An empty folder is an empty spec set only when deleting everything is what was asked for.
    tear_down = getattr(arguments, "prune", False) and getattr(arguments, "allow_mass_prune", False)
    estate, errors = load_estate(arguments.paths, allow_empty=tear_down)
    if estate is not None and arguments.namespaces:
        unknown = _unknown_namespaces(estate, arguments.namespaces)
        if unknown:
            errors = [SpecError(file="", line=0, kind="", name="", path="--namespace", message=unknown)]
            estate = None
        else:
            estate = estate.only(arguments.namespaces)
    if estate is None:
        if arguments.output == OUTPUT_JSON:
            print_json({"ok": False, "errors": [e.as_dict() for e in errors], "resources": [], "calls": {}})
        else:
            for error in errors:
                print(error, file=sys.stderr)
            print(f"invalid: {_plural(len(errors), 'error')}; nothing was sent to AWS", file=sys.stderr)
    return estate


def _unknown_namespaces(estate: Any, names: Sequence[str]) -> str:
    """Why `--namespace` names no target, or "" when each name is a Target or `default`."""
    from reconciler.spec.estate import DEFAULT_NAMESPACE_LABEL

    known = [target.name for target in estate.targets]
    if None in estate.namespaces:
        known.insert(0, DEFAULT_NAMESPACE_LABEL)
    missing = [name for name in names if name not in known]
    if not missing:
        return ""
    listed = ", ".join(repr(name) for name in missing)
    return f"no Target named {listed} (targets: {', '.join(known) or 'none'})"


def _engine_settings(arguments: argparse.Namespace) -> tuple[Any, Any]:
    """AWS access and plan settings from the common and estate options."""
    from reconciler.aws.settings import AwsSettings
    from reconciler.resources.base import PlanSettings

    plan = PlanSettings(
        instance=arguments.instance,
        keep_revisions=arguments.keep_revisions,
        prune=arguments.prune,
        max_deletes=arguments.max_deletes,
        allow_mass_prune=arguments.allow_mass_prune,
        perpetual_diff_limit=arguments.perpetual_diff_limit,
    )
    aws = AwsSettings(
        region=arguments.region,
        endpoint_url=arguments.endpoint_url,
        assume_role_arn=arguments.assume_role,
        external_id=arguments.external_id,
    )
    return aws, plan


def _plan(arguments: argparse.Namespace) -> int:
    return _run_engine_command(arguments, command="plan")


def _drift(arguments: argparse.Namespace) -> int:
    return _run_engine_command(arguments, command="drift")


def _apply(arguments: argparse.Namespace) -> int:
    # A dry run is a plan: the same output and the same exit codes, so a script can tell "changes
    # pending" (2) from "converged" (0).
    return _run_engine_command(arguments, command="plan" if arguments.dry_run else "apply")


def _run_engine_command(arguments: argparse.Namespace, *, command: str) -> int:
    import asyncio

    from reconciler.daemon.logs import configure_logging

    # Warnings only, on stderr; readable lines beside text output, JSON lines beside JSON.
    configure_logging(level="warning", json_lines=arguments.output == OUTPUT_JSON)
    estate = _load_estate(arguments)
    if estate is None:
        return EXIT_FAILED
    if not estate.has_targets and None in estate.namespaces:
        # No Targets: one account and Region, exactly as before namespaces existed.
        return asyncio.run(_engine_command(arguments, estate.namespaces[None], command=command))
    return asyncio.run(_estate_command(arguments, estate, command=command))


async def _engine_command(arguments: argparse.Namespace, spec_set: Any, *, command: str) -> int:
    from reconciler.aws.errors import AwsError
    from reconciler.engine.observe import ProcessCache
    from reconciler.engine.report import build_report
    from reconciler.engine.revision_cache import for_one_shot_run
    from reconciler.engine.session import open_engine

    # plan, drift (and apply --dry-run, which is a plan) only observe and plan: they show the calls
    # apply would make.
    apply = command == "apply"
    waited: Waited | None = None
    aws_settings, plan_settings = _engine_settings(arguments)
    try:
        async with open_engine(
            aws_settings,
            plan_settings,
            cache=ProcessCache(revision_file=for_one_shot_run(aws_settings.endpoint_url, os.environ)),
        ) as session:
            if apply:
                result = await session.engine.apply_and_confirm(spec_set)
                if arguments.wait and result.ok:
                    waited = await _wait_until_steady(session.engine, spec_set, within=arguments.timeout)
            else:
                # An owned resource that no document resolves to is always listed by plan
                # and drift, pruned or not: a spec set that lost documents is not in sync.
                result = await session.engine.plan_pass(spec_set, orphans=True)
            calls = session.aws.counter.snapshot()
    except AwsError as error:
        message = _startup_message(error)
        if arguments.output == OUTPUT_JSON:
            print_json({"ok": False, "errors": [{"message": message}], "resources": [], "calls": {}})
        else:
            print(f"error: {message}", file=sys.stderr)
        return EXIT_FAILED
    # What apply did is the plan it executed, with each resource's outcome and the values its calls
    # made known (ARNs, ids); a later wait only adds whether the rollouts became steady.
    reports = build_report(result.plan, spec_set, execution=result.execution)
    return _render_engine_result(
        arguments, command=command, result=result, reports=reports, calls=calls, waited=waited
    )


async def _estate_command(arguments: argparse.Namespace, estate: Any, *, command: str) -> int:
    """`_engine_command` for an estate with Targets: one session per target, concurrently, each
    failing alone (`reconciler.engine.estate`)."""
    from reconciler.engine.estate import run_per_target
    from reconciler.engine.observe import ProcessCache
    from reconciler.engine.revision_cache import for_one_shot_run

    apply = command == "apply"
    aws_settings, plan_settings = _engine_settings(arguments)

    async def work(session: Any, spec_set: Any) -> tuple[Any, Waited | None]:
        if not apply:
            return await session.engine.plan_pass(spec_set, orphans=True), None
        result = await session.engine.apply_and_confirm(spec_set)
        waited = None
        if arguments.wait and result.ok:
            waited = await _wait_until_steady(session.engine, spec_set, within=arguments.timeout)
        return result, waited

    outcomes = await run_per_target(
        estate,
        aws_settings=aws_settings,
        plan_settings=plan_settings,
        work=work,
        # Each target its own memory: the account id, and revisions by account and Region.
        cache_for=lambda settings: ProcessCache(
            revision_file=for_one_shot_run(settings.endpoint_url, os.environ)
        ),
    )
    return _render_estate_result(arguments, command=command, outcomes=outcomes)


@dataclass(frozen=True)
class Waited:
    """How `apply --wait` ended: the last pass it looked at, or None when time ran out first."""

    result: Any
    within: float


async def _wait_until_steady(engine: Any, spec_set: Any, *, within: float) -> Waited:
    """Re-observe until nothing is left to do and every rollout completed; a failed rollout ends it."""
    import asyncio

    from reconciler.engine.reconcile import rollout_of
    from reconciler.plan.steps import Action

    try:
        async with asyncio.timeout(within):
            while True:
                result = await engine.plan_pass(spec_set)
                rollouts = [rollout_of(live) for live in result.observation.live.resources.values()]
                # WAITING: the plan itself knows a rollout of the wanted revision failed (or an
                # image is missing).
                waiting = any(resource.action is Action.WAITING for resource in result.plan)
                if (
                    "FAILED" in rollouts
                    or waiting
                    or not (result.plan.has_changes or "IN_PROGRESS" in rollouts)
                ):
                    return Waited(result=result, within=within)
                await asyncio.sleep(2.0)
    except TimeoutError:
        return Waited(result=None, within=within)


def _render_engine_result(
    arguments: argparse.Namespace,
    *,
    command: str,
    result: Any,
    reports: Any,
    calls: dict[str, int],
    waited: Waited | None = None,
) -> int:
    from reconciler.engine.report import render_markdown, render_text, report_as_json, summarise

    errors = _pass_errors(result, command=command, waited=waited)
    code = _exit_code(command=command, errors=bool(errors), changes=_pending(reports, command=command))
    summary = summarise(reports, applied=command == "apply")
    steady = waited is not None and not errors
    if arguments.output == OUTPUT_JSON:
        payload: dict[str, Any] = {
            "ok": code == EXIT_OK,
            "errors": errors,
            "resources": report_as_json(reports),
            "calls": calls,
            "summary": summary.as_json(),
        }
        if waited is not None:
            payload["steady"] = steady
        print_json(payload)
        return code
    if arguments.output == OUTPUT_MARKDOWN:
        print(render_markdown(reports, title=command), end="")
        return code
    text = render_text(reports, colour=sys.stdout.isatty(), changes_apart=command == "drift")
    if text:
        print(text)
    for error in errors:
        where = f"{error['kind']}/{error['name']}: " if error.get("kind") else ""
        print(f"error: {where}{error['message']}", file=sys.stderr)
    if command == "apply":
        print(_apply_verdict(summary, calls, code))
        if steady:
            print("steady: every rollout reached steady state")
    elif summary.counts:
        print(f"{summary.text} ({_plural(summary.resources, 'resource')})")
    else:
        print(summary.text)
    return code


def _pass_errors(result: Any, *, command: str, waited: Waited | None) -> list[dict[str, Any]]:
    """`_engine_errors` and, after `--wait`, why it did not end steady; messages masked."""
    from reconciler.spec.secrets import mask_text

    errors = _engine_errors(result, command=command)
    if waited is not None:
        errors += [error for error in _waited_errors(waited) if error not in errors]
    return [{**error, "message": mask_text(error["message"])} for error in errors]


def _pending(reports: Sequence[Any], *, command: str) -> bool:
    """What makes `plan` and `drift` exit 2: for `plan` any difference; for `drift` only what
    git does not ask for (drift, orphans, missing resources: a resource that is not there carries
    no spec hash to tell a new document from one deleted by hand). A change of a document not yet
    applied is listed by `drift`, apart, and is no reason to alarm."""
    ignored = {"in-sync", "changed"} if command == "drift" else {"in-sync"}
    return any(report.status not in ignored for report in reports)


def _exit_code(*, command: str, errors: bool, changes: bool) -> int:
    if errors:
        return EXIT_FAILED
    return EXIT_PENDING if changes and command != "apply" else EXIT_OK


def _render_estate_result(arguments: argparse.Namespace, *, command: str, outcomes: Sequence[Any]) -> int:
    """An estate's results: resources grouped by target, each target named with its account and
    Region, a target that failed named with why; the exit code over them all (any failed target,
    1)."""
    from reconciler.engine.estate import total_calls
    from reconciler.engine.report import build_report, render_markdown, render_text, report_as_json, summarise
    from reconciler.spec.secrets import mask_text

    applied = command == "apply"
    groups: list[tuple[Any, list[Any], list[dict[str, Any]], Waited | None]] = []
    for outcome in outcomes:
        if outcome.result is None:
            message = mask_text(outcome.error or "failed")
            groups.append((outcome, [], [{"kind": "", "name": "", "message": message}], None))
            continue
        result, waited = outcome.result
        reports = build_report(result.plan, outcome.spec_set, execution=result.execution)
        groups.append((outcome, reports, _pass_errors(result, command=command, waited=waited), waited))
    every_report = [report for _, reports, _, _ in groups for report in reports]
    any_error = any(errors for _, _, errors, _ in groups)
    code = _exit_code(
        command=command,
        errors=any_error,
        changes=_pending(every_report, command=command),
    )
    calls = total_calls(list(outcomes))
    summary = summarise(every_report, applied=applied)
    failed = [outcome.name for outcome in outcomes if not outcome.ok]
    waiting = any(waited is not None for _, _, _, waited in groups)

    def where(outcome: Any) -> str:
        account = outcome.account_id or "account unknown"
        return f"{account}, {outcome.region or 'Region unknown'}"

    if arguments.output == OUTPUT_JSON:
        payload: dict[str, Any] = {
            "ok": code == EXIT_OK,
            "errors": [
                {"target": outcome.name, "namespace": outcome.namespace, **error}
                for outcome, _, errors, _ in groups
                for error in errors
            ],
            "resources": [
                {**resource, "namespace": outcome.namespace, "target": outcome.name}
                for outcome, reports, _, _ in groups
                for resource in report_as_json(reports)
            ],
            "calls": calls,
            "summary": summary.as_json(),
            "targets": [
                {
                    "name": outcome.name,
                    "namespace": outcome.namespace,
                    "accountId": outcome.account_id,
                    "region": outcome.region,
                    "roleArn": outcome.target.role_arn if outcome.target is not None else None,
                    "ok": outcome.ok and not errors,
                    "error": mask_text(outcome.error) if outcome.error else None,
                    "calls": dict(outcome.calls),
                    "summary": summarise(reports, applied=applied).as_json(),
                }
                for outcome, reports, errors, _ in groups
            ],
        }
        if waiting:
            payload["steady"] = not any_error
        print_json(payload)
        return code
    if arguments.output == OUTPUT_MARKDOWN:
        for outcome, reports, _, _ in groups:
            title = f"{command}: target {outcome.name} ({where(outcome)})"
            if outcome.ok:
                print(render_markdown(reports, title=title))
            else:
                print(f"### ecs-reconciler {title}\n\n**failed**: {_markdown_text(outcome.error)}\n")
        return code
    for outcome, reports, errors, _ in groups:
        print(f"target {outcome.name} ({where(outcome)})")
        if not outcome.ok:
            print(f"    failed: {mask_text(outcome.error or '')}")
            print(f"error: target {outcome.name}: {mask_text(outcome.error or '')}", file=sys.stderr)
            continue
        text = render_text(reports, colour=sys.stdout.isatty(), changes_apart=command == "drift")
        if text:
            print(text)
        for error in errors:
            what = f"{error['kind']}/{error['name']}: " if error.get("kind") else ""
            print(f"error: target {outcome.name}: {what}{error['message']}", file=sys.stderr)
        print(f"    {summarise(reports, applied=applied).text}")
    targets = _plural(len(outcomes), "target")
    failing = f"; {len(failed)} of {targets} failed: {', '.join(failed)}" if failed else f" in {targets}"
    if applied:
        print(_apply_verdict(summary, calls, code, failing=failing))
    else:
        print(f"{summary.text}{failing}")
    return code


def _apply_verdict(summary: Any, calls: Mapping[str, int], code: int, *, failing: str = "") -> str:
    """`apply`'s last line: whether it converged, what it did, and the calls it took."""
    writes = sum(count for call, count in calls.items() if _is_write(call))
    verdict = "converged" if code == EXIT_OK else "not converged"
    did = summary.text if summary.counts else "nothing to change"
    made = f"{_plural(writes, 'write call')}, {_plural(sum(calls.values()), 'call')} in all"
    return f"{verdict}: {did}{failing}; {made}"


def _markdown_text(text: str | None) -> str:
    from reconciler.spec.secrets import mask_text

    return mask_text(text or "").replace("|", "\\|").replace("\n", " ")


def _engine_errors(result: Any, *, command: str) -> list[dict[str, Any]]:
    """What keeps a pass from being converged: conflicts, waiting resources, failed calls, failed
    rollouts and, for apply, deletions held back."""
    from reconciler.engine.reconcile import rollout_of
    from reconciler.plan.steps import Action, Hold

    blocked = [r for r in result.plan if r.action in (Action.CONFLICT, Action.WAITING, Action.PERPETUAL_DIFF)]
    # The observation predates this pass's writes: a service it just updated is on a new deployment,
    # so a failed rollout seen before that is history, not this run's outcome.
    written = {
        key
        for key, outcome in (result.execution.outcomes.items() if result.execution else ())
        if outcome.calls_made
    }
    failed_rollouts = [
        key
        for key, live in result.observation.live.resources.items()
        if rollout_of(live) == "FAILED" and key not in written
    ]
    errors: list[dict[str, Any]] = [
        {"kind": r.kind, "name": r.name, "message": r.message or r.action.value} for r in blocked
    ]
    if result.execution is not None:
        errors += [
            {"kind": o.key[0], "name": o.key[1], "message": o.error or f"skipped: {o.skipped_because}"}
            for o in result.execution.failures
        ]
    errors += [
        {"kind": k, "name": n, "message": "rollout failed"} for k, n in failed_rollouts if command == "apply"
    ]
    if command == "apply":
        # Deletions held back (the per-run limit, the mass-prune guard): not converged yet.
        errors += [
            {"kind": r.kind, "name": r.name, "message": r.message}
            for r in result.plan
            if r.held is Hold.DELETE_HELD
        ]
    return errors


def _waited_errors(waited: Waited) -> list[dict[str, Any]]:
    """Why `apply --wait` did not end steady: time ran out, or the last pass it saw is blocked."""
    if waited.result is None:
        return [{"kind": "", "name": "", "message": f"not steady within {waited.within:.0f} s"}]
    # After the wait every failed rollout is this run's: the apply's own deployments ended so.
    return _engine_errors(waited.result, command="apply")


def _is_write(call: str) -> bool:
    from reconciler.aws.calls import is_write

    return is_write(call)


# --- run, local-aws -----------------------------------------------------------------------------


def _port_number(text: str) -> int:
    """A TCP port, 0-65535 (0 picks a free one)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"the port must be 0-65535, got {port}")
    return port


def _listen_address(text: str) -> tuple[str, int]:
    """`HOST:PORT` (HOST defaults to 127.0.0.1, `[::1]:8080` for IPv6; port 0 picks a free one),
    checked here so that a bad one is a usage error, not a traceback from the bind."""
    host, _, port_text = text.strip().rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    try:
        port = int(port_text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not HOST:PORT: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"the port must be 0-65535, got {port} in {text!r}")
    if any(char.isspace() for char in host):
        raise argparse.ArgumentTypeError(f"not a host name or address: {host!r}")
    return (host or "127.0.0.1", port)


DEFAULT_RESYNC_SECONDS = 300.0
LOCAL_RESYNC_SECONDS = 10.0
"""The embedded local AWS is a place to try things: drift made by hand is healed within seconds.
Against real AWS every resync is a full batched read of the estate, so minutes are the default."""


def _resync_seconds(arguments: argparse.Namespace) -> float:
    if arguments.resync is not None:
        return float(arguments.resync)
    return LOCAL_RESYNC_SECONDS if arguments.local else DEFAULT_RESYNC_SECONDS


def _add_run_command(commands: argparse._SubParsersAction[_Parser]) -> None:
    parser = add_command(
        commands,
        "run",
        help="run the reconciler as a daemon",
        description="Watch the specs and keep AWS converged: level-triggered passes on every spec "
        "change and every resync, drift reported and (in enforce mode) undone, HTTP endpoints "
        "/healthz /readyz /metrics /status /drift. SIGTERM stops gracefully.",
        handler=_run,
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="spec files or folders to watch")
    parser.add_argument("--git", help="poll a git repository instead: URL[#REF[:PATH]]")
    parser.add_argument(
        "--git-poll-interval",
        dest="git_poll",
        type=parse_duration,
        default=30.0,
        help="how often to fetch the git source (default 30s)",
    )
    parser.add_argument(
        "--mode",
        choices=("enforce", "report"),
        default="enforce",
        help="enforce converges; report only observes and reports (default enforce)",
    )
    parser.add_argument(
        "--resync-interval",
        dest="resync",
        type=parse_duration,
        default=None,
        help="reconcile everything at least this often: the drift detector "
        f"(default {DEFAULT_RESYNC_SECONDS / 60:.0f}m; {LOCAL_RESYNC_SECONDS:.0f}s with --local)",
    )
    parser.add_argument(
        "--listen",
        type=_listen_address,
        default=("127.0.0.1", 8080),
        help="HOST:PORT of the HTTP endpoints (default 127.0.0.1:8080)",
    )
    parser.add_argument(
        "--http-token-file",
        dest="http_token_file",
        metavar="PATH",
        help="require this file's bearer token for /status, /drift and /metrics",
    )
    parser.add_argument(
        "--http-token-env",
        dest="http_token_env",
        metavar="NAME",
        help="require the bearer token in environment variable NAME for /status, /drift and /metrics",
    )
    parser.add_argument(
        "--leader-election",
        dest="leader_table",
        metavar="TABLE",
        help="elect a leader through this DynamoDB table; only the leader writes",
    )
    parser.add_argument(
        "--lease-duration",
        dest="lease_duration",
        type=parse_duration,
        default=15.0,
        help="how long a leader's lease stays valid; a standby takes over this long after the "
        "leader's last renew (default 15s)",
    )
    parser.add_argument(
        "--lease-renew-deadline",
        dest="lease_renew_deadline",
        type=parse_duration,
        default=10.0,
        help="a leader that could not renew for this long stops writing; less than the lease "
        "duration, the difference is the clock skew tolerated between replicas (default 10s)",
    )
    parser.add_argument(
        "--lease-retry-period",
        dest="lease_retry_period",
        type=parse_duration,
        default=2.0,
        help="how often the leader renews and a standby tries to acquire (default 2s)",
    )
    parser.add_argument(
        "--notify-webhook",
        dest="webhook",
        metavar="URL",
        help="post drift, heal, failure and failed-rollout events to this URL",
    )
    parser.add_argument(
        "--local",
        action="store_true",
        help="start the embedded local AWS and reconcile against it (no account needed)",
    )
    _add_estate_options(parser)


def _run(arguments: argparse.Namespace) -> int:
    from reconciler.aws.errors import AwsError
    from reconciler.daemon.leader import LeaderElectionSettings
    from reconciler.daemon.logs import configure_logging
    from reconciler.daemon.run import StartupError

    if not arguments.paths and not arguments.git:
        print("error: give spec PATHs or --git URL", file=sys.stderr)
        return EXIT_FAILED
    if arguments.git:
        from reconciler.daemon.sources import GitLocation

        try:
            GitLocation.parse(arguments.git)
        except ValueError as error:
            print(f"error: --git: {error}", file=sys.stderr)
            return EXIT_FAILED
    try:
        lease = LeaderElectionSettings(
            lease_duration=arguments.lease_duration,
            renew_deadline=arguments.lease_renew_deadline,
            retry_period=arguments.lease_retry_period,
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    try:
        http_token = _http_token(arguments)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    configure_logging(json_lines=None if arguments.output == OUTPUT_TEXT else True)
    try:
        return _run_daemon(arguments, http_token=http_token, lease=lease)
    except (StartupError, AwsError) as error:
        print(f"error: {_startup_message(error)}", file=sys.stderr)
        return EXIT_FAILED


def _startup_message(error: Exception) -> str:
    """One line for an error met while starting: configuration errors (no Region, no
    credentials) are the message alone; a failed call also names the call."""
    from reconciler.aws.errors import AwsError

    if isinstance(error, AwsError) and error.service == "aws":
        return error.message
    return str(error)


def _run_daemon(arguments: argparse.Namespace, *, http_token: str | None, lease: Any) -> int:
    import asyncio
    from pathlib import Path

    from reconciler.aws.settings import AwsSettings
    from reconciler.daemon.controller import DaemonSettings
    from reconciler.daemon.run import RunOptions, run_daemon
    from reconciler.engine.policy import Mode

    aws_settings, plan_settings = _engine_settings(arguments)
    options = RunOptions(
        paths=tuple(Path(path) for path in arguments.paths),
        git=arguments.git,
        git_poll_seconds=arguments.git_poll,
        daemon=DaemonSettings(mode=Mode(arguments.mode), resync_seconds=_resync_seconds(arguments)),
        plan=plan_settings,
        aws=aws_settings,
        listen=arguments.listen,
        leader_table=arguments.leader_table,
        lease=lease,
        notify_webhook=arguments.webhook,
        http_token=http_token,
    )
    if not arguments.local:
        return asyncio.run(run_daemon(options))
    from reconciler.local import LocalAWS

    with LocalAWS(rollout_seconds=2.0, push_latest=True) as local:
        os.environ.update(local.environment())
        aws = AwsSettings(region=local.region, endpoint_url=local.endpoint_url)
        # The banner advertises the port: only once it is bound.
        return asyncio.run(
            run_daemon(
                RunOptions(**{**vars(options), "aws": aws}),
                started=lambda running: _print_local_banner(local, host=options.listen[0], port=running.port),
            )
        )


def _http_token(arguments: argparse.Namespace) -> str | None:
    """The bearer token of `--http-token-file` or `--http-token-env` (not both); ValueError when
    it is missing or empty, so the daemon never starts believing it is protected when it is not."""
    if arguments.http_token_file and arguments.http_token_env:
        raise ValueError("give --http-token-file or --http-token-env, not both")
    if arguments.http_token_file:
        try:
            token = pathlib.Path(arguments.http_token_file).read_text().strip()
        except OSError as error:
            raise ValueError(f"--http-token-file {arguments.http_token_file}: {error.strerror}") from None
        where = f"--http-token-file {arguments.http_token_file}"
    elif arguments.http_token_env:
        token = os.environ.get(arguments.http_token_env, "").strip()
        where = f"--http-token-env {arguments.http_token_env}"
    else:
        return None
    if not token:
        raise ValueError(f"{where}: the token is empty or not set")
    return token


def _print_local_banner(local: Any, *, host: str, port: int) -> None:
    lines = [
        f"local AWS at {local.endpoint_url} (in this process; gone when it stops)",
        "reach it from another terminal with:",
        *(f"  export {name}={value}" for name, value in sorted(local.environment().items())),
        "  aws ecs list-services --cluster node-app      # for example",
        f"status: http://{host}:{port}/status   drift: http://{host}:{port}/drift   stop: Ctrl-C",
    ]
    print("\n".join(lines), file=sys.stderr, flush=True)


def _add_import_command(commands: argparse._SubParsersAction[_Parser]) -> None:
    parser = add_command(
        commands,
        "import",
        help="write spec documents for services that already run, to adopt them",
        description="Read live ECS services and everything they use (cluster, task definition, "
        "target groups, load balancers with listeners and rules, security groups, autoscaling, ECR "
        "repositories, log groups) and write documents that describe them as they are, each with the adopt "
        "annotation: `plan` on them plans only the ownership tags. Nothing is written unless the "
        "documents validate.",
        handler=_import,
    )
    parser.add_argument(
        "--cluster",
        action="append",
        default=[],
        help="import this cluster's services (repeatable; default: all)",
    )
    parser.add_argument(
        "--service", action="append", default=[], help="import only services of this name (repeatable)"
    )
    parser.add_argument(
        "--out", required=True, type=pathlib.Path, help="the folder to write the documents into"
    )
    _add_role_options(parser)


def _import(arguments: argparse.Namespace) -> int:
    import asyncio

    from reconciler.aws.errors import AwsError
    from reconciler.aws.settings import AwsSettings
    from reconciler.daemon.logs import configure_logging
    from reconciler.engine.importing import ImportSelection, file_name, run_import

    configure_logging(level="warning", json_lines=arguments.output == OUTPUT_JSON)
    selection = ImportSelection(clusters=tuple(arguments.cluster), services=tuple(arguments.service))
    settings = AwsSettings(
        region=arguments.region,
        endpoint_url=arguments.endpoint_url,
        assume_role_arn=arguments.assume_role,
        external_id=arguments.external_id,
    )
    try:
        outcome = asyncio.run(run_import(settings, selection, arguments.out))
    except (AwsError, FileExistsError) as error:
        message = _startup_message(error) if isinstance(error, AwsError) else str(error)
        if arguments.output == OUTPUT_JSON:
            print_json({"ok": False, "errors": [{"message": message}], "resources": [], "calls": {}})
        else:
            print(f"error: {message}", file=sys.stderr)
        return EXIT_FAILED
    documents = outcome.estate.documents
    problems = [str(error) for error in outcome.errors]
    if not documents:
        problems.append("no services found to import")
    notes = [f"{document.kind}/{document.name}: {note}" for document in documents for note in document.notes]
    notes += [f"not found, so not imported: {missing}" for missing in outcome.estate.not_found]
    if arguments.output == OUTPUT_JSON:
        print_json(
            {
                "ok": not problems,
                "errors": [error.as_dict() for error in outcome.errors] or [{"message": p} for p in problems],
                "warnings": notes,
                "resources": [
                    {"kind": d.kind, "name": d.name, "file": str(arguments.out / file_name(d.kind))}
                    for d in documents
                ],
                "calls": dict(outcome.calls),
            }
        )
    else:
        for note in notes:
            print(f"warning: {note}", file=sys.stderr)
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)
        if not problems:
            print(
                f"imported {_plural(len(documents), 'document')} into {arguments.out} "
                f"({_plural(len(outcome.files), 'file')}); `plan` on them plans only the adoption tags"
            )
    return EXIT_FAILED if problems else EXIT_OK


def _add_local_aws_command(commands: argparse._SubParsersAction[_Parser]) -> None:
    parser = add_command(
        commands,
        "local-aws",
        help="run the local AWS alone, in the foreground",
        description="Start the embedded local AWS (moto, patched to answer like AWS) and print the "
        "environment to point the one-shot commands and the AWS CLI at it. Ctrl-C stops it.",
        handler=_local_aws,
        # It is the endpoint, in its own Region, and prints no result: --region, --endpoint-url
        # and --output would mean nothing.
        common_options=False,
    )
    parser.add_argument("--port", type=_port_number, default=5000, help="port on 127.0.0.1 (default 5000)")
    parser.add_argument(
        "--rollout-seconds",
        dest="rollout_seconds",
        type=float,
        default=2.0,
        help="how long a service deployment takes to complete (default 2)",
    )


def _local_aws(arguments: argparse.Namespace) -> int:
    from reconciler.local import serve_forever

    serve_forever(arguments.port, rollout_seconds=arguments.rollout_seconds)
    return EXIT_OK
