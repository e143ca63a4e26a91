"""No secret in any output (issue 9, item 3): a stack whose task definition carries five secrets in
plain text, under names no list could guess and in a command argument, goes through every command
in every format, the daemon's logs, /status, /drift and a webhook body; no secret value appears
anywhere, and a changed value still shows, as a changed fingerprint."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from reconciler.cli import main
from reconciler.daemon.logs import configure_logging
from reconciler.daemon.notify import NotificationEvent, render_payload
from reconciler.local import LocalAWS
from reconciler.resources.registry import load_spec_set
from reconciler.spec.secrets import fingerprint
from tests.acceptance.support import NODE_APP
from tests.daemon.test_daemon import daemon, options

pytestmark = pytest.mark.aws

SECRETS = {
    "DB_PASS": "hunter2-db",
    "DATABASE_URL": "postgres://app:pg-Secr3t@db.internal/app",
    "STRIPE_SK": "sk_live_51HabcdefghijKLMNOP",
    "SESSION_SIGNING": "sign-me-Qx7Zk2",
}
ARGUMENT = "--db-password=cmdline-Pw9"
NEEDLES = ("hunter2-db", "pg-Secr3t", "sk_live_51HabcdefghijKLMNOP", "sign-me-Qx7Zk2", "cmdline-Pw9")


def with_secrets(specs: Path, *, db_pass: str = SECRETS["DB_PASS"]) -> None:
    service = specs / "service.yaml"
    pairs = "".join(
        f'        - {{name: {name}, value: "{db_pass if name == "DB_PASS" else value}"}}\n'
        for name, value in SECRETS.items()
    )
    text = service.read_text().replace(
        "      essential: true\n",
        f"      essential: true\n      environment:\n{pairs}"
        f'      command: ["node", "server.js", "{ARGUMENT}"]\n',
        1,
    )
    service.write_text(text)


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    main(list(argv))
    captured = capsys.readouterr()
    return captured.out + captured.err


def leaked(text: str) -> list[str]:
    return [needle for needle in NEEDLES if needle in text]


def test_no_secret_value_reaches_any_output(
    aws: LocalAWS, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    specs = tmp_path / "specs"
    shutil.copytree(NODE_APP, specs)
    with_secrets(specs)
    outputs: dict[str, str] = {}
    for output in ("text", "json"):
        outputs[f"validate {output}"] = cli(capsys, "validate", str(specs), "--output", output)
    for command in ("plan", "apply", "drift"):
        for output in ("text", "json", "markdown"):
            if output == "markdown" and command == "apply":
                continue
            outputs[f"{command} {output}"] = cli(capsys, command, str(specs), "--output", output)
    outputs["apply"] = cli(capsys, "apply", str(specs), "--output", "json")

    # A value edited in git: every format shows the change, by fingerprint.
    with_changed = tmp_path / "changed"
    shutil.copytree(NODE_APP, with_changed)
    with_secrets(with_changed, db_pass="hunter2-db-rotated")
    for command in ("plan", "drift", "apply --dry-run"):
        for output in ("text", "json", "markdown"):
            outputs[f"{command} {output} after an edit"] = cli(
                capsys, *command.split(), str(with_changed), "--output", output
            )
    plan = json.loads(outputs["plan json after an edit"])
    (td,) = [r for r in plan["resources"] if r["kind"] == "TaskDefinition"]
    (db_pass,) = [f for f in td["fields"] if f["path"].endswith("DB_PASS") or "environment[0]" in f["path"]]
    assert (db_pass["desired"], db_pass["live"]) == (
        fingerprint("hunter2-db-rotated"),
        fingerprint("hunter2-db"),
    )

    # What apply did shows the change too (issue 13: apply shows what it did), by fingerprint.
    outputs["apply text after an edit"] = cli(capsys, "apply", str(with_changed))
    assert fingerprint("hunter2-db-rotated") in outputs["apply text after an edit"]
    cli(capsys, "apply", str(specs))  # back to the first values, for the daemon below

    # The webhook body for that change.
    spec_set, _ = load_spec_set([with_changed])
    assert spec_set is not None

    async def daemon_outputs() -> None:
        configure_logging(json_lines=True)
        async with daemon(options(aws, with_changed)) as running:
            async with aiohttp.ClientSession() as session:
                for _ in range(100):
                    body = await (await session.get(f"http://127.0.0.1:{running.port}/status")).text()
                    if '"in-sync"' in body and "applied" not in body:
                        break
                    await asyncio.sleep(0.1)
                outputs["/status"] = body
                outputs["/drift"] = await (await session.get(f"http://127.0.0.1:{running.port}/drift")).text()
                drift_markdown = f"http://127.0.0.1:{running.port}/drift?format=markdown"
                outputs["/drift markdown"] = await (await session.get(drift_markdown)).text()
            reports = running.controller.reports
            event = NotificationEvent(
                event="drifted", kind="TaskDefinition", name="node-app", fields=_fields(reports), revision="r"
            )
            outputs["webhook"] = json.dumps(render_payload(event, at=0.0))

    asyncio.run(daemon_outputs())
    outputs["daemon logs"] = capsys.readouterr().err
    assert '"event": "reconciled"' in outputs["daemon logs"] or '"reconciled"' in outputs["daemon logs"]
    assert {name: leaked(text) for name, text in outputs.items() if leaked(text)} == {}
    assert len(outputs) >= 20
    assert fingerprint("hunter2-db") in outputs["plan text after an edit"]


def _fields(reports: Any) -> Any:
    for report in reports:
        if report.kind == "TaskDefinition":
            return report.fields
    return ()
