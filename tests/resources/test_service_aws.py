"""The Service kind against the local AWS: convergence, drift fixed with the fewest writes, rollouts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from reconciler.local import LocalAWS
from reconciler.plan.delta import Delta, Owner
from reconciler.plan.steps import Action, Status
from reconciler.resources.service.kind import rollout_state
from tests.harness import engine_pass, load

pytestmark = pytest.mark.aws

ROOT = Path(__file__).resolve().parents[2]

STACK = """\
apiVersion: ecs-reconciler/v1
kind: Cluster
metadata:
  name: web
spec:
  capacityProviders: [FARGATE, FARGATE_SPOT]
---
apiVersion: ecs-reconciler/v1
kind: TaskDefinition
metadata:
  name: web
spec:
  requiresCompatibilities: [FARGATE]
  networkMode: awsvpc
  cpu: "256"
  memory: "512"
  containerDefinitions:
    - name: app
      image: public.ecr.aws/nginx/nginx:IMAGE_TAG
      portMappings:
        - containerPort: 80
---
apiVersion: ecs-reconciler/v1
kind: Service
metadata:
  name: web
spec:
  cluster: web
  taskDefinition: web
  desiredCount: 2
  launchType: FARGATE
  networkConfiguration:
    awsvpcConfiguration:
      subnets: default
      assignPublicIp: ENABLED
  deploymentConfiguration:
    deploymentCircuitBreaker: {enable: true, rollback: true}
  tags:
    team: web
"""

AUTOSCALING = """\
  autoscaling:
    minCapacity: 1
    maxCapacity: 4
    targetTrackingPolicies:
      - policyName: cpu
        predefinedMetricType: ECSServiceAverageCPUUtilization
        targetValue: 50
        scaleInCooldown: 120
"""

RID = "service/web/web"
AAS = {"ServiceNamespace": "ecs", "ScalableDimension": "ecs:service:DesiredCount"}


def write_stack(folder: Path, *, autoscaling: bool, image_tag: str = "1.27") -> Path:
    (folder / "stack.yaml").write_text(
        STACK.replace("IMAGE_TAG", image_tag) + (AUTOSCALING if autoscaling else "")
    )
    return folder


def client(local: LocalAWS, service: str) -> Any:
    return boto3.client(service, region_name=local.region, endpoint_url=local.endpoint_url)


def describe(local: LocalAWS) -> dict[str, Any]:
    (service,) = client(local, "ecs").describe_services(cluster="web", services=["web"], include=["TAGS"])[
        "services"
    ]
    return service  # type: ignore[no-any-return]


def test_a_service_with_autoscaling_is_created_from_empty_then_needs_no_writes(
    aws: LocalAWS, tmp_path: Path
) -> None:
    spec_set = load(write_stack(tmp_path, autoscaling=True))
    first = engine_pass(aws, spec_set)
    assert first.result.ok, first.result.execution
    assert first.writes == {
        "ecs.CreateCluster": 1,
        "ecs.RegisterTaskDefinition": 1,
        "ecs.CreateService": 1,
        "application-autoscaling.RegisterScalableTarget": 1,
        "application-autoscaling.PutScalingPolicy": 1,
    }
    service = describe(aws)
    assert service["taskDefinition"].startswith("arn:aws:ecs:") and service["taskDefinition"].endswith(":1")
    assert service["deploymentConfiguration"]["deploymentCircuitBreaker"] == {
        "enable": True,
        "rollback": True,
    }
    assert {"key": "ecs-reconciler/source", "value": "Service/web"} in service["tags"]
    (target,) = client(aws, "application-autoscaling").describe_scalable_targets(ResourceIds=[RID], **AAS)[
        "ScalableTargets"
    ]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (1, 4)
    second = engine_pass(aws, spec_set)
    assert second.writes == {}
    assert not second.result.plan.has_changes
    reads = second.calls
    assert reads["ecs.DescribeServices"] == 1
    assert reads["application-autoscaling.DescribeScalableTargets"] == 1


Drift = Callable[[LocalAWS], None]


def _update(**params: Any) -> Drift:
    return lambda local: client(local, "ecs").update_service(cluster="web", service="web", **params)


def _delete_policy(local: LocalAWS) -> None:
    client(local, "application-autoscaling").delete_scaling_policy(PolicyName="cpu", ResourceId=RID, **AAS)


def _change_range(local: LocalAWS) -> None:
    client(local, "application-autoscaling").register_scalable_target(
        ResourceId=RID, MinCapacity=2, MaxCapacity=8, **AAS
    )


def _delete_service(local: LocalAWS) -> None:
    client(local, "ecs").delete_service(cluster="web", service="web", force=True)


def _untag(local: LocalAWS) -> None:
    client(local, "ecs").untag_resource(resourceArn=describe(local)["serviceArn"], tagKeys=["team"])


@pytest.mark.parametrize(
    ("autoscaling", "drift", "expected_writes"),
    [
        (False, _update(desiredCount=5), {"ecs.UpdateService": 1}),
        (
            True,
            _update(
                deploymentConfiguration={"deploymentCircuitBreaker": {"enable": False, "rollback": False}}
            ),
            {"ecs.UpdateService": 1},
        ),
        (True, _delete_policy, {"application-autoscaling.PutScalingPolicy": 1}),
        (True, _change_range, {"application-autoscaling.RegisterScalableTarget": 1}),
        (
            True,
            _delete_service,
            {
                "ecs.CreateService": 1,
                "application-autoscaling.RegisterScalableTarget": 1,
                "application-autoscaling.PutScalingPolicy": 1,
            },
        ),
        (True, _untag, {"ecs.TagResource": 1}),
    ],
    ids=[
        "desired-count",
        "circuit-breaker-off",
        "policy-deleted",
        "range-changed",
        "service-deleted",
        "tag-removed",
    ],
)
def test_console_drift_is_reported_then_fixed_with_the_fewest_writes(
    aws: LocalAWS, tmp_path: Path, autoscaling: bool, drift: Drift, expected_writes: dict[str, int]
) -> None:
    spec_set = load(write_stack(tmp_path, autoscaling=autoscaling))
    assert engine_pass(aws, spec_set).result.ok
    drift(aws)
    report = engine_pass(aws, spec_set, apply=False)
    service_plan = report.result.plan.get("Service", "web")
    assert service_plan is not None and service_plan.action in (Action.UPDATE, Action.CREATE)
    assert service_plan.delta
    assert report.writes == {}
    fixed = engine_pass(aws, spec_set)
    assert fixed.writes == expected_writes
    assert not engine_pass(aws, spec_set, apply=False).result.plan.has_changes


def test_the_scalers_desired_count_is_neither_reported_nor_undone(aws: LocalAWS, tmp_path: Path) -> None:
    spec_set = load(write_stack(tmp_path, autoscaling=True))
    engine_pass(aws, spec_set)
    client(aws, "ecs").update_service(cluster="web", service="web", desiredCount=4)
    report = engine_pass(aws, spec_set)
    service_plan = report.result.plan.get("Service", "web")
    assert service_plan is not None
    assert service_plan.action is Action.NONE and not service_plan.delta
    assert report.writes == {}
    assert describe(aws)["desiredCount"] == 4
    # The spec's desiredCount (2) is not silently ignored: the plan says whose the count is.
    assert service_plan.notes == ("desiredCount 2 is used at creation; the scaler owns it (1..4), live 4",)


def test_a_spec_desired_count_edit_under_autoscaling_is_a_note_not_an_update(
    aws: LocalAWS, tmp_path: Path
) -> None:
    engine_pass(aws, load(write_stack(tmp_path, autoscaling=True)))
    (tmp_path / "stack.yaml").write_text(
        (tmp_path / "stack.yaml").read_text().replace("desiredCount: 2", "desiredCount: 3")
    )
    edited = engine_pass(aws, load(tmp_path))
    service_plan = edited.result.plan.get("Service", "web")
    assert service_plan is not None
    assert (service_plan.action, service_plan.delta, service_plan.status) == (
        Action.NONE,
        Delta(),
        Status.IN_SYNC,
    )
    assert service_plan.notes == ("desiredCount 3 is used at creation; the scaler owns it (1..4), live 2",)
    assert edited.writes == {}
    assert describe(aws)["desiredCount"] == 2


@pytest.mark.parametrize(("live_count", "kept"), [(20, 4), (0, 1)], ids=["above-max", "below-min"])
def test_a_live_count_outside_min_max_is_drift_kept_within_it_by_one_update_service(
    aws: LocalAWS, tmp_path: Path, live_count: int, kept: int
) -> None:
    spec_set = load(write_stack(tmp_path, autoscaling=True))
    engine_pass(aws, spec_set)
    client(aws, "ecs").update_service(cluster="web", service="web", desiredCount=live_count)
    seen = engine_pass(aws, spec_set, apply=False).result.plan.get("Service", "web")
    assert seen is not None and seen.status is Status.DRIFTED
    (diff,) = seen.delta
    assert (diff.path, diff.desired, diff.live, diff.owner) == (
        ("desiredCount",),
        kept,
        live_count,
        Owner.AUTOSCALING,
    )
    fixed = engine_pass(aws, spec_set)
    assert fixed.writes == {"ecs.UpdateService": 1}
    assert describe(aws)["desiredCount"] == kept
    again = engine_pass(aws, spec_set)
    assert again.writes == {} and not again.result.plan.has_changes


def test_a_new_image_is_one_new_revision_and_one_update_service(aws: LocalAWS, tmp_path: Path) -> None:
    engine_pass(aws, load(write_stack(tmp_path, autoscaling=True)))
    changed = engine_pass(aws, load(write_stack(tmp_path, autoscaling=True, image_tag="1.28")))
    assert changed.writes == {"ecs.RegisterTaskDefinition": 1, "ecs.UpdateService": 1}
    assert describe(aws)["taskDefinition"].endswith(":2")
    assert rollout_state(describe(aws)) == "COMPLETED"
    assert engine_pass(aws, load(tmp_path)).writes == {}


def test_a_rolled_back_revision_is_not_rolled_out_again(aws: LocalAWS, tmp_path: Path) -> None:
    engine_pass(aws, load(write_stack(tmp_path, autoscaling=False)))
    aws.fail_next_rollout("web", "web")
    spec_set = load(write_stack(tmp_path, autoscaling=False, image_tag="broken"))
    assert engine_pass(aws, spec_set).writes == {"ecs.RegisterTaskDefinition": 1, "ecs.UpdateService": 1}
    service = describe(aws)
    assert service["taskDefinition"].endswith(":1")  # the circuit breaker rolled back
    assert rollout_state(service) == "COMPLETED"  # steady again, on the old revision
    again = engine_pass(aws, spec_set)
    service_plan = again.result.plan.get("Service", "web")
    assert service_plan is not None and service_plan.action is Action.WAITING
    assert service_plan.message.startswith("rollout of arn:aws:ecs:") and "failed" in service_plan.message
    assert again.writes == {}
    fixed = engine_pass(aws, load(write_stack(tmp_path, autoscaling=False, image_tag="1.29")))
    assert fixed.writes == {"ecs.RegisterTaskDefinition": 1, "ecs.UpdateService": 1}
    assert describe(aws)["taskDefinition"].endswith(":3")


def test_prune_deregisters_the_target_then_scales_to_zero_and_deletes(aws: LocalAWS, tmp_path: Path) -> None:
    engine_pass(aws, load(write_stack(tmp_path, autoscaling=True)))
    text = (tmp_path / "stack.yaml").read_text()
    (tmp_path / "stack.yaml").write_text(text.split("---\napiVersion: ecs-reconciler/v1\nkind: Service")[0])
    pruned = engine_pass(aws, load(tmp_path), prune=True, allow_mass_prune=True)
    assert pruned.writes == {
        "application-autoscaling.DeregisterScalableTarget": 1,
        "ecs.UpdateService": 1,
        "ecs.DeleteService": 1,
    }
    assert describe(aws)["status"] in ("DRAINING", "INACTIVE")
    targets = client(aws, "application-autoscaling").describe_scalable_targets(ResourceIds=[RID], **AAS)
    assert targets["ScalableTargets"] == []


def test_the_tutorial_stack_converges_then_needs_no_writes(aws: LocalAWS) -> None:
    spec_set = load(ROOT / "specs" / "node-app")
    first = engine_pass(aws, spec_set)
    assert first.result.ok, first.result.execution
    assert first.writes["ecs.CreateService"] == 1
    assert first.writes["application-autoscaling.RegisterScalableTarget"] == 1
    second = engine_pass(aws, spec_set)
    assert second.writes == {}, second.result.plan


@pytest.mark.parametrize(("services", "expected_reads"), [(1, (1, 1, 1, 1)), (25, (3, 1, 3, 1))])
def test_reads_are_batched_to_the_api_maxima(
    aws: LocalAWS, tmp_path: Path, services: int, expected_reads: tuple[int, int, int, int]
) -> None:
    stack = STACK.replace("IMAGE_TAG", "1.27")
    head, service = stack.split("---\napiVersion: ecs-reconciler/v1\nkind: Service\n")
    documents = [head]
    for index in range(services):
        documents.append(
            "apiVersion: ecs-reconciler/v1\nkind: Service\n"
            + service.replace("name: web", f"name: web-{index}", 1)
            + AUTOSCALING
        )
    (tmp_path / "stack.yaml").write_text("---\n".join(documents))
    spec_set = load(tmp_path)
    assert engine_pass(aws, spec_set).result.ok
    second = engine_pass(aws, spec_set)
    assert second.writes == {}
    reads = second.calls
    assert (
        reads["ecs.DescribeServices"],
        reads["application-autoscaling.DescribeScalableTargets"],
        reads["application-autoscaling.DescribeScalingPolicies"],
        reads["application-autoscaling.DescribeScheduledActions"],
    ) == expected_reads
