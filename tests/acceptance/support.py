"""What the acceptance tests share: the CLI run in-process, a person's console, and spec lines.

``run_cli`` calls ``reconciler.cli.main`` with ``--output json`` and parses the one object it prints,
so a test reads the exit code, the per-resource report and the calls counted of one CLI run.
``Console`` is a second set of boto3 clients against the local AWS: what a person clicking in the
console does (the drift the reconciler must see). ``document_line`` / ``line_after`` find lines in
the spec files, so expectations about ``file:line`` survive comment edits in ``specs/node-app``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from reconciler.aws.calls import is_write
from reconciler.cli import main
from reconciler.local import LocalAWS

ROOT = Path(__file__).resolve().parents[2]
NODE_APP = ROOT / "specs" / "node-app"

AAS_ECS = {"ServiceNamespace": "ecs", "ScalableDimension": "ecs:service:DesiredCount"}


@dataclass(frozen=True)
class CliRun:
    """One CLI run: its exit code and its JSON output."""

    argv: tuple[str, ...]
    code: int
    output: dict[str, Any]

    @property
    def calls(self) -> dict[str, int]:
        return dict(self.output["calls"])

    @property
    def writes(self) -> dict[str, int]:
        return {call: count for call, count in self.output["calls"].items() if is_write(call)}

    @property
    def resources(self) -> list[dict[str, Any]]:
        return list(self.output["resources"])

    def resource(self, kind: str, name: str) -> dict[str, Any]:
        (found,) = [r for r in self.output["resources"] if (r["kind"], r["name"]) == (kind, name)]
        return dict(found)

    @property
    def changed(self) -> dict[tuple[str, str], dict[str, Any]]:
        """The resources not in sync, by (kind, name)."""
        return {(r["kind"], r["name"]): r for r in self.output["resources"] if r["status"] != "in-sync"}

    def fields(self, kind: str, name: str) -> dict[str, dict[str, Any]]:
        """The reported fields of one resource, by path."""
        return {field["path"]: field for field in self.resource(kind, name)["fields"]}

    def __str__(self) -> str:
        return f"{' '.join(self.argv)} -> {self.code}\n{json.dumps(self.output, indent=1)[:6000]}"


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> CliRun:
    """``ecs-reconciler ARGV --output json`` in this process, against the local AWS of the environment."""
    capsys.readouterr()
    code = main([*argv, "--output", "json"])
    out = capsys.readouterr().out
    try:
        output = json.loads(out)
    except json.JSONDecodeError as error:
        raise AssertionError(f"{' '.join(argv)} printed no JSON object (exit {code}):\n{out}") from error
    return CliRun(tuple(argv), code, output)


class Console:
    """A person at the console: plain boto3 clients, nothing of the reconciler's."""

    def __init__(self, local: LocalAWS) -> None:
        def client(service: str) -> Any:
            return boto3.client(service, region_name=local.region, endpoint_url=local.endpoint_url)

        self.ecs = client("ecs")
        self.ec2 = client("ec2")
        self.elbv2 = client("elbv2")
        self.ecr = client("ecr")
        self.autoscaling = client("application-autoscaling")
        self.logs = client("logs")

    def group_id(self, name: str) -> str:
        groups = self.ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]}])
        (group,) = groups["SecurityGroups"]
        return str(group["GroupId"])

    def default_vpc(self) -> str:
        vpcs = self.ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
        return str(vpcs[0]["VpcId"])

    def target_group(self, name: str) -> dict[str, Any]:
        (group,) = self.elbv2.describe_target_groups(Names=[name])["TargetGroups"]
        return dict(group)

    def target_group_tags(self, arn: str) -> dict[str, str]:
        (description,) = self.elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"]
        return {tag["Key"]: tag["Value"] for tag in description["Tags"]}

    def load_balancer_arn(self, name: str) -> str:
        (balancer,) = self.elbv2.describe_load_balancers(Names=[name])["LoadBalancers"]
        return str(balancer["LoadBalancerArn"])

    def listener(self, load_balancer: str, port: int = 80) -> dict[str, Any]:
        listeners = self.elbv2.describe_listeners(LoadBalancerArn=self.load_balancer_arn(load_balancer))
        (found,) = [item for item in listeners["Listeners"] if item["Port"] == port]
        return dict(found)

    def service(self, cluster: str, name: str) -> dict[str, Any]:
        (found,) = self.ecs.describe_services(cluster=cluster, services=[name], include=["TAGS"])["services"]
        return dict(found)

    def active_services(self, cluster: str) -> set[str]:
        arns = self.ecs.list_services(cluster=cluster, maxResults=100)["serviceArns"]
        return {arn.rsplit("/", 1)[-1] for arn in arns}

    def scalable_target(self, cluster: str, service: str) -> dict[str, Any] | None:
        targets = self.autoscaling.describe_scalable_targets(
            ResourceIds=[f"service/{cluster}/{service}"], **AAS_ECS
        )["ScalableTargets"]
        return dict(targets[0]) if targets else None


def document_line(file: Path, kind: str, name: str) -> int:
    """The line of the ``apiVersion`` that starts the document ``kind``/``name`` in ``file``."""
    start = 0
    current_kind = None
    for number, line in enumerate(file.read_text().splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith("apiVersion:"):
            start, current_kind = number, None
        elif stripped.startswith("kind:"):
            current_kind = stripped.removeprefix("kind:").strip()
        elif current_kind == kind and stripped in (f"name: {name}", f"metadata: {{name: {name}}}"):
            return start
    raise AssertionError(f"no {kind}/{name} in {file}")


def line_after(file: Path, text: str, *, after: int) -> int:
    """The first line at or after line ``after`` that contains ``text``."""
    for number, line in enumerate(file.read_text().splitlines(), start=1):
        if number >= after and text in line:
            return number
    raise AssertionError(f"{text!r} not in {file} after line {after}")
