"""The Cluster kind: normalisation tables, and convergence against the local AWS."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import boto3
import pytest

from reconciler.local import LocalAWS
from reconciler.plan.delta import diff_trees
from reconciler.plan.ownership import ownership_tags
from reconciler.plan.steps import Action, ResourcePlan
from reconciler.resources.base import Environment, LiveResource, LiveState, PlanContext, PlanSettings
from reconciler.resources.cluster.kind import KIND, desired_tree, live_tree
from reconciler.resources.cluster.model import ClusterSpec
from reconciler.spec import Document, Metadata, SpecSet
from tests.harness import engine_pass, load

# A DescribeClusters item as real AWS returns it with include=[TAGS, SETTINGS, CONFIGURATIONS].
REAL_AWS_CLUSTER: dict[str, Any] = {
    "clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/web",
    "clusterName": "web",
    "status": "ACTIVE",
    "registeredContainerInstancesCount": 0,
    "runningTasksCount": 3,
    "pendingTasksCount": 0,
    "activeServicesCount": 1,
    "statistics": [],
    "tags": [{"key": "team", "value": "web"}],
    "settings": [{"name": "containerInsights", "value": "disabled"}],
    "capacityProviders": ["FARGATE_SPOT", "FARGATE"],
    "defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1, "base": 0}],
    "attachments": [],
    "attachmentsStatus": "UPDATE_COMPLETE",
}


@pytest.mark.parametrize(
    ("spec", "expected_paths"),
    [
        ({"capacityProviders": ["FARGATE", "FARGATE_SPOT"]}, []),
        ({"defaultCapacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}]}, []),
        ({"settings": [{"name": "containerInsights", "value": "disabled"}]}, []),
        (
            {"settings": [{"name": "containerInsights", "value": "enabled"}]},
            [("settings", "containerInsights")],
        ),
        ({"capacityProviders": ["FARGATE"]}, [("capacityProviders",)]),
        ({}, []),
    ],
)
def test_real_aws_defaults_and_list_order_never_show_as_drift(
    spec: dict[str, Any], expected_paths: list[tuple[str, ...]]
) -> None:
    delta = diff_trees(desired_tree(ClusterSpec.model_validate(spec)), live_tree(REAL_AWS_CLUSTER))
    assert [d.path for d in delta] == expected_paths


def cluster_plan(spec: dict[str, Any], state: dict[str, Any]) -> ResourcePlan:
    """The Cluster kind's plan for a spec against an owned cluster AWS describes as `state`."""
    document = Document(
        kind="Cluster",
        metadata=Metadata(name="web"),
        spec=ClusterSpec.model_validate(spec),
        file="cluster.yaml",
        line=1,
    )
    live = LiveResource(
        kind="Cluster",
        name="web",
        identifier=state["clusterArn"],
        state=state,
        tags=ownership_tags(kind="Cluster", name="web", instance="default"),
    )
    context = PlanContext(
        spec_set=SpecSet((document,)),
        live=LiveState(resources={live.key: live}),
        environment=Environment(account_id="123456789012", region="us-east-1"),
        settings=PlanSettings(),
    )
    return KIND.plan(document, live, context)


EMPTY_CLUSTER = {key: value for key, value in REAL_AWS_CLUSTER.items() if "apacity" not in key}


@pytest.mark.parametrize(
    "live",
    [EMPTY_CLUSTER, {**EMPTY_CLUSTER, "capacityProviders": [], "defaultCapacityProviderStrategy": []}],
    ids=["omitted", "empty"],
)
def test_empty_capacity_lists_equal_what_aws_answers_and_a_real_change_is_one_call(
    live: dict[str, Any],
) -> None:
    empty = cluster_plan({"capacityProviders": [], "defaultCapacityProviderStrategy": []}, live)
    assert (empty.delta.diffs, empty.calls) == ((), ())
    changed = cluster_plan({"capacityProviders": ["FARGATE"]}, live)
    assert [call.name for call in changed.calls] == ["ecs.PutClusterCapacityProviders"]


CLUSTER_YAML = """\
apiVersion: ecs-reconciler/v1
kind: Cluster
metadata:
  name: web
spec:
  capacityProviders: [FARGATE, FARGATE_SPOT]
  defaultCapacityProviderStrategy:
    - capacityProvider: FARGATE
      weight: 1
  settings:
    - name: containerInsights
      value: enabled
  tags:
    team: web
"""


@pytest.fixture
def cluster_specs(tmp_path: Path) -> Path:
    (tmp_path / "cluster.yaml").write_text(CLUSTER_YAML)
    return tmp_path


def ecs_client(local: LocalAWS) -> Any:
    return boto3.client("ecs", region_name=local.region, endpoint_url=local.endpoint_url)


@pytest.mark.aws
def test_cluster_converges_from_empty_then_needs_no_writes(aws: LocalAWS, cluster_specs: Path) -> None:
    spec_set = load(cluster_specs)
    first = engine_pass(aws, spec_set)
    assert first.writes == {"ecs.CreateCluster": 1}
    (cluster,) = ecs_client(aws).describe_clusters(clusters=["web"], include=["TAGS", "SETTINGS"])["clusters"]
    assert sorted(cluster["capacityProviders"]) == ["FARGATE", "FARGATE_SPOT"]
    assert {"key": "ecs-reconciler/source", "value": "Cluster/web"} in cluster["tags"]
    second = engine_pass(aws, spec_set)
    assert second.writes == {}
    assert not second.result.plan.has_changes


@pytest.mark.aws
@pytest.mark.parametrize(
    ("drift", "expected_writes"),
    [
        (
            lambda ecs: ecs.put_cluster_capacity_providers(
                cluster="web", capacityProviders=["FARGATE"], defaultCapacityProviderStrategy=[]
            ),
            {"ecs.PutClusterCapacityProviders": 1},
        ),
        (
            lambda ecs: ecs.update_cluster(
                cluster="web", settings=[{"name": "containerInsights", "value": "disabled"}]
            ),
            {"ecs.UpdateClusterSettings": 1},
        ),
        (
            lambda ecs: ecs.untag_resource(
                resourceArn=ecs.describe_clusters(clusters=["web"])["clusters"][0]["clusterArn"],
                tagKeys=["team"],
            ),
            {"ecs.TagResource": 1},
        ),
    ],
    ids=["capacity-providers", "container-insights", "tag-removed"],
)
def test_console_drift_is_reported_then_fixed_with_one_write(
    aws: LocalAWS, cluster_specs: Path, drift: Any, expected_writes: dict[str, int]
) -> None:
    spec_set = load(cluster_specs)
    engine_pass(aws, spec_set)
    drift(ecs_client(aws))
    report = engine_pass(aws, spec_set, apply=False)
    (resource,) = report.result.plan.resources
    assert resource.action is Action.UPDATE and resource.delta
    assert report.writes == {}
    fixed = engine_pass(aws, spec_set)
    assert fixed.writes == expected_writes
    assert not engine_pass(aws, spec_set, apply=False).result.plan.has_changes


@pytest.mark.aws
def test_an_unowned_cluster_with_the_spec_name_is_a_conflict_and_untouched(
    aws: LocalAWS, cluster_specs: Path
) -> None:
    ecs_client(aws).create_cluster(clusterName="web", tags=[{"key": "team", "value": "someone-else"}])
    result = engine_pass(aws, load(cluster_specs))
    (resource,) = result.result.plan.resources
    assert resource.action is Action.CONFLICT
    assert result.writes == {}


@pytest.mark.aws
def test_prune_deletes_only_owned_clusters(aws: LocalAWS, cluster_specs: Path, tmp_path: Path) -> None:
    engine_pass(aws, load(cluster_specs))
    ecs_client(aws).create_cluster(clusterName="unowned")
    (tmp_path / "cluster.yaml").write_text(CLUSTER_YAML.replace("name: web", "name: other"))
    pruned = engine_pass(aws, load(cluster_specs), prune=True, allow_mass_prune=True)
    assert pruned.writes == {"ecs.CreateCluster": 1, "ecs.DeleteCluster": 1}
    active = {
        c["clusterName"]
        for c in ecs_client(aws).describe_clusters(clusters=["web", "other", "unowned"])["clusters"]
        if c["status"] == "ACTIVE"
    }
    assert active == {"other", "unowned"}
