"""Pydantic models of the spec documents: the envelope and one spec model per kind.

The loader (``reconciler.spec.loader``) validates each YAML document into one of the
``*Manifest`` models here; the resource modules read the typed ``spec`` and call
``spec.model_dump(by_alias=True, exclude_unset=True)`` to get exactly the fields the user set.

Conventions every model follows:

- Python attributes are snake_case; the YAML/JSON keys are the AWS API's names in camelCase
  (ELBv2's PascalCase becomes camelCase). The few names ``to_camel`` gets wrong carry an
  explicit alias (``enableECSManagedTags``, ``sizeInGiB``).
- Optional fields default to ``None`` and never carry AWS's server defaults: a field the spec
  does not set is not managed, so a default here would show up as drift. The only defaults are
  fields that are ours and not AWS's (``imagePinning``), each documented where it is declared.
- Values AWS accepts in several spellings are normalised by the validators here to the one
  form AWS returns (task CPU/memory to the API's unit string, ELBv2 attribute values to
  strings, security group protocol ``all`` to ``-1``), so comparing with live state is plain
  equality.
- Rules inside one object ("exactly one of tag or digest") are model validators here; rules
  that span fields far apart or several documents live in ``reconciler.spec.validate``.

Pure: no I/O, no AWS SDK.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, ClassVar, Literal, Protocol

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    WithJsonSchema,
    create_model,
    field_validator,
)
from pydantic.alias_generators import to_camel

API_VERSION = "ecs-reconciler/v1"


# --- Annotations the product understands -------------------------------------------------
# Behaviour switches live in metadata.annotations (not in spec) because they say how the
# reconciler treats the resource, not what the resource is.

ANNOTATION_PREFIX = "ecs-reconciler/"
#: ``"false"``: report drift on this document but never undo it. Default ``"true"``.
ANNOTATION_SELF_HEAL = "ecs-reconciler/self-heal"
#: ``"true"``: skip this document entirely (no create, update, delete). Default ``"false"``.
ANNOTATION_PAUSED = "ecs-reconciler/paused"
#: ``"true"``: take over (and tag) an existing unowned resource of the same name. Default ``"false"``.
ANNOTATION_ADOPT = "ecs-reconciler/adopt"
#: ``delete`` or ``retain``: whether pruning may delete the resource. Default ``delete``.
ANNOTATION_DELETION_POLICY = "ecs-reconciler/deletion-policy"

BOOLEAN_ANNOTATIONS: frozenset[str] = frozenset({ANNOTATION_SELF_HEAL, ANNOTATION_PAUSED, ANNOTATION_ADOPT})
KNOWN_ANNOTATIONS: frozenset[str] = BOOLEAN_ANNOTATIONS | {ANNOTATION_DELETION_POLICY}
DELETION_POLICIES: tuple[str, ...] = ("delete", "retain")

#: Tag keys with this prefix are the reconciler's ownership tags; specs may not set them.
RESERVED_TAG_PREFIX = "ecs-reconciler/"


class SpecModel(BaseModel):
    """Base of every spec model: strict keys, immutable, camelCase aliases."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, alias_generator=to_camel)


# --- Reusable value types -----------------------------------------------------------------

METADATA_NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"


def _metadata_name(name: str) -> str:
    if re.fullmatch(METADATA_NAME_PATTERN, name) is None:
        raise ValueError(
            f"{name!r} is not a valid name: 1-63 characters of a-z, 0-9 and '-', "
            "starting and ending with a letter or digit"
        )
    return name


MetadataName = Annotated[
    str, AfterValidator(_metadata_name), WithJsonSchema({"type": "string", "pattern": METADATA_NAME_PATTERN})
]
"""A document's logical name, and what references between documents use."""

Port = Annotated[int, Field(ge=1, le=65535)]
VpcRef = Annotated[str, StringConstraints(pattern=r"^(default|vpc-[0-9a-f]+)$")]
SubnetId = Annotated[str, StringConstraints(pattern=r"^subnet-[0-9a-f]+$")]


def _subnets_member(value: object) -> str:
    return "Default" if isinstance(value, str) else "SubnetIds"


# ``default`` (the default VPC's default-for-AZ subnets) or a list of subnet ids. A callable
# discriminator picks the member, so a mistake reports one error rather than one per member.
LoadBalancerSubnets = Annotated[
    Annotated[Literal["default"], Tag("Default")]
    | Annotated[list[SubnetId], Field(min_length=2), Tag("SubnetIds")],
    Discriminator(_subnets_member),
]
"""An ALB's subnets: ``default`` or at least two subnet ids (ELBv2 needs two Availability Zones)."""
ServiceSubnets = Annotated[
    Annotated[Literal["default"], Tag("Default")]
    | Annotated[list[SubnetId], Field(min_length=1, max_length=16), Tag("SubnetIds")],
    Discriminator(_subnets_member),
]
"""A service's awsvpc subnets: ``default`` or 1-16 subnet ids."""
SECURITY_GROUP_ID_PATTERN = r"^sg-[0-9a-f]+$"
SecurityGroupRef = Annotated[
    str, StringConstraints(pattern=r"^(sg-[0-9a-f]+|[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)$")
]
"""A SecurityGroup document's metadata.name, or the literal id (``sg-...``) of an unmanaged group."""

ROLE_PATTERN = r"^(arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]+|[A-Za-z0-9_+=,.@-]{1,64})$"
RoleRef = Annotated[str, StringConstraints(pattern=ROLE_PATTERN)]
"""An IAM role ARN, or a bare role name the resource completes with the caller's account id."""


def is_security_group_id(reference: str) -> bool:
    """True when a security group reference is a literal id rather than a document name."""
    return re.fullmatch(SECURITY_GROUP_ID_PATTERN, reference) is not None


def _validate_tags(tags: dict[str, str]) -> dict[str, str]:
    if len(tags) > 50:
        raise ValueError("at most 50 tags")
    for key, value in tags.items():
        if not 1 <= len(key) <= 128:
            raise ValueError(f"tag key {key!r} must be 1-128 characters")
        if len(value) > 256:
            raise ValueError(f"tag {key!r}: value must be at most 256 characters")
        if key.lower().startswith("aws:"):
            raise ValueError(f"tag key {key!r}: the aws: prefix is reserved by AWS")
        if key.startswith(RESERVED_TAG_PREFIX):
            raise ValueError(
                f"tag key {key!r}: the {RESERVED_TAG_PREFIX} prefix is reserved for ownership tags"
            )
    return tags


def _aws_string(value: object) -> object:
    """AWS's string form of a scalar: booleans as ``true``/``false``, integers as digits.

    ELBv2 attributes, health check ports and matcher codes are strings in the API; users write
    ``stickiness.enabled: true`` or ``httpCode: 200`` in YAML, and comparing with live state must
    not see ``True`` vs ``"true"`` as drift.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return value


AwsString = Annotated[
    str,
    BeforeValidator(_aws_string),
    WithJsonSchema({"type": ["string", "integer", "boolean"]}),
]
"""A string field that also accepts YAML integers and booleans, stored in AWS's string form."""

AwsNumberString = Annotated[
    str,
    BeforeValidator(_aws_string),
    WithJsonSchema({"type": ["string", "integer"]}),
]


# --- CPU and memory -------------------------------------------------------------------------

_UNIT_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?|\.\d+)\s*([A-Za-z]+)?\s*$")


def _quantity(value: object, units: dict[str, int], what: str) -> int:
    """Parse an int, numeric string or ``<number> <unit>`` into an integer count of base units."""
    if isinstance(value, bool):
        raise ValueError(f"{what} must be a number or a string such as {next(iter(units))}")
    if isinstance(value, int):
        amount, unit = Decimal(value), ""
    elif isinstance(value, float):
        amount, unit = Decimal(str(value)), ""
    elif isinstance(value, str):
        match = _UNIT_PATTERN.match(value)
        if match is None:
            raise ValueError(f"{value!r} is not a valid {what}")
        try:
            amount = Decimal(match.group(1))
        except InvalidOperation as error:  # pragma: no cover - the regex admits only decimals
            raise ValueError(f"{value!r} is not a valid {what}") from error
        unit = (match.group(2) or "").lower()
    else:
        raise ValueError(f"{what} must be a number or a string")
    if unit not in units:
        known = ", ".join(repr(name) for name in units if name)
        raise ValueError(f"{value!r}: unknown unit for {what} (use {known} or a plain number)")
    total = amount * units[unit]
    if total != total.to_integral_value() or total <= 0:
        raise ValueError(f"{value!r} is not a whole positive number of {what} units")
    return int(total)


CPU_UNITS: dict[str, int] = {"": 1, "vcpu": 1024, "vcpus": 1024}
MEMORY_UNITS: dict[str, int] = {"": 1, "mb": 1, "mib": 1, "gb": 1024, "gib": 1024}


def parse_cpu_units(value: object) -> int:
    """CPU units from ``1024``, ``"1024"``, ``"1 vCPU"`` or ``"0.25 vCPU"`` (1 vCPU = 1024 units)."""
    return _quantity(value, CPU_UNITS, "CPU")


def parse_memory_mib(value: object) -> int:
    """MiB from ``2048``, ``"2048"``, ``"2 GB"``, ``"2GB"`` or ``"512 MB"`` (ECS's GB means GiB)."""
    return _quantity(value, MEMORY_UNITS, "memory")


_QUANTITY_JSON_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "integer", "minimum": 1},
        {"type": "string", "pattern": r"^\s*(\d+(\.\d+)?|\.\d+)\s*([A-Za-z]+)?\s*$"},
    ]
}

TaskCpu = Annotated[
    str, BeforeValidator(lambda v: str(parse_cpu_units(v))), WithJsonSchema(_QUANTITY_JSON_SCHEMA)
]
"""Task-level CPU, normalised to the API's string of CPU units (``"1 vCPU"`` becomes ``"1024"``)."""
TaskMemory = Annotated[
    str, BeforeValidator(lambda v: str(parse_memory_mib(v))), WithJsonSchema(_QUANTITY_JSON_SCHEMA)
]
"""Task-level memory, normalised to the API's string of MiB (``"2 GB"`` becomes ``"2048"``)."""
ContainerCpu = Annotated[
    int, BeforeValidator(lambda v: 0 if v == 0 else parse_cpu_units(v)), WithJsonSchema(_QUANTITY_JSON_SCHEMA)
]
"""Container-level CPU units (an integer in the API); the same spellings as the task level."""
ContainerMemory = Annotated[int, BeforeValidator(parse_memory_mib), WithJsonSchema(_QUANTITY_JSON_SCHEMA)]
"""Container-level MiB (an integer in the API); the same spellings as the task level."""


# --- Envelope -------------------------------------------------------------------------------


class Metadata(SpecModel):
    """``metadata``: the logical name other documents refer to, labels, behaviour annotations."""

    name: MetadataName
    namespace: MetadataName | None = None
    """The Target (``kind: Target``, ``reconciler.spec.targets``) this document is converged into;
    None: the default target, the process's own credentials and Region. Names are unique per kind
    within a namespace, and references never leave it."""
    # Empty maps rather than None: labels and annotations are ours, not AWS fields, so an
    # empty default never shows as drift and callers need no None checks.
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)

    @field_validator("annotations")
    @classmethod
    def _known_annotation_values(cls, annotations: dict[str, str]) -> dict[str, str]:
        for key, value in annotations.items():
            if key in BOOLEAN_ANNOTATIONS and value not in ("true", "false"):
                raise ValueError(f'{key} must be "true" or "false", not {value!r}')
            if key == ANNOTATION_DELETION_POLICY and value not in DELETION_POLICIES:
                raise ValueError(f"{key} must be one of {', '.join(DELETION_POLICIES)}, not {value!r}")
            if key.startswith(ANNOTATION_PREFIX) and key not in KNOWN_ANNOTATIONS:
                known = ", ".join(sorted(KNOWN_ANNOTATIONS))
                raise ValueError(f"unknown annotation {key!r} (known: {known})")
        return annotations

    def _annotation(self, key: str) -> str | None:
        return self.annotations.get(key)

    @property
    def self_heal(self) -> bool:
        """Whether drift on this document is undone (default) or only reported."""
        return self._annotation(ANNOTATION_SELF_HEAL) != "false"

    @property
    def paused(self) -> bool:
        """Whether the reconciler skips this document."""
        return self._annotation(ANNOTATION_PAUSED) == "true"

    @property
    def adopt(self) -> bool:
        """Whether an existing unowned resource of the same name may be taken over."""
        return self._annotation(ANNOTATION_ADOPT) == "true"

    @property
    def deletion_policy(self) -> Literal["delete", "retain"]:
        """``retain`` keeps the resource when its document is removed, even with pruning on."""
        return "retain" if self._annotation(ANNOTATION_DELETION_POLICY) == "retain" else "delete"


FieldPath = tuple[str | int, ...]
"""A field's path in a document, keys as written: ``("spec", "containerDefinitions", 0, "image")``."""


def line_of(positions: Mapping[FieldPath, int], path: Sequence[str | int], *, default: int) -> int:
    """The line of ``path`` in a document whose written fields are at ``positions``, or of its
    nearest written ancestor (a missing field points at its parent), or ``default`` (the document's
    own line): so every message can point somewhere useful."""
    candidate = tuple(path)
    while candidate:
        line = positions.get(candidate)
        if line is not None:
            return line
        candidate = candidate[:-1]
    return default


MAIN_PART = "main"
"""The step group a resource's own object is created or changed in; what others wait for by default."""


@dataclass(frozen=True)
class ReferenceTo:
    """A reference one spec makes to another document, by ``metadata.name``, as its kind declares it.

    ``path`` is the field from the document root as written (``("spec", "cluster")``).
    ``creation_edge`` is True when the target must exist before the source can be created (a
    security group rule naming another group is not: rules are applied once every group exists,
    so such references never form a cycle). ``part`` is the source's step group that waits and
    ``needs`` the target's step group it waits for (a load balancer's listeners wait for the
    target groups they forward to; its own object does not; ``None``: writes wait for nothing,
    as an image URI is known before its repository exists). ``also_after`` names a step group of
    every *other* document that refers to the same target (a service's target group is usable by
    ECS only once a load balancer's listener forwards to it: the load balancers' listeners part).
    """

    kind: str
    name: str
    path: FieldPath
    creation_edge: bool = True
    part: str = MAIN_PART
    needs: str | None = MAIN_PART
    also_after: tuple[str, str] | None = None


class KindSpec(SpecModel):
    """Base of each kind's ``spec``: tags, the AWS name that defaults to metadata.name, and what a
    kind declares about its documents for the kind-neutral code (loader, checks, dependency graph).
    """

    KIND: ClassVar[str]
    """The ``kind:`` written in the files."""
    #: Python attribute of the AWS name field (``repository_name``, ``family``, ...).
    AWS_NAME_FIELD: ClassVar[str]
    REFERENCED_KINDS: ClassVar[frozenset[str]] = frozenset()
    """Every kind ``references`` may name: the kind-level dependency graph, which orders planning
    (referenced kinds first) and deletion (referring kinds first), is built from these."""

    tags: dict[str, str] | None = None

    @field_validator("tags")
    @classmethod
    def _tag_rules(cls, tags: dict[str, str] | None) -> dict[str, str] | None:
        return None if tags is None else _validate_tags(tags)

    def aws_name(self, metadata_name: str) -> str:
        """The resource's AWS name: the spec's name field when set, else ``metadata_name``."""
        explicit = getattr(self, self.AWS_NAME_FIELD)
        return explicit if isinstance(explicit, str) else metadata_name

    def references(self) -> Iterator[ReferenceTo]:
        """Every document this spec names, in the order written; literal ids (``sg-...``) are none.
        Each names a kind in ``REFERENCED_KINDS``."""
        return iter(())

    def aws_identity(self, aws_name: str) -> tuple[Any, ...]:
        """What AWS keeps unique for this kind: the name, unless a kind scopes it further (per
        cluster for services, per VPC for groups). Two documents with one identity are an error."""
        return (aws_name,)

    def uses_default_network(self) -> bool:
        """True when the spec says ``vpc: default`` or ``subnets: default``: the engine then looks
        the default VPC and its subnets up once per pass (never during validation)."""
        return False


AWS_NAME_255 = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_-]+$")]
"""An ECS name: cluster, task definition family, service."""


class CapacityProviderStrategyItem(SpecModel):
    capacity_provider: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    base: Annotated[int, Field(ge=0, le=100000)] | None = None
    weight: Annotated[int, Field(ge=0, le=1000)] | None = None


# --- Shared by the ELBv2 kinds and by ECR policies ---

ELB_NAME_PATTERN = r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?$"


def _not_internal(name: str) -> str:
    # ELBv2 reserves the prefix for internal load balancers' DNS names.
    if name.startswith("internal-"):
        raise ValueError('a name must not start with "internal-"')
    return name


ElbName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=32, pattern=ELB_NAME_PATTERN),
    AfterValidator(_not_internal),
]

Attributes = dict[Annotated[str, StringConstraints(min_length=1)], AwsString]
"""ELBv2 attributes by AWS key; values normalised to AWS's strings (``true``, ``30``)."""


def canonical_json(value: Any) -> str:
    """The one JSON text of a value: sorted keys, compact separators (ECR stores policies as text)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# --- Manifests: envelope + spec, one per kind ---------------------------------------------------------


class ManifestBase(SpecModel):
    api_version: Literal["ecs-reconciler/v1"]
    kind: str
    metadata: Metadata
    spec: KindSpec

    @property
    def aws_name(self) -> str:
        """The resource's AWS name: the spec's name field, defaulting to metadata.name."""
        return self.spec.aws_name(self.metadata.name)


@functools.cache
def manifest_model(spec_model: type[KindSpec]) -> type[ManifestBase]:
    """The envelope of one kind's documents (``kind: Literal[...]`` and its ``spec`` model):
    what the loader validates a document into, and one member of the schema's union."""
    kind = spec_model.KIND
    model: type[ManifestBase] = create_model(
        f"{kind}Manifest",
        __base__=ManifestBase,
        __module__=spec_model.__module__,
        kind=(Literal[kind], ...),  # type: ignore[arg-type]  # a Literal built at run time
        spec=(spec_model, ...),
    )
    return model


class Named(Protocol):
    """Anything with metadata and a kind spec: a ``*Manifest`` or a loaded ``Document``."""

    @property
    def metadata(self) -> Metadata: ...

    @property
    def spec(self) -> KindSpec: ...


def aws_name(document: Named) -> str:
    """The AWS name of a document's resource: its spec's name field, else metadata.name."""
    return document.spec.aws_name(document.metadata.name)
