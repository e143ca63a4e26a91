"""The output model a Terraform or Argo CD user reads at a glance (issue 13, items 12 and 13).

`+`/`-`/`~` per resource and per field, a removal as a `-` line (never `→ null`), values in the
spec's field names and casing (never `HealthCheckPath` or `PolicyType`), a listener shown with its
port, a planned update labelled "to update" (a spec edit is not drift), a one-line summary, the
plan in markdown, values resolved once an apply made them known, and log lines a person can read
on a terminal. Pure: one spec file, hand-made live objects, the planner and the report; no AWS.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import structlog

from reconciler.daemon.logs import configure_logging
from reconciler.engine.executor import ExecutionResult, ResourceOutcome
from reconciler.engine.planner import plan_all
from reconciler.engine.report import (
    NOT_WRITTEN,
    FieldReport,
    ResourceReport,
    build_report,
    render_field,
    render_markdown,
    render_text,
    report_as_json,
    spec_form,
    summarise,
)
from reconciler.plan.delta import Delta, FieldDiff
from reconciler.plan.ownership import SPEC_HASH, ownership_tags
from reconciler.plan.steps import Action, Plan, Ref, ResourcePlan
from reconciler.resources.base import Environment, LiveResource, LiveState, PlanContext, PlanSettings
from reconciler.resources.registry import load_spec_set
from reconciler.spec import SpecSet

ACCOUNT = "123456789012"
SUBNETS = ("subnet-a", "subnet-b")
LB_ARN = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:loadbalancer/app/web/1"
TG_ARN = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:targetgroup/web/1"
SERVICE_ARN = f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/web/web"
TD_ARN = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/web:1"

SPEC = """\
apiVersion: ecs-reconciler/v1
kind: TargetGroup
metadata:
  name: web
spec:
  protocol: HTTP
  port: 3000
  targetType: ip
  vpc: default
  healthCheck:
    path: /healthz
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
      - policyName: cpu
        predefinedMetricType: ECSServiceAverageCPUUtilization
        targetValue: 50
---
apiVersion: ecs-reconciler/v1
kind: Cluster
metadata:
  name: web
spec: {}
---
apiVersion: ecs-reconciler/v1
kind: TaskDefinition
metadata:
  name: web
spec:
  cpu: "256"
  memory: "512"
  containerDefinitions:
    - name: app
      image: public.ecr.aws/app:v2
"""


EARLIER_SPEC_HASH = "0123456789abcdef"
"""What the live objects were converged to: an earlier version of their documents, so what the plan
updates are changes made in git, not drift."""


def _owned(kind: str) -> dict[str, str]:
    return {**ownership_tags(kind=kind, name="web", instance="default"), SPEC_HASH: EARLIER_SPEC_HASH}


def _live() -> list[LiveResource]:
    """The target group does not exist; the balancer lacks its :8080 listener; the service has a
    scaling policy of someone else's besides its own; the task definition runs an older image."""
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
                80: {
                    "arn": f"{LB_ARN}/listener/80",
                    "listener": {
                        "Port": 80,
                        "Protocol": "HTTP",
                        "DefaultActions": [
                            {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}
                        ],
                    },
                }
            }
        },
    )
    policies = {
        name: {
            "PolicyName": name,
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": target,
                "PredefinedMetricSpecification": {"PredefinedMetricType": "ECSServiceAverageCPUUtilization"},
            },
        }
        for name, target in (("cpu", 50.0), ("burst", 90.0))
    }
    service = LiveResource(
        "Service",
        "web",
        SERVICE_ARN,
        {
            "serviceArn": SERVICE_ARN,
            "serviceName": "web",
            "status": "ACTIVE",
            "taskDefinition": TD_ARN,
            "desiredCount": 1,
        },
        tags={**_owned("Service"), "ecs-reconciler/autoscaling": "managed"},
        outputs={"arn": SERVICE_ARN, "name": "web", "cluster": "web"},
        details={
            "scalableTarget": {"MinCapacity": 1, "MaxCapacity": 4},
            "scalingPolicies": policies,
            "scheduledActions": {},
        },
    )
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
            "containerDefinitions": [{"name": "app", "image": "public.ecr.aws/app:v1"}],
        },
        tags=_owned("TaskDefinition"),
        outputs={"arn": TD_ARN, "family": "web", "revision": 1},
        details={"revisions": [{"arn": TD_ARN, "revision": 1, "owned": True}]},
    )
    cluster = LiveResource(
        "Cluster",
        "web",
        f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/web",
        {
            "clusterName": "web",
            "status": "ACTIVE",
            "capacityProviders": [],
            "defaultCapacityProviderStrategy": [],
        },
        tags=_owned("Cluster"),
        outputs={"arn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/web", "name": "web"},
    )
    return [balancer, service, task_definition, cluster]


@pytest.fixture(scope="module")
def planned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Plan, SpecSet]:
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
    return plan_all(context), spec_set


@pytest.fixture(scope="module")
def reports(planned: tuple[Plan, SpecSet]) -> Mapping[str, ResourceReport]:
    plan, spec_set = planned
    return {report.kind: report for report in build_report(plan, spec_set)}


def _fields(report: ResourceReport) -> dict[str, FieldReport]:
    return {field.path: field for field in report.fields}


def test_a_new_resource_reads_as_its_spec_with_the_specs_field_names(
    reports: Mapping[str, ResourceReport],
) -> None:
    created = reports["TargetGroup"]
    assert (created.action, created.status) == ("create", "missing")
    assert {path: field.desired for path, field in _fields(created).items()} == {
        "protocol": "HTTP",
        "port": 3000,
        "targetType": "ip",
        "vpc": "default",
        "healthCheck": {"path": "/healthz"},
    }
    assert all(field.change == "add" for field in created.fields)
    assert _fields(created)["healthCheck"].line == SPEC.splitlines().index("  healthCheck:") + 1
    assert "HealthCheckPath" not in render_text([created])


def test_an_added_listener_is_shown_with_its_port(reports: Mapping[str, ResourceReport]) -> None:
    listener = _fields(reports["LoadBalancer"])["listeners[1]"]
    assert (listener.change, listener.live) == ("add", None)
    assert listener.desired == {
        "port": 8080,
        "protocol": "HTTP",
        "defaultAction": {"type": "fixed-response", "fixedResponseConfig": {"statusCode": "503"}},
    }


def test_a_removal_is_a_minus_line_not_an_arrow_to_null(reports: Mapping[str, ResourceReport]) -> None:
    service = reports["Service"]
    removed = _fields(service)["autoscaling.targetTrackingPolicies.burst"]
    assert (removed.change, removed.desired, removed.live) == ("remove", None, "TargetTrackingScaling")
    text = render_text([service])
    assert (
        "    - autoscaling.targetTrackingPolicies.burst: TargetTrackingScaling  (line 43)"
        in text.splitlines()
    )
    assert "null" not in text
    assert "(to update)" in text.splitlines()[0]


def test_a_planned_update_of_an_edited_document_is_to_update_not_drifted_in_text(
    reports: Mapping[str, ResourceReport],
) -> None:
    text = render_text(list(reports.values()))
    assert "drifted" not in text
    headers = [line for line in text.splitlines() if not line.startswith(" ")]
    assert [header.split("  ")[0:2] for header in headers] == [
        ["+ TargetGroup/web", "(to create)"],
        ["~ LoadBalancer/web", "(to update)"],
        ["~ Service/web", "(to update)"],
        ["~ TaskDefinition/web", "(to update)"],
    ]
    assert "    ~ containerDefinitions[0].image: public.ecr.aws/app:v1 → public.ecr.aws/app:v2" in text


@pytest.mark.parametrize(
    ("value", "written", "expected"),
    [
        # Already in the spec's casing: shown as the kind compared it (references resolved).
        (
            {"protocol": "tcp", "fromPort": 80},
            {"protocol": "tcp", "port": 80},
            {"protocol": "tcp", "fromPort": 80},
        ),
        ("/healthz", "/other", "/healthz"),
        # In the API's shape, and the spec has it: as the spec writes it.
        (
            {"Protocol": "HTTP", "DefaultAction": {}},
            {"port": 8080, "protocol": "HTTP"},
            {"port": 8080, "protocol": "HTTP"},
        ),
        # In the API's shape, and the spec does not have it: the API's keys in camelCase.
        (
            {"TargetGroups": [{"TargetGroupArn": "arn:tg", "Weight": 1}]},
            None,
            {"targetGroups": [{"targetGroupArn": "arn:tg", "weight": 1}]},
        ),
        # Keys that are data keep their spelling.
        (
            {"Tags": {"Team": "web"}, "attributes": {"Key.A": "1"}},
            None,
            {"tags": {"Team": "web"}, "attributes": {"Key.A": "1"}},
        ),
        ({"tags": {"Team": "web"}}, None, {"tags": {"Team": "web"}}),
    ],
)
def test_values_are_shown_in_the_specs_casing(value: Any, written: Any, expected: Any) -> None:
    assert spec_form(value, NOT_WRITTEN if written is None else written) == expected


def test_a_tag_map_keeps_its_keys_however_they_are_cased() -> None:
    assert spec_form({"Team": "web"}, NOT_WRITTEN, ("tags",)) == {"Team": "web"}


def _field(desired: Any, live: Any, *, line: int = 0) -> FieldReport:
    return FieldReport(path="a.b", desired=desired, live=live, owner="spec", file="f.yaml", line=line)


@pytest.mark.parametrize(
    ("field", "text"),
    [
        (_field("x", None, line=3), "+ a.b: x  (line 3)"),
        (_field(None, {"k": 1}), '- a.b: {"k": 1}'),
        (_field(2, 1), "~ a.b: 1 → 2"),
        (_field(False, True), "~ a.b: true → false"),
    ],
)
def test_each_field_reads_plus_minus_or_tilde(field: FieldReport, text: str) -> None:
    assert render_field(field) == text


def _report(action: Action, *, outcome: str = "", status: str = "changed") -> ResourceReport:
    return ResourceReport(
        kind="Cluster",
        name=action.value,
        status=status,
        action=action.value,
        file="",
        line=0,
        message="",
        warnings=(),
        fields=(),
        calls=(),
        report_only=False,
        outcome=outcome,
    )


@pytest.mark.parametrize(
    ("actions", "text"),
    [
        (
            [Action.CREATE] * 3 + [Action.UPDATE] * 2 + [Action.DELETE, Action.NONE],
            "3 to create, 2 to update, 1 to delete",
        ),
        ([Action.NONE, Action.NONE], "in sync: 2 resources"),
        ([Action.REPLACE, Action.CONFLICT, Action.WAITING], "1 to replace, 1 conflict, 1 waiting"),
    ],
)
def test_a_plan_summary_is_one_line(actions: list[Action], text: str) -> None:
    assert summarise([_report(action) for action in actions]).text == text


def test_an_apply_summary_says_what_was_done() -> None:
    reports = [
        _report(Action.CREATE, outcome="created"),
        _report(Action.CREATE, outcome="created"),
        _report(Action.UPDATE, outcome="failed"),
        _report(Action.CONFLICT, status="conflict"),
        _report(Action.NONE, status="in-sync"),
    ]
    summary = summarise(reports, applied=True)
    assert summary.text == "2 created, 1 failed, 1 conflict"
    assert summary.as_json() == {
        "text": "2 created, 1 failed, 1 conflict",
        "resources": 5,
        "inSync": 1,
        "created": 2,
        "failed": 1,
        "conflict": 1,
    }


def test_the_plan_in_markdown_has_its_summary_and_a_row_per_field(
    reports: Mapping[str, ResourceReport],
) -> None:
    markdown = render_markdown(list(reports.values()), title="plan")
    lines = markdown.splitlines()
    assert lines[0] == "### ecs-reconciler plan"
    assert "**1 to create, 3 to update**" in lines
    assert "| - | Service/web | to update | `autoscaling.targetTrackingPolicies.burst` " in markdown
    assert '| + | TargetGroup/web | to create | `healthCheck` |  | `{"path": "/healthz"}` |' in markdown
    assert "HealthCheck" not in markdown and "PolicyType" not in markdown


def test_the_json_form_carries_each_fields_change(reports: Mapping[str, ResourceReport]) -> None:
    (service,) = [r for r in report_as_json(list(reports.values())) if r["kind"] == "Service"]
    assert [(field["path"], field["change"]) for field in service["fields"]] == [
        ("taskDefinition", "update"),
        ("autoscaling.targetTrackingPolicies.burst", "remove"),
    ]
    assert service["outcome"] == ""


def test_after_an_apply_a_value_known_after_apply_is_shown_resolved() -> None:
    new_arn = TD_ARN.replace(":1", ":2")
    resource = ResourcePlan(
        "Service",
        "web",
        Action.UPDATE,
        Delta((FieldDiff(("taskDefinition",), Ref("TaskDefinition", "web", "arn"), TD_ARN),)),
    )
    plan = Plan((resource,))
    (before,) = build_report(plan, None)
    assert before.fields[0].desired == "(known after apply: TaskDefinition/web.arn)"
    execution = ExecutionResult(
        outcomes={resource.key: ResourceOutcome(key=resource.key, ok=True, calls_made=1)},
        outputs={("TaskDefinition", "web"): {"arn": new_arn}},
    )
    (after,) = build_report(plan, None, execution=execution)
    assert (after.fields[0].desired, after.outcome) == (new_arn, "updated")
    assert "known after apply" not in render_text([after])


@pytest.fixture
def terminal_stderr(capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    configure_logging(json_lines=False)
    yield
    structlog.reset_defaults()


def test_a_terminal_log_line_is_short_and_reads_as_text_not_python_reprs(
    terminal_stderr: None, capsys: pytest.CaptureFixture[str]
) -> None:
    delta = [
        vars(
            FieldReport(
                "healthCheck.path", "/healthz", "/other", "spec", "/a/very/long/path/network.yaml", 49
            )
        ),
        vars(
            FieldReport(
                "autoscaling.targetTrackingPolicies.burst", None, "TargetTrackingScaling", "spec", "", 0
            )
        ),
    ]
    structlog.get_logger("test").warning(
        "drift", kind="TargetGroup", name="web", delta=delta, ids={"a": [1, True]}
    )
    (line,) = capsys.readouterr().err.splitlines()
    assert (
        "delta='~ healthCheck.path: /other → /healthz  (line 49); - autoscaling.targetTrackingPolicies.burst"
        in line
    )
    assert """ids='{"a":[1,true]}'""" in line
    assert "{'" not in line and "True" not in line
    assert len(line) < 400


def test_a_long_value_is_cut_on_a_terminal_and_whole_in_json_lines(
    capsys: pytest.CaptureFixture[str],
) -> None:
    big = {"items": list(range(500))}
    configure_logging(json_lines=False)
    structlog.get_logger("test").warning("big", value=big)
    console = capsys.readouterr().err
    assert "…" in console and len(console) < 400
    configure_logging(json_lines=True)
    structlog.get_logger("test").warning("big", value=big)
    assert json.loads(capsys.readouterr().err)["value"] == big
    structlog.reset_defaults()
