"""Console drift through the CLI: `drift` reports it, `apply` undoes it with exactly the minimal writes.

Each stack is converged once per test; then, one after another, a person changes something with
their own boto3 client (`Console`), `drift --output json` must exit 2 and name each drifted resource,
every differing field's path, desired and live value and the spec file and line it comes from,
`apply` must make exactly the expected writes and put the live values back, and `plan` must then
exit 0. On the example stack each drift is made alone. On the 20-service stack the desired count of
a service without autoscaling is made alone, six other drifts at once (their writes add up, nothing
else is rewritten), two services are deleted, and a tag is removed from one resource of each of six
kinds. Each step is a subtest; a failed one is re-applied so the next starts converged.

A service deleted outright comes back with CreateService, RegisterScalableTarget and
PutScalingPolicy when it has autoscaling, CreateService alone without. The engine plans a missing
service's autoscaling from scratch: it does not read a scalable target for a service that does not
exist, and both calls are idempotent upserts, so a target that outlived the service (the local AWS
keeps it) is rewritten to the spec rather than trusted. Two calls is the minimum for a service whose
target is gone, and the price of one fewer read where it survived.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.acceptance.support import (
    AAS_ECS,
    NODE_APP,
    Console,
    document_line,
    line_after,
    run_cli,
)

pytestmark = pytest.mark.aws


@dataclass(frozen=True)
class Field:
    desired: Any
    live: Any
    line: str
    """Text of the spec line the field comes from: its first line containing this, in the document."""


@dataclass(frozen=True)
class Seen:
    """What `drift` must report for one resource."""

    kind: str
    name: str
    file: str
    fields: dict[str, Field]
    calls: tuple[str, ...]
    status: str = "drifted"


@dataclass(frozen=True)
class Drift:
    id: str
    make: Callable[[Console], None]
    seen: Callable[[Console], list[Seen]]
    """Evaluated after `make`: expectations may name live ids (a group id, an ARN)."""
    writes: dict[str, int]
    fixed: Callable[[Console], None]
    """Asserts the live state is what the spec says again."""


def together(drift_id: str, *drifts: Drift) -> Drift:
    """Independent drifts made at once: each resource reports its own fields and calls, and the
    writes are the sum of theirs (nothing is rewritten because something else drifted)."""

    def make(console: Console) -> None:
        for drift in drifts:
            drift.make(console)

    def fixed(console: Console) -> None:
        for drift in drifts:
            drift.fixed(console)

    writes: Counter[str] = Counter()
    for drift in drifts:
        writes.update(drift.writes)
    return Drift(
        drift_id,
        make,
        lambda console: [seen for drift in drifts for seen in drift.seen(console)],
        dict(writes),
        fixed,
    )


# --- the console's moves ---------------------------------------------------------------------------


def _circuit_breaker_off(cluster: str, service: str) -> Callable[[Console], None]:
    def make(console: Console) -> None:
        console.ecs.update_service(
            cluster=cluster,
            service=service,
            deploymentConfiguration={"deploymentCircuitBreaker": {"enable": False, "rollback": False}},
        )

    return make


def _circuit_breaker_on(cluster: str, service: str) -> Callable[[Console], None]:
    def fixed(console: Console) -> None:
        configuration = console.service(cluster, service)["deploymentConfiguration"]
        assert configuration["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}

    return fixed


def _health_check_path(target_group: str, path: str) -> Callable[[Console], None]:
    def make(console: Console) -> None:
        arn = console.target_group(target_group)["TargetGroupArn"]
        console.elbv2.modify_target_group(TargetGroupArn=arn, HealthCheckPath=path)

    return make


def _health_check_path_is(target_group: str, path: str) -> Callable[[Console], None]:
    def fixed(console: Console) -> None:
        assert console.target_group(target_group)["HealthCheckPath"] == path

    return fixed


def _default_action(load_balancer: str, action: dict[str, Any]) -> Callable[[Console], None]:
    def make(console: Console) -> None:
        listener = console.listener(load_balancer)
        console.elbv2.modify_listener(ListenerArn=listener["ListenerArn"], DefaultActions=[action])

    return make


def _revoke(group: str, permission: Callable[[Console], dict[str, Any]]) -> Callable[[Console], None]:
    def make(console: Console) -> None:
        console.ec2.revoke_security_group_ingress(
            GroupId=console.group_id(group), IpPermissions=[permission(console)]
        )

    return make


def _ingress(console: Console, group: str) -> list[dict[str, Any]]:
    (found,) = console.ec2.describe_security_groups(GroupIds=[console.group_id(group)])["SecurityGroups"]
    return list(found["IpPermissions"])


def _delete_policy(cluster: str, service: str, policy: str) -> Callable[[Console], None]:
    def make(console: Console) -> None:
        console.autoscaling.delete_scaling_policy(
            PolicyName=policy, ResourceId=f"service/{cluster}/{service}", **AAS_ECS
        )

    return make


def _policies(console: Console, cluster: str, service: str) -> set[str]:
    found = console.autoscaling.describe_scaling_policies(
        ResourceId=f"service/{cluster}/{service}", **AAS_ECS
    )["ScalingPolicies"]
    return {policy["PolicyName"] for policy in found}


def _set_range(cluster: str, service: str, low: int, high: int) -> Callable[[Console], None]:
    def make(console: Console) -> None:
        console.autoscaling.register_scalable_target(
            ResourceId=f"service/{cluster}/{service}", MinCapacity=low, MaxCapacity=high, **AAS_ECS
        )

    return make


def _range_is(cluster: str, service: str, low: int, high: int) -> Callable[[Console], None]:
    def fixed(console: Console) -> None:
        target = console.scalable_target(cluster, service)
        assert target is not None and (target["MinCapacity"], target["MaxCapacity"]) == (low, high)

    return fixed


def _delete_services(cluster: str, *services: str) -> Callable[[Console], None]:
    def make(console: Console) -> None:
        for service in services:
            console.ecs.delete_service(cluster=cluster, service=service, force=True)

    return make


def _services_back(cluster: str, counts: dict[str, int]) -> Callable[[Console], None]:
    def fixed(console: Console) -> None:
        for service, count in counts.items():
            described = console.service(cluster, service)
            assert (described["status"], described["desiredCount"]) == ("ACTIVE", count)

    return fixed


def _cpu_policy(name: str, target: float) -> dict[str, Any]:
    """A missing policy as the spec writes it (issue 13: not in the API's shape)."""
    return {
        "policyName": name,
        "predefinedMetricType": "ECSServiceAverageCPUUtilization",
        "targetValue": target,
    }


def _as_written(spec: dict[str, Any]) -> dict[str, Field]:
    """A missing resource is reported as its spec writes it: each top-level field on its own line."""
    return {key: Field(value, None, f"{key}:") for key, value in spec.items()}


# --- the example stack -----------------------------------------------------------------------------

NA = "node-app"
NODE_APP_POLICY = _cpu_policy("node-app-cpu", 50.0)


def _node_app_deleted(console: Console) -> list[Seen]:
    return [
        Seen(
            "Service",
            NA,
            "service.yaml",
            _as_written(
                {
                    "cluster": NA,
                    "taskDefinition": NA,
                    "desiredCount": 3,
                    "capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}],
                    "networkConfiguration": {
                        "awsvpcConfiguration": {
                            "subnets": "default",
                            "securityGroups": ["node-app-tasks"],
                            "assignPublicIp": "ENABLED",
                        }
                    },
                    "loadBalancers": [{"targetGroup": NA, "containerName": NA, "containerPort": 3000}],
                    "deploymentConfiguration": {
                        "deploymentCircuitBreaker": {"enable": True, "rollback": True}
                    },
                    "healthCheckGracePeriodSeconds": 60,
                    "autoscaling": {
                        "minCapacity": 1,
                        "maxCapacity": 10,
                        "targetTrackingPolicies": [NODE_APP_POLICY],
                    },
                }
            ),
            (
                "ecs.CreateService",
                "application-autoscaling.RegisterScalableTarget",
                "application-autoscaling.PutScalingPolicy",
            ),
            status="missing",
        )
    ]


def _tasks_rule(console: Console) -> dict[str, Any]:
    return {
        "IpProtocol": "tcp",
        "FromPort": 3000,
        "ToPort": 3000,
        "UserIdGroupPairs": [{"GroupId": console.group_id("node-app-alb")}],
    }


def _tasks_rule_back(console: Console) -> None:
    alb = console.group_id("node-app-alb")
    assert [
        (rule["FromPort"], [pair["GroupId"] for pair in rule["UserIdGroupPairs"]])
        for rule in _ingress(console, "node-app-tasks")
    ] == [(3000, [alb])]


def _forwards_to_node_app(console: Console) -> None:
    (action,) = console.listener(NA)["DefaultActions"]
    assert (action["Type"], action["TargetGroupArn"]) == (
        "forward",
        console.target_group(NA)["TargetGroupArn"],
    )


def _mutability_is_mutable(console: Console) -> None:
    (repository,) = console.ecr.describe_repositories(repositoryNames=["varuntd/node-app"])["repositories"]
    assert repository["imageTagMutability"] == "MUTABLE"


NODE_APP_DRIFTS = [
    Drift(
        "circuit-breaker-off",
        _circuit_breaker_off(NA, NA),
        lambda console: [
            Seen(
                "Service",
                NA,
                "service.yaml",
                {
                    "deploymentConfiguration.deploymentCircuitBreaker.enable": Field(
                        True, False, "enable: true"
                    ),
                    "deploymentConfiguration.deploymentCircuitBreaker.rollback": Field(
                        True, False, "rollback: true"
                    ),
                },
                ("ecs.UpdateService",),
            )
        ],
        {"ecs.UpdateService": 1},
        _circuit_breaker_on(NA, NA),
    ),
    Drift(
        "health-check-path",
        _health_check_path(NA, "/"),
        lambda console: [
            Seen(
                "TargetGroup",
                NA,
                "network.yaml",
                {"healthCheck.path": Field("/healthz", "/", "path: /healthz")},
                ("elbv2.ModifyTargetGroup",),
            )
        ],
        {"elbv2.ModifyTargetGroup": 1},
        _health_check_path_is(NA, "/healthz"),
    ),
    Drift(
        "listener-default-action",
        _default_action(NA, {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "503"}}),
        # Named as the spec writes them (the listener by index, camelCase keys), values too (issue
        # 13). The spec's plain `targetGroup:` has no `forwardConfig` line: its action's.
        lambda console: [
            Seen(
                "LoadBalancer",
                NA,
                "network.yaml",
                {
                    "listeners[0].defaultAction.type": Field("forward", "fixed-response", "type: forward"),
                    "listeners[0].defaultAction.forwardConfig": Field(
                        {
                            "targetGroups": [
                                {"targetGroupArn": console.target_group(NA)["TargetGroupArn"], "weight": 1}
                            ],
                            "targetGroupStickinessConfig": {"enabled": False},
                        },
                        None,
                        "defaultAction:",
                    ),
                },
                ("elbv2.ModifyListener",),
            )
        ],
        {"elbv2.ModifyListener": 1},
        _forwards_to_node_app,
    ),
    Drift(
        "revoked-security-group-rule",
        _revoke("node-app-tasks", _tasks_rule),
        lambda console: [
            Seen(
                "SecurityGroup",
                "node-app-tasks",
                "network.yaml",
                {
                    "ingress[0]": Field(
                        {
                            "protocol": "tcp",
                            "fromPort": 3000,
                            "toPort": 3000,
                            "securityGroup": console.group_id("node-app-alb"),
                        },
                        None,
                        "- protocol: tcp",
                    )
                },
                ("ec2.AuthorizeSecurityGroupIngress",),
            )
        ],
        {"ec2.AuthorizeSecurityGroupIngress": 1},
        _tasks_rule_back,
    ),
    Drift(
        "deleted-scaling-policy",
        _delete_policy(NA, NA, "node-app-cpu"),
        lambda console: [
            Seen(
                "Service",
                NA,
                "service.yaml",
                {
                    "autoscaling.targetTrackingPolicies[0]": Field(
                        NODE_APP_POLICY, None, "- policyName: node-app-cpu"
                    )
                },
                ("application-autoscaling.PutScalingPolicy",),
            )
        ],
        {"application-autoscaling.PutScalingPolicy": 1},
        lambda console: _assert_equal(_policies(console, NA, NA), {"node-app-cpu"}),
    ),
    Drift(
        "autoscaling-range",
        _set_range(NA, NA, 2, 8),
        lambda console: [
            Seen(
                "Service",
                NA,
                "service.yaml",
                {
                    "autoscaling.minCapacity": Field(1, 2, "minCapacity:"),
                    "autoscaling.maxCapacity": Field(10, 8, "maxCapacity:"),
                },
                ("application-autoscaling.RegisterScalableTarget",),
            )
        ],
        {"application-autoscaling.RegisterScalableTarget": 1},
        _range_is(NA, NA, 1, 10),
    ),
    Drift(
        "repository-tag-mutability",
        lambda console: console.ecr.put_image_tag_mutability(
            repositoryName="varuntd/node-app", imageTagMutability="IMMUTABLE"
        ),
        lambda console: [
            Seen(
                "Repository",
                NA,
                "repository.yaml",
                {"imageTagMutability": Field("MUTABLE", "IMMUTABLE", "imageTagMutability:")},
                ("ecr.PutImageTagMutability",),
            )
        ],
        {"ecr.PutImageTagMutability": 1},
        _mutability_is_mutable,
    ),
    Drift(
        "service-deleted",
        _delete_services(NA, NA),
        _node_app_deleted,
        {
            "ecs.CreateService": 1,
            "application-autoscaling.RegisterScalableTarget": 1,
            "application-autoscaling.PutScalingPolicy": 1,
        },
        _services_back(NA, {NA: 3}),
    ),
]


# --- the 20-service stack --------------------------------------------------------------------------

FLEET = "fleet"
TAG = {"tags.team": Field("fleet", None, "team: fleet")}


def _fleet_alb_rule(console: Console) -> dict[str, Any]:
    return {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}


def _fleet_alb_rule_back(console: Console) -> None:
    assert [
        (rule["FromPort"], [r["CidrIp"] for r in rule["IpRanges"]]) for rule in _ingress(console, "fleet-alb")
    ] == [(80, ["0.0.0.0/0"])]


def _answers_404(console: Console) -> None:
    (action,) = console.listener(FLEET)["DefaultActions"]
    assert action["Type"] == "fixed-response"
    assert action["FixedResponseConfig"] == {
        "StatusCode": "404",
        "ContentType": "text/plain",
        "MessageBody": "no such service",
    }


def _remove_team_tags(console: Console) -> None:
    ecs, elbv2 = console.ecs, console.elbv2
    cluster = ecs.describe_clusters(clusters=[FLEET])["clusters"][0]["clusterArn"]
    service = console.service(FLEET, "svc-9")
    for arn in (cluster, service["serviceArn"], service["taskDefinition"]):
        ecs.untag_resource(resourceArn=arn, tagKeys=["team"])
    arns = [console.load_balancer_arn(FLEET), console.target_group("svc-9")["TargetGroupArn"]]
    elbv2.remove_tags(ResourceArns=arns, TagKeys=["team"])
    console.ec2.delete_tags(Resources=[console.group_id("fleet-tasks")], Tags=[{"Key": "team"}])


def _team_tags_back(console: Console) -> None:
    service = console.service(FLEET, "svc-9")
    assert {"key": "team", "value": "fleet"} in service["tags"]
    assert console.target_group_tags(console.target_group("svc-9")["TargetGroupArn"])["team"] == "fleet"
    (group,) = console.ec2.describe_security_groups(GroupIds=[console.group_id("fleet-tasks")])[
        "SecurityGroups"
    ]
    assert {"Key": "team", "Value": "fleet"} in group["Tags"]


def _fleet_deleted(console: Console) -> list[Seen]:
    def missing(name: str, calls: tuple[str, ...], extra: dict[str, Any]) -> Seen:
        fields = _as_written(
            {
                "cluster": FLEET,
                "taskDefinition": name,
                "desiredCount": 2,
                "launchType": "FARGATE",
                "networkConfiguration": {
                    "awsvpcConfiguration": {
                        "subnets": "default",
                        "securityGroups": ["fleet-tasks"],
                        "assignPublicIp": "ENABLED",
                    }
                },
                "loadBalancers": [{"targetGroup": name, "containerName": "app", "containerPort": 8080}],
                "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": True, "rollback": True}},
                "tags": {"team": "fleet"},
                **extra,
            }
        )
        return Seen("Service", name, f"services/{name}.yaml", fields, calls, status="missing")

    return [
        missing("svc-7", ("ecs.CreateService",), {}),
        missing(
            "svc-8",
            (
                "ecs.CreateService",
                "application-autoscaling.RegisterScalableTarget",
                "application-autoscaling.PutScalingPolicy",
            ),
            {
                "autoscaling": {
                    "minCapacity": 1,
                    "maxCapacity": 6,
                    "targetTrackingPolicies": [_cpu_policy("svc-8-cpu", 60.0)],
                }
            },
        ),
    ]


DESIRED_COUNT = Drift(
    "desired-count-without-autoscaling",
    lambda console: console.ecs.update_service(cluster=FLEET, service="svc-1", desiredCount=5),
    lambda console: [
        Seen(
            "Service",
            "svc-1",
            "services/svc-1.yaml",
            {"desiredCount": Field(2, 5, "desiredCount:")},
            ("ecs.UpdateService",),
        )
    ],
    {"ecs.UpdateService": 1},
    lambda console: _assert_equal(console.service(FLEET, "svc-1")["desiredCount"], 2),
)
"""One drift alone, to pin its exact writes on a service without autoscaling among twenty."""

FLEET_DRIFTS = [
    Drift(
        "circuit-breaker-off",
        _circuit_breaker_off(FLEET, "svc-3"),
        lambda console: [
            Seen(
                "Service",
                "svc-3",
                "services/svc-3.yaml",
                {
                    "deploymentConfiguration.deploymentCircuitBreaker.enable": Field(
                        True, False, "enable: true"
                    ),
                    "deploymentConfiguration.deploymentCircuitBreaker.rollback": Field(
                        True, False, "rollback: true"
                    ),
                },
                ("ecs.UpdateService",),
            )
        ],
        {"ecs.UpdateService": 1},
        _circuit_breaker_on(FLEET, "svc-3"),
    ),
    Drift(
        "health-check-path",
        _health_check_path("svc-5", "/"),
        lambda console: [
            Seen(
                "TargetGroup",
                "svc-5",
                "services/svc-5.yaml",
                {"healthCheck.path": Field("/svc-5/healthz", "/", "path: /svc-5/healthz")},
                ("elbv2.ModifyTargetGroup",),
            )
        ],
        {"elbv2.ModifyTargetGroup": 1},
        _health_check_path_is("svc-5", "/svc-5/healthz"),
    ),
    Drift(
        "listener-default-action",
        _default_action(FLEET, {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "503"}}),
        lambda console: [
            Seen(
                "LoadBalancer",
                FLEET,
                "network.yaml",
                {
                    "listeners[0].defaultAction.fixedResponseConfig.statusCode": Field(
                        "404", "503", 'statusCode: "404"'
                    ),
                    "listeners[0].defaultAction.fixedResponseConfig.contentType": Field(
                        "text/plain", None, "contentType: text/plain"
                    ),
                    "listeners[0].defaultAction.fixedResponseConfig.messageBody": Field(
                        "no such service", None, "messageBody: no such service"
                    ),
                },
                ("elbv2.ModifyListener",),
            )
        ],
        {"elbv2.ModifyListener": 1},
        _answers_404,
    ),
    Drift(
        "revoked-security-group-rule",
        _revoke("fleet-alb", _fleet_alb_rule),
        lambda console: [
            Seen(
                "SecurityGroup",
                "fleet-alb",
                "network.yaml",
                {
                    "ingress[0]": Field(
                        {"protocol": "tcp", "fromPort": 80, "toPort": 80, "cidr": "0.0.0.0/0"},
                        None,
                        "- protocol: tcp",
                    )
                },
                ("ec2.AuthorizeSecurityGroupIngress",),
            )
        ],
        {"ec2.AuthorizeSecurityGroupIngress": 1},
        _fleet_alb_rule_back,
    ),
    Drift(
        "deleted-scaling-policy",
        _delete_policy(FLEET, "svc-4", "svc-4-cpu"),
        lambda console: [
            Seen(
                "Service",
                "svc-4",
                "services/svc-4.yaml",
                {
                    "autoscaling.targetTrackingPolicies[0]": Field(
                        _cpu_policy("svc-4-cpu", 60.0), None, "- policyName: svc-4-cpu"
                    )
                },
                ("application-autoscaling.PutScalingPolicy",),
            )
        ],
        {"application-autoscaling.PutScalingPolicy": 1},
        lambda console: _assert_equal(_policies(console, FLEET, "svc-4"), {"svc-4-cpu"}),
    ),
    Drift(
        "autoscaling-range",
        _set_range(FLEET, "svc-6", 2, 8),
        lambda console: [
            Seen(
                "Service",
                "svc-6",
                "services/svc-6.yaml",
                {
                    "autoscaling.minCapacity": Field(1, 2, "minCapacity:"),
                    "autoscaling.maxCapacity": Field(6, 8, "maxCapacity:"),
                },
                ("application-autoscaling.RegisterScalableTarget",),
            )
        ],
        {"application-autoscaling.RegisterScalableTarget": 1},
        _range_is(FLEET, "svc-6", 1, 6),
    ),
]
"""Each also made alone on the example stack; here all at once, among twenty services."""

SERVICES_DELETED = Drift(
    "services-deleted",
    _delete_services(FLEET, "svc-7", "svc-8"),
    _fleet_deleted,
    {
        "ecs.CreateService": 2,
        "application-autoscaling.RegisterScalableTarget": 1,
        "application-autoscaling.PutScalingPolicy": 1,
    },
    _services_back(FLEET, {"svc-7": 2, "svc-8": 2}),
)

TAGS_REMOVED = Drift(
    "tags-removed-from-every-kind",
    _remove_team_tags,
    lambda console: [
        Seen("Cluster", FLEET, "cluster.yaml", TAG, ("ecs.TagResource",)),
        Seen("SecurityGroup", "fleet-tasks", "network.yaml", TAG, ("ec2.CreateTags",)),
        Seen("LoadBalancer", FLEET, "network.yaml", TAG, ("elbv2.AddTags",)),
        Seen("TargetGroup", "svc-9", "services/svc-9.yaml", TAG, ("elbv2.AddTags",)),
        Seen("TaskDefinition", "svc-9", "services/svc-9.yaml", TAG, ("ecs.TagResource",)),
        Seen("Service", "svc-9", "services/svc-9.yaml", TAG, ("ecs.TagResource",)),
    ],
    {"ecs.TagResource": 3, "elbv2.AddTags": 2, "ec2.CreateTags": 1},
    _team_tags_back,
)


# --- the tests -------------------------------------------------------------------------------------


def _assert_equal(actual: Any, expected: Any) -> None:
    assert actual == expected


@contextmanager
def _reconverged_on_failure(capsys: pytest.CaptureFixture[str], stack: Path) -> Iterator[None]:
    try:
        yield
    except Exception:
        run_cli(capsys, "apply", str(stack))  # so the next drift starts from a converged stack
        raise


def _reported_then_undone(
    capsys: pytest.CaptureFixture[str], console: Console, stack: Path, drift: Drift
) -> None:
    drift.make(console)
    report = run_cli(capsys, "drift", str(stack))
    assert report.code == 2, report
    assert report.writes == {}
    expected = drift.seen(console)
    assert set(report.changed) == {(seen.kind, seen.name) for seen in expected}, report
    for seen in expected:
        resource = report.changed[(seen.kind, seen.name)]
        file = stack / seen.file
        start = document_line(file, seen.kind, seen.name)
        assert (resource["status"], resource["file"], resource["line"]) == (seen.status, str(file), start)
        reported = {field["path"]: (field["desired"], field["live"]) for field in resource["fields"]}
        assert reported == {path: (field.desired, field.live) for path, field in seen.fields.items()}
        assert {field["path"]: (field["file"], field["line"]) for field in resource["fields"]} == {
            path: (str(file), line_after(file, field.line, after=start))
            for path, field in seen.fields.items()
        }
        assert tuple(resource["calls"]) == seen.calls

    fixed = run_cli(capsys, "apply", str(stack))
    assert fixed.code == 0, fixed
    assert fixed.writes == drift.writes
    drift.fixed(console)

    after = run_cli(capsys, "plan", str(stack))
    assert after.code == 0, after
    assert after.changed == {}


def _scaler_count_is_left_alone(
    capsys: pytest.CaptureFixture[str], console: Console, stack: Path, cluster: str, service: str, count: int
) -> None:
    """Set the live count as the target-tracking policy would, within [min, max]: not drift."""
    console.ecs.update_service(cluster=cluster, service=service, desiredCount=count)
    report = run_cli(capsys, "drift", str(stack))
    assert (report.code, report.changed) == (0, {}), report
    applied = run_cli(capsys, "apply", str(stack))
    assert (applied.code, applied.writes) == (0, {}), applied
    assert console.service(cluster, service)["desiredCount"] == count


def test_console_drift_on_the_example_stack_is_reported_then_undone_with_the_minimal_writes(
    capsys: pytest.CaptureFixture[str], console: Console, subtests: pytest.Subtests
) -> None:
    assert run_cli(capsys, "apply", str(NODE_APP)).code == 0
    for drift in NODE_APP_DRIFTS:
        with subtests.test(msg=drift.id), _reconverged_on_failure(capsys, NODE_APP):
            _reported_then_undone(capsys, console, NODE_APP, drift)
    with subtests.test(msg="scaler-desired-count"):
        # node-app has autoscaling [1, 10] (desiredCount 3 was for creation only).
        _scaler_count_is_left_alone(capsys, console, NODE_APP, NA, NA, 7)


def test_console_drift_on_the_twenty_service_stack_is_reported_then_undone_with_the_minimal_writes(
    capsys: pytest.CaptureFixture[str], console: Console, fleet: Path, subtests: pytest.Subtests
) -> None:
    assert run_cli(capsys, "apply", str(fleet)).code == 0
    drifts = [
        DESIRED_COUNT,
        together("six-drifts-at-once", *FLEET_DRIFTS),
        SERVICES_DELETED,
        TAGS_REMOVED,
    ]
    for drift in drifts:
        with subtests.test(msg=drift.id), _reconverged_on_failure(capsys, fleet):
            _reported_then_undone(capsys, console, fleet, drift)
    with subtests.test(msg="scaler-desired-count"):
        # svc-2 has autoscaling [1, 6].
        _scaler_count_is_left_alone(capsys, console, fleet, FLEET, "svc-2", 5)


def test_drift_in_a_list_item_points_at_the_items_line(
    capsys: pytest.CaptureFixture[str], console: Console
) -> None:
    assert run_cli(capsys, "apply", str(NODE_APP)).code == 0
    _revoke("node-app-tasks", _tasks_rule)(console)
    _default_action(NA, {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "503"}})(console)
    _delete_policy(NA, NA, "node-app-cpu")(console)
    report = run_cli(capsys, "drift", str(NODE_APP))
    network, service = NODE_APP / "network.yaml", NODE_APP / "service.yaml"

    def lines(kind: str, name: str) -> set[int]:
        return {field["line"] for field in report.resource(kind, name)["fields"]}

    tasks = document_line(network, "SecurityGroup", "node-app-tasks")
    assert lines("SecurityGroup", "node-app-tasks") == {line_after(network, "- protocol: tcp", after=tasks)}
    balancer = document_line(network, "LoadBalancer", NA)
    # The action's type has a line of its own; the forward target, written as `targetGroup:`, is
    # reported at its action's.
    assert lines("LoadBalancer", NA) == {
        line_after(network, "defaultAction:", after=balancer),
        line_after(network, "type: forward", after=balancer),
    }
    start = document_line(service, "Service", NA)
    assert lines("Service", NA) == {line_after(service, "- policyName: node-app-cpu", after=start)}
