"""The TaskDefinition kind, pure: normalisation tables against real-AWS-shaped revisions, and plans.

The fixtures follow botocore's ECS shapes and examples (a DescribeTaskDefinition answer has task
cpu/memory as strings, containers with `cpu: 0`, `essential: true`, `mountPoints: []`,
`volumesFrom: []`, `systemControls: []`, port mappings with `hostPort` and `protocol` filled in,
server fields such as `requiresAttributes` and `registeredAt`).
"""

from __future__ import annotations

import copy
import datetime
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from reconciler.plan.delta import diff_trees
from reconciler.plan.ownership import SPEC_HASH, ownership_tags
from reconciler.plan.steps import Action, Call
from reconciler.resources.base import LiveResource
from reconciler.resources.service.kind import rollout_details
from reconciler.resources.task_definition.images import IMAGE_DIGESTS, repository_uri
from reconciler.resources.task_definition.kind import (
    KIND,
    desired_tree,
    family_and_revision,
    live_tree,
    normalise_container,
    normalise_task_definition,
)
from tests.resources._repository_helpers import ACCOUNT, ENVIRONMENT, context, document

URI = f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/varuntd/node-app"
DIGEST = "sha256:" + "a" * 64
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ecsTaskExecutionRole"
LOG_OPTIONS = {
    "awslogs-group": "/ecs/node-app",
    "awslogs-create-group": "true",
    "awslogs-region": "us-east-1",
    "awslogs-stream-prefix": "node-app",
}

REPOSITORY = document("Repository", "node-app", {"repositoryName": "varuntd/node-app"})

# The tutorial's task definition, as written in specs/node-app/service.yaml.
TUTORIAL_SPEC: dict[str, Any] = {
    "requiresCompatibilities": ["FARGATE"],
    "networkMode": "awsvpc",
    "cpu": "1 vCPU",
    "memory": "2 GB",
    "executionRoleArn": "ecsTaskExecutionRole",
    "containerDefinitions": [
        {
            "name": "node-app",
            "image": {"repository": "node-app", "tag": "latest"},
            "essential": True,
            "portMappings": [{"containerPort": 3000, "protocol": "tcp"}],
            "logConfiguration": {"logDriver": "awslogs", "options": LOG_OPTIONS},
        }
    ],
}

# What real ECS answers for it (DescribeTaskDefinition, include=[TAGS]).
REAL_AWS_REVISION: dict[str, Any] = {
    "taskDefinitionArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/node-app:3",
    "containerDefinitions": [
        {
            "name": "node-app",
            "image": f"{URI}:latest",
            "cpu": 0,
            "portMappings": [{"containerPort": 3000, "hostPort": 3000, "protocol": "tcp"}],
            "essential": True,
            "environment": [],
            "environmentFiles": [],
            "mountPoints": [],
            "volumesFrom": [],
            "systemControls": [],
            "ulimits": [],
            "logConfiguration": {"logDriver": "awslogs", "options": LOG_OPTIONS, "secretOptions": []},
        }
    ],
    "family": "node-app",
    "executionRoleArn": ROLE,
    "networkMode": "awsvpc",
    "revision": 3,
    "volumes": [],
    "status": "ACTIVE",
    "requiresAttributes": [
        {"name": "com.amazonaws.ecs.capability.logging-driver.awslogs"},
        {"name": "ecs.capability.execution-role-awslogs"},
        {"name": "com.amazonaws.ecs.capability.ecr-auth"},
        {"name": "com.amazonaws.ecs.capability.docker-remote-api.1.19"},
        {"name": "ecs.capability.execution-role-ecr-pull"},
        {"name": "com.amazonaws.ecs.capability.docker-remote-api.1.18"},
        {"name": "ecs.capability.task-eni"},
    ],
    "placementConstraints": [],
    "compatibilities": ["EC2", "FARGATE"],
    "requiresCompatibilities": ["FARGATE"],
    "cpu": "1024",
    "memory": "2048",
    "registeredAt": datetime.datetime(2025, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
    "registeredBy": f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/session",
    "enableFaultInjection": False,
}


def tutorial(**changes: Any) -> dict[str, Any]:
    spec = copy.deepcopy(TUTORIAL_SPEC)
    spec.update(changes)
    return spec


def with_container(spec: dict[str, Any], **changes: Any) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    spec["containerDefinitions"][0].update(changes)
    return spec


def revision(changes: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    live = copy.deepcopy(REAL_AWS_REVISION)
    if changes is not None:
        changes(live)
    return live


def td_document(spec: Mapping[str, Any], name: str = "node-app") -> Any:
    return document("TaskDefinition", name, spec)


def desired_and_live(spec: Mapping[str, Any], live_state: Mapping[str, Any]) -> tuple[Any, Any]:
    plan_context = context([REPOSITORY, td_document(spec)])
    return desired_tree(td_document(spec), plan_context), live_tree(live_state)


def live_revision(
    state: Mapping[str, Any] | None = None,
    *,
    tags: Mapping[str, str] | None = None,
    revisions: list[dict[str, Any]] | None = None,
    name: str = "node-app",
) -> LiveResource:
    state = state or REAL_AWS_REVISION
    arn = state["taskDefinitionArn"]
    return LiveResource(
        kind="TaskDefinition",
        name=name,
        identifier=arn,
        state=state,
        tags=dict(tags if tags is not None else owner_tags()),
        outputs={"arn": arn, "family": state["family"], "revision": state["revision"]},
        details={"revisions": revisions or [{"arn": arn, "revision": state["revision"], "owned": True}]},
    )


def owner_tags(name: str = "node-app") -> dict[str, str]:
    return ownership_tags(kind="TaskDefinition", name=name, instance="default")


# --- normalisation -------------------------------------------------------------------------------


def test_the_tutorial_spec_matches_what_real_aws_answers_for_it() -> None:
    desired, live = desired_and_live(TUTORIAL_SPEC, REAL_AWS_REVISION)
    assert diff_trees(desired, live, exact=True).diffs == ()


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(tree: dict[str, Any]) -> None:
        target: Any = tree
        for item in path[:-1]:
            target = target[item]
        target[path[-1]] = value

    return change


def _delete(path: tuple[Any, ...]) -> Callable[[dict[str, Any]], None]:
    def change(tree: dict[str, Any]) -> None:
        target: Any = tree
        for item in path[:-1]:
            target = target[item]
        del target[path[-1]]

    return change


C0 = ("containerDefinitions", 0)


def _volumes_and_mount_points_as_aws_orders_them(live: dict[str, Any]) -> None:
    live["volumes"] = [{"name": "cache", "host": {}}, {"name": "data", "host": {}}]
    live["containerDefinitions"][0]["mountPoints"] = [
        {"sourceVolume": "cache", "containerPath": "/cache", "readOnly": True},
        {"sourceVolume": "data", "containerPath": "/data", "readOnly": False},
    ]


ENV = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
SECRETS = [
    {"name": "DB", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/db"},
    {"name": "API", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/api"},
]


@pytest.mark.parametrize(
    ("spec", "live_change"),
    [
        # essential absent means true; the server writes it out.
        (with_container(TUTORIAL_SPEC, essential=None), None),
        # protocol absent means tcp; hostPort absent equals containerPort under awsvpc.
        (with_container(TUTORIAL_SPEC, portMappings=[{"containerPort": 3000}]), None),
        (with_container(TUTORIAL_SPEC, portMappings=[{"containerPort": 3000, "hostPort": 3000}]), None),
        # Task cpu/memory: "1 vCPU" / 1024 / "1024" are one value; the server answers strings.
        (tutorial(cpu=1024, memory=2048), None),
        (tutorial(cpu="1024", memory="2048"), None),
        # cpu 0 added by the server to each container; a spec writing 0 means the same.
        (with_container(TUTORIAL_SPEC, cpu=0), None),
        (with_container(TUTORIAL_SPEC, cpu=256), _set((*C0, "cpu"), 256)),
        # environment / secrets / port mappings order has no meaning.
        (
            with_container(TUTORIAL_SPEC, environment=ENV),
            _set((*C0, "environment"), list(reversed(ENV))),
        ),
        (
            with_container(TUTORIAL_SPEC, secrets=SECRETS),
            _set((*C0, "secrets"), list(reversed(SECRETS))),
        ),
        (
            with_container(
                TUTORIAL_SPEC,
                portMappings=[{"containerPort": 3000}, {"containerPort": 9090, "protocol": "udp"}],
            ),
            _set(
                (*C0, "portMappings"),
                [
                    {"containerPort": 9090, "hostPort": 9090, "protocol": "udp"},
                    {"containerPort": 3000, "hostPort": 3000, "protocol": "tcp"},
                ],
            ),
        ),
        # null vs [] vs absent.
        (with_container(TUTORIAL_SPEC, environment=[]), None),
        # AWS leaves a variable with an empty value out of the registered revision.
        (
            with_container(TUTORIAL_SPEC, environment=[*ENV, {"name": "FEATURE_FLAGS", "value": ""}]),
            _set((*C0, "environment"), ENV),
        ),
        (with_container(TUTORIAL_SPEC, mountPoints=[]), _delete((*C0, "mountPoints"))),
        (TUTORIAL_SPEC, _set((*C0, "systemControls"), None)),
        (TUTORIAL_SPEC, _set(("volumes",), None)),
        # mount points: order, and readOnly false is the default.
        (
            tutorial(
                volumes=[{"name": "data"}, {"name": "cache"}],
                containerDefinitions=[
                    {
                        **TUTORIAL_SPEC["containerDefinitions"][0],
                        "mountPoints": [
                            {"sourceVolume": "data", "containerPath": "/data"},
                            {"sourceVolume": "cache", "containerPath": "/cache", "readOnly": True},
                        ],
                    }
                ],
            ),
            _volumes_and_mount_points_as_aws_orders_them,
        ),
        # health check: the server fills interval 30, timeout 5, retries 3.
        (
            with_container(TUTORIAL_SPEC, healthCheck={"command": ["CMD-SHELL", "curl -f localhost:3000"]}),
            _set(
                (*C0, "healthCheck"),
                {
                    "command": ["CMD-SHELL", "curl -f localhost:3000"],
                    "interval": 30,
                    "timeout": 5,
                    "retries": 3,
                },
            ),
        ),
        # ulimits order.
        (
            with_container(
                TUTORIAL_SPEC,
                ulimits=[
                    {"name": "nofile", "softLimit": 1024, "hardLimit": 4096},
                    {"name": "core", "softLimit": 0, "hardLimit": 0},
                ],
            ),
            _set(
                (*C0, "ulimits"),
                [
                    {"name": "core", "softLimit": 0, "hardLimit": 0},
                    {"name": "nofile", "softLimit": 1024, "hardLimit": 4096},
                ],
            ),
        ),
        # requiresCompatibilities is a set.
        (
            tutorial(requiresCompatibilities=["FARGATE", "EC2"]),
            _set(("requiresCompatibilities",), ["EC2", "FARGATE"]),
        ),
        # An EFS volume: rootDirectory "/" and transit encryption DISABLED are server defaults.
        (
            tutorial(volumes=[{"name": "efs", "efsVolumeConfiguration": {"fileSystemId": "fs-12345678"}}]),
            _set(
                ("volumes",),
                [
                    {
                        "name": "efs",
                        "efsVolumeConfiguration": {
                            "fileSystemId": "fs-12345678",
                            "rootDirectory": "/",
                            "transitEncryption": "DISABLED",
                        },
                    }
                ],
            ),
        ),
        # A role given by name is the account's role ARN.
        (tutorial(executionRoleArn=ROLE), None),
    ],
    ids=[
        "essential-absent",
        "protocol-and-hostport-absent",
        "protocol-absent",
        "task-cpu-numbers",
        "task-cpu-strings",
        "container-cpu-zero",
        "container-cpu-set",
        "environment-order",
        "secrets-order",
        "port-mapping-order",
        "environment-empty",
        "environment-empty-value",
        "mount-points-absent-vs-empty",
        "system-controls-null",
        "volumes-null",
        "mount-points-order-and-readonly-default",
        "health-check-defaults",
        "ulimits-order",
        "compatibilities-order",
        "efs-defaults",
        "role-arn-vs-name",
    ],
)
def test_server_defaults_and_spellings_never_show_as_a_difference(
    spec: dict[str, Any], live_change: Callable[[dict[str, Any]], None] | None
) -> None:
    spec = {key: value for key, value in spec.items() if value is not None}
    spec["containerDefinitions"] = [
        {key: value for key, value in container.items() if value is not None}
        for container in spec["containerDefinitions"]
    ]
    desired, live = desired_and_live(spec, revision(live_change))
    assert diff_trees(desired, live, exact=True).diffs == ()


@pytest.mark.parametrize(
    ("spec", "live_change", "expected_path"),
    [
        (TUTORIAL_SPEC, _set((*C0, "image"), f"{URI}:v1"), ("containerDefinitions", "node-app", "image")),
        (
            with_container(TUTORIAL_SPEC, environment=ENV),
            _set((*C0, "environment"), [{"name": "A", "value": "1"}]),
            ("containerDefinitions", "node-app", "environment", "B"),
        ),
        # Someone registered a revision by hand with a field the spec does not have: exact semantics.
        (TUTORIAL_SPEC, _set((*C0, "privileged"), True), ("containerDefinitions", "node-app", "privileged")),
        (TUTORIAL_SPEC, _set(("memory",), "4096"), ("memory",)),
        # hostPort differing from containerPort is a real difference.
        (
            TUTORIAL_SPEC,
            _set((*C0, "portMappings"), [{"containerPort": 3000, "hostPort": 8080, "protocol": "tcp"}]),
            ("containerDefinitions", "node-app", "portMappings"),
        ),
        (tutorial(cpu="2 vCPU"), None, ("cpu",)),
    ],
    ids=["image", "environment-value-removed", "extra-live-field", "task-memory", "host-port", "task-cpu"],
)
def test_real_differences_are_found_and_named_by_container(
    spec: dict[str, Any], live_change: Callable[[dict[str, Any]], None] | None, expected_path: tuple[Any, ...]
) -> None:
    desired, live = desired_and_live(spec, revision(live_change))
    assert [diff.path for diff in diff_trees(desired, live, exact=True)] == [expected_path]


@pytest.mark.parametrize(
    ("container", "network_mode", "expected"),
    [
        (
            {"name": "a", "image": "x", "portMappings": [{"containerPort": 80}]},
            "bridge",
            {
                "name": "a",
                "image": "x",
                "portMappings": [{"containerPort": 80, "hostPort": 0, "protocol": "tcp"}],
            },
        ),
        (
            {"name": "a", "image": "x", "portMappings": [{"containerPort": 80}]},
            "host",
            {
                "name": "a",
                "image": "x",
                "portMappings": [{"containerPort": 80, "hostPort": 80, "protocol": "tcp"}],
            },
        ),
        (
            {"name": "a", "image": "x", "essential": False, "cpu": 0, "versionConsistency": "enabled"},
            "awsvpc",
            {"name": "a", "image": "x", "essential": False},
        ),
        (
            {"name": "a", "image": "x", "linuxParameters": {"capabilities": {"add": [], "drop": ["B", "A"]}}},
            "awsvpc",
            {"name": "a", "image": "x", "linuxParameters": {"capabilities": {"drop": ["A", "B"]}}},
        ),
    ],
    ids=["bridge-dynamic-host-port", "host-mode", "defaults-dropped", "capabilities-empty-and-order"],
)
def test_container_normalisation_rules(
    container: dict[str, Any], network_mode: str, expected: dict[str, Any]
) -> None:
    assert normalise_container(container, network_mode) == expected


def test_bridge_mode_differs_in_mode_and_in_its_dynamic_host_ports() -> None:
    desired, live = desired_and_live(tutorial(networkMode="bridge"), REAL_AWS_REVISION)
    assert {diff.path for diff in diff_trees(desired, live, exact=True)} == {
        ("networkMode",),
        ("containerDefinitions", "node-app", "portMappings"),
    }


def test_server_fields_are_not_part_of_the_comparison() -> None:
    normalised = normalise_task_definition(REAL_AWS_REVISION)
    assert set(normalised) == {
        "containerDefinitions",
        "executionRoleArn",
        "networkMode",
        "requiresCompatibilities",
        "cpu",
        "memory",
    }


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("arn:aws:ecs:us-east-1:123456789012:task-definition/node-app:12", ("node-app", 12)),
        ("node-app:3", ("node-app", 3)),
        ("node-app", None),
    ],
)
def test_family_and_revision_of_what_services_report(reference: str, expected: Any) -> None:
    assert family_and_revision(reference) == expected


# --- plans ---------------------------------------------------------------------------------------


def test_a_missing_family_registers_its_first_revision_with_the_ownership_tags() -> None:
    document_ = td_document({**TUTORIAL_SPEC, "tags": {"team": "web"}})
    planned = KIND.plan(document_, None, context([REPOSITORY, document_]))
    assert planned.action is Action.CREATE
    (call,) = planned.calls
    assert call == Call(
        "ecs",
        "register_task_definition",
        {
            "family": "node-app",
            "requiresCompatibilities": ["FARGATE"],
            "networkMode": "awsvpc",
            "cpu": "1024",
            "memory": "2048",
            "executionRoleArn": ROLE,
            "containerDefinitions": [
                {
                    "name": "node-app",
                    "image": f"{URI}:latest",
                    "essential": True,
                    "portMappings": [{"containerPort": 3000, "protocol": "tcp"}],
                    "logConfiguration": {"logDriver": "awslogs", "options": LOG_OPTIONS},
                }
            ],
            "tags": [
                {"key": "ecs-reconciler/deletion-policy", "value": "delete"},
                {"key": "ecs-reconciler/instance", "value": "default"},
                {"key": "ecs-reconciler/managed-by", "value": "ecs-reconciler"},
                {"key": "ecs-reconciler/source", "value": "TaskDefinition/node-app"},
                {"key": SPEC_HASH, "value": document_.spec_hash},
                {"key": "team", "value": "web"},
            ],
        },
        outputs={"arn": ("taskDefinition", "taskDefinitionArn")},
        description="register task definition node-app",
    )
    # The tag is not pushed yet: a warning, never a block.
    assert planned.warnings == ("tag latest not found in repository varuntd/node-app",)


def test_an_unchanged_family_plans_no_call() -> None:
    document_ = td_document(TUTORIAL_SPEC)
    digests = {IMAGE_DIGESTS: {("varuntd/node-app", "latest"): DIGEST}}
    planned = KIND.plan(document_, live_revision(), context([REPOSITORY, document_], facts=digests))
    assert (planned.action, planned.calls, planned.warnings) == (Action.NONE, (), ())


def test_an_image_edit_registers_exactly_one_new_revision() -> None:
    document_ = td_document(with_container(TUTORIAL_SPEC, image={"repository": "node-app", "tag": "v2"}))
    planned = KIND.plan(document_, live_revision(), context([REPOSITORY, document_]))
    assert planned.action is Action.UPDATE
    assert [call.name for call in planned.calls] == ["ecs.RegisterTaskDefinition"]
    assert [diff.path for diff in planned.delta] == [("containerDefinitions", "node-app", "image")]


def test_a_tag_change_tags_the_revision_without_a_new_revision() -> None:
    document_ = td_document({**TUTORIAL_SPEC, "tags": {"team": "web"}})
    planned = KIND.plan(document_, live_revision(), context([REPOSITORY, document_]))
    assert planned.calls == (
        Call(
            "ecs",
            "tag_resource",
            {
                "resourceArn": REAL_AWS_REVISION["taskDefinitionArn"],
                # The edited document's spec hash rides on the tag write it needs anyway.
                "tags": [{"key": SPEC_HASH, "value": document_.spec_hash}, {"key": "team", "value": "web"}],
            },
            description="tag task definition revision",
        ),
    )


def test_digest_pinning_pins_the_resolved_digest() -> None:
    document_ = td_document({**TUTORIAL_SPEC, "imagePinning": "digest"})
    digests = {IMAGE_DIGESTS: {("varuntd/node-app", "latest"): DIGEST}}
    planned = KIND.plan(document_, live_revision(), context([REPOSITORY, document_], facts=digests))
    (call,) = planned.calls
    assert call.params["containerDefinitions"][0]["image"] == f"{URI}@{DIGEST}"


def test_digest_pinning_waits_for_a_missing_tag_and_produces_no_arn() -> None:
    document_ = td_document({**TUTORIAL_SPEC, "imagePinning": "digest"})
    planned = KIND.plan(document_, live_revision(), context([REPOSITORY, document_]))
    assert planned.action is Action.WAITING
    assert planned.message == "waiting: image not found: varuntd/node-app:latest"
    assert planned.calls == ()  # no `arn` output, so a Service keeps the live revision


def test_an_image_by_digest_needs_no_lookup() -> None:
    document_ = td_document(with_container(TUTORIAL_SPEC, image={"repository": "node-app", "digest": DIGEST}))
    planned = KIND.plan(document_, None, context([REPOSITORY, document_]))
    assert planned.calls[0].params["containerDefinitions"][0]["image"] == f"{URI}@{DIGEST}"
    assert planned.warnings == ()


def test_repository_uri_is_deterministic() -> None:
    assert repository_uri(ENVIRONMENT, "varuntd/node-app") == URI


def _revisions(count: int, *, unowned: frozenset[int] = frozenset()) -> list[dict[str, Any]]:
    return [
        {
            "arn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/node-app:{number}",
            "revision": number,
            "owned": number not in unowned,
        }
        for number in range(count, 0, -1)
    ]


def _service(task_definition: str, deployments: list[dict[str, Any]]) -> LiveResource:
    """A live service as the Service kind observes it: its state, and its rollout in `details`."""
    state = {"taskDefinition": task_definition, "deployments": deployments}
    return LiveResource(
        kind="Service",
        name="node-app",
        identifier="arn:aws:ecs:us-east-1:123456789012:service/node-app/node-app",
        state=state,
        details={"rollout": rollout_details(state)},
    )


def _arn(number: int) -> str:
    return f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/node-app:{number}"


def test_cleanup_deregisters_owned_revisions_beyond_keep_except_what_services_run() -> None:
    state = revision(_set(("taskDefinitionArn",), _arn(9)))
    state["revision"] = 9
    live = live_revision(state, revisions=_revisions(9, unowned=frozenset({3})))
    service = _service(_arn(2), [{"taskDefinition": _arn(2), "rolloutState": "COMPLETED"}])
    document_ = td_document(TUTORIAL_SPEC)
    planned = KIND.plan(
        document_, live, context([REPOSITORY, document_], live=[live, service], keep_revisions=5)
    )
    assert [call.params["taskDefinition"] for call in planned.calls] == [_arn(1), _arn(4)]
    assert {group.key for group in planned.groups} == {("TaskDefinition", "node-app", "cleanup")}


def test_cleanup_deregisters_at_most_max_deletes_a_pass_oldest_first() -> None:
    state = revision(_set(("taskDefinitionArn",), _arn(9)))
    state["revision"] = 9
    live = live_revision(state, revisions=_revisions(9))
    document_ = td_document(TUTORIAL_SPEC)
    planned = KIND.plan(
        document_, live, context([REPOSITORY, document_], live=[live], keep_revisions=2, max_deletes=3)
    )
    assert [call.params["taskDefinition"] for call in planned.calls] == [_arn(1), _arn(2), _arn(3)]


def test_cleanup_waits_while_a_service_of_the_family_is_mid_rollout() -> None:
    state = revision(_set(("taskDefinitionArn",), _arn(9)))
    live = live_revision(state, revisions=_revisions(9))
    service = _service(
        "node-app:9",
        [
            {"status": "PRIMARY", "taskDefinition": _arn(9), "rolloutState": "IN_PROGRESS"},
            {"status": "ACTIVE", "taskDefinition": _arn(8), "rolloutState": "COMPLETED"},
        ],
    )
    document_ = td_document(TUTORIAL_SPEC)
    planned = KIND.plan(document_, live, context([REPOSITORY, document_], live=[live, service]))
    assert planned.calls == ()


def test_cleanup_never_runs_in_a_pass_that_registers() -> None:
    live = live_revision(revisions=_revisions(9))
    document_ = td_document(with_container(TUTORIAL_SPEC, image="nginx:1"))
    planned = KIND.plan(document_, live, context([REPOSITORY, document_], keep_revisions=1))
    assert [call.name for call in planned.calls] == ["ecs.RegisterTaskDefinition"]


def test_prune_deregisters_every_owned_active_revision() -> None:
    live = live_revision(revisions=_revisions(3, unowned=frozenset({2})))
    planned = KIND.plan_delete(live, context([]))
    assert planned.action is Action.DELETE
    assert [call.params for call in planned.calls] == [
        {"taskDefinition": _arn(3)},
        {"taskDefinition": _arn(1)},
    ]
