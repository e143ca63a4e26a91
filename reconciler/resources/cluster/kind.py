"""The Cluster kind: an ECS cluster, its capacity providers, settings and configuration.

Observed with DescribeClusters (100 names a call, tags and settings included); converged with the
narrowest call per group of fields: PutClusterCapacityProviders, UpdateClusterSettings,
UpdateCluster, TagResource. Registered in `reconciler.resources.registry`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from reconciler.plan.delta import Delta, diff_trees
from reconciler.plan.normalise import drop_empty, map_to_tags, normalise_strategy, tags_to_map
from reconciler.plan.rewrites import Handling, Rewrite
from reconciler.plan.steps import MAIN, Action, Call, ResourcePlan, StepGroup
from reconciler.resources.base import KindBase, LiveResource, ObserveContext, PlanContext, TaggedAs
from reconciler.resources.cluster.model import ClusterSpec
from reconciler.resources.common import (
    batched,
    cluster_arns,
    ecs_tag_call,
    owned_by_instance,
    spec_fields,
    tag_delta,
)
from reconciler.spec import Document

DESCRIBE_BATCH = 100  # DescribeClusters takes at most 100 names
_INCLUDE = ["TAGS", "SETTINGS", "CONFIGURATIONS"]
_CAPACITY = ("capacityProviders", "defaultCapacityProviderStrategy")


def desired_tree(spec: ClusterSpec) -> dict[str, Any]:
    fields = spec_fields(spec, exclude={"clusterName", "tags"})
    if "capacityProviders" in fields:
        fields["capacityProviders"] = sorted(fields["capacityProviders"])
    if "defaultCapacityProviderStrategy" in fields:
        fields["defaultCapacityProviderStrategy"] = normalise_strategy(
            fields["defaultCapacityProviderStrategy"]
        )
    if "settings" in fields:
        # A map, so that a setting the spec leaves out (a new one AWS adds) is not managed.
        fields["settings"] = {setting["name"]: setting["value"] for setting in fields["settings"]}
    return fields


def live_tree(state: Mapping[str, Any]) -> dict[str, Any]:
    # AWS omits an empty capacity provider list or strategy, or answers []: both are [], which a
    # spec's `capacityProviders: []` equals, while a spec that leaves them out does not compare them.
    empty_lists: dict[str, Any] = {key: [] for key in _CAPACITY}
    tree: dict[str, Any] = empty_lists | drop_empty(
        {
            "capacityProviders": sorted(state.get("capacityProviders") or []),
            "defaultCapacityProviderStrategy": normalise_strategy(
                state.get("defaultCapacityProviderStrategy") or []
            ),
            "settings": {setting["name"]: setting["value"] for setting in state.get("settings") or []},
            "configuration": state.get("configuration"),
            "serviceConnectDefaults": (
                {"namespace": state["serviceConnectDefaults"]["namespace"]}
                if state.get("serviceConnectDefaults")
                else None
            ),
        }
    )
    return tree


# What AWS answers differently from what it was sent, and how each is kept from being a change.
REWRITES: tuple[Rewrite, ...] = (
    Rewrite(
        field="capacityProviders, defaultCapacityProviderStrategy",
        sent="`[]`",
        answered="the key absent, or `[]`",
        handling=Handling.NORMALISED,
        how=(
            "absent on the live side is [], which a spec's [] equals; a spec without the field does "
            "not compare it"
        ),
        source="undocumented: DescribeClusters omits empty lists (issue 8)",
        test="tests/resources/test_cluster.py::test_empty_capacity_lists_equal_what_aws_answers_and_a_real_change_is_one_call",
    ),
    Rewrite(
        field="capacityProviders, defaultCapacityProviderStrategy[]",
        sent="any order; base and weight absent",
        answered="an order of its own; 0 and 0",
        handling=Handling.NORMALISED,
        how="sorted on both sides, 0 filled in",
        source="https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CapacityProviderStrategyItem.html",
        test="tests/resources/test_cluster.py::test_real_aws_defaults_and_list_order_never_show_as_drift",
    ),
    Rewrite(
        field="settings",
        sent="containerInsights only",
        answered="every setting AWS knows (new ones appear)",
        handling=Handling.NORMALISED,
        how="compared as a map by name: a setting the spec leaves out is not managed",
        source="https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ClusterSetting.html",
        test="tests/resources/test_cluster.py::test_real_aws_defaults_and_list_order_never_show_as_drift",
    ),
    Rewrite(
        field="serviceConnectDefaults.namespace",
        sent="a namespace name",
        answered="the namespace's ARN",
        handling=Handling.REQUIRED_FORM,
        how="validation asks for the ARN: resolving a name would cost Cloud Map reads every pass",
        source="https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ClusterServiceConnectDefaultsRequest.html",
        test="tests/spec/test_bad_corpus.py::test_bad_spec_is_refused_at_the_expected_line",
    ),
)


class ClusterKind(KindBase):
    kind: ClassVar[str] = "Cluster"
    tagged_as: ClassVar[TaggedAs | None] = TaggedAs("ecs:cluster")
    rewrites: ClassVar[tuple[Rewrite, ...]] = REWRITES

    async def observe(
        self, documents: Sequence[Document], context: ObserveContext
    ) -> Mapping[str, LiveResource]:
        by_aws_name = {document.aws_name: document.name for document in documents}
        found: dict[str, LiveResource] = {}
        for names in batched(sorted(by_aws_name), DESCRIBE_BATCH):
            response = await context.clients.service("ecs").call(
                "describe_clusters", clusters=names, include=_INCLUDE
            )
            for cluster in response.get("clusters", []):
                if cluster.get("status") != "ACTIVE" or cluster["clusterName"] not in by_aws_name:
                    continue
                name = by_aws_name[cluster["clusterName"]]
                found[name] = _live(name, cluster)
        return found

    async def observe_owned(self, context: ObserveContext) -> Sequence[LiveResource]:
        ecs = context.clients.service("ecs")
        claimed = context.claimed(self.kind)
        arns = [arn for arn in await cluster_arns(context) if arn not in claimed]
        owned: list[LiveResource] = []
        for batch in batched(arns, DESCRIBE_BATCH):
            response = await ecs.call("describe_clusters", clusters=batch, include=_INCLUDE)
            for cluster in response.get("clusters", []):
                tags = tags_to_map(cluster.get("tags"))
                source = owned_by_instance(
                    tags, context.settings.instance, self.kind, context.settings.namespace
                )
                if cluster.get("status") == "ACTIVE" and source is not None:
                    owned.append(_live(source, cluster))
        return owned

    def plan(self, document: Document, live: LiveResource | None, context: PlanContext) -> ResourcePlan:
        spec = document.spec_as(ClusterSpec)
        desired = desired_tree(spec)
        tags = context.desired_tags(document)
        if live is None:
            create = Call(
                "ecs",
                "create_cluster",
                {"clusterName": document.aws_name, **_as_api(desired), "tags": map_to_tags(tags)},
                outputs={"arn": ("cluster", "clusterArn")},
                description=f"create cluster {document.aws_name}",
            )
            return ResourcePlan(
                self.kind,
                document.name,
                Action.CREATE,
                diff_trees(desired, None),
                (StepGroup((self.kind, document.name, MAIN), (create,)),),
            )
        delta = diff_trees(desired, live_tree(live.state))
        tag_changes, tag_diffs = tag_delta(tags, live.tags)
        calls = _update_calls(document.aws_name, live, desired, delta, tag_changes)
        groups = (StepGroup((self.kind, document.name, MAIN), tuple(calls)),) if calls else ()
        full_delta = delta + tag_diffs
        return ResourcePlan(
            self.kind, document.name, Action.UPDATE if full_delta else Action.NONE, full_delta, groups
        )

    def tag_call(self, live: LiveResource, tags: Mapping[str, str]) -> Call:
        """The call that sets `tags` on the live object (how the planner records a spec hash)."""
        return _tag_call(live, tags)

    def plan_delete(self, live: LiveResource, context: PlanContext) -> ResourcePlan:
        delete = Call("ecs", "delete_cluster", {"cluster": live.identifier}, description="delete cluster")
        return ResourcePlan(
            self.kind, live.name, Action.DELETE, groups=(StepGroup((self.kind, live.name, MAIN), (delete,)),)
        )


def _live(name: str, cluster: Mapping[str, Any]) -> LiveResource:
    return LiveResource(
        kind=ClusterKind.kind,
        name=name,
        identifier=cluster["clusterArn"],
        state=cluster,
        tags=tags_to_map(cluster.get("tags")),
        outputs={"arn": cluster["clusterArn"], "name": cluster["clusterName"]},
    )


def _as_api(tree: Mapping[str, Any]) -> dict[str, Any]:
    """The normalised tree back in request shape (settings are a list of name/value pairs)."""
    request = dict(tree)
    if "settings" in request:
        request["settings"] = [
            {"name": key, "value": value} for key, value in sorted(request["settings"].items())
        ]
    return request


def _update_calls(
    cluster_name: str,
    live: LiveResource,
    desired: Mapping[str, Any],
    delta: Delta,
    tag_changes: Mapping[str, str],
) -> list[Call]:
    calls: list[Call] = []
    current = live_tree(live.state)
    if delta.touches(*((field,) for field in _CAPACITY)):
        # The call replaces both lists: send the live value of whichever the spec leaves unset.
        calls.append(
            Call(
                "ecs",
                "put_cluster_capacity_providers",
                {
                    "cluster": cluster_name,
                    "capacityProviders": desired.get(
                        "capacityProviders", current.get("capacityProviders", [])
                    ),
                    "defaultCapacityProviderStrategy": desired.get(
                        "defaultCapacityProviderStrategy", current.get("defaultCapacityProviderStrategy", [])
                    ),
                },
                description="set capacity providers",
            )
        )
    if delta.touches(("settings",)):
        settings = {**current.get("settings", {}), **desired["settings"]}
        calls.append(
            Call(
                "ecs",
                "update_cluster_settings",
                {"cluster": cluster_name, "settings": _as_api({"settings": settings})["settings"]},
                description="update cluster settings",
            )
        )
    update = {
        field: desired[field]
        for field in ("configuration", "serviceConnectDefaults")
        if delta.touches((field,))
    }
    if update:
        calls.append(
            Call("ecs", "update_cluster", {"cluster": cluster_name, **update}, description="update cluster")
        )
    if tag_changes:
        calls.append(_tag_call(live, tag_changes))
    return calls


def _tag_call(live: LiveResource, tags: Mapping[str, str]) -> Call:
    return ecs_tag_call(live.identifier, tags, description="tag cluster")


KIND = ClusterKind()
