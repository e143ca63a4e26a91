"""deploy/iam: the daemon's and the workload role's policies grant exactly what the code calls.

The operations come from reading `reconciler/` (tests.deploy.aws_calls); the permissions that
are not calls of our own are `EXTRA_GRANTS` in tests.deploy.iam_check, each with its reason.
When the engine gains a call, these tests fail until the policies are rewritten with
`.venv/bin/python -m tests.deploy.iam_check --write`.
"""

from __future__ import annotations

import copy
import json
import textwrap
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from reconciler.resources.registry import load_spec_set
from reconciler.resources.task_definition.model import TaskDefinitionSpec
from tests.deploy import iam_check
from tests.deploy.aws_calls import SERVICES, Operation, Scan, iam_action, operation_names, scan
from tests.deploy.iam_check import (
    DAEMON_POLICY,
    EXTRA_GRANTS,
    LEASE_TABLE,
    READ_ONLY_POLICY,
    WORKLOAD_POLICY,
    WORKLOAD_ROLE,
    build_policy,
    build_read_only_policy,
    check_policy,
    is_read,
)

ROOT = Path(__file__).resolve().parents[2]
IAM = ROOT / "deploy" / "iam"
DAEMON_ROLE = "ecs-reconciler"
PERMISSION_ONLY = {"iam:PassRole"}
"""IAM actions that are no API operation (so botocore has no model of them)."""


@pytest.fixture(scope="module")
def code() -> Scan:
    return scan()


def _policy(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def _statement(policy: dict[str, Any], sid: str) -> dict[str, Any]:
    return next(statement for statement in policy["Statement"] if statement["Sid"] == sid)


# --- the code's calls ------------------------------------------------------------------------------


def test_every_aws_call_in_the_code_can_be_attributed_to_an_operation(code: Scan) -> None:
    assert not code.problems, "\n".join(code.problems)
    assert code.operations


def test_the_local_emulator_is_not_part_of_the_daemon(code: Scan) -> None:
    files = {site.file for sites in code.operations.values() for site in sites}
    assert not any(file.startswith("reconciler/local/") for file in files)


# --- the policies match the code ------------------------------------------------------------------


@pytest.mark.parametrize(("path", "role"), [(DAEMON_POLICY, "daemon"), (WORKLOAD_POLICY, "workload")])
def test_the_policy_grants_every_call_and_nothing_unused(code: Scan, path: Path, role: str) -> None:
    findings = check_policy(_policy(path), code, role=role)
    assert not findings, findings.report(path.name)


@pytest.mark.parametrize(("path", "role"), [(DAEMON_POLICY, "daemon"), (WORKLOAD_POLICY, "workload")])
def test_the_policy_file_is_what_the_generator_writes(code: Scan, path: Path, role: str) -> None:
    assert _policy(path) == build_policy(code, role=role), (
        f"{path.name} is stale: run .venv/bin/python -m tests.deploy.iam_check --write"
    )


def test_the_workload_role_has_the_daemons_grants_minus_the_lease_and_assume_role() -> None:
    daemon = {statement["Sid"]: statement for statement in _policy(DAEMON_POLICY)["Statement"]}
    workload = {statement["Sid"]: statement for statement in _policy(WORKLOAD_POLICY)["Statement"]}
    assert set(daemon) - set(workload) == {"LeaderElectionLease", "AssumeWorkloadRoles"}
    assert all(workload[sid] == daemon[sid] for sid in workload)
    actions = {action for statement in workload.values() for action in statement["Action"]}
    assert not any(action.startswith("dynamodb:") or action == "sts:AssumeRole" for action in actions)


def test_assume_role_and_the_lease_table_are_granted_only_on_their_one_resource() -> None:
    policy = _policy(DAEMON_POLICY)
    for statement in policy["Statement"]:
        if statement["Sid"] not in ("AssumeWorkloadRoles", "LeaderElectionLease"):
            assert "sts:AssumeRole" not in statement["Action"]
            assert not any(action.startswith("dynamodb:") for action in statement["Action"])
    assert _statement(policy, "AssumeWorkloadRoles")["Resource"] == f"arn:aws:iam::*:role/{WORKLOAD_ROLE}"
    assert (
        _statement(policy, "LeaderElectionLease")["Resource"] == f"arn:aws:dynamodb:*:*:table/{LEASE_TABLE}"
    )


def test_pass_role_is_only_to_ecs_tasks() -> None:
    statement = _statement(_policy(DAEMON_POLICY), "PassTaskRoles")
    assert statement["Action"] == ["iam:PassRole"]
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}


def test_the_read_only_policy_file_is_what_the_generator_writes(code: Scan) -> None:
    assert _policy(READ_ONLY_POLICY) == build_read_only_policy(code), (
        f"{READ_ONLY_POLICY.name} is stale: run .venv/bin/python -m tests.deploy.iam_check --write"
    )


def test_the_read_only_policy_is_every_read_the_engine_makes_and_no_write(code: Scan) -> None:
    (statement,) = _policy(READ_ONLY_POLICY)["Statement"]
    granted = set(statement["Action"])
    assert statement["Resource"] == "*" and "Condition" not in statement
    engine = set(_statement(_policy(WORKLOAD_POLICY), "EngineCalls")["Action"])
    assert granted == {action for action in engine if is_read(action)}
    assert {"ecs:DescribeServices", "ecr:BatchGetImage", "elasticloadbalancing:DescribeTags"} <= granted
    assert not any(action.startswith("dynamodb:") or action == "sts:AssumeRole" for action in granted)


@pytest.mark.parametrize(
    ("action", "read"),
    [
        ("ecs:DescribeServices", True),
        ("ecs:ListTagsForResource", True),
        ("ecr:GetLifecyclePolicy", True),
        ("ecr:BatchGetImage", True),
        ("ecr:BatchDeleteImage", False),
        ("ecs:UpdateService", False),
        ("ecs:TagResource", False),
        ("logs:PutRetentionPolicy", False),
        ("elasticloadbalancing:ModifyListener", False),
    ],
)
def test_a_read_is_told_by_its_verb(action: str, read: bool) -> None:
    assert is_read(action) is read


def test_a_new_read_in_the_code_lands_in_the_read_only_policy_and_a_write_does_not() -> None:
    code = Scan(
        operations={
            Operation("ecs", "describe_services"): [],
            Operation("ecs", "update_service"): [],
            Operation("dynamodb", "get_item"): [],
        }
    )
    (statement,) = build_read_only_policy(code)["Statement"]
    assert statement["Action"] == ["ecs:DescribeServices"]


def test_every_granted_action_exists() -> None:
    models = {prefix: short for short, (_, prefix) in SERVICES.items()}
    iam_operations = set(botocore.session.get_session().get_service_model("iam").operation_names)
    for path in (DAEMON_POLICY, WORKLOAD_POLICY):
        for statement in _policy(path)["Statement"]:
            for action in statement["Action"]:
                prefix, name = action.split(":")
                if action in PERMISSION_ONLY:
                    continue
                if prefix == "iam":
                    assert name in iam_operations, action
                else:
                    assert iam_action(Operation(models[prefix], _snake(prefix, name))) == action


def _snake(prefix: str, name: str) -> str:
    short = next(short for short, (_, iam_prefix) in SERVICES.items() if iam_prefix == prefix)
    return next(op for op in operation_names(short) if op.replace("_", "") == name.lower())


def test_every_non_call_grant_says_why() -> None:
    for grant in EXTRA_GRANTS:
        assert len(grant.reason) > 30, grant.sid
        assert grant.actions and grant.resources


# --- the check bites -----------------------------------------------------------------------------


def test_a_policy_missing_a_called_action_is_reported_with_where_it_is_called(code: Scan) -> None:
    policy = copy.deepcopy(_policy(DAEMON_POLICY))
    engine = _statement(policy, "EngineCalls")
    removed = "ecs:CreateService" if "ecs:CreateService" in engine["Action"] else engine["Action"][0]
    engine["Action"].remove(removed)
    findings = check_policy(policy, code)
    assert len(findings.missing) == 1 and not findings.unused
    assert findings.missing[0].startswith(f"{removed} (called at reconciler/")


def test_a_policy_granting_an_action_nothing_calls_is_reported(code: Scan) -> None:
    policy = copy.deepcopy(_policy(DAEMON_POLICY))
    _statement(policy, "EngineCalls")["Action"].append("ecs:DeleteCapacityProvider")
    findings = check_policy(policy, code)
    assert not findings.missing
    assert [item.split(" ")[0] for item in findings.unused] == ["ecs:DeleteCapacityProvider"]


def test_a_non_call_grant_that_lost_its_condition_is_reported(code: Scan) -> None:
    policy = copy.deepcopy(_policy(DAEMON_POLICY))
    del _statement(policy, "PassTaskRoles")["Condition"]
    findings = check_policy(policy, code)
    assert any(item.startswith("statement PassTaskRoles") for item in findings.missing)


def test_a_called_action_granted_only_under_a_condition_is_missing(code: Scan) -> None:
    policy = copy.deepcopy(_policy(DAEMON_POLICY))
    _statement(policy, "EngineCalls")["Action"].remove("ecs:TagResource")
    findings = check_policy(policy, code)
    assert [item.split(" ")[0] for item in findings.missing] == ["ecs:TagResource"]


def test_assume_role_on_every_resource_is_reported(code: Scan) -> None:
    policy = copy.deepcopy(_policy(DAEMON_POLICY))
    _statement(policy, "EngineCalls")["Action"].append("sts:AssumeRole")
    findings = check_policy(policy, code)
    assert any(item.startswith("sts:AssumeRole* granted by EngineCalls") for item in findings.unused)


def test_wildcards_and_denies_are_refused(code: Scan) -> None:
    policy = copy.deepcopy(_policy(DAEMON_POLICY))
    policy["Statement"].append({"Sid": "Wide", "Effect": "Allow", "Action": ["ecs:*"], "Resource": "*"})
    policy["Statement"].append(
        {"Sid": "No", "Effect": "Deny", "Action": ["ecs:DeleteCluster"], "Resource": "*"}
    )
    findings = check_policy(policy, code)
    assert any("wildcard action ecs:*" in item for item in findings.malformed)
    assert any(item.startswith("statement No") for item in findings.malformed)


def test_a_conditional_grant_whose_trigger_is_gone_is_unused() -> None:
    without_task_definitions = Scan(
        operations={
            Operation("ecs", "create_cluster"): [],
            Operation("sts", "get_caller_identity"): [],
        }
    )
    policy = build_policy(without_task_definitions)
    assert not check_policy(policy, without_task_definitions)
    assert "PassTaskRoles" not in {statement["Sid"] for statement in policy["Statement"]}
    policy["Statement"].append(_statement(_policy(DAEMON_POLICY), "PassTaskRoles"))
    findings = check_policy(policy, without_task_definitions)
    assert [item.split(" ")[0] for item in findings.unused] == ["iam:PassRole"]


# --- the scan's patterns, on small sources -------------------------------------------------------


def _scan_sources(tmp_path: Path, sources: dict[str, str]) -> Scan:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name, text in sources.items():
        (package / name).write_text(textwrap.dedent(text))
    return scan(tmp_path, "pkg", ())


def _found(result: Scan) -> set[tuple[str, str]]:
    return {(operation.service, operation.name) for operation in result.operations}


def test_the_scan_follows_the_ways_the_code_obtains_clients_and_names_operations(tmp_path: Path) -> None:
    result = _scan_sources(
        tmp_path,
        {
            "names.py": """
                SERVICE = "application-autoscaling"
                DIRECTIONS = (("ingress", "IpPermissions"), ("egress", "IpPermissionsEgress"))
            """,
            "kinds.py": """
                from pkg import names
                from pkg.names import DIRECTIONS
                from pkg.steps import Call

                async def observe(context):
                    await context.clients.service("ecs").call("describe_services", services=[])
                    ecr = context.clients.service("ecr")
                    return [page async for page in ecr.paginate("describe_repositories")]

                async def identity(clients):
                    return await (await clients.sts()).call("get_caller_identity")

                async def by_names(client, *, operation, names=()):
                    return await client.call(operation, Names=list(names))

                async def observe_groups(context):
                    client = context.clients.service("elbv2")
                    return await by_names(client, operation="describe_target_groups")

                def scaling():
                    return Call(names.SERVICE, "register_scalable_target", {"ResourceId": "x"})

                def rules(changed):
                    calls = []
                    for direction, _ in DIRECTIONS:
                        calls.append(Call("ec2", f"authorize_security_group_{direction}", {}))
                    return calls + [Call("ec2", f"revoke_security_group_{d}", {}) for d in changed]

                class Elector:
                    def __init__(self, client):
                        self._client = client

                    async def renew(self):
                        await self._client.call("update_item", TableName="lease")

                async def campaign(aws):
                    await Elector(await aws.dynamodb()).renew()

                async def execute(run, step):
                    return await run.clients.service(step.service).call(step.operation, **step.params)
            """,
        },
    )
    assert not result.problems, result.problems
    assert _found(result) == {
        ("ecs", "describe_services"),
        ("ecr", "describe_repositories"),
        ("sts", "get_caller_identity"),
        ("elbv2", "describe_target_groups"),
        ("application-autoscaling", "register_scalable_target"),
        ("ec2", "authorize_security_group_ingress"),
        ("ec2", "authorize_security_group_egress"),
        # `d` loops over an argument, so the f-string is matched against EC2's operations.
        ("ec2", "revoke_security_group_ingress"),
        ("ec2", "revoke_security_group_egress"),
        ("dynamodb", "update_item"),
    }


def test_the_scan_tells_which_creates_may_pass_tags(tmp_path: Path) -> None:
    result = _scan_sources(
        tmp_path,
        {
            "kinds.py": """
                from pkg.steps import Call
                BASE = {"ServiceNamespace": "ecs"}

                def tagged(tags):
                    return Call("ecs", "create_cluster", {"clusterName": "x", "tags": tags})

                def untagged():
                    return Call("application-autoscaling", "register_scalable_target", {**BASE, "X": 1})

                def unknown(request):
                    return Call("ec2", "create_security_group", request)
            """,
        },
    )
    tagged = {operation.name: sites[0].tagged for operation, sites in result.operations.items()}
    assert tagged == {
        "create_cluster": True,
        "register_scalable_target": False,
        "create_security_group": True,
    }


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            """
            async def helper(client, operation):
                return await client.call(operation)
            """,
            "which nothing in pkg/ calls directly",
        ),
        (
            'from pkg.steps import Call\nSTEP = Call("ecs", "create_servce", {})\n',
            "ecs has no operation create_servce",
        ),
        (
            """
            async def retag(client):
                await client.call("tag_resource", resourceArn="arn", tags=[])
            """,
            "could be application-autoscaling, cloudwatch, dynamodb, ecr, ecs",
        ),
        (
            """
            from pkg.steps import Call
            def step(service):
                return Call(service, "create_cluster", {})
            STEPS = [step(name) for name in load()]
            """,
            "`name` loops over `load()`, not a literal sequence",
        ),
    ],
)
def test_a_call_the_scan_cannot_attribute_fails_with_how_to_write_it(
    tmp_path: Path, source: str, message: str
) -> None:
    result = _scan_sources(tmp_path, {"kinds.py": source})
    assert len(result.problems) == 1, result.problems
    (problem,) = result.problems
    assert problem.startswith("pkg/kinds.py:")
    assert message in problem
    assert "To fix it, write the operation as a string literal" in problem


# --- trust policies and the daemon's own specs -----------------------------------------------------


def test_the_workload_role_trusts_only_the_daemon_role_with_an_external_id() -> None:
    (statement,) = _policy(IAM / "workload-role-trust.json")["Statement"]
    assert statement["Effect"] == "Allow" and statement["Action"] == "sts:AssumeRole"
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::MANAGEMENT_ACCOUNT_ID:role/{DAEMON_ROLE}"}
    assert set(statement["Condition"]["StringEquals"]) == {"sts:ExternalId"}


def test_the_target_example_assumes_the_workload_role_the_daemon_may_assume(tmp_path: Path) -> None:
    """deploy/README.md's Target names the role of step 3 with its external id, and the daemon's
    policy (`AssumeWorkloadRoles`) allows assuming exactly that role."""
    import fnmatch
    import re

    from reconciler.resources.registry import load_estate

    readme = (ROOT / "deploy" / "README.md").read_text()
    (block,) = [
        block
        for block in re.findall(r"```yaml\n(.*?)```", readme, flags=re.DOTALL)
        if "kind: Target" in block
    ]
    (tmp_path / "estate.yaml").write_text(
        block.replace("EXTERNAL_ID", "6f1c2a9e-0d4b-4c57-9d7e-2b1f0e3c8a51")
    )
    estate, errors = load_estate([tmp_path])
    assert errors == [] and estate is not None
    (target,) = estate.targets
    assert target.spec.external_id is not None
    assert [document.key for document in estate.namespaces[target.name]] == [("Cluster", "web")]
    (allowed,) = [
        statement
        for statement in _policy(IAM / "daemon-policy.json")["Statement"]
        if statement["Sid"] == "AssumeWorkloadRoles"
    ]
    assert fnmatch.fnmatchcase(target.role_arn, allowed["Resource"])
    assert target.role_arn.endswith(":role/ecs-reconciler-workload")


def test_the_daemon_role_trusts_only_ecs_tasks_of_its_own_account() -> None:
    (statement,) = _policy(IAM / "daemon-role-trust.json")["Statement"]
    assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": "MANAGEMENT_ACCOUNT_ID"}


def test_the_daemon_specs_use_the_role_and_lease_table_the_policies_name() -> None:
    spec_set, errors = load_spec_set([ROOT / "deploy" / "specs"])
    assert spec_set is not None, errors
    document = spec_set.get("TaskDefinition", "ecs-reconciler")
    assert document is not None
    spec = document.spec_as(TaskDefinitionSpec)
    assert spec.task_role_arn == DAEMON_ROLE
    (container,) = spec.container_definitions
    assert container.command is not None
    assert container.command[container.command.index("--leader-election") + 1] == LEASE_TABLE


def test_the_command_line_prints_the_daemon_policy(capsys: pytest.CaptureFixture[str]) -> None:
    assert iam_check.main(["--print"]) == 0
    assert json.loads(capsys.readouterr().out) == _policy(DAEMON_POLICY)
