"""Drift report paths and lines: a field is named as the spec writes it and points at its own line.

Kinds key list items by identity (a security group rule by its ports and source, a listener by
port, a scaling policy and a container by name) and compare in the API's casing; the report must
still say `ingress[1]` or `listeners[1].defaultAction.fixedResponseConfig.statusCode` and give the
line of that item or field, not the enclosing list's. An item only the live side has is named by
its identity under the spec's list, and points at the list. Pure: one spec file, hand-made live
objects, the planner and the report; no AWS.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from reconciler.engine.planner import plan_all
from reconciler.engine.report import ResourceReport, build_report, mask_secrets
from reconciler.plan.delta import Delta, FieldDiff, Path
from reconciler.plan.ownership import ownership_tags
from reconciler.resources.base import Environment, LiveResource, LiveState, PlanContext, PlanSettings
from reconciler.resources.load_balancer import kind as load_balancer
from reconciler.resources.load_balancer.model import LoadBalancerSpec
from reconciler.resources.registry import load_spec_set
from reconciler.resources.service import autoscaling
from reconciler.resources.service.model import Autoscaling
from reconciler.resources.task_definition import kind as task_definition
from reconciler.resources.task_definition.model import TaskDefinitionSpec
from reconciler.spec.secrets import fingerprint

ACCOUNT = "123456789012"
SUBNETS = ("subnet-a", "subnet-b")
TD_ARN = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/web:1"
LB_ARN = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:loadbalancer/app/web/1"
TG_ARN = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:targetgroup/other/1"

SPEC = """\
apiVersion: ecs-reconciler/v1
kind: SecurityGroup
metadata:
  name: web
spec:
  description: web
  vpc: default
  ingress:
    - protocol: tcp
      port: 443
      cidr: 10.0.0.0/8
    - cidr: 0.0.0.0/0
      protocol: tcp
      port: 80
---
apiVersion: ecs-reconciler/v1
kind: LoadBalancer
metadata:
  name: web
spec:
  subnets: default
  listeners:
    - port: 80
      protocol: HTTP
      defaultAction:
        type: fixed-response
        fixedResponseConfig:
          statusCode: "404"
    - port: 8080
      protocol: HTTP
      defaultAction:
        type: fixed-response
        fixedResponseConfig:
          statusCode: "503"
          messageBody: down for maintenance
---
apiVersion: ecs-reconciler/v1
kind: TaskDefinition
metadata:
  name: web
spec:
  cpu: "256"
  memory: "512"
  containerDefinitions:
    - name: proxy
      image: public.ecr.aws/envoy:v1
    - name: app
      image: public.ecr.aws/app:v2
      environment:
        - name: MODE
          value: production
        - name: LOG_LEVEL
          value: info
---
apiVersion: ecs-reconciler/v1
kind: Service
metadata:
  name: web
spec:
  cluster: web
  taskDefinition: web
  autoscaling:
    minCapacity: 1
    maxCapacity: 4
    targetTrackingPolicies:
      - policyName: memory
        predefinedMetricType: ECSServiceAverageMemoryUtilization
        targetValue: 70
      - policyName: cpu
        predefinedMetricType: ECSServiceAverageCPUUtilization
        targetValue: 50
---
apiVersion: ecs-reconciler/v1
kind: Cluster
metadata:
  name: web
spec: {}
"""


def _line(text: str) -> int:
    """The first spec line containing `text`."""
    return next(n for n, line in enumerate(SPEC.splitlines(), start=1) if text in line)


def _owned(kind: str) -> dict[str, str]:
    return ownership_tags(kind=kind, name="web", instance="default")


def _fixed_response(status: str) -> dict[str, Any]:
    return {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": status}}


def _rule(port: int, cidr: str) -> dict[str, Any]:
    return {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": cidr}]}


def _policy(name: str, metric: str, target: float) -> dict[str, Any]:
    return {
        "PolicyName": name,
        "PolicyType": "TargetTrackingScaling",
        "TargetTrackingScalingPolicyConfiguration": {
            "TargetValue": target,
            "PredefinedMetricSpecification": {"PredefinedMetricType": metric},
        },
    }


def _live() -> list[LiveResource]:
    """What the console left: each kind drifted from the spec above in the ways the table names."""
    group = LiveResource(
        "SecurityGroup",
        "web",
        "sg-1",
        {
            "GroupId": "sg-1",
            "GroupName": "web",
            "VpcId": "vpc-1",
            "Description": "web",
            # The port 80 rule was revoked; a port 22 rule was added.
            "IpPermissions": [_rule(443, "10.0.0.0/8"), _rule(22, "0.0.0.0/0")],
        },
        tags=_owned("SecurityGroup"),
        outputs={"id": "sg-1"},
    )
    balancer = LiveResource(
        "LoadBalancer",
        "web",
        LB_ARN,
        {
            "LoadBalancerArn": LB_ARN,
            "LoadBalancerName": "web",
            "Type": "application",
            "AvailabilityZones": [{"SubnetId": subnet} for subnet in SUBNETS],
        },
        tags=_owned("LoadBalancer"),
        outputs={"arn": LB_ARN},
        details={
            "listeners": {
                # :80 forwards somewhere instead of answering 404; :8080 answers 500 with no body.
                80: {
                    "arn": f"{LB_ARN}/listener/80",
                    "listener": {
                        "Port": 80,
                        "Protocol": "HTTP",
                        "DefaultActions": [{"Type": "forward", "TargetGroupArn": TG_ARN}],
                    },
                },
                8080: {
                    "arn": f"{LB_ARN}/listener/8080",
                    "listener": {
                        "Port": 8080,
                        "Protocol": "HTTP",
                        "DefaultActions": [_fixed_response("500")],
                    },
                },
            }
        },
    )
    container_environment = [
        {"name": "MODE", "value": "production"},
        {"name": "LOG_LEVEL", "value": "debug"},
        {"name": "DEBUG", "value": "1"},
    ]
    task_definition = LiveResource(
        "TaskDefinition",
        "web",
        TD_ARN,
        {
            "taskDefinitionArn": TD_ARN,
            "family": "web",
            "revision": 1,
            "cpu": "256",
            "memory": "512",
            "containerDefinitions": [
                {"name": "proxy", "image": "public.ecr.aws/envoy:v1"},
                {"name": "app", "image": "public.ecr.aws/app:v1", "environment": container_environment},
            ],
        },
        tags=_owned("TaskDefinition"),
        outputs={"arn": TD_ARN, "family": "web", "revision": 1},
        details={"revisions": [{"arn": TD_ARN, "revision": 1, "owned": True}]},
    )
    service_arn = f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/web/web"
    service = LiveResource(
        "Service",
        "web",
        service_arn,
        {
            "serviceArn": service_arn,
            "serviceName": "web",
            "status": "ACTIVE",
            "taskDefinition": TD_ARN,
            "desiredCount": 1,
        },
        tags={**_owned("Service"), "ecs-reconciler/autoscaling": "managed"},
        outputs={"arn": service_arn, "name": "web", "cluster": "web"},
        details={
            "scalableTarget": {"MinCapacity": 1, "MaxCapacity": 4},
            # memory was deleted, cpu's target changed, and someone added a policy of their own.
            "scalingPolicies": {
                "cpu": _policy("cpu", "ECSServiceAverageCPUUtilization", 80.0),
                "burst": _policy("burst", "ECSServiceAverageCPUUtilization", 90.0),
            },
            "scheduledActions": {},
        },
    )
    return [group, balancer, task_definition, service]


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> Mapping[tuple[str, str], ResourceReport]:
    file = tmp_path_factory.mktemp("specs") / "stack.yaml"
    file.write_text(SPEC)
    spec_set, errors = load_spec_set([file])
    assert spec_set is not None, errors
    context = PlanContext(
        spec_set=spec_set,
        live=LiveState(resources={live.key: live for live in _live()}),
        environment=Environment(
            account_id=ACCOUNT, region="us-east-1", default_vpc_id="vpc-1", default_subnet_ids=SUBNETS
        ),
        settings=PlanSettings(),
    )
    return {(report.kind, report.name): report for report in build_report(plan_all(context), spec_set)}


# (kind, reported path, desired, live, text of the spec line it must point at)
EXPECTED: list[tuple[str, str, Any, Any, str]] = [
    # A revoked rule is the spec's second item; a rule only AWS has is named under `ingress:`.
    (
        "SecurityGroup",
        "ingress[1]",
        {"protocol": "tcp", "fromPort": 80, "toPort": 80, "cidr": "0.0.0.0/0"},
        None,
        "- cidr: 0.0.0.0/0",
    ),
    (
        "SecurityGroup",
        "ingress.tcp 22-22 cidr 0.0.0.0/0",
        None,
        {"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidr": "0.0.0.0/0"},
        "ingress:",
    ),
    # Listeners by index, not port; an object the kind compares in the API's shape is shown as the
    # spec writes it (issue 13: no `StatusCode`, `PolicyType` in a report).
    ("LoadBalancer", "listeners[0].defaultAction.type", "fixed-response", "forward", "type: fixed-response"),
    (
        "LoadBalancer",
        "listeners[0].defaultAction.fixedResponseConfig",
        {"statusCode": "404"},
        None,
        "fixedResponseConfig:",
    ),
    ("LoadBalancer", "listeners[1].defaultAction.fixedResponseConfig.statusCode", "503", "500", "503"),
    (
        "LoadBalancer",
        "listeners[1].defaultAction.fixedResponseConfig.messageBody",
        "down for maintenance",
        None,
        "messageBody:",
    ),
    # Containers and variables by index; a variable only AWS has is named under `environment:`.
    (
        "TaskDefinition",
        "containerDefinitions[1].image",
        "public.ecr.aws/app:v2",
        "public.ecr.aws/app:v1",
        "app:v2",
    ),
    # Environment values are shown as fingerprints (issue 9): a change still shows.
    (
        "TaskDefinition",
        "containerDefinitions[1].environment[1].value",
        fingerprint("info"),
        fingerprint("debug"),
        "value: info",
    ),
    ("TaskDefinition", "containerDefinitions[1].environment.DEBUG", None, fingerprint("1"), "environment:"),
    # Policies by their index in the spec's list, fields as the spec writes them.
    (
        "Service",
        "autoscaling.targetTrackingPolicies[0]",
        {
            "policyName": "memory",
            "predefinedMetricType": "ECSServiceAverageMemoryUtilization",
            "targetValue": 70,
        },
        None,
        "- policyName: memory",
    ),
    ("Service", "autoscaling.targetTrackingPolicies[1].targetValue", 50.0, 80.0, "targetValue: 50"),
    (
        "Service",
        "autoscaling.targetTrackingPolicies.burst",
        None,
        "TargetTrackingScaling",
        "targetTrackingPolicies:",
    ),
    # A field whose path already mirrors the spec is untouched: the new revision's ARN.
    (
        "Service",
        "taskDefinition",
        "(known after apply: TaskDefinition/web.arn)",
        TD_ARN,
        "taskDefinition: web",
    ),
]


@pytest.mark.parametrize(
    ("kind", "path", "desired", "live", "line"), EXPECTED, ids=[f"{row[0]}:{row[1]}" for row in EXPECTED]
)
def test_a_drifted_field_is_named_and_placed_as_the_spec_writes_it(
    reports: Mapping[tuple[str, str], ResourceReport],
    kind: str,
    path: str,
    desired: Any,
    live: Any,
    line: str,
) -> None:
    fields = {field.path: field for field in reports[(kind, "web")].fields}
    assert path in fields, sorted(fields)
    field = fields[path]
    assert (field.desired, field.live) == (desired, live)
    assert field.line == _line(line)


@pytest.mark.parametrize("kind", sorted({row[0] for row in EXPECTED}))
def test_each_drifted_resource_reports_exactly_the_tables_fields(
    reports: Mapping[tuple[str, str], ResourceReport], kind: str
) -> None:
    assert sorted(field.path for field in reports[(kind, "web")].fields) == sorted(
        row[1] for row in EXPECTED if row[0] == kind
    )


def test_the_identity_path_stays_for_the_planner_and_the_spec_path_is_only_added() -> None:
    diff = FieldDiff(("listeners", 80, "DefaultAction", "Type"), "forward", "fixed-response")
    repathed = Delta((diff, FieldDiff(("tags", "team"), "web", None))).with_spec_paths(
        lambda path: ("listeners", 0, "defaultAction", "type") if path[0] == "listeners" else None
    )
    listener, tag = repathed
    assert (listener.path, listener.written_path) == (diff.path, ("listeners", 0, "defaultAction", "type"))
    assert (tag.spec_path, tag.written_path) == (None, ("tags", "team"))
    assert repathed.touches(("listeners", 80)) and not repathed.touches(("listeners", 0))


# --- each kind's path mapping, for the paths the stack above does not drift ------------------------

LOAD_BALANCER = LoadBalancerSpec.model_validate(
    {
        "subnets": "default",
        "listeners": [
            {
                "port": 8080,
                "protocol": "HTTP",
                "defaultAction": {"type": "fixed-response", "fixedResponseConfig": {"statusCode": "404"}},
                "rules": [
                    {
                        "priority": 20,
                        "conditions": [{"field": "path-pattern", "values": ["/b/*"]}],
                        "actions": [{"type": "forward", "targetGroup": "b"}],
                    },
                    {
                        "priority": 10,
                        "conditions": [{"field": "path-pattern", "values": ["/a/*"]}],
                        "actions": [{"type": "forward", "targetGroup": "a"}],
                    },
                ],
            }
        ],
    }
)
AUTOSCALING = Autoscaling.model_validate(
    {
        "minCapacity": 1,
        "maxCapacity": 4,
        "stepScalingPolicies": [
            {
                "policyName": "step",
                "adjustmentType": "ChangeInCapacity",
                "stepAdjustments": [{"metricIntervalLowerBound": 0, "scalingAdjustment": 1}],
            }
        ],
        "targetTrackingPolicies": [
            {"policyName": "requests", "predefinedMetricType": "ALBRequestCountPerTarget", "targetValue": 100}
        ],
        "scheduledActions": [{"scheduledActionName": "night", "schedule": "cron(0 22 * * ? *)"}],
    }
)
TASK_DEFINITION = TaskDefinitionSpec.model_validate(
    {
        "containerDefinitions": [
            {"name": "app", "image": "app:v1", "secrets": [{"name": "TOKEN", "valueFrom": "arn:token"}]}
        ],
        "volumes": [{"name": "scratch"}, {"name": "data", "host": {"sourcePath": "/data"}}],
    }
)


@pytest.mark.parametrize(
    ("spec_path", "path", "expected"),
    [
        (load_balancer.spec_path, ("Subnets",), ("subnets",)),
        (load_balancer.spec_path, ("IpAddressType",), ("ipAddressType",)),
        (load_balancer.spec_path, ("tags", "Team"), None),
        (load_balancer.spec_path, ("attributes", "idle_timeout.timeout_seconds"), None),
        (load_balancer.spec_path, ("listeners", 443), ("listeners", "port 443")),
        (load_balancer.spec_path, ("listeners", 8080, "DefaultActions"), ("listeners", 0, "defaultAction")),
        (
            load_balancer.spec_path,
            ("listeners", 8080, "rules", 10, "Conditions"),
            ("listeners", 0, "rules", 1, "conditions"),
        ),
        (
            load_balancer.spec_path,
            ("listeners", 8080, "rules", 20, "Action", "ForwardConfig", "TargetGroups"),
            ("listeners", 0, "rules", 0, "actions", 0, "forwardConfig", "targetGroups"),
        ),
        (load_balancer.spec_path, ("listeners", 8080, "rules", 30), ("listeners", 0, "rules", "priority 30")),
        (autoscaling.spec_path, ("autoscaling", "minCapacity"), None),
        (
            autoscaling.spec_path,
            ("autoscaling", "policies", "step", "StepScalingPolicyConfiguration", "StepAdjustments"),
            ("autoscaling", "stepScalingPolicies", 0, "stepAdjustments"),
        ),
        (
            autoscaling.spec_path,
            ("autoscaling", "policies", "step", "PolicyType"),
            ("autoscaling", "stepScalingPolicies", 0),
        ),
        (
            autoscaling.spec_path,
            (
                "autoscaling",
                "policies",
                "requests",
                "TargetTrackingScalingPolicyConfiguration",
                "PredefinedMetricSpecification",
                "ResourceLabel",
            ),
            ("autoscaling", "targetTrackingPolicies", 0, "resourceLabel"),
        ),
        (
            autoscaling.spec_path,
            ("autoscaling", "scheduledActions", "night", "ScalableTargetAction", "MinCapacity"),
            ("autoscaling", "scheduledActions", 0, "minCapacity"),
        ),
        (autoscaling.spec_path, ("autoscaling", "scheduledActions", "weekend"), None),
        (
            task_definition.spec_path,
            ("containerDefinitions", "app", "secrets", "TOKEN"),
            ("containerDefinitions", 0, "secrets", 0, "valueFrom"),
        ),
        (task_definition.spec_path, ("containerDefinitions", "sidecar"), None),
        (
            task_definition.spec_path,
            ("volumes", "data", "host", "sourcePath"),
            ("volumes", 1, "host", "sourcePath"),
        ),
        (task_definition.spec_path, ("cpu",), None),
    ],
    ids=lambda value: ".".join(map(str, value)) if isinstance(value, tuple) else None,
)
def test_a_kinds_identity_path_maps_to_where_the_spec_writes_the_field(
    spec_path: Callable[[Path, Any], Path | None], path: Path, expected: Path | None
) -> None:
    spec = {
        load_balancer.spec_path: LOAD_BALANCER,
        autoscaling.spec_path: AUTOSCALING,
        task_definition.spec_path: TASK_DEFINITION,
    }[spec_path]
    assert spec_path(path, spec) == expected


@pytest.mark.parametrize(
    ("value", "path", "expected"),
    [
        ("hunter2", ("containerDefinitions", "app", "environment", "DB_PASSWORD"), "***"),
        (None, ("environment", "API_TOKEN"), None),
        (
            {"DB_PASSWORD": "hunter2", "LOG_LEVEL": "info"},
            ("environment",),
            {"DB_PASSWORD": "***", "LOG_LEVEL": "info"},
        ),
        ([{"name": "STRIPE_API_KEY", "value": "sk_live"}], (), [{"name": "STRIPE_API_KEY", "value": "***"}]),
        ({"name": "LOG_LEVEL", "value": "debug"}, (), {"name": "LOG_LEVEL", "value": "debug"}),
        ("nginx:1.27", ("containerDefinitions", "app", "image"), "nginx:1.27"),
    ],
)
def test_secret_looking_values_never_reach_a_report(value: Any, path: tuple[str, ...], expected: Any) -> None:
    """Reports go to logs, webhooks and pull requests: plain-text secrets in an environment stay out."""
    assert mask_secrets(value, path) == expected
