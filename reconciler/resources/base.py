"""The one small protocol every resource kind implements, the descriptor that declares a kind,
and the values they work with.

A kind is a package (`reconciler.resources.service`, ...): its `model` is the document's spec, its
`checks` what validation adds, and its `kind` module says three things: how to observe many of
itself at once (batched reads), how to compare a document with what it observed, and which calls
converge the difference. The package's `DESCRIPTOR` declares all of it once; the registry lists
the descriptors. The engine never branches on kind; ownership, pausing and report-only are
decided once, in the engine's planner, before a kind's `plan` is called, and the order of the
calls comes from the spec set's dependency graph, not from the kind.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from reconciler.plan.ownership import DELETION_POLICY, SPEC_HASH, Ownership, ownership_of, ownership_tags
from reconciler.plan.rewrites import Rewrite
from reconciler.plan.steps import Call, Ref, ResourceKey, ResourcePlan
from reconciler.spec import Document, KindSpec, SpecSet
from reconciler.spec.checks import Check

if TYPE_CHECKING:
    from reconciler.resources.importing import KindImporter


class ApiClient(Protocol):
    """The narrow view of one AWS service client a kind needs (see `reconciler.aws.clients`)."""

    async def call(self, operation: str, /, **params: Any) -> dict[str, Any]:
        """Issue one call (snake_case operation name); raises `reconciler.aws.errors.AwsError`."""
        ...

    def paginate(self, operation: str, /, **params: Any) -> AsyncIterator[dict[str, Any]]:
        """Every page of a paginated operation."""
        ...


class Clients(Protocol):
    def service(self, name: str, /) -> ApiClient:
        """The client of one service: "ecs", "ecr", "elbv2", "ec2", "application-autoscaling"."""
        ...


@dataclass(frozen=True)
class LiveResource:
    """What was observed of one AWS resource, in the API's own shape.

    `name` is the document name it belongs to (from the spec, or from the source tag for an
    orphan). `outputs` holds the values other resources refer to (`arn`, `id`, `uri`, ...).
    `details` holds kind-specific observations beyond the main object (a service's scalable
    target and policies, a load balancer's listeners and rules). A kind whose objects roll out
    reports the latest rollout as `details["rollout"] = {"rolloutState", "taskDefinition",
    "failed"}`, which `apply --wait` and the daemon read without knowing the kind.
    """

    kind: str
    name: str
    identifier: str
    state: Mapping[str, Any]
    tags: Mapping[str, str] = field(default_factory=dict)
    outputs: Mapping[str, Any] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)
    also_identifies: frozenset[str] = frozenset()
    """Identities of other AWS objects this document's resource accounts for (the old target group
    of a replacement in progress): owned by the document, so never orphans."""
    replaced_by: ResourceKey | None = None
    """For an orphan whose document still exists but now resolves to another AWS object (its AWS
    name changed): that document. It is deleted only after the new object is steady."""

    @property
    def key(self) -> ResourceKey:
        return (self.kind, self.name)

    def ownership(self, instance: str, namespace: str | None = None) -> Ownership:
        return ownership_of(self.tags, instance, namespace)

    @property
    def deletion_policy(self) -> str:
        return self.tags.get(DELETION_POLICY, "delete")


@dataclass(frozen=True)
class Environment:
    """Account-level facts looked up once per pass, never during validation."""

    account_id: str
    region: str
    default_vpc_id: str | None = None
    default_subnet_ids: tuple[str, ...] = ()
    partition: str = "aws"
    """From the caller's ARN: `aws`, `aws-cn`, `aws-us-gov`; ARNs and ECR hosts depend on it."""

    @property
    def dns_suffix(self) -> str:
        """The domain of the partition's service endpoints (and so of ECR image URIs)."""
        return "amazonaws.com.cn" if self.partition == "aws-cn" else "amazonaws.com"


@dataclass(frozen=True)
class PlanSettings:
    instance: str = "default"
    """Value of the instance ownership tag; resources of another instance are never touched."""
    namespace: str | None = None
    """The namespace (a Target's name) this pass converges; None: the default namespace. Its
    resources carry it in the namespace ownership tag; those of another namespace are never touched."""
    keep_revisions: int = 5
    """Owned task definition revisions kept per family, the newest ones, beyond the one in use."""
    prune: bool = False
    """Delete owned resources whose documents are gone."""
    max_deletes: int = 10
    """At most this many deletions per pass."""
    allow_mass_prune: bool = False
    """Allow a pass that would prune more than half of what is owned, or with no documents."""
    report_only: bool = False
    """Observe and report; issue no write (`run --mode report`, `plan`, `drift`)."""
    family_listing_interval: float = 3600.0
    """Seconds between listings of a task definition family whose revision in use is already the
    one its document asks for. Such a family needs no read on a steady pass; its listing (spread
    per family over 0.5 to 1.5 times this) sees revisions registered and tags changed by hand, and
    lets old revisions be cleaned up. A family is also listed whenever its document differs from
    the revision in use, before anything is registered."""
    perpetual_diff_limit: int = 3
    """Writes of the same differences to one resource before writes to it stop (the perpetual-diff
    breaker, `reconciler.engine.breaker`). One retry covers a read that came too soon after the
    write; a third identical answer is no coincidence, and costs at most three task definition
    revisions, never one per resync."""


@dataclass(frozen=True)
class LiveState:
    """Everything one pass observed: live resources by document key, and owned orphans."""

    resources: Mapping[ResourceKey, LiveResource] = field(default_factory=dict)
    orphans: tuple[LiveResource, ...] = ()
    facts: Mapping[str, Any] = field(default_factory=dict)
    """Kind-specific observations shared across kinds, e.g. `image_digests`."""
    orphans_observed: bool = False
    """Whether owned objects were listed: without it, an empty `orphans` means "not looked"."""


@dataclass(frozen=True)
class PlanContext:
    """What a kind's pure `plan` may consult besides its own document and live object."""

    spec_set: SpecSet
    live: LiveState
    environment: Environment
    settings: PlanSettings
    pending_outputs: frozenset[tuple[str, str, str]] = frozenset()
    """(kind, name, output) that calls planned earlier in this pass will produce (a new task
    definition revision's ARN): they are `Ref`s even when an older live value exists."""
    conflicted: frozenset[tuple[str, str]] = frozenset()
    """Resources planned as conflicts: their live objects are not ours, so nothing may point at them."""
    waiting: frozenset[tuple[str, str]] = frozenset()
    """Resources planned as waiting (an image not pushed yet): what needs one that does not exist
    yet waits too, instead of failing on an output that will not come."""
    delete_budget: int | None = None
    """What the pass's one delete budget (`--max-deletes`, shared by orphan deletions and old task
    definition revisions) has left when this document is planned; the planner sets it from its
    write policy. None outside a planning pass: `settings.max_deletes`."""

    @property
    def deletions_allowed(self) -> int:
        """How many deletions of its own old objects this document may plan in this pass."""
        return self.settings.max_deletes if self.delete_budget is None else self.delete_budget

    def live_of(self, kind: str, name: str) -> LiveResource | None:
        return self.live.resources.get((kind, name))

    def output(self, kind: str, name: str, output: str) -> Any:
        """A referenced resource's output, or a `Ref` when it will exist only after apply."""
        if (kind, name) in self.conflicted:
            raise TerminalPlanError(f"depends on {kind}/{name}, which is in conflict")
        if (kind, name, output) in self.pending_outputs:
            return Ref(kind, name, output)
        live = self.live_of(kind, name)
        if live is not None and output in live.outputs:
            return live.outputs[output]
        if (kind, name) in self.waiting:
            raise DependencyWaiting(f"waiting for {kind}/{name}")
        return Ref(kind, name, output)

    def desired_tags(self, document: Document) -> dict[str, str]:
        """The spec's tags plus the ownership tags every managed resource carries, the document's
        spec hash among them: a create records it, and `tag_delta` lets it ride on a tag write
        made anyway, never on its own."""
        policy = document.metadata.annotations.get(DELETION_POLICY, "delete")
        return {
            **dict(getattr(document.spec, "tags", None) or {}),
            **ownership_tags(
                kind=document.kind,
                name=document.name,
                instance=self.settings.instance,
                deletion_policy=policy,
                namespace=self.settings.namespace,
            ),
            SPEC_HASH: document.spec_hash,
        }

    def vpc_id(self, value: str) -> str:
        if value != "default":
            return value
        if self.environment.default_vpc_id is None:
            raise TerminalPlanError("the account has no default VPC, but the spec asks for `vpc: default`")
        return self.environment.default_vpc_id

    def subnet_ids(self, value: str | Sequence[str]) -> list[str]:
        if isinstance(value, str):
            if value != "default":
                return [value]
            if not self.environment.default_subnet_ids:
                raise TerminalPlanError(
                    "the account has no default subnets, but the spec asks for `subnets: default`"
                )
            return sorted(self.environment.default_subnet_ids)
        return sorted(value)

    def security_group_ids(self, references: Sequence[str]) -> list[Any]:
        """Names of SecurityGroup documents become their ids; literal `sg-` ids stay as written."""
        return [
            reference if reference.startswith("sg-") else self.output("SecurityGroup", reference, "id")
            for reference in references
        ]

    def role_arn(self, value: str) -> str:
        """A bare role name completed with the account id, as the design allows."""
        if value.startswith("arn:"):
            return value
        return f"arn:{self.environment.partition}:iam::{self.environment.account_id}:role/{value}"


class TerminalPlanError(Exception):
    """A document cannot be planned against this account (no default VPC, ...): not retried."""


class DependencyWaiting(Exception):
    """A document needs a resource that is itself waiting and does not exist yet."""


@dataclass
class ObserveCache:
    """Process-wide memory of observations: immutable AWS objects (task definition revisions by
    ARN), and what earlier reads learnt that only chooses how to read (never what is true)."""

    task_definitions: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    """Descriptions of task definition revisions by ARN (`remember_revision` keeps it bounded)."""
    tagging_denied: bool = False
    """The Resource Groups Tagging API answered AccessDenied: each kind lists its own owned objects
    from then on (said once, in the log)."""
    autoscaling_namespace: dict[str, int] = field(default_factory=dict)
    """How many scaling policies and scheduled actions ECS's Application Auto Scaling namespace
    held at the last sweep (`reconciler.resources.service.autoscaling.sweep_is_cheaper`)."""
    REVISIONS_PER_FAMILY: ClassVar[int] = 10
    """Revisions remembered per family, the newest: what runs is one of a family's newest, and a
    daemon that lives for months must not keep every revision it ever saw."""

    def remember_revision(self, arn: str, described: Mapping[str, Any]) -> None:
        self.task_definitions[arn] = described
        self.revisions_remembered += 1
        family, _, revision = arn.rpartition(":")
        known = self._revisions_by_family.setdefault(family, {})
        known[arn] = int(revision) if revision.isdigit() else 0
        if len(known) > self.REVISIONS_PER_FAMILY:
            oldest = min(known, key=known.__getitem__)
            del known[oldest]
            self.task_definitions.pop(oldest, None)

    revisions_remembered: int = 0
    """How many descriptions were ever added: what tells a cache file that it has news."""
    _revisions_by_family: dict[str, dict[str, int]] = field(default_factory=dict, repr=False)
    families_listed: dict[str, float] = field(default_factory=dict)
    """Wall-clock time each task definition family was last listed (or first seen, which starts
    its schedule): when the next listing is due (`PlanSettings.family_listing_interval`)."""


@dataclass
class SharedReads:
    """Reads that more than one kind makes in one pass (ECS's list of clusters), made once: the
    first asker reads, the others await its answer (or its error)."""

    _answers: dict[str, asyncio.Future[Any]] = field(default_factory=dict)

    async def once(self, key: str, read: Callable[[], Awaitable[Any]]) -> Any:
        answer = self._answers.get(key)
        if answer is None:
            answer = self._answers[key] = asyncio.ensure_future(read())
        return await asyncio.shield(answer)


@dataclass(frozen=True)
class ObserveContext:
    clients: Clients
    spec_set: SpecSet
    environment: Environment
    settings: PlanSettings
    cache: ObserveCache
    others: LiveState | None = None
    """For a kind observed last (`observe_last`): what every other kind observed in this pass,
    facts included. None for the others, which are observed at the same time."""
    now: float = 0.0
    """Wall-clock seconds when the pass began (what a schedule kept across processes compares)."""
    following: frozenset[ResourceKey] = frozenset()
    """Documents looked at again only to follow a rollout in progress: their kind reads what a
    rollout changes and keeps the rest of what `previous` saw (`followed`)."""
    previous: LiveState | None = None
    """The last observation, on a pass that re-checks a few keys (`following`)."""
    shared: SharedReads = field(default_factory=SharedReads)
    """This pass's reads that several kinds need (`reconciler.resources.common.cluster_arns`)."""

    def claimed(self, kind: str) -> frozenset[str]:
        """Identities of `kind`'s objects that this pass's documents resolved to (known to the
        owned listings, which run after the documents' observation): never orphans, so a kind's
        `observe_owned` need not read anything more of them."""
        if self.others is None:
            return frozenset()
        return frozenset(
            identity
            for live in self.others.resources.values()
            if live.kind == kind
            for identity in (live.identifier, *live.also_identifies)
        )

    def followed(self, key: ResourceKey) -> LiveResource | None:
        """What was last seen of a document whose rollout alone is being followed, else None."""
        if key not in self.following or self.previous is None:
            return None
        return self.previous.resources.get(key)


def _as_is(arn: str) -> str:
    return arn


@dataclass(frozen=True)
class TaggedAs:
    """How a kind's objects appear in the Resource Groups Tagging API, which lists every owned
    object of the account in one sweep: when none of a kind's is left unclaimed by the documents,
    the kind has no orphans and its own owned listing is skipped
    (`reconciler.engine.tagging`)."""

    resource_type: str
    """The API's resource type (`ecs:service`, `elasticloadbalancing:targetgroup`)."""
    identity: Callable[[str], str] = _as_is
    """A listed ARN as the identity the kind's observations claim (`LiveResource.identifier` or
    `also_identifies`): the ARN itself, a security group's id, a task definition's family."""


class KindBase:
    """The defaults of the `ResourceKind` protocol, for a kind class to inherit: a kind writes only
    what it does differently. Stateless, as every kind is."""

    observe_last: ClassVar[bool] = False
    tagged_as: ClassVar[TaggedAs | None] = None

    async def observe_facts(
        self, documents: Sequence[Document], context: ObserveContext
    ) -> Mapping[str, Any]:
        """No shared observations beyond the kind's own objects."""
        return {}

    def tag_call(self, live: LiveResource, tags: Mapping[str, str]) -> Call | None:
        """Objects that take no tags: no spec hash is recorded on them, so every difference
        they show reads as drift."""
        return None


class ResourceKind(Protocol):
    """One kind of AWS resource. Implementations are stateless singletons."""

    kind: ClassVar[str]
    tagged_as: ClassVar[TaggedAs | None]
    """How its objects are listed by the Resource Groups Tagging API, or None when they are not:
    then `observe_owned` is always asked."""
    observe_last: ClassVar[bool]
    """Observed after every other kind, with what they saw in `ObserveContext.others`, so that it
    can read less: a task definition whose revision a service already runs needs no read."""
    rewrites: ClassVar[tuple[Rewrite, ...]]
    """Every way AWS answers this kind's fields differently from how they were sent, and how the
    kind handles each (see `reconciler.plan.rewrites`)."""

    async def observe(
        self, documents: Sequence[Document], context: ObserveContext
    ) -> Mapping[str, LiveResource]:
        """Observe the live objects of these documents with batched reads.

        Returns live resources by document name; a document whose object does not exist is
        simply absent (never an error). Raises `AwsError` when AWS cannot be read.
        """
        ...

    async def observe_facts(
        self, documents: Sequence[Document], context: ObserveContext
    ) -> Mapping[str, Any]:
        """Shared observations other than the kind's own objects, merged into `LiveState.facts`
        (e.g. image digests resolved by BatchGetImage). Most kinds return `{}`."""
        ...

    async def observe_owned(self, context: ObserveContext) -> Sequence[LiveResource]:
        """Every object of this kind owned by this instance (for pruning), named by its source tag.

        A kind observed last is asked after its documents' objects were observed, and may leave out
        what those already account for (`context.others`): such objects are never orphans."""
        ...

    def plan(self, document: Document, live: LiveResource | None, context: PlanContext) -> ResourcePlan:
        """Pure: the delta between document and live object, and the calls that converge it.

        Called only for objects that are missing, owned, or being adopted. Must return no calls
        when nothing differs. Raises `TerminalPlanError` when the document cannot be planned here.
        """
        ...

    def plan_delete(self, live: LiveResource, context: PlanContext) -> ResourcePlan:
        """Pure: the calls that delete an owned object whose document is gone."""
        ...

    def tag_call(self, live: LiveResource, tags: Mapping[str, str]) -> Call | None:
        """Pure: the one call that adds or overwrites `tags` on an existing object (other tags
        kept), or None when the kind's objects cannot be tagged. The planner uses it to record
        the spec hash on a resource whose convergent calls take no tags (UpdateService)."""
        ...


@dataclass(frozen=True)
class KindDescriptor:
    """Everything the rest of the house needs to know of one kind, declared once, in its package's
    `__init__` (`reconciler.resources.<kind>`). The registry builds from the descriptors the kind
    list, the document union and JSON Schema, the checks, the clients the engine opens, the
    rewrite catalogue and the dependency graph between kinds."""

    spec: type[KindSpec]
    """The document's spec model: its `KIND`, AWS name field, references and identity."""
    resource_module: str
    """The module whose `KIND` says how the kind is observed and planned (`<package>.kind`).
    Imported on first use, so that loading and validating specs never imports the AWS SDK."""
    services: tuple[str, ...]
    """The AWS services (botocore client names) its observation and calls use."""
    checks: tuple[Check, ...] = ()
    """Its semantic checks, beyond what its model validates."""
    warnings: tuple[Check, ...] = ()
    """Things that are valid but worth saying (`validate` prints them)."""
    importer_module: str | None = None
    """The module whose `IMPORTER` turns live objects into documents (`ecs-reconciler import`,
    see `reconciler.resources.importing`); None for a kind that is not imported."""

    @property
    def kind(self) -> str:
        return self.spec.KIND

    @property
    def resource(self) -> ResourceKind:
        kind: ResourceKind = importlib.import_module(self.resource_module).KIND
        return kind

    @property
    def importer(self) -> KindImporter | None:
        """The kind's `KindImporter`, or None; imported on first use, like `resource`."""
        if self.importer_module is None:
            return None
        importer: KindImporter = importlib.import_module(self.importer_module).IMPORTER
        return importer

    @property
    def rewrites(self) -> tuple[Rewrite, ...]:
        return self.resource.rewrites


__all__ = [
    "ApiClient",
    "Clients",
    "DependencyWaiting",
    "Environment",
    "KindBase",
    "KindDescriptor",
    "LiveResource",
    "LiveState",
    "ObserveCache",
    "ObserveContext",
    "PlanContext",
    "PlanSettings",
    "ResourceKind",
    "SharedReads",
    "TerminalPlanError",
]
