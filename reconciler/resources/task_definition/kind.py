"""The TaskDefinition kind: a task definition family, converged by registering a new revision.

Observed last (after the services, `observe_last`). A family whose referrers run a revision that
is already what the document asks for is that revision: no listing, and no read at all once the
revision is known, since revisions are immutable and each ARN is described once per process and
kept in `ObserveCache.task_definitions` (one-shot runs keep it on disk,
`reconciler.engine.revision_cache`). Its tags are taken as described then; a by-hand tag change
on a running revision is seen on the family's slow-schedule listing
(`PlanSettings.family_listing_interval`). Every other family (nothing runs it, it differs from
what runs, or its listing is due) is listed with ListTaskDefinitions (ACTIVE, paged; the family
filter is a prefix match, so the exact family is picked client-side) and its newest revision
described, its tags re-read with ListTagsForResource once described. `observe_facts` resolves
the tags of `{repository, tag}` images with one BatchGetImage per repository per pass
(`image_digests` in `LiveState.facts`).

A new revision is registered only when the normalised registration differs from the newest
ACTIVE revision (exact comparison: a revision is replaced whole), after both sides have lost
what the server adds or spells differently (`cpu: 0`, `essential: true`, `protocol: tcp`,
`hostPort` under awsvpc, empty lists, list order, CPU/memory as strings, server fields). Tag
changes use TagResource on the revision, never a new revision. Old owned revisions beyond
`keep_revisions` are deregistered on a pass where nothing else changes and no service using the
family is mid-rollout, never one a live service runs. Registered in
`reconciler.resources.registry`; Services refer to the `arn` output.
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

from reconciler.aws.errors import AwsError
from reconciler.plan.delta import Path, diff_trees
from reconciler.plan.normalise import as_string, drop_defaults, drop_empty, map_to_tags, sort_by, tags_to_map
from reconciler.plan.rewrites import Handling, Rewrite
from reconciler.plan.steps import MAIN, Action, Call, LandedCheck, ResourcePlan, StepGroup
from reconciler.resources.base import (
    ApiClient,
    DependencyWaiting,
    KindBase,
    LiveResource,
    ObserveCache,
    ObserveContext,
    PlanContext,
    TaggedAs,
    TerminalPlanError,
)
from reconciler.resources.common import (
    batched,
    ecs_tag_call,
    owned_by_instance,
    spec_fields,
    string_leaves,
    tag_delta,
)
from reconciler.resources.rollout import RolloutState, read_rollout
from reconciler.resources.task_definition.images import IMAGE_DIGESTS, ImageKey, render_image, tagged_images
from reconciler.resources.task_definition.model import AWSLOGS_GROUP, AWSLOGS_REGION, TaskDefinitionSpec
from reconciler.spec import Document, Reference
from reconciler.spec.graph import CLEANUP_PART

LIST_PAGE_SIZE = 100  # ListTaskDefinitions maxResults is at most 100
IMAGE_BATCH = 100  # BatchGetImage takes at most 100 image ids

SERVER_FIELDS = frozenset(
    {
        "taskDefinitionArn",
        "family",
        "revision",
        "status",
        "requiresAttributes",
        "compatibilities",
        "registeredAt",
        "registeredBy",
        "deregisteredAt",
        "deleteRequestedAt",
        "tags",
    }
)
"""What DescribeTaskDefinition answers that is not part of a registration."""

# Values AWS fills in (or a caller may spell out) that mean the same as leaving the field out.
_TASK_DEFAULTS: Mapping[str, Any] = {"enableFaultInjection": False, "networkMode": "bridge"}
_CONTAINER_DEFAULTS: Mapping[str, Any] = {
    "cpu": 0,
    "essential": True,
    "readonlyRootFilesystem": False,
    "privileged": False,
    "interactive": False,
    "pseudoTerminal": False,
    "disableNetworking": False,
    "versionConsistency": "enabled",
}
_HEALTH_CHECK_DEFAULTS: Mapping[str, Any] = {"interval": 30, "timeout": 5, "retries": 3}
_EFS_DEFAULTS: Mapping[str, Any] = {"rootDirectory": "/", "transitEncryption": "DISABLED"}
# Lists whose order carries no meaning, with the key that makes their order canonical.
_UNORDERED_CONTAINER_LISTS: Mapping[str, Any] = {
    "mountPoints": lambda item: (item.get("sourceVolume", ""), item.get("containerPath", "")),
    "ulimits": lambda item: item.get("name", ""),
    "dependsOn": lambda item: item.get("containerName", ""),
    "volumesFrom": lambda item: item.get("sourceContainer", ""),
    "systemControls": lambda item: item.get("namespace", ""),
    "environmentFiles": None,
    "extraHosts": None,
    "resourceRequirements": None,
    "portMappings": None,
}


def _normalise_port_mapping(mapping: Mapping[str, Any], network_mode: str | None) -> dict[str, Any]:
    normalised = {"protocol": "tcp", **mapping}
    if "hostPort" not in normalised and "containerPortRange" not in normalised:
        # awsvpc and host publish the container port itself; bridge without a host port is dynamic (0).
        normalised["hostPort"] = normalised.get("containerPort") if network_mode in ("awsvpc", "host") else 0
    return normalised


def normalise_container(container: Mapping[str, Any], network_mode: str | None) -> dict[str, Any]:
    """One container definition in canonical form (see the module docstring for the rules)."""
    normalised = drop_defaults(container, _CONTAINER_DEFAULTS)
    if "portMappings" in normalised:
        normalised["portMappings"] = [
            _normalise_port_mapping(mapping, network_mode) for mapping in normalised["portMappings"] or []
        ]
    if "mountPoints" in normalised:
        normalised["mountPoints"] = [
            drop_defaults(point, {"readOnly": False}) for point in normalised["mountPoints"] or []
        ]
    for key, sort_key in _UNORDERED_CONTAINER_LISTS.items():
        if normalised.get(key):
            normalised[key] = sort_by(normalised[key], key=sort_key)
    # Keyed by name: names are unique and order has no meaning (`spec_path` finds the spec's item).
    for key, value_key in (("environment", "value"), ("secrets", "valueFrom")):
        if key in normalised:
            # AWS leaves a variable with an empty value out of the revision: absent and "" are one.
            normalised[key] = {
                item["name"]: item.get(value_key) for item in normalised[key] or [] if item.get(value_key)
            }
    if normalised.get("healthCheck"):
        health = {**_HEALTH_CHECK_DEFAULTS, **normalised["healthCheck"]}
        normalised["healthCheck"] = drop_defaults(health, {"startPeriod": 0})
    log = normalised.get("logConfiguration")
    if log and log.get("secretOptions"):
        normalised["logConfiguration"] = {
            **log,
            "secretOptions": sort_by(log["secretOptions"], key=lambda item: item.get("name", "")),
        }
    capabilities = (normalised.get("linuxParameters") or {}).get("capabilities")
    if capabilities:
        normalised["linuxParameters"] = {
            **normalised["linuxParameters"],
            "capabilities": {key: sorted(value or []) for key, value in capabilities.items()},
        }
    cleaned: dict[str, Any] = drop_empty(normalised)
    return cleaned


def _normalise_volume(volume: Mapping[str, Any]) -> dict[str, Any]:
    normalised = dict(volume)
    efs = normalised.get("efsVolumeConfiguration")
    if efs:
        efs = drop_defaults(efs, _EFS_DEFAULTS)
        if efs.get("authorizationConfig"):
            efs["authorizationConfig"] = drop_defaults(efs["authorizationConfig"], {"iam": "DISABLED"})
        normalised["efsVolumeConfiguration"] = efs
    return normalised


def normalise_task_definition(tree: Mapping[str, Any]) -> dict[str, Any]:
    """A registration request or a DescribeTaskDefinition `taskDefinition`, in one canonical form.

    Containers and volumes become mappings by name, compared by identity rather than position
    (`spec_path` takes a diff back to the spec's list items).
    """
    normalised = drop_defaults(
        {key: value for key, value in tree.items() if key not in SERVER_FIELDS}, _TASK_DEFAULTS
    )
    network_mode = normalised.get("networkMode")
    for key in ("cpu", "memory"):
        if key in normalised:
            normalised[key] = as_string(normalised[key])
    if normalised.get("requiresCompatibilities"):
        normalised["requiresCompatibilities"] = sorted(normalised["requiresCompatibilities"])
    if normalised.get("placementConstraints"):
        normalised["placementConstraints"] = sort_by(normalised["placementConstraints"])
    normalised["containerDefinitions"] = {
        container["name"]: normalise_container(container, network_mode)
        for container in normalised.get("containerDefinitions") or []
    }
    normalised["volumes"] = {
        volume["name"]: _normalise_volume(volume) for volume in normalised.get("volumes") or []
    }
    cleaned: dict[str, Any] = drop_empty(normalised)
    return cleaned


def spec_path(path: Path, spec: TaskDefinitionSpec) -> Path | None:
    """Where a diff of the by-name tree (`containerDefinitions.web.environment.DEBUG`) is written in
    the spec: containers, volumes, variables and secrets by their index in the spec's lists
    (`containerDefinitions[0].environment[2].value`). One the spec does not write keeps its name
    under the spec's list. None for paths already in spec terms."""
    if len(path) < 2 or path[0] not in ("containerDefinitions", "volumes"):
        return None
    if path[0] == "containerDefinitions":
        names = [container.name for container in spec.container_definitions]
    else:
        names = [volume.name for volume in spec.volumes or ()]
    if path[1] not in names:
        return None
    index = names.index(str(path[1]))
    rest = path[2:]
    if path[0] == "containerDefinitions" and len(rest) >= 2 and rest[0] in ("environment", "secrets"):
        container = spec.container_definitions[index]
        if rest[0] == "environment":
            pair_names = [pair.name for pair in container.environment or ()]
        else:
            pair_names = [pair.name for pair in container.secrets or ()]
        # The last of a repeated name is the one that counts, as in `normalise_container`.
        positions = [position for position, name in enumerate(pair_names) if name == rest[1]]
        value = "value" if rest[0] == "environment" else "valueFrom"
        rest = (rest[0], positions[-1], value) if positions else (rest[0], rest[1])
    return (path[0], index, *rest)


def family_and_revision(reference: str) -> tuple[str, int] | None:
    """`(family, revision)` of a task definition ARN or `family:revision` (what services report)."""
    tail = reference.rpartition("task-definition/")[2] if reference.startswith("arn:") else reference
    family, colon, revision = tail.rpartition(":")
    if not colon or not revision.isdigit():
        return None
    return family, int(revision)


class Registration:
    """The registration a document asks for, with images rendered, or why it must wait."""

    def __init__(self, request: dict[str, Any], missing: list[str], warnings: list[str]) -> None:
        self.request = request
        self.missing = missing
        self.warnings = warnings


def desired_registration(document: Document, context: PlanContext) -> Registration:
    """The RegisterTaskDefinition parameters (without family and tags) the document asks for."""
    spec = document.spec_as(TaskDefinitionSpec)
    request = spec_fields(spec, exclude={"family", "tags", "imagePinning"})
    digests: Mapping[ImageKey, str] = context.live.facts.get(IMAGE_DIGESTS, {})
    missing: list[str] = []
    warnings: list[str] = []
    containers = []
    # Option values that name another document (an `awslogs-group` naming a log group's document)
    # become that document's AWS name: asked of the graph, by the path the reference was made at.
    named = {reference.path: reference for reference in context.spec_set.graph.references_from(document.key)}
    pairs = zip(spec.container_definitions, request["containerDefinitions"], strict=True)
    for index, (container, fields) in enumerate(pairs):
        rendered = render_image(
            container.image,
            pinning=spec.image_pinning,
            spec_set=context.spec_set,
            environment=context.environment,
            digests=digests,
        )
        if rendered.missing is not None:
            missing.append(rendered.missing)
        if rendered.warning is not None:
            warnings.append(rendered.warning)
        option = ("spec", "containerDefinitions", index, "logConfiguration", "options", AWSLOGS_GROUP)
        if option in named:
            fields = _with_log_group_name(fields, context, named[option])
        fields = _with_log_region(fields, context.environment.region)
        containers.append({**fields, "image": rendered.reference})
    request["containerDefinitions"] = containers
    for role in ("executionRoleArn", "taskRoleArn"):
        if role in request:
            request[role] = context.role_arn(request[role])
    return Registration(request, missing, warnings)


def _with_log_group_name(
    container: Mapping[str, Any], context: PlanContext, reference: Reference
) -> dict[str, Any]:
    """The container definition with `awslogs-group` naming the referenced document's AWS name.

    Raises `TerminalPlanError` when that name is an unowned group's (a conflict): the logs would
    go to someone else's group."""
    target_kind, target_name = reference.target
    if reference.target in context.conflicted:
        raise TerminalPlanError(f"depends on {target_kind}/{target_name}, which is in conflict")
    target = context.spec_set.get(target_kind, target_name)
    log = container["logConfiguration"]
    options = {**log["options"], AWSLOGS_GROUP: target.aws_name if target is not None else target_name}
    return {**container, "logConfiguration": {**log, "options": options}}


def _with_log_region(container: Mapping[str, Any], region: str) -> Mapping[str, Any]:
    """An awslogs container without `awslogs-region` logs to the Region it is registered in: one
    spec converges into any Target's Region, where its log group is (ECS itself requires the option)."""
    log = container.get("logConfiguration")
    if not log or log.get("logDriver") != "awslogs" or AWSLOGS_REGION in (log.get("options") or {}):
        return container
    return {
        **container,
        "logConfiguration": {**log, "options": {**log.get("options", {}), AWSLOGS_REGION: region}},
    }


def desired_tree(document: Document, context: PlanContext) -> dict[str, Any]:
    return normalise_task_definition(desired_registration(document, context).request)


def live_tree(state: Mapping[str, Any]) -> dict[str, Any]:
    return normalise_task_definition(state)


def revisions_in_use(context: PlanContext, family: str) -> tuple[set[int], bool]:
    """Revisions of `family` that any live object names (a service runs or deploys them), and
    whether any such object is still rolling out (its older revision must stay registered until
    the rollout ends). Asked of every live object by what it names, never of a kind by its shape."""
    in_use: set[int] = set()
    rolling = False
    for live in (*context.live.resources.values(), *context.live.orphans):
        if live.kind == TaskDefinitionKind.kind:
            continue
        revisions = {
            parsed[1]
            for reference in string_leaves(live.state)
            if ":task-definition/" in reference  # an ARN: what AWS objects name each other by
            and (parsed := family_and_revision(reference)) is not None
            and parsed[0] == family
        }
        if not revisions:
            continue
        in_use |= revisions
        rollout = read_rollout(live)
        if rollout is not None and rollout.state is RolloutState.IN_PROGRESS:
            rolling = True
    return in_use, rolling


def revisions_to_deregister(live: LiveResource, context: PlanContext) -> list[Mapping[str, Any]]:
    """Owned ACTIVE revisions beyond the newest `keep_revisions` that no live service uses."""
    keep = max(context.settings.keep_revisions, 1)  # the newest is the desired one: always kept
    revisions = sorted(live.details.get("revisions", ()), key=lambda item: -int(item["revision"]))
    candidates = [revision for revision in revisions[keep:] if revision.get("owned") is True]
    if not candidates:
        # The usual steady pass: no scan of every live service for each family (O(families x services)).
        return []
    in_use, rolling = revisions_in_use(context, str(live.outputs["family"]))
    if rolling:
        return []
    return [revision for revision in candidates if int(revision["revision"]) not in in_use]


# What AWS answers differently from what it was sent, and how each is kept from being a change.
REWRITES: tuple[Rewrite, ...] = (
    Rewrite(
        field="containerDefinitions[].environment[].value",
        sent='`FEATURE_FLAGS: ""`',
        answered="the variable is absent from the revision",
        handling=Handling.NORMALISED,
        how="a variable with an empty value is the same as no variable, on both sides",
        source=(
            "undocumented: ECS's reference says nothing of empty values; real AWS leaves them out "
            "(issue 8), and the local AWS does the same"
        ),
        test="tests/acceptance/test_rewrites.py::test_an_environment_variable_with_an_empty_value_registers_once_and_then_never_again",
    ),
    Rewrite(
        field=(
            "containerDefinitions[].environment, secrets, portMappings, mountPoints, ulimits, "
            "dependsOn, volumesFrom, systemControls"
        ),
        sent="any order",
        answered="an order of its own",
        handling=Handling.NORMALISED,
        how=(
            "sorted by name (or container path, namespace) on both sides; environment and secrets "
            "compared as maps by name"
        ),
        source=(
            "undocumented: order carries no meaning to ECS; reported as perpetual diffs by users of "
            "other tools (AWS-FACTS.md)"
        ),
        test="tests/resources/test_task_definition.py::test_server_defaults_and_spellings_never_show_as_a_difference",
    ),
    Rewrite(
        field="containerDefinitions[].portMappings[].protocol",
        sent="absent",
        answered="`tcp`",
        handling=Handling.NORMALISED,
        how="absent is filled with tcp on both sides",
        source="https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PortMapping.html",
        test="tests/resources/test_task_definition.py::test_server_defaults_and_spellings_never_show_as_a_difference",
    ),
    Rewrite(
        field="containerDefinitions[].portMappings[].hostPort",
        sent="absent (awsvpc or host network mode)",
        answered="equal to `containerPort`",
        handling=Handling.NORMALISED,
        how="absent is the container port under awsvpc and host, 0 (dynamic) under bridge",
        source="https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PortMapping.html",
        test="tests/resources/test_task_definition.py::test_container_normalisation_rules",
    ),
    Rewrite(
        field="cpu, memory",
        sent="`1 vCPU`, `2 GB`, or a number",
        answered='the units as a string: `"1024"`, `"2048"`',
        handling=Handling.CANONICAL_AT_VALIDATION,
        how="vCPU and GB forms become units at load; numbers and strings compare as strings",
        source="https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html",
        test="tests/resources/test_task_definition.py::test_server_defaults_and_spellings_never_show_as_a_difference",
    ),
    Rewrite(
        field="containerDefinitions[].cpu",
        sent="absent",
        answered="`0`",
        handling=Handling.NORMALISED,
        how="0 is dropped on both sides",
        source="undocumented: the server adds it (AWS-FACTS.md); the reference calls the field optional",
        test="tests/resources/test_task_definition.py::test_server_defaults_and_spellings_never_show_as_a_difference",
    ),
    Rewrite(
        field="containerDefinitions[].essential",
        sent="absent",
        answered="`true`",
        handling=Handling.NORMALISED,
        how="true is dropped on both sides",
        source="https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html",
        test="tests/resources/test_task_definition.py::test_server_defaults_and_spellings_never_show_as_a_difference",
    ),
    Rewrite(
        field="containerDefinitions[].versionConsistency",
        sent="absent",
        answered="`enabled`",
        handling=Handling.NORMALISED,
        how="the default is dropped on both sides",
        source="https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html",
        test="tests/resources/test_task_definition.py::test_container_normalisation_rules",
    ),
    Rewrite(
        field="containerDefinitions[].healthCheck",
        sent="interval, timeout, retries absent",
        answered="30, 5, 3",
        handling=Handling.NORMALISED,
        how="the documented defaults are filled on both sides",
        source="https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html",
        test="tests/resources/test_task_definition.py::test_server_defaults_and_spellings_never_show_as_a_difference",
    ),
    Rewrite(
        field="containerDefinitions[].mountPoints[].readOnly",
        sent="absent",
        answered="`false`",
        handling=Handling.NORMALISED,
        how="false is dropped on both sides",
        source="https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_MountPoint.html",
        test="tests/resources/test_task_definition.py::test_server_defaults_and_spellings_never_show_as_a_difference",
    ),
    Rewrite(
        field="containerDefinitions[].systemControls, linuxParameters.capabilities.add, mountPoints, volumes",
        sent="`[]` or absent",
        answered="`[]`, `null` or absent",
        handling=Handling.NORMALISED,
        how="empty lists, null and absent are one",
        source="undocumented: reported as perpetual diffs by users of other tools (AWS-FACTS.md)",
        test="tests/resources/test_task_definition.py::test_server_defaults_and_spellings_never_show_as_a_difference",
    ),
    Rewrite(
        field="volumes[].efsVolumeConfiguration",
        sent="rootDirectory, transitEncryption absent",
        answered="`/`, `DISABLED`",
        handling=Handling.NORMALISED,
        how="the documented defaults are dropped on both sides",
        source="https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_EFSVolumeConfiguration.html",
        test="tests/resources/test_task_definition.py::test_server_defaults_and_spellings_never_show_as_a_difference",
    ),
    Rewrite(
        field="requiresCompatibilities",
        sent="any order",
        answered="an order of its own",
        handling=Handling.NORMALISED,
        how="sorted on both sides",
        source="undocumented: a set to ECS",
        test="tests/resources/test_task_definition.py::test_server_defaults_and_spellings_never_show_as_a_difference",
    ),
    Rewrite(
        field="executionRoleArn, taskRoleArn",
        sent="a role name (`ecsTaskExecutionRole`)",
        answered="the role's ARN",
        handling=Handling.RESOLVED,
        how=(
            "completed to arn:PARTITION:iam::ACCOUNT:role/NAME before it is sent, so the request "
            "already carries the ARN"
        ),
        source="https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html",
        test="tests/resources/test_task_definition.py::test_server_defaults_and_spellings_never_show_as_a_difference",
    ),
    Rewrite(
        field="(server fields)",
        sent="nothing",
        answered=(
            "revision, status, registeredAt, registeredBy, compatibilities, requiresAttributes, "
            "taskDefinitionArn"
        ),
        handling=Handling.NOT_MANAGED,
        how="never part of the comparison",
        source="https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_TaskDefinition.html",
        test="tests/resources/test_task_definition.py::test_server_fields_are_not_part_of_the_comparison",
    ),
)


class TaskDefinitionKind(KindBase):
    kind: ClassVar[str] = "TaskDefinition"
    # Listed revision by revision; an observation claims its whole family.
    tagged_as: ClassVar[TaggedAs | None] = TaggedAs(
        "ecs:task-definition", identity=lambda arn: family_arn(arn)
    )
    # After the services: the revision they run is usually all a steady pass needs to know.
    observe_last: ClassVar[bool] = True
    rewrites: ClassVar[tuple[Rewrite, ...]] = REWRITES

    async def observe(
        self, documents: Sequence[Document], context: ObserveContext
    ) -> Mapping[str, LiveResource]:
        ecs = context.clients.service("ecs")

        async def observe_one(document: Document) -> LiveResource | None:
            running = await _observe_running(ecs, document, context)
            if running is not None:
                return running
            family = document.aws_name
            arns = [
                arn
                async for page in ecs.paginate(
                    "list_task_definitions",
                    familyPrefix=family,
                    status="ACTIVE",
                    sort="DESC",
                    PaginationConfig={"PageSize": LIST_PAGE_SIZE},
                )
                for arn in page.get("taskDefinitionArns", [])
            ]
            context.cache.families_listed[family] = context.now
            return await _observe_family(
                ecs,
                context.cache,
                document.name,
                family,
                arns,
                keep=context.settings.keep_revisions,
                instance=context.settings.instance,
                namespace=context.settings.namespace,
            )

        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(observe_one(document)) for document in documents]
        return {live.name: live for task in tasks if (live := task.result()) is not None}

    async def observe_facts(
        self, documents: Sequence[Document], context: ObserveContext
    ) -> Mapping[str, Any]:
        wanted = tagged_images(documents, context.spec_set)
        if not wanted:
            return {}
        ecr = context.clients.service("ecr")
        digests: dict[ImageKey, str] = {}

        async def resolve(repository: str, tags: list[str]) -> None:
            for batch in batched(tags, IMAGE_BATCH):
                try:
                    response = await ecr.call(
                        "batch_get_image",
                        repositoryName=repository,
                        imageIds=[{"imageTag": tag} for tag in batch],
                    )
                except AwsError as error:
                    if error.code == "RepositoryNotFoundException":
                        return  # created later in this pass: nothing is pushed to it yet
                    raise
                for image in response.get("images", []):
                    image_id = image.get("imageId") or {}
                    if image_id.get("imageTag") in batch and image_id.get("imageDigest"):
                        digests[(repository, image_id["imageTag"])] = image_id["imageDigest"]

        async with asyncio.TaskGroup() as group:
            for repository, tags in sorted(wanted.items()):
                group.create_task(resolve(repository, sorted(tags)))
        return {IMAGE_DIGESTS: digests}

    async def observe_owned(self, context: ObserveContext) -> Sequence[LiveResource]:
        ecs = context.clients.service("ecs")
        by_family: dict[str, list[str]] = {}
        async for page in ecs.paginate(
            "list_task_definitions", status="ACTIVE", PaginationConfig={"PageSize": LIST_PAGE_SIZE}
        ):
            for arn in page.get("taskDefinitionArns", []):
                parsed = family_and_revision(arn)
                if parsed is not None:
                    by_family.setdefault(parsed[0], []).append(arn)

        # Families a document's observation already accounts for are not orphans: no read for them.
        claimed = context.claimed(self.kind)

        async def owned_family(family: str, arns: list[str]) -> LiveResource | None:
            newest = max(arns, key=_revision_of)
            if family_arn(newest) in claimed:
                return None
            described = await _describe_cached(ecs, context.cache, newest)
            source = owned_by_instance(
                _cached_tags(described), context.settings.instance, self.kind, context.settings.namespace
            )
            if source is None:
                return None
            # Every revision's ownership is needed: pruning deregisters only the owned ones.
            return await _observe_family(
                ecs,
                context.cache,
                source,
                family,
                arns,
                keep=0,
                instance=context.settings.instance,
                namespace=context.settings.namespace,
            )

        async with asyncio.TaskGroup() as group:
            tasks = [
                group.create_task(owned_family(family, arns)) for family, arns in sorted(by_family.items())
            ]
        return [live for task in tasks if (live := task.result()) is not None]

    def plan(self, document: Document, live: LiveResource | None, context: PlanContext) -> ResourcePlan:
        registration = desired_registration(document, context)
        warnings = tuple(registration.warnings)
        if registration.missing:
            return ResourcePlan(
                self.kind,
                document.name,
                Action.WAITING,
                message="waiting: image not found: " + ", ".join(registration.missing),
                warnings=warnings,
            )
        desired = normalise_task_definition(registration.request)
        tags = context.desired_tags(document)
        register = Call(
            "ecs",
            "register_task_definition",
            {"family": document.aws_name, **registration.request, "tags": map_to_tags(tags)},
            outputs={"arn": ("taskDefinition", "taskDefinitionArn")},
            description=f"register task definition {document.aws_name}",
            landed=_registered_already(document.aws_name, desired, tags),
        )
        main = (self.kind, document.name, MAIN)
        if live is None:
            return ResourcePlan(
                self.kind,
                document.name,
                Action.CREATE,
                diff_trees(desired, None),
                (StepGroup(main, (register,)),),
                warnings=warnings,
            )
        spec = document.spec_as(TaskDefinitionSpec)
        delta = diff_trees(desired, live_tree(live.state), exact=True).with_spec_paths(
            lambda path: spec_path(path, spec)
        )
        if delta:
            return ResourcePlan(
                self.kind,
                document.name,
                Action.UPDATE,
                delta,
                (StepGroup(main, (register,)),),
                message="registers a new revision",
                warnings=warnings,
            )
        tag_changes, tag_diffs = tag_delta(tags, live.tags)
        if tag_changes:
            tag = _tag_call(live, tag_changes)
            return ResourcePlan(
                self.kind,
                document.name,
                Action.UPDATE,
                tag_diffs,
                (StepGroup(main, (tag,)),),
                warnings=warnings,
            )
        stale = revisions_to_deregister(live, context)
        if not stale:
            return ResourcePlan(self.kind, document.name, Action.NONE, warnings=warnings)
        # Deregistering draws on ECS's slowest bucket (1 a second): at most what the pass's one
        # delete budget has left, the rest on the next passes, so lowering keepRevisions never
        # stalls a pass for minutes.
        now = list(reversed(stale))[: context.deletions_allowed]  # the oldest first
        if not now:  # the budget is spent on other deletions this pass: the next ones continue
            return ResourcePlan(self.kind, document.name, Action.NONE, warnings=warnings)
        return ResourcePlan(
            self.kind,
            document.name,
            Action.UPDATE,
            groups=(StepGroup((self.kind, document.name, CLEANUP_PART), tuple(_deregister(now))),),
            message=f"deregisters {len(now)} of {len(stale)} old revision(s) beyond keepRevisions",
            warnings=warnings,
        )

    def tag_call(self, live: LiveResource, tags: Mapping[str, str]) -> Call:
        """The call that sets `tags` on the live object (how the planner records a spec hash)."""
        return _tag_call(live, tags)

    def plan_delete(self, live: LiveResource, context: PlanContext) -> ResourcePlan:
        owned = [
            revision
            for revision in live.details.get("revisions", ())
            if revision.get("owned") is True or revision["arn"] == live.identifier
        ]
        return ResourcePlan(
            self.kind,
            live.name,
            Action.DELETE,
            groups=(StepGroup((self.kind, live.name, MAIN), tuple(_deregister(owned))),),
        )


def _tag_call(live: LiveResource, tags: Mapping[str, str]) -> Call:
    return ecs_tag_call(live.identifier, tags, description="tag task definition revision")


def _deregister(revisions: Iterable[Mapping[str, Any]]) -> list[Call]:
    return [
        Call(
            "ecs",
            "deregister_task_definition",
            {"taskDefinition": revision["arn"]},
            description=f"deregister revision {revision['revision']}",
        )
        for revision in revisions
    ]


def _registered_already(family: str, desired: Mapping[str, Any], tags: Mapping[str, str]) -> LandedCheck:
    """Whether the family's latest ACTIVE revision is the one a lost RegisterTaskDefinition asked
    for: equal as the planner compares (normalised), and carrying the tags it was sent with (so a
    look-alike revision nobody owns is not taken for ours)."""

    def matches(response: Mapping[str, Any]) -> bool:
        live_tags = tags_to_map(response.get("tags") or [])
        same_tags = all(live_tags.get(key) == value for key, value in tags.items())
        return same_tags and not diff_trees(
            desired, live_tree(response.get("taskDefinition") or {}), exact=True
        )

    latest = Call("ecs", "describe_task_definition", {"taskDefinition": family, "include": ["TAGS"]})
    return LandedCheck(latest, matches)


def _revision_of(arn: str) -> int:
    parsed = family_and_revision(arn)
    return parsed[1] if parsed is not None else 0


def _cached_tags(described: Mapping[str, Any]) -> dict[str, str]:
    return tags_to_map(described.get("tags"))


async def _describe_cached(ecs: ApiClient, cache: ObserveCache, arn: str) -> Mapping[str, Any]:
    """`{"taskDefinition": ..., "tags": [...]}` of a revision, described at most once per process.

    The tags are as of that one describe: good enough for ownership (the reconciler never removes
    its tags), not for comparing tags, which `_observe_family` re-reads."""
    cached = cache.task_definitions.get(arn)
    if cached is None:
        response = await ecs.call("describe_task_definition", taskDefinition=arn, include=["TAGS"])
        cached = {"taskDefinition": response["taskDefinition"], "tags": response.get("tags") or []}
        cache.remember_revision(arn, cached)
    return cached


def revisions_run_by_referrers(document: Document, context: ObserveContext) -> list[str]:
    """ARNs of the family's revisions that the documents referring to this one run or deploy, as
    observed in this pass (a service's `taskDefinition` and its deployments'), oldest first."""
    if context.others is None:
        return []
    family = document.aws_name
    running: set[str] = set()
    for reference in context.spec_set.graph.referrers(document.key):
        live = context.others.resources.get(reference.source)
        if live is None:
            continue
        running.update(
            leaf
            for leaf in string_leaves(live.state)
            if ":task-definition/" in leaf
            and (parsed := family_and_revision(leaf)) is not None
            and parsed[0] == family
        )
    return sorted(running, key=_revision_of)


def listing_due(family: str, context: ObserveContext) -> bool:
    """Whether the family's slow-schedule listing is due. A family first seen starts its schedule
    then (a run without history reads no more than it must); each family's interval is spread
    between 0.5 and 1.5 times the setting, so that families first seen together are not all
    listed on one pass ever after."""
    listed = context.cache.families_listed.setdefault(family, context.now)
    spread = 0.5 + (zlib.crc32(family.encode()) % 1000) / 1000
    return context.now - listed >= context.settings.family_listing_interval * spread


async def _observe_running(
    ecs: ApiClient, document: Document, context: ObserveContext
) -> LiveResource | None:
    """The family as the revision its referrers run, when that revision is already what the
    document asks for (content and tags): no listing, and no read at all once the revision is in
    the cache. None when the family must be listed: nothing runs it, the document differs from
    what runs (a registration may follow, which must know every revision), or the slow-schedule
    listing is due. Newer revisions nobody runs do not matter to a document already running."""
    running = revisions_run_by_referrers(document, context)
    if not running or context.others is None or listing_due(document.aws_name, context):
        return None
    head = running[-1]
    plan_context = PlanContext(
        spec_set=context.spec_set,
        live=context.others,
        environment=context.environment,
        settings=context.settings,
    )
    try:
        registration = desired_registration(document, plan_context)
    except (TerminalPlanError, DependencyWaiting):
        return None  # the planner says why, with the family listed as usual
    if registration.missing:
        return None
    described = await _describe_cached(ecs, context.cache, head)
    tags = _cached_tags(described)
    desired = normalise_task_definition(registration.request)
    if diff_trees(desired, live_tree(described["taskDefinition"]), exact=True):
        return None
    if tag_delta(plan_context.desired_tags(document), tags)[0]:
        return None
    revision = _revision_of(head)
    return LiveResource(
        kind=TaskDefinitionKind.kind,
        name=document.name,
        identifier=head,
        also_identifies=frozenset({*running, family_arn(head)}),
        state=described["taskDefinition"],
        tags=tags,
        outputs={"arn": head, "family": document.aws_name, "revision": revision},
    )


def family_arn(revision_arn: str) -> str:
    """The family's ARN without a revision: one identity shared by every observation of the family,
    however many of its revisions each knew (ECS also accepts it for "the latest ACTIVE revision")."""
    return revision_arn.rpartition(":")[0]


async def _observe_family(
    ecs: ApiClient,
    cache: ObserveCache,
    name: str,
    family: str,
    arns: Sequence[str],
    *,
    keep: int,
    instance: str,
    namespace: str | None,
) -> LiveResource | None:
    # The family filter is a prefix match: `web` also lists `web-worker`.
    revisions = sorted(
        (
            (parsed[1], arn)
            for arn in arns
            if (parsed := family_and_revision(arn)) is not None and parsed[0] == family
        ),
        reverse=True,
    )
    if not revisions:
        return None
    newest_arn = revisions[0][1]
    fresh = newest_arn not in cache.task_definitions
    described = await _describe_cached(ecs, cache, newest_arn)
    if fresh:
        tags = _cached_tags(described)
    else:
        response = await ecs.call("list_tags_for_resource", resourceArn=newest_arn)
        tags = tags_to_map(response.get("tags"))
    # Ownership of old revisions matters only for those cleanup may deregister.
    older = revisions[max(keep, 1) :]
    async with asyncio.TaskGroup() as group:
        older_tasks = [group.create_task(_describe_cached(ecs, cache, arn)) for _, arn in older]
    owned = {
        arn: owned_by_instance(_cached_tags(task.result()), instance, TaskDefinitionKind.kind, namespace)
        is not None
        for (_, arn), task in zip(older, older_tasks, strict=True)
    }
    owned[newest_arn] = owned_by_instance(tags, instance, TaskDefinitionKind.kind, namespace) is not None
    task_definition = described["taskDefinition"]
    return LiveResource(
        kind=TaskDefinitionKind.kind,
        name=name,
        identifier=newest_arn,
        # Services point at a revision, not at the family: every revision is this resource.
        also_identifies=frozenset({*(arn for _, arn in revisions), family_arn(newest_arn)}),
        state=task_definition,
        tags=tags,
        outputs={"arn": newest_arn, "family": family, "revision": revisions[0][0]},
        details={
            "revisions": [
                {"arn": arn, "revision": revision, "owned": owned.get(arn)} for revision, arn in revisions
            ]
        },
    )


KIND = TaskDefinitionKind()
