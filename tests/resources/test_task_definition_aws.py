"""The TaskDefinition kind against the local AWS: register once, no revision churn, digest pinning,
the describe cache, old-revision cleanup and pruning."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reconciler.engine.observe import ProcessCache
from reconciler.local import LocalAWS
from reconciler.plan.steps import Action
from tests.harness import engine_pass, load
from tests.resources._repository_helpers import client, write_specs

REPOSITORY_YAML = """\
apiVersion: ecs-reconciler/v1
kind: Repository
metadata:
  name: node-app
spec:
  repositoryName: varuntd/node-app
  imageTagMutability: MUTABLE
"""

TASK_DEFINITION_YAML = """\
apiVersion: ecs-reconciler/v1
kind: TaskDefinition
metadata:
  name: node-app
spec:
  requiresCompatibilities: [FARGATE]
  networkMode: awsvpc
  cpu: 1 vCPU
  memory: 2 GB
  executionRoleArn: ecsTaskExecutionRole
  imagePinning: {pinning}
  containerDefinitions:
    - name: node-app
      image: {image}
      essential: true
      portMappings:
        - containerPort: 3000
      environment:
        - {{name: B, value: "2"}}
        - {{name: A, value: "1"}}
      logConfiguration:
        logDriver: awslogs
        options:
          awslogs-group: /ecs/node-app
          awslogs-region: us-east-1
          awslogs-stream-prefix: node-app
"""

TAGGED = "{repository: node-app, tag: latest}"
URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/varuntd/node-app"


def specs(folder: Path, *, pinning: str = "tag", image: str = TAGGED) -> Path:
    return write_specs(folder, REPOSITORY_YAML, TASK_DEFINITION_YAML.format(pinning=pinning, image=image))


def active_revisions(local: LocalAWS, family: str = "node-app") -> list[str]:
    arns = client(local, "ecs").list_task_definitions(familyPrefix=family, status="ACTIVE")[
        "taskDefinitionArns"
    ]
    return sorted(arns, key=lambda arn: int(arn.rpartition(":")[2]))


def image_of(local: LocalAWS, arn: str) -> str:
    described = client(local, "ecs").describe_task_definition(taskDefinition=arn)["taskDefinition"]
    return str(described["containerDefinitions"][0]["image"])


def plan_of(result: Any, kind: str = "TaskDefinition") -> Any:
    return result.result.plan.get(kind, "node-app")


@pytest.mark.aws
def test_registers_once_then_two_passes_make_no_new_revision(aws: LocalAWS, tmp_path: Path) -> None:
    spec_set = load(specs(tmp_path / "specs"))
    first = engine_pass(aws, spec_set)
    assert first.writes == {"ecr.CreateRepository": 1, "ecs.RegisterTaskDefinition": 1}
    (arn,) = active_revisions(aws)
    assert image_of(aws, arn) == f"{URI}:latest"
    tags = client(aws, "ecs").list_tags_for_resource(resourceArn=arn)["tags"]
    assert {"key": "ecs-reconciler/source", "value": "TaskDefinition/node-app"} in tags
    for _ in range(2):
        again = engine_pass(aws, spec_set)
        assert again.writes == {}
    assert len(active_revisions(aws)) == 1


@pytest.mark.aws
def test_a_revision_is_described_once_per_process(aws: LocalAWS, tmp_path: Path) -> None:
    spec_set = load(specs(tmp_path / "specs"))
    cache = ProcessCache()
    engine_pass(aws, spec_set, cache=cache)
    first_observation = engine_pass(aws, spec_set, cache=cache)
    assert first_observation.calls["ecs.DescribeTaskDefinition"] == 1
    second_observation = engine_pass(aws, spec_set, cache=cache)
    assert "ecs.DescribeTaskDefinition" not in second_observation.calls
    # Tags can change on a revision: they are re-read, with the cheaper tag read.
    assert second_observation.calls["ecs.ListTaskDefinitions"] == 1
    assert second_observation.calls["ecs.ListTagsForResource"] == 1
    assert second_observation.writes == {}


@pytest.mark.aws
def test_an_image_edit_registers_exactly_one_revision(aws: LocalAWS, tmp_path: Path) -> None:
    folder = tmp_path / "specs"
    engine_pass(aws, load(specs(folder)))
    edited = engine_pass(aws, load(specs(folder, image="{repository: node-app, tag: v2}")))
    assert edited.writes == {"ecs.RegisterTaskDefinition": 1}
    assert [image_of(aws, arn) for arn in active_revisions(aws)] == [f"{URI}:latest", f"{URI}:v2"]
    assert engine_pass(aws, load(specs(folder, image="{repository: node-app, tag: v2}"))).writes == {}


@pytest.mark.aws
def test_a_tag_change_on_the_revision_is_undone_without_a_new_revision(aws: LocalAWS, tmp_path: Path) -> None:
    spec_set = load(specs(tmp_path / "specs"))
    cache = ProcessCache()
    engine_pass(aws, spec_set, cache=cache)
    engine_pass(aws, spec_set, cache=cache)  # the revision is now cached
    (arn,) = active_revisions(aws)
    client(aws, "ecs").untag_resource(resourceArn=arn, tagKeys=["ecs-reconciler/deletion-policy"])
    fixed = engine_pass(aws, spec_set, cache=cache)
    assert fixed.writes == {"ecs.TagResource": 1}
    assert engine_pass(aws, spec_set, cache=cache).writes == {}
    assert active_revisions(aws) == [arn]


@pytest.mark.aws
def test_digest_pinning_follows_a_moved_tag(aws: LocalAWS, tmp_path: Path) -> None:
    folder = tmp_path / "specs"
    engine_pass(aws, load(write_specs(folder, REPOSITORY_YAML)))
    first_digest = aws.push_image("varuntd/node-app", "latest", content="v1")
    spec_set = load(specs(folder, pinning="digest"))
    pinned = engine_pass(aws, spec_set)
    assert pinned.writes == {"ecs.RegisterTaskDefinition": 1}
    assert pinned.calls["ecr.BatchGetImage"] == 1
    (arn,) = active_revisions(aws)
    assert image_of(aws, arn) == f"{URI}@{first_digest}"
    assert engine_pass(aws, spec_set).writes == {}

    second_digest = aws.push_image("varuntd/node-app", "latest", content="v2")
    moved = engine_pass(aws, spec_set)
    assert moved.writes == {"ecs.RegisterTaskDefinition": 1}
    assert image_of(aws, active_revisions(aws)[-1]) == f"{URI}@{second_digest}"


@pytest.mark.aws
def test_digest_pinning_waits_for_a_tag_that_is_not_pushed(aws: LocalAWS, tmp_path: Path) -> None:
    spec_set = load(specs(tmp_path / "specs", pinning="digest"))
    result = engine_pass(aws, spec_set)
    assert result.writes == {"ecr.CreateRepository": 1}
    planned = plan_of(result)
    assert planned.action is Action.WAITING
    assert planned.message == "waiting: image not found: varuntd/node-app:latest"
    assert active_revisions(aws) == []


@pytest.mark.aws
def test_tag_pinning_only_warns_about_a_tag_that_is_not_pushed(aws: LocalAWS, tmp_path: Path) -> None:
    result = engine_pass(aws, load(specs(tmp_path / "specs")))
    planned = plan_of(result)
    assert planned.action is Action.CREATE
    assert planned.warnings == ("tag latest not found in repository varuntd/node-app",)
    aws.push_image("varuntd/node-app", "latest")
    assert plan_of(engine_pass(aws, load(specs(tmp_path / "specs")), apply=False)).warnings == ()


@pytest.mark.aws
def test_old_owned_revisions_beyond_keep_are_deregistered_once_nothing_else_changes(
    aws: LocalAWS, tmp_path: Path
) -> None:
    folder = tmp_path / "specs"
    for version in range(1, 5):
        edit = engine_pass(
            aws, load(specs(folder, image=f"{{repository: node-app, tag: v{version}}}")), keep_revisions=2
        )
        # A pass that registers never deregisters in the same pass.
        assert "ecs.DeregisterTaskDefinition" not in edit.writes
    revisions = active_revisions(aws)
    assert len(revisions) == 4
    cleanup = engine_pass(aws, load(specs(folder, image="{repository: node-app, tag: v4}")), keep_revisions=2)
    assert cleanup.writes == {"ecs.DeregisterTaskDefinition": 2}
    assert active_revisions(aws) == revisions[2:]
    again = engine_pass(aws, load(specs(folder, image="{repository: node-app, tag: v4}")), keep_revisions=2)
    assert again.writes == {}


@pytest.mark.aws
def test_prune_deregisters_every_owned_revision_of_a_removed_family(aws: LocalAWS, tmp_path: Path) -> None:
    folder = tmp_path / "specs"
    engine_pass(aws, load(specs(folder)))
    engine_pass(aws, load(specs(folder, image="{repository: node-app, tag: v2}")))
    client(aws, "ecs").register_task_definition(
        family="unowned", containerDefinitions=[{"name": "x", "image": "nginx", "memory": 128}]
    )
    pruned = engine_pass(aws, load(write_specs(folder, REPOSITORY_YAML)), prune=True, allow_mass_prune=True)
    assert pruned.writes == {"ecs.DeregisterTaskDefinition": 2}
    assert active_revisions(aws) == []
    assert len(active_revisions(aws, "unowned")) == 1


CLUSTER_AND_SERVICE_YAML = """\
apiVersion: ecs-reconciler/v1
kind: Cluster
metadata:
  name: node-app
spec:
  capacityProviders: [FARGATE]
---
apiVersion: ecs-reconciler/v1
kind: Service
metadata:
  name: node-app
  annotations: {annotations}
spec:
  cluster: node-app
  taskDefinition: node-app
  desiredCount: 1
  launchType: FARGATE
  networkConfiguration:
    awsvpcConfiguration:
      subnets: default
"""


def stack(
    folder: Path, *, image: str = TAGGED, pinning: str = "tag", service_annotations: str = "{}"
) -> Path:
    return write_specs(
        folder,
        REPOSITORY_YAML,
        TASK_DEFINITION_YAML.format(pinning=pinning, image=image),
        CLUSTER_AND_SERVICE_YAML.format(annotations=service_annotations),
    )


def service_task_definition(local: LocalAWS) -> str:
    (service,) = client(local, "ecs").describe_services(cluster="node-app", services=["node-app"])["services"]
    return str(service["taskDefinition"])


@pytest.mark.aws
def test_a_moved_tag_rolls_the_service_out_and_a_missing_one_keeps_it_where_it_is(
    aws: LocalAWS, tmp_path: Path
) -> None:
    folder = tmp_path / "specs"
    engine_pass(aws, load(write_specs(folder, REPOSITORY_YAML)))
    aws.push_image("varuntd/node-app", "latest", content="v1")
    spec_set = load(stack(folder, pinning="digest"))
    engine_pass(aws, spec_set)
    assert engine_pass(aws, spec_set).writes == {}
    running = service_task_definition(aws)

    aws.push_image("varuntd/node-app", "latest", content="v2")
    moved = engine_pass(aws, spec_set)
    assert moved.writes == {"ecs.RegisterTaskDefinition": 1, "ecs.UpdateService": 1}
    assert service_task_definition(aws) != running
    aws.settle()

    waiting = engine_pass(aws, load(stack(folder, pinning="digest", image="{repository: node-app, tag: v9}")))
    assert plan_of(waiting).action is Action.WAITING
    assert waiting.writes == {}
    assert service_task_definition(aws).rpartition(":")[2] == "2"


@pytest.mark.aws
def test_cleanup_never_deregisters_the_revision_a_live_service_runs(aws: LocalAWS, tmp_path: Path) -> None:
    folder = tmp_path / "specs"
    engine_pass(aws, load(stack(folder, image="{repository: node-app, tag: v1}")))
    aws.settle()
    paused = '{"ecs-reconciler/paused": "true"}'  # the service stays on revision 1
    for version in range(2, 5):
        image = f"{{repository: node-app, tag: v{version}}}"
        engine_pass(aws, load(stack(folder, image=image, service_annotations=paused)), keep_revisions=2)
    revisions = active_revisions(aws)
    assert len(revisions) == 4 and service_task_definition(aws) == revisions[0]
    image = "{repository: node-app, tag: v4}"
    cleanup = engine_pass(aws, load(stack(folder, image=image, service_annotations=paused)), keep_revisions=2)
    assert cleanup.writes == {"ecs.DeregisterTaskDefinition": 1}
    assert active_revisions(aws) == [revisions[0], *revisions[2:]]


@pytest.mark.aws
def test_a_family_that_merely_shares_the_prefix_is_not_mistaken_for_ours(
    aws: LocalAWS, tmp_path: Path
) -> None:
    ecs = client(aws, "ecs")
    for _ in range(2):
        ecs.register_task_definition(
            family="node-app-worker", containerDefinitions=[{"name": "x", "image": "nginx", "memory": 128}]
        )
    first = engine_pass(aws, load(specs(tmp_path / "specs")))
    assert plan_of(first).action is Action.CREATE
    assert first.writes == {"ecr.CreateRepository": 1, "ecs.RegisterTaskDefinition": 1}
    assert engine_pass(aws, load(specs(tmp_path / "specs"))).writes == {}
