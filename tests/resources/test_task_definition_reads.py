"""What a pass reads of task definitions when services run them (issue 10): the revision a service
runs is all a steady pass needs, known from the cache without a read; a family is listed only when
its document differs from what runs, on its slow schedule, or when nothing runs it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from reconciler.engine.observe import ProcessCache
from reconciler.engine.revision_cache import RevisionFile, for_one_shot_run
from reconciler.local import LocalAWS
from reconciler.plan.steps import Action
from reconciler.resources.base import ObserveCache
from tests.harness import engine_pass, load

pytestmark = pytest.mark.aws

CLUSTER = """\
apiVersion: ecs-reconciler/v1
kind: Cluster
metadata:
  name: web
spec: {}
"""

TASK_DEFINITION = """\
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
"""

SERVICE = """\
apiVersion: ecs-reconciler/v1
kind: Service
metadata:
  name: web
spec:
  cluster: web
  taskDefinition: web
  desiredCount: 1
  launchType: FARGATE
  networkConfiguration:
    awsvpcConfiguration:
      subnets: default
"""

TASK_DEFINITION_READS = ("ecs.ListTaskDefinitions", "ecs.DescribeTaskDefinition", "ecs.ListTagsForResource")


def stack(folder: Path, *, image_tag: str = "1.27", service: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    documents = [CLUSTER, TASK_DEFINITION.replace("IMAGE_TAG", image_tag)] + ([SERVICE] if service else [])
    (folder / "stack.yaml").write_text("---\n".join(documents))
    return folder


def task_definition_reads(calls: dict[str, int]) -> dict[str, int]:
    return {call: count for call, count in calls.items() if call in TASK_DEFINITION_READS}


def ecs(local: LocalAWS) -> Any:
    return boto3.client("ecs", region_name=local.region, endpoint_url=local.endpoint_url)


def active_revisions(local: LocalAWS) -> list[str]:
    return list(ecs(local).list_task_definitions(familyPrefix="web", status="ACTIVE")["taskDefinitionArns"])


def running_revision(local: LocalAWS) -> str:
    (service,) = ecs(local).describe_services(cluster="web", services=["web"])["services"]
    return str(service["taskDefinition"])


def test_a_steady_pass_reads_no_task_definition_once_the_running_revision_is_known(
    aws: LocalAWS, tmp_path: Path
) -> None:
    spec_set = load(stack(tmp_path / "specs"))
    cache = ProcessCache()
    assert engine_pass(aws, spec_set, cache=cache).result.ok
    first_look = engine_pass(aws, spec_set, cache=cache)
    assert first_look.writes == {}
    # The service says which revision runs: one description of it, no listing of the family.
    assert task_definition_reads(first_look.calls) == {"ecs.DescribeTaskDefinition": 1}
    steady = engine_pass(aws, spec_set, cache=cache)
    assert steady.writes == {}
    assert task_definition_reads(steady.calls) == {}
    assert steady.result.plan.get("TaskDefinition", "web").action is Action.NONE


def test_a_new_process_reads_one_description_per_revision_in_use_and_none_with_the_file(
    aws: LocalAWS, tmp_path: Path
) -> None:
    spec_set = load(stack(tmp_path / "specs"))
    engine_pass(aws, spec_set)
    cold = engine_pass(aws, spec_set, cache=ProcessCache(revision_file=RevisionFile(tmp_path / "cache")))
    assert cold.writes == {}
    assert task_definition_reads(cold.calls) == {"ecs.DescribeTaskDefinition": 1}
    assert list((tmp_path / "cache").glob("task-definitions-*.json"))
    warm = engine_pass(aws, spec_set, cache=ProcessCache(revision_file=RevisionFile(tmp_path / "cache")))
    assert warm.writes == {}
    assert task_definition_reads(warm.calls) == {}


def test_a_registered_revision_that_does_not_run_yet_is_deployed_not_registered_again(
    aws: LocalAWS, tmp_path: Path
) -> None:
    engine_pass(aws, load(stack(tmp_path / "v1")))
    # The new revision is registered, but the service was never moved to it (an update that failed).
    registered = engine_pass(aws, load(stack(tmp_path / "v2-alone", image_tag="1.28", service=False)))
    assert registered.writes == {"ecs.RegisterTaskDefinition": 1}
    assert running_revision(aws).endswith(":1")
    deployed = engine_pass(aws, load(stack(tmp_path / "v2", image_tag="1.28")))
    assert deployed.writes == {"ecs.UpdateService": 1}
    assert running_revision(aws).endswith(":2")
    assert len(active_revisions(aws)) == 2


def test_a_tag_changed_by_hand_on_the_running_revision_is_undone_when_the_family_is_listed(
    aws: LocalAWS, tmp_path: Path
) -> None:
    spec_set = load(stack(tmp_path / "specs"))
    now = [1_000_000.0]
    cache = ProcessCache(clock=lambda: now[0])
    engine_pass(aws, spec_set, cache=cache)
    engine_pass(aws, spec_set, cache=cache)
    ecs(aws).untag_resource(resourceArn=running_revision(aws), tagKeys=["ecs-reconciler/deletion-policy"])
    # Between listings the revision's tags are as described: the change is not looked for yet.
    assert task_definition_reads(engine_pass(aws, spec_set, cache=cache).calls) == {}
    now[0] += 1.5 * 3600
    healed = engine_pass(aws, spec_set, cache=cache)
    assert healed.writes == {"ecs.TagResource": 1}
    assert healed.calls["ecs.ListTaskDefinitions"] == 1
    assert engine_pass(aws, spec_set, cache=cache).writes == {}


def test_pruning_never_takes_a_family_for_an_orphan_when_its_newest_revision_does_not_run(
    aws: LocalAWS, tmp_path: Path
) -> None:
    engine_pass(aws, load(stack(tmp_path / "v1")))
    engine_pass(aws, load(stack(tmp_path / "v2-alone", image_tag="1.28", service=False)))
    # The document asks for what runs (revision 1); its family's newest revision (2) runs nowhere.
    pruned = engine_pass(aws, load(stack(tmp_path / "v1")), prune=True)
    assert pruned.writes == {}
    assert pruned.result.observation.live.orphans == ()
    assert len(active_revisions(aws)) == 2


def test_listing_owned_objects_reads_nothing_more_of_a_family_a_document_accounts_for(
    aws: LocalAWS, tmp_path: Path
) -> None:
    for tag in ("1.25", "1.26", "1.27"):
        engine_pass(aws, load(stack(tmp_path / tag, image_tag=tag)))
    planned = engine_pass(aws, load(stack(tmp_path / "1.27")), apply=False, prune=True, cache=ProcessCache())
    assert planned.result.observation.live.orphans_observed
    assert planned.result.plan.get("TaskDefinition", "web").action is Action.NONE
    # The running revision described once; the family's two older revisions not at all, and the
    # account's task definitions not listed: the tagging sweep shows no family but this one.
    assert task_definition_reads(planned.calls) == {"ecs.DescribeTaskDefinition": 1}


@pytest.mark.parametrize(
    ("endpoint", "environment", "expected"),
    [
        (None, {"ECS_RECONCILER_CACHE_DIR": "/c"}, RevisionFile(Path("/c"), "")),
        (None, {"ECS_RECONCILER_CACHE_DIR": ""}, None),
        (None, {"XDG_CACHE_HOME": "/x", "HOME": "/h"}, RevisionFile(Path("/x/ecs-reconciler"), "")),
        (None, {"HOME": "/h"}, RevisionFile(Path("/h/.cache/ecs-reconciler"), "")),
        (
            "https://ecs.vpce.example",
            {"HOME": "/h"},
            RevisionFile(Path("/h/.cache/ecs-reconciler"), "https://ecs.vpce.example"),
        ),
        ("http://127.0.0.1:5000", {"ECS_RECONCILER_CACHE_DIR": "/c"}, None),
        (None, {"AWS_ENDPOINT_URL": "http://localhost:4566", "HOME": "/h"}, None),
    ],
)
def test_the_revision_file_of_a_one_shot_run(
    endpoint: str | None, environment: dict[str, str], expected: RevisionFile | None
) -> None:
    assert for_one_shot_run(endpoint, environment) == expected


@pytest.mark.parametrize(
    "content", ["not json", '{"format": 99}', '{"format": 1, "scope": {"accountId": "2"}}']
)
def test_a_revision_file_that_cannot_be_used_is_ignored(tmp_path: Path, content: str) -> None:
    first = ObserveCache()
    writer = RevisionFile(tmp_path)
    writer.load(first, partition="aws", account_id="1", region="r")
    first.task_definitions["arn:aws:ecs:r:1:task-definition/web:1"] = {"taskDefinition": {}, "tags": []}
    writer.save(first)
    (path,) = tmp_path.glob("*.json")
    path.write_text(content)
    second = ObserveCache()
    RevisionFile(tmp_path).load(second, partition="aws", account_id="1", region="r")
    assert second.task_definitions == {}


def test_a_process_remembers_only_the_newest_revisions_of_each_family() -> None:
    cache = ObserveCache()
    arn = "arn:aws:ecs:r:1:task-definition/{}:{}"
    cache.remember_revision(arn.format("other", 1), {"taskDefinition": {}, "tags": []})
    for revision in range(1, ObserveCache.REVISIONS_PER_FAMILY + 3):
        cache.remember_revision(arn.format("web", revision), {"taskDefinition": {}, "tags": []})
    kept = sorted(int(known.rpartition(":")[2]) for known in cache.task_definitions if "/web:" in known)
    assert kept == list(range(3, ObserveCache.REVISIONS_PER_FAMILY + 3))
    assert arn.format("other", 1) in cache.task_definitions


REPOSITORY = """\
apiVersion: ecs-reconciler/v1
kind: Repository
metadata:
  name: web
spec:
  imageTagMutability: MUTABLE
"""


def test_a_moved_tag_under_digest_pinning_is_rolled_out_from_a_warm_cache(
    aws: LocalAWS, tmp_path: Path
) -> None:
    """The digest a tag resolves to is read every pass (BatchGetImage), so a warm cache that
    needs no task definition read still sees the tag move, and registers once."""
    folder = stack(tmp_path / "specs")
    pinned = (
        (folder / "stack.yaml")
        .read_text()
        .replace("image: public.ecr.aws/nginx/nginx:1.27", "image: {repository: web, tag: latest}")
        .replace(
            "  containerDefinitions:",
            "  imagePinning: digest\n  executionRoleArn: ecsTaskExecutionRole\n  containerDefinitions:",
        )
    )
    (folder / "stack.yaml").write_text(REPOSITORY + "---\n" + pinned)
    spec_set = load(folder)
    cache = ProcessCache()
    engine_pass(aws, spec_set, cache=cache)  # the repository; the rest waits for an image
    aws.push_image("web", "latest", content="v1")
    assert engine_pass(aws, spec_set, cache=cache).result.ok
    engine_pass(aws, spec_set, cache=cache)
    assert task_definition_reads(engine_pass(aws, spec_set, cache=cache).calls) == {}
    aws.push_image("web", "latest", content="v2")
    moved = engine_pass(aws, spec_set, cache=cache)
    assert moved.writes == {"ecs.RegisterTaskDefinition": 1, "ecs.UpdateService": 1}
    assert running_revision(aws).endswith(":2")
    assert engine_pass(aws, spec_set, cache=cache).writes == {}
