"""The IAM policies ecs-reconciler needs, derived from the calls in its code, and a checker for them.

Run from the repository root:

    .venv/bin/python -m tests.deploy.iam_check           # compare deploy/iam with the code; exit 1 if off
    .venv/bin/python -m tests.deploy.iam_check --print   # print the minimal daemon policy
    .venv/bin/python -m tests.deploy.iam_check --write   # rewrite the generated deploy/iam policies

A policy is the actions of every call the code makes (`tests.deploy.aws_calls` finds them), on
`*`, plus `EXTRA_GRANTS`: the permissions AWS checks that are not the action of one of our calls
(PassRole, service-linked roles, tag-on-create, CloudWatch alarms of target tracking), each with
its reason and the calls that make it needed, and the daemon's own (the lease table, assuming
workload roles), which also narrow those calls to their one resource. The read-only policy (the
role the pull request and drift workflows assume) is the reads among those calls, and nothing else.
`tests/deploy/test_iam_policy.py` runs the comparison, so a new call in the engine fails the suite
until the policies are rewritten with `--write`.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.deploy.aws_calls import PACKAGE, ROOT, Scan, Site, iam_action, required_actions, scan

DAEMON_POLICY = ROOT / "deploy" / "iam" / "daemon-policy.json"
WORKLOAD_POLICY = ROOT / "deploy" / "iam" / "workload-role-policy.json"
READ_ONLY_POLICY = ROOT / "deploy" / "iam" / "read-only-policy.json"
READ_VERBS = ("Describe", "List", "Get", "BatchGet")
"""How every read-only operation of our services is named (and no operation that writes)."""


# --- permissions that are not calls of our own ----------------------------------------------------


@dataclass(frozen=True)
class ExtraGrant:
    """A permission AWS checks that is not simply "the action of a call the code makes".

    `triggers` are the IAM actions whose calls make AWS check it; empty means the daemon itself
    needs it, always. With `tagged_triggers`, only calls that may pass tags count. With
    `create_action_key`, the condition allows exactly the triggering actions that fire.
    `absorbs` (an action prefix) moves the code's own calls of those actions into this
    statement, so they get its narrow resource instead of `*`.
    """

    sid: str
    reason: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    condition: Mapping[str, Mapping[str, str | list[str]]] | None = None
    triggers: tuple[str, ...] = ()
    tagged_triggers: bool = False
    create_action_key: str | None = None
    daemon_only: bool = False
    absorbs: str | None = None

    def fired(self, called: Mapping[str, bool]) -> list[str]:
        """The triggers the code calls (`called`: IAM action → may pass tags)."""
        return sorted(t for t in self.triggers if t in called and (called[t] or not self.tagged_triggers))

    def applies(self, called: Mapping[str, bool], *, role: str) -> bool:
        if role == "workload" and self.daemon_only:
            return False
        return not self.triggers or bool(self.fired(called))

    def statement(self, called: Mapping[str, bool]) -> dict[str, Any]:
        actions = set(self.actions)
        if self.absorbs is not None:
            actions |= {action for action in called if action.startswith(self.absorbs)}
        statement: dict[str, Any] = {
            "Sid": self.sid,
            "Effect": "Allow",
            "Action": sorted(actions),
            "Resource": self.resources[0] if len(self.resources) == 1 else list(self.resources),
        }
        if self.create_action_key is not None:
            values = [trigger.split(":", 1)[1] for trigger in self.fired(called)]
            statement["Condition"] = {"StringEquals": {self.create_action_key: values}}
        elif self.condition is not None:
            statement["Condition"] = {operator: dict(keys) for operator, keys in self.condition.items()}
        return statement


LEASE_TABLE = "ecs-reconciler-lease"
WORKLOAD_ROLE = "ecs-reconciler-workload"

EXTRA_GRANTS: tuple[ExtraGrant, ...] = (
    ExtraGrant(
        sid="LeaderElectionLease",
        reason=(
            f"`run --leader-election {LEASE_TABLE}` keeps its lease as one item of this table and creates "
            "the table on first use; only the daemon (management account) touches it. The daemon's lease "
            "code is planned: until it lands these actions are granted from the design, after that its "
            "DynamoDB calls are found by the scan and land in this statement."
        ),
        actions=(
            "dynamodb:CreateTable",
            "dynamodb:DeleteItem",
            "dynamodb:DescribeTable",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:UpdateItem",
        ),
        resources=(f"arn:aws:dynamodb:*:*:table/{LEASE_TABLE}",),
        daemon_only=True,
        absorbs="dynamodb:",
    ),
    ExtraGrant(
        sid="AssumeWorkloadRoles",
        reason=(
            "acting in workload accounts (AwsSettings.assume_role_arn): the management role may assume "
            f"only roles named {WORKLOAD_ROLE}, whose trust policy names it back (workload-role-trust.json)"
        ),
        actions=("sts:AssumeRole",),
        resources=(f"arn:aws:iam::*:role/{WORKLOAD_ROLE}",),
        daemon_only=True,
        absorbs="sts:AssumeRole",
    ),
    ExtraGrant(
        sid="PassTaskRoles",
        reason=(
            "RegisterTaskDefinition with taskRoleArn/executionRoleArn is a PassRole of each role; "
            "the condition lets the roles go to ECS tasks and nowhere else"
        ),
        actions=("iam:PassRole",),
        resources=("arn:aws:iam::*:role/*",),
        condition={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        triggers=("ecs:RegisterTaskDefinition",),
    ),
    ExtraGrant(
        sid="EcsServiceLinkedRole",
        reason="ECS creates AWSServiceRoleForECS, as the caller, on an account's first cluster or service",
        actions=("iam:CreateServiceLinkedRole",),
        resources=("arn:aws:iam::*:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS",),
        condition={"StringEquals": {"iam:AWSServiceName": "ecs.amazonaws.com"}},
        triggers=("ecs:CreateCluster", "ecs:CreateService"),
    ),
    ExtraGrant(
        sid="ElbServiceLinkedRole",
        reason=(
            "ELB creates AWSServiceRoleForElasticLoadBalancing, as the caller, on an account's first "
            "load balancer"
        ),
        actions=("iam:CreateServiceLinkedRole",),
        resources=(
            "arn:aws:iam::*:role/aws-service-role/elasticloadbalancing.amazonaws.com/"
            "AWSServiceRoleForElasticLoadBalancing",
        ),
        condition={"StringEquals": {"iam:AWSServiceName": "elasticloadbalancing.amazonaws.com"}},
        triggers=("elasticloadbalancing:CreateLoadBalancer",),
    ),
    ExtraGrant(
        sid="AutoscalingServiceLinkedRole",
        reason=(
            "Application Auto Scaling creates AWSServiceRoleForApplicationAutoScaling_ECSService, as the "
            "caller, on an account's first RegisterScalableTarget for ECS"
        ),
        actions=("iam:CreateServiceLinkedRole",),
        resources=(
            "arn:aws:iam::*:role/aws-service-role/ecs.application-autoscaling.amazonaws.com/"
            "AWSServiceRoleForApplicationAutoScaling_ECSService",
        ),
        condition={"StringEquals": {"iam:AWSServiceName": "ecs.application-autoscaling.amazonaws.com"}},
        triggers=("application-autoscaling:RegisterScalableTarget",),
    ),
    ExtraGrant(
        sid="TargetTrackingAlarms",
        reason=(
            "a target tracking policy's CloudWatch alarms are created, read and deleted with the "
            "caller's permissions by PutScalingPolicy and DeleteScalingPolicy (Application Auto Scaling "
            "user guide, 'Permissions required for API actions on target services and CloudWatch')"
        ),
        actions=("cloudwatch:DeleteAlarms", "cloudwatch:DescribeAlarms", "cloudwatch:PutMetricAlarm"),
        resources=("*",),
        triggers=(
            "application-autoscaling:DeleteScalingPolicy",
            "application-autoscaling:PutScalingPolicy",
        ),
    ),
    ExtraGrant(
        sid="EcsTagOnCreate",
        reason="creating an ECS resource with tags is also an ecs:TagResource, for exactly those creates",
        actions=("ecs:TagResource",),
        resources=("*",),
        triggers=("ecs:CreateCluster", "ecs:CreateService", "ecs:RegisterTaskDefinition"),
        tagged_triggers=True,
        create_action_key="ecs:CreateAction",
    ),
    ExtraGrant(
        sid="ElbTagOnCreate",
        reason="creating an ELBv2 resource with tags is also an elasticloadbalancing:AddTags",
        actions=("elasticloadbalancing:AddTags",),
        resources=("*",),
        triggers=(
            "elasticloadbalancing:CreateListener",
            "elasticloadbalancing:CreateLoadBalancer",
            "elasticloadbalancing:CreateRule",
            "elasticloadbalancing:CreateTargetGroup",
        ),
        tagged_triggers=True,
        create_action_key="elasticloadbalancing:CreateAction",
    ),
    ExtraGrant(
        sid="Ec2TagOnCreate",
        reason="creating a security group (or rule) with TagSpecifications is also an ec2:CreateTags",
        actions=("ec2:CreateTags",),
        resources=("arn:aws:ec2:*:*:security-group/*", "arn:aws:ec2:*:*:security-group-rule/*"),
        triggers=(
            "ec2:AuthorizeSecurityGroupEgress",
            "ec2:AuthorizeSecurityGroupIngress",
            "ec2:CreateSecurityGroup",
        ),
        tagged_triggers=True,
        create_action_key="ec2:CreateAction",
    ),
    ExtraGrant(
        sid="EcrTagOnCreate",
        reason="CreateRepository with tags is also authorised as ecr:TagResource (ECR has no CreateAction)",
        actions=("ecr:TagResource",),
        resources=("arn:aws:ecr:*:*:repository/*",),
        triggers=("ecr:CreateRepository",),
        tagged_triggers=True,
    ),
    ExtraGrant(
        sid="AutoscalingTagOnCreate",
        reason="RegisterScalableTarget with Tags is also authorised as application-autoscaling:TagResource",
        actions=("application-autoscaling:TagResource",),
        resources=("arn:aws:application-autoscaling:*:*:scalable-target/*",),
        triggers=("application-autoscaling:RegisterScalableTarget",),
        tagged_triggers=True,
    ),
)


def _called(result: Scan) -> dict[str, bool]:
    return {action: any(site.tagged for site in sites) for action, sites in required_actions(result).items()}


def _needed(result: Scan, role: str) -> dict[str, list[Site]]:
    """The actions the role's own credentials call (the workload role never holds the lease or assumes)."""
    needed = required_actions(result)
    if role == "workload":
        for grant in EXTRA_GRANTS:
            if grant.daemon_only and grant.absorbs is not None:
                needed = {
                    action: sites for action, sites in needed.items() if not action.startswith(grant.absorbs)
                }
    return needed


def build_policy(result: Scan, *, role: str = "daemon") -> dict[str, Any]:
    """The minimal policy for the code as scanned: `role` is "daemon" or "workload"."""
    called = _called(result)
    needed = _needed(result, role)
    grants = [grant for grant in EXTRA_GRANTS if grant.applies(called, role=role)]
    absorbed = tuple(grant.absorbs for grant in grants if grant.absorbs is not None)
    engine = sorted(action for action in needed if not any(action.startswith(prefix) for prefix in absorbed))
    statements: list[dict[str, Any]] = [
        {"Sid": "EngineCalls", "Effect": "Allow", "Action": engine, "Resource": "*"}
    ]
    statements += [grant.statement(called) for grant in grants]
    return {"Version": "2012-10-17", "Statement": statements}


def is_read(action: str) -> bool:
    """Whether an IAM action only reads: `ecs:DescribeServices` yes, `ecs:UpdateService` no."""
    return action.split(":", 1)[1].startswith(READ_VERBS)


def build_read_only_policy(result: Scan) -> dict[str, Any]:
    """What `plan` and `drift` need: every read the engine makes, on `*`, and no write.

    The daemon's own reads (the lease table) stay out, like in the workload role: `plan` and
    `drift` never hold a lease. Reads are named by verb (READ_VERBS), checked against the actions
    the scan finds, so a new read in the engine lands here by regeneration like any other call.
    """
    reads = sorted(action for action in _needed(result, "workload") if is_read(action))
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "EngineReads", "Effect": "Allow", "Action": reads, "Resource": "*"}],
    }


# --- checking a policy -----------------------------------------------------------------------------


@dataclass
class Findings:
    missing: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)
    malformed: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.missing or self.unused or self.malformed)

    def report(self, name: str) -> str:
        lines = [f"{name}:"]
        lines += [f"  missing: {item}" for item in self.missing]
        lines += [f"  unused: {item}" for item in self.unused]
        lines += [f"  malformed: {item}" for item in self.malformed]
        lines.append("  regenerate with: .venv/bin/python -m tests.deploy.iam_check --write")
        return "\n".join(lines)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _normalised(statement: Mapping[str, Any]) -> tuple[Any, ...]:
    condition = {
        operator: {key: sorted(_as_list(value)) for key, value in keys.items()}
        for operator, keys in (statement.get("Condition") or {}).items()
    }
    return (
        statement.get("Effect"),
        tuple(sorted(_as_list(statement.get("Action", [])))),
        tuple(sorted(_as_list(statement.get("Resource", [])))),
        json.dumps(condition, sort_keys=True),
    )


def check_policy(policy: Mapping[str, Any], result: Scan, *, role: str = "daemon") -> Findings:
    """Compare a policy document with what the scanned code needs.

    missing: an action the code calls that no unconditioned statement allows, or a non-call grant
    (EXTRA_GRANTS) that applies but is absent or differs in resource or condition. unused: an action
    the policy allows that nothing calls and no applicable non-call grant explains. malformed:
    shapes this project's policies do not use (Deny, NotAction, wildcard actions).
    """
    findings = Findings()
    called = _called(result)
    needed = _needed(result, role)
    grants = [grant for grant in EXTRA_GRANTS if grant.applies(called, role=role)]
    statements = _as_list(policy.get("Statement", []))
    if policy.get("Version") != "2012-10-17":
        findings.malformed.append('Version must be "2012-10-17"')
    unconditioned: set[str] = set()
    granted: dict[str, list[str]] = {}
    for index, statement in enumerate(statements):
        sid = statement.get("Sid", f"#{index}")
        if statement.get("Effect") != "Allow" or "NotAction" in statement or "NotResource" in statement:
            findings.malformed.append(f"statement {sid}: only Allow with Action and Resource is expected")
            continue
        for action in _as_list(statement.get("Action", [])):
            if "*" in action:
                findings.malformed.append(f"statement {sid}: wildcard action {action}")
            granted.setdefault(action, []).append(sid)
            if "Condition" not in statement:
                unconditioned.add(action)
    for action, sites in needed.items():
        if action not in unconditioned:
            where = ", ".join(str(site) for site in sites[:3]) + (" ..." if len(sites) > 3 else "")
            findings.missing.append(f"{action} (called at {where})")
    present = {_normalised(statement) for statement in statements}
    explained: set[str] = set()
    for grant in grants:
        expected = grant.statement(called)
        explained |= set(expected["Action"])
        if _normalised(expected) not in present:
            findings.missing.append(
                f"statement {grant.sid} as {json.dumps(expected, sort_keys=True)}: {grant.reason}"
            )
    for grant in grants:
        if grant.absorbs is None:
            continue
        wide = [
            statement.get("Sid", "?")
            for statement in statements
            if any(action.startswith(grant.absorbs) for action in _as_list(statement.get("Action", [])))
            and _normalised(statement) != _normalised(grant.statement(called))
        ]
        if wide:
            findings.unused.append(
                f"{grant.absorbs}* granted by {', '.join(wide)}: only statement {grant.sid} may grant it"
            )
    for action in sorted(set(granted) - set(needed) - explained):
        findings.unused.append(
            f"{action} (statement {', '.join(granted[action])}): nothing in {PACKAGE}/ calls it"
        )
    return findings


# --- command line ----------------------------------------------------------------------------------


def _render(policy: Mapping[str, Any]) -> str:
    return json.dumps(policy, indent=2) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.deploy.iam_check", description=__doc__.splitlines()[0]
    )
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--write", action="store_true", help="rewrite the generated deploy/iam policies from the code"
    )
    group.add_argument("--print", action="store_true", help="print the minimal daemon policy")
    arguments = parser.parse_args(argv)
    result = scan()
    if result.problems:
        print("\n".join(result.problems), file=sys.stderr)
        return 1
    if arguments.print:
        sys.stdout.write(_render(build_policy(result)))
        return 0
    files = {"daemon": DAEMON_POLICY, "workload": WORKLOAD_POLICY}
    if arguments.write:
        written = {path: build_policy(result, role=role) for role, path in files.items()}
        written[READ_ONLY_POLICY] = build_read_only_policy(result)
        for path, policy in written.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(_render(policy))
            print(f"wrote {path.relative_to(ROOT)}")
        return 0
    for operation, sites in sorted(result.operations.items()):
        print(f"{iam_action(operation):60} {sites[0]}{' +' + str(len(sites) - 1) if len(sites) > 1 else ''}")
    status = 0
    for role, path in files.items():
        findings = check_policy(json.loads(path.read_text()), result, role=role)
        if findings:
            print(findings.report(str(path.relative_to(ROOT))), file=sys.stderr)
            status = 1
    if json.loads(READ_ONLY_POLICY.read_text()) != build_read_only_policy(result):
        print(
            f"{READ_ONLY_POLICY.relative_to(ROOT)}: not the reads the code makes\n"
            "  regenerate with: .venv/bin/python -m tests.deploy.iam_check --write",
            file=sys.stderr,
        )
        status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
