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

import contextlib
import ipaddress
import json
import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, Protocol, Self

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
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

API_VERSION = "ecs-reconciler/v1"


class Kind(StrEnum):
    """The document kinds. Values are the ``kind:`` strings written in the files."""

    REPOSITORY = "Repository"
    CLUSTER = "Cluster"
    TASK_DEFINITION = "TaskDefinition"
    SECURITY_GROUP = "SecurityGroup"
    TARGET_GROUP = "TargetGroup"
    LOAD_BALANCER = "LoadBalancer"
    SERVICE = "Service"


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


class KindSpec(SpecModel):
    """Base of each kind's ``spec``: tags, and the AWS name that defaults to metadata.name."""

    #: Python attribute of the AWS name field (``repository_name``, ``family``, ...).
    AWS_NAME_FIELD: ClassVar[str]

    tags: dict[str, str] | None = None

    @field_validator("tags")
    @classmethod
    def _tag_rules(cls, tags: dict[str, str] | None) -> dict[str, str] | None:
        return None if tags is None else _validate_tags(tags)

    def aws_name(self, metadata_name: str) -> str:
        """The resource's AWS name: the spec's name field when set, else ``metadata_name``."""
        explicit = getattr(self, self.AWS_NAME_FIELD)
        return explicit if isinstance(explicit, str) else metadata_name


# --- Repository (ECR) -------------------------------------------------------------------------

REPOSITORY_NAME_PATTERN = r"^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$"


def canonical_json(value: Any) -> str:
    """The one JSON text of a value: sorted keys, compact separators (ECR stores policies as text)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class ImageScanningConfiguration(SpecModel):
    scan_on_push: bool


KMS_KEY_ID = re.compile(r"^(mrk-[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")
_KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/.+$")


def _kms_key(value: str) -> str:
    if not (KMS_KEY_ID.match(value) or _KMS_KEY_ARN.match(value)):
        raise ValueError(
            "give the KMS key's ARN or key id: ECR answers with the key ARN, so an alias would differ "
            "on every pass and block the repository (encryption cannot change)"
        )
    return value


class EncryptionConfiguration(SpecModel):
    encryption_type: Literal["AES256", "KMS"]
    kms_key: Annotated[str, AfterValidator(_kms_key)] | None = None
    """A key ARN, or a key id, completed to the ARN with the account and Region it is used in."""

    @model_validator(mode="after")
    def _kms_key_only_with_kms(self) -> Self:
        if self.kms_key is not None and self.encryption_type != "KMS":
            raise ValueError("kmsKey is only allowed with encryptionType KMS")
        return self


class ImageTagMutabilityExclusionFilter(SpecModel):
    filter_type: Literal["WILDCARD"]
    filter: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class LifecycleSelection(SpecModel):
    tag_status: Literal["tagged", "untagged", "any"]
    tag_prefix_list: list[str] | None = None
    tag_pattern_list: list[str] | None = None
    count_type: Literal["imageCountMoreThan", "sinceImagePushed"]
    count_unit: Literal["days"] | None = None
    count_number: Annotated[int, Field(ge=1)]

    @model_validator(mode="after")
    def _ecr_selection_rules(self) -> Self:
        if self.count_type == "sinceImagePushed" and self.count_unit is None:
            raise ValueError("countUnit is required with countType sinceImagePushed")
        if self.count_type == "imageCountMoreThan" and self.count_unit is not None:
            raise ValueError("countUnit is only allowed with countType sinceImagePushed")
        if self.tag_status == "tagged" and not (self.tag_prefix_list or self.tag_pattern_list):
            raise ValueError("tagStatus tagged needs tagPrefixList or tagPatternList")
        if self.tag_status != "tagged" and (self.tag_prefix_list or self.tag_pattern_list):
            raise ValueError("tagPrefixList and tagPatternList are only allowed with tagStatus tagged")
        return self


class LifecycleAction(SpecModel):
    type: Literal["expire"]


class LifecycleRule(SpecModel):
    rule_priority: Annotated[int, Field(ge=1)]
    description: str | None = None
    selection: LifecycleSelection
    action: LifecycleAction


class LifecyclePolicy(SpecModel):
    rules: Annotated[list[LifecycleRule], Field(min_length=1)]

    @field_validator("rules")
    @classmethod
    def _unique_priorities(cls, rules: list[LifecycleRule]) -> list[LifecycleRule]:
        priorities = [rule.rule_priority for rule in rules]
        duplicates = sorted({p for p in priorities if priorities.count(p) > 1})
        if duplicates:
            raise ValueError(f"rulePriority must be unique, repeated: {', '.join(map(str, duplicates))}")
        return rules

    def policy_text(self) -> str:
        """The ``lifecyclePolicyText`` PutLifecyclePolicy takes, in canonical JSON."""
        return canonical_json(self.model_dump(by_alias=True, exclude_none=True))


class RepositorySpec(KindSpec):
    """An ECR repository. ``forceDelete`` is ours: pruning may delete a repository holding images."""

    AWS_NAME_FIELD: ClassVar[str] = "repository_name"

    repository_name: (
        Annotated[str, StringConstraints(min_length=2, max_length=256, pattern=REPOSITORY_NAME_PATTERN)]
        | None
    ) = None
    image_tag_mutability: (
        Literal["MUTABLE", "IMMUTABLE", "MUTABLE_WITH_EXCLUSION", "IMMUTABLE_WITH_EXCLUSION"] | None
    ) = None
    image_tag_mutability_exclusion_filters: list[ImageTagMutabilityExclusionFilter] | None = None
    image_scanning_configuration: ImageScanningConfiguration | None = None
    encryption_configuration: EncryptionConfiguration | None = None
    lifecycle_policy: LifecyclePolicy | None = None
    repository_policy: dict[str, Any] | None = None
    force_delete: bool | None = None

    @model_validator(mode="after")
    def _exclusion_filters_match_mutability(self) -> Self:
        with_exclusion = (self.image_tag_mutability or "").endswith("_WITH_EXCLUSION")
        if with_exclusion and not self.image_tag_mutability_exclusion_filters:
            raise ValueError(
                f"imageTagMutability {self.image_tag_mutability} needs imageTagMutabilityExclusionFilters"
            )
        if self.image_tag_mutability_exclusion_filters and not with_exclusion:
            raise ValueError("imageTagMutabilityExclusionFilters need a *_WITH_EXCLUSION imageTagMutability")
        return self

    def lifecycle_policy_text(self) -> str | None:
        """The lifecycle policy as the API's JSON text, or None when the spec does not manage it."""
        return None if self.lifecycle_policy is None else self.lifecycle_policy.policy_text()

    def repository_policy_text(self) -> str | None:
        """The repository policy as canonical JSON text, or None when the spec does not manage it."""
        return None if self.repository_policy is None else canonical_json(self.repository_policy)


# --- Cluster ------------------------------------------------------------------------------------

AWS_NAME_255 = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_-]+$")]


class CapacityProviderStrategyItem(SpecModel):
    capacity_provider: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    base: Annotated[int, Field(ge=0, le=100000)] | None = None
    weight: Annotated[int, Field(ge=0, le=1000)] | None = None


class ClusterSetting(SpecModel):
    name: Literal["containerInsights"]
    value: Literal["enabled", "disabled", "enhanced"]


class ExecuteCommandLogConfiguration(SpecModel):
    cloud_watch_log_group_name: str | None = None
    cloud_watch_encryption_enabled: bool | None = None
    s3_bucket_name: str | None = None
    s3_encryption_enabled: bool | None = None
    s3_key_prefix: str | None = None


class ExecuteCommandConfiguration(SpecModel):
    kms_key_id: str | None = None
    logging: Literal["DEFAULT", "NONE", "OVERRIDE"] | None = None
    log_configuration: ExecuteCommandLogConfiguration | None = None

    @model_validator(mode="after")
    def _log_configuration_only_with_override(self) -> Self:
        if self.log_configuration is not None and self.logging != "OVERRIDE":
            raise ValueError("logConfiguration is only allowed with logging OVERRIDE")
        return self


class ClusterConfiguration(SpecModel):
    execute_command_configuration: ExecuteCommandConfiguration | None = None


_NAMESPACE_ARN = re.compile(r"^arn:aws[a-z-]*:servicediscovery:[a-z0-9-]+:\d{12}:namespace/ns-[a-z0-9]+$")


def _namespace_arn(value: str) -> str:
    if not _NAMESPACE_ARN.match(value):
        raise ValueError(
            "give the Cloud Map namespace's ARN (arn:aws:servicediscovery:REGION:ACCOUNT:namespace/ns-...): "
            "ECS answers with the ARN even when sent a name, so a name would show as a change on every pass"
        )
    return value


class ServiceConnectDefaults(SpecModel):
    namespace: Annotated[str, AfterValidator(_namespace_arn)]
    """The Cloud Map namespace's ARN (see `_namespace_arn`)."""


class ClusterSpec(KindSpec):
    """An ECS cluster and its capacity providers."""

    AWS_NAME_FIELD: ClassVar[str] = "cluster_name"

    cluster_name: AWS_NAME_255 | None = None
    capacity_providers: list[Annotated[str, StringConstraints(min_length=1, max_length=255)]] | None = None
    default_capacity_provider_strategy: list[CapacityProviderStrategyItem] | None = None
    settings: list[ClusterSetting] | None = None
    configuration: ClusterConfiguration | None = None
    service_connect_defaults: ServiceConnectDefaults | None = None


# --- TaskDefinition ----------------------------------------------------------------------------

DIGEST_PATTERN = r"^sha256:[0-9a-f]{64}$"


class RepositoryImage(SpecModel):
    """A container image from a managed Repository document, by tag or by digest (exactly one).

    The reconciler turns it into the repository's URI; see ``TaskDefinitionSpec.image_pinning``.
    """

    repository: MetadataName
    tag: Annotated[str, StringConstraints(min_length=1, max_length=300)] | None = None
    digest: Annotated[str, StringConstraints(pattern=DIGEST_PATTERN)] | None = None

    @model_validator(mode="after")
    def _exactly_one_of_tag_or_digest(self) -> Self:
        if (self.tag is None) == (self.digest is None):
            raise ValueError("an image from a repository needs exactly one of tag or digest")
        return self


def _image_member(value: object) -> str | None:
    # Tag names are capitalised so they can never be mistaken for a key the user wrote.
    if isinstance(value, str):
        return "ImageReference"
    if isinstance(value, dict | RepositoryImage):
        return "RepositoryImage"
    return None


ContainerImage = Annotated[
    Annotated[Annotated[str, StringConstraints(min_length=1, max_length=1024)], Tag("ImageReference")]
    | Annotated[RepositoryImage, Tag("RepositoryImage")],
    Discriminator(
        _image_member,
        custom_error_type="image_type",
        custom_error_message="image must be an image reference string or {repository, tag | digest}",
    ),
]
"""A literal image reference (used as written) or a ``RepositoryImage``."""


class PortMapping(SpecModel):
    container_port: Port
    host_port: Annotated[int, Field(ge=0, le=65535)] | None = None
    protocol: Literal["tcp", "udp"] | None = None
    name: (
        Annotated[
            str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
        ]
        | None
    ) = None
    app_protocol: Literal["http", "http2", "grpc"] | None = None


class KeyValuePair(SpecModel):
    name: Annotated[str, StringConstraints(min_length=1)]
    value: str


class Secret(SpecModel):
    name: Annotated[str, StringConstraints(min_length=1)]
    value_from: Annotated[str, StringConstraints(min_length=1)]


class LogConfiguration(SpecModel):
    log_driver: Literal[
        "awslogs", "fluentd", "gelf", "json-file", "journald", "logentries", "splunk", "syslog", "awsfirelens"
    ]
    options: dict[str, str] | None = None
    secret_options: list[Secret] | None = None


class ContainerHealthCheck(SpecModel):
    command: Annotated[list[str], Field(min_length=1)]
    interval: Annotated[int, Field(ge=5, le=300)] | None = None
    timeout: Annotated[int, Field(ge=2, le=120)] | None = None
    retries: Annotated[int, Field(ge=1, le=10)] | None = None
    start_period: Annotated[int, Field(ge=0, le=300)] | None = None


class ContainerDependency(SpecModel):
    container_name: str
    condition: Literal["START", "COMPLETE", "SUCCESS", "HEALTHY"]


class Ulimit(SpecModel):
    name: Literal[
        "core",
        "cpu",
        "data",
        "fsize",
        "locks",
        "memlock",
        "msgqueue",
        "nice",
        "nofile",
        "nproc",
        "rss",
        "rtprio",
        "rttime",
        "sigpending",
        "stack",
    ]
    soft_limit: int
    hard_limit: int

    @model_validator(mode="after")
    def _soft_within_hard(self) -> Self:
        if self.soft_limit > self.hard_limit:
            raise ValueError("softLimit must not exceed hardLimit")
        return self


class MountPoint(SpecModel):
    source_volume: str
    container_path: str
    read_only: bool | None = None


class ContainerDefinition(SpecModel):
    """One container of a task definition; field names and meaning are ECS's."""

    name: Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_-]+$")]
    image: ContainerImage
    cpu: ContainerCpu | None = None
    memory: ContainerMemory | None = None
    memory_reservation: ContainerMemory | None = None
    essential: bool | None = None
    port_mappings: list[PortMapping] | None = None
    environment: list[KeyValuePair] | None = None
    secrets: list[Secret] | None = None
    command: list[str] | None = None
    entry_point: list[str] | None = None
    working_directory: str | None = None
    log_configuration: LogConfiguration | None = None
    health_check: ContainerHealthCheck | None = None
    depends_on: list[ContainerDependency] | None = None
    ulimits: list[Ulimit] | None = None
    mount_points: list[MountPoint] | None = None
    readonly_root_filesystem: bool | None = None
    user: str | None = None
    stop_timeout: Annotated[int, Field(ge=0, le=120)] | None = None
    linux_parameters: dict[str, Any] | None = None
    docker_labels: dict[str, str] | None = None


class HostVolume(SpecModel):
    source_path: str | None = None


class EfsAuthorizationConfig(SpecModel):
    access_point_id: str | None = None
    iam: Literal["ENABLED", "DISABLED"] | None = None


class EfsVolumeConfiguration(SpecModel):
    file_system_id: Annotated[str, StringConstraints(pattern=r"^fs-[0-9a-f]+$")]
    root_directory: str | None = None
    transit_encryption: Literal["ENABLED", "DISABLED"] | None = None
    transit_encryption_port: Port | None = None
    authorization_config: EfsAuthorizationConfig | None = None


class Volume(SpecModel):
    name: Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_-]+$")]
    host: HostVolume | None = None
    efs_volume_configuration: EfsVolumeConfiguration | None = None

    @model_validator(mode="after")
    def _one_volume_source(self) -> Self:
        if self.host is not None and self.efs_volume_configuration is not None:
            raise ValueError("a volume has either host or efsVolumeConfiguration, not both")
        return self


class RuntimePlatform(SpecModel):
    cpu_architecture: Literal["X86_64", "ARM64"] | None = None
    operating_system_family: (
        Literal[
            "LINUX",
            "WINDOWS_SERVER_2019_FULL",
            "WINDOWS_SERVER_2019_CORE",
            "WINDOWS_SERVER_2022_FULL",
            "WINDOWS_SERVER_2022_CORE",
            "WINDOWS_SERVER_2025_FULL",
            "WINDOWS_SERVER_2025_CORE",
            "WINDOWS_SERVER_20H2_CORE",
            "WINDOWS_SERVER_2004_CORE",
            "WINDOWS_SERVER_2016_FULL",
        ]
        | None
    ) = None


class EphemeralStorage(SpecModel):
    size_in_gib: Annotated[int, Field(ge=21, le=200, alias="sizeInGiB")]


Compatibility = Literal["FARGATE", "EC2", "EXTERNAL", "MANAGED_INSTANCES"]


class TaskDefinitionSpec(KindSpec):
    """A task definition family; each change registers a new revision.

    ``imagePinning`` is ours, not an AWS field: ``tag`` (the default) puts ``uri:tag`` into the
    container definition; ``digest`` resolves the tag and pins ``uri@sha256:...`` so a moved tag
    rolls out.
    """

    AWS_NAME_FIELD: ClassVar[str] = "family"

    family: AWS_NAME_255 | None = None
    cpu: TaskCpu | None = None
    memory: TaskMemory | None = None
    network_mode: Literal["awsvpc", "bridge", "host", "none"] | None = None
    requires_compatibilities: list[Compatibility] | None = None
    runtime_platform: RuntimePlatform | None = None
    execution_role_arn: RoleRef | None = None
    task_role_arn: RoleRef | None = None
    image_pinning: Literal["tag", "digest"] = "tag"
    container_definitions: Annotated[list[ContainerDefinition], Field(min_length=1)]
    volumes: list[Volume] | None = None
    ephemeral_storage: EphemeralStorage | None = None


# --- SecurityGroup -------------------------------------------------------------------------------

_PROTOCOLS = {"tcp": "tcp", "udp": "udp", "icmp": "icmp", "icmpv6": "icmpv6", "-1": "-1", "all": "-1"}
# EC2 accepts these IANA numbers and answers with the names, so a spec saying `6` is stored as `tcp`.
_PROTOCOLS |= {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}


def _normalise_protocol(value: object) -> object:
    """``all``, ``-1`` and the YAML integer ``-1`` all mean every protocol: AWS's ``"-1"``; the
    numbers of the four named protocols become their names (``6`` is ``tcp``)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, str):
        return _PROTOCOLS.get(value.lower(), value)
    return value


RuleProtocol = Annotated[
    Literal["tcp", "udp", "icmp", "icmpv6", "-1"],
    BeforeValidator(_normalise_protocol),
    WithJsonSchema(
        {
            "anyOf": [
                {
                    "enum": [
                        "tcp",
                        "udp",
                        "icmp",
                        "icmpv6",
                        "-1",
                        "all",
                        "TCP",
                        "UDP",
                        "ICMP",
                        "ICMPV6",
                        "ALL",
                        "6",
                        "17",
                        "1",
                        "58",
                    ]
                },
                {"enum": [-1, 6, 17, 1, 58]},
            ]
        }
    ),
]


def _cidr(value: str, version: int) -> str:
    """The block in the one form EC2 stores and answers with (lower-case hex, zeros compressed, no
    leading zeros): re-authorising another spelling of a stored block fails as a duplicate.

    EC2 would also clear host bits (``10.0.0.1/8`` is stored as ``10.0.0.0/8``); that is refused
    here instead, naming the stored form, since a rule wider than it reads is more often a mistake.
    """
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as error:
        message = f"{value!r} is not a valid CIDR block ({error})"
        with contextlib.suppress(ValueError):
            message += f"; EC2 stores it as {ipaddress.ip_network(value, strict=False)}, so write that"
        raise ValueError(message) from error
    if network.version != version or "/" not in value:
        raise ValueError(
            f"{value!r} is not an IPv{version} CIDR block such as {'0.0.0.0/0' if version == 4 else '::/0'}"
        )
    return str(network)


class SecurityGroupRule(SpecModel):
    """One ingress or egress rule. For egress the "source" fields name the destination.

    Ports: ``port`` alone, or ``fromPort`` with ``toPort``; for ICMP they are type and code.
    Exactly one of ``cidr``, ``ipv6Cidr``, ``securityGroup``, ``prefixListId``.
    """

    protocol: RuleProtocol
    port: Annotated[int, Field(ge=-1, le=65535)] | None = None
    from_port: Annotated[int, Field(ge=-1, le=65535)] | None = None
    to_port: Annotated[int, Field(ge=-1, le=65535)] | None = None
    cidr: str | None = None
    ipv6_cidr: str | None = None
    security_group: SecurityGroupRef | None = None
    prefix_list_id: Annotated[str, StringConstraints(pattern=r"^pl-[0-9a-f]+$")] | None = None
    description: Annotated[str, StringConstraints(max_length=255)] | None = None

    @field_validator("cidr")
    @classmethod
    def _ipv4_cidr(cls, value: str | None) -> str | None:
        return None if value is None else _cidr(value, 4)

    @field_validator("ipv6_cidr")
    @classmethod
    def _ipv6_cidr(cls, value: str | None) -> str | None:
        return None if value is None else _cidr(value, 6)

    @model_validator(mode="after")
    def _one_source_and_one_port_form(self) -> Self:
        sources = [self.cidr, self.ipv6_cidr, self.security_group, self.prefix_list_id]
        if sum(source is not None for source in sources) != 1:
            raise ValueError("a rule needs exactly one of cidr, ipv6Cidr, securityGroup, prefixListId")
        ranged = self.from_port is not None or self.to_port is not None
        if self.port is not None and ranged:
            raise ValueError("use either port or fromPort/toPort, not both")
        if (self.from_port is None) != (self.to_port is None):
            raise ValueError("fromPort and toPort go together")
        if self.protocol == "-1" and (self.port is not None or ranged):
            raise ValueError("protocol -1 (all) covers every port; remove the port fields")
        if self.protocol in ("tcp", "udp") and self.port is None and not ranged:
            raise ValueError(f"protocol {self.protocol} needs port or fromPort/toPort")
        return self

    @property
    def port_range(self) -> tuple[int, int] | None:
        """``(fromPort, toPort)`` as AWS stores them, or None for all ports/ICMP without ports."""
        if self.port is not None:
            return (self.port, self.port)
        if self.from_port is not None and self.to_port is not None:
            return (self.from_port, self.to_port)
        return None


def _not_a_group_id(name: str) -> str:
    # EC2 refuses names that look like group ids, which would also make references ambiguous.
    if name.startswith("sg-"):
        raise ValueError('a group name must not start with "sg-"')
    return name


GroupName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_ .:/()#,@\[\]+=&;{}!$*-]+$"),
    AfterValidator(_not_a_group_id),
]


class SecurityGroupSpec(KindSpec):
    """A VPC security group with its ingress and egress rules.

    ``description`` has no default here: AWS requires one on create, and the resource uses
    "Managed by ecs-reconciler" when the spec leaves it out (a description cannot change later).
    """

    AWS_NAME_FIELD: ClassVar[str] = "group_name"

    group_name: GroupName | None = None
    description: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    vpc: VpcRef
    ingress: list[SecurityGroupRule] | None = None
    egress: list[SecurityGroupRule] | None = None


# --- TargetGroup ------------------------------------------------------------------------------------

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


class Matcher(SpecModel):
    http_code: AwsNumberString | None = None
    grpc_code: AwsNumberString | None = None

    @model_validator(mode="after")
    def _exactly_one_code(self) -> Self:
        if (self.http_code is None) == (self.grpc_code is None):
            raise ValueError("matcher needs exactly one of httpCode or grpcCode")
        return self


def _health_check_port(value: object) -> object:
    value = _aws_string(value)
    if value == "traffic-port":
        return value
    if isinstance(value, str) and value.isdigit() and 1 <= int(value) <= 65535:
        return value
    raise ValueError('port must be "traffic-port" or a port number 1-65535')


HealthCheckPort = Annotated[
    str,
    BeforeValidator(_health_check_port),
    WithJsonSchema(
        {
            "anyOf": [
                {"const": "traffic-port"},
                {"type": "integer", "minimum": 1, "maximum": 65535},
                {"type": "string", "pattern": r"^\d{1,5}$"},
            ]
        }
    ),
]


class TargetGroupHealthCheck(SpecModel):
    """Grouped here; the API's flat ``HealthCheck*`` fields (``path`` is ``HealthCheckPath``)."""

    enabled: bool | None = None
    path: Annotated[str, StringConstraints(min_length=1, max_length=1024, pattern=r"^/")] | None = None
    protocol: Literal["HTTP", "HTTPS", "TCP", "TLS", "UDP", "TCP_UDP", "GENEVE"] | None = None
    port: HealthCheckPort | None = None
    interval_seconds: Annotated[int, Field(ge=5, le=300)] | None = None
    timeout_seconds: Annotated[int, Field(ge=2, le=120)] | None = None
    healthy_threshold_count: Annotated[int, Field(ge=2, le=10)] | None = None
    unhealthy_threshold_count: Annotated[int, Field(ge=2, le=10)] | None = None
    matcher: Matcher | None = None


class TargetGroupSpec(KindSpec):
    """An ELBv2 target group."""

    AWS_NAME_FIELD: ClassVar[str] = "target_group_name"

    target_group_name: ElbName | None = None
    protocol: Literal["HTTP", "HTTPS", "TCP", "TLS", "UDP", "TCP_UDP", "GENEVE"] | None = None
    protocol_version: Literal["HTTP1", "HTTP2", "GRPC"] | None = None
    port: Port | None = None
    target_type: Literal["instance", "ip", "lambda", "alb"] | None = None
    vpc: VpcRef | None = None
    ip_address_type: Literal["ipv4", "ipv6"] | None = None
    health_check: TargetGroupHealthCheck | None = None
    attributes: Attributes | None = None


# --- LoadBalancer -------------------------------------------------------------------------------------


class ForwardTargetGroup(SpecModel):
    target_group: MetadataName
    weight: Annotated[int, Field(ge=0, le=999)] | None = None


class TargetGroupStickinessConfig(SpecModel):
    enabled: bool
    duration_seconds: Annotated[int, Field(ge=1, le=604800)] | None = None


class ForwardConfig(SpecModel):
    target_groups: Annotated[list[ForwardTargetGroup], Field(min_length=1, max_length=5)]
    target_group_stickiness_config: TargetGroupStickinessConfig | None = None


class ForwardAction(SpecModel):
    """Forward to one TargetGroup document (``targetGroup``) or several weighted (``forwardConfig``)."""

    type: Literal["forward"]
    target_group: MetadataName | None = None
    forward_config: ForwardConfig | None = None

    @model_validator(mode="after")
    def _exactly_one_target(self) -> Self:
        if (self.target_group is None) == (self.forward_config is None):
            raise ValueError("a forward action needs exactly one of targetGroup or forwardConfig")
        return self

    @property
    def target_group_names(self) -> list[str]:
        """Every TargetGroup document this action forwards to."""
        if self.target_group is not None:
            return [self.target_group]
        return (
            [item.target_group for item in self.forward_config.target_groups] if self.forward_config else []
        )


class RedirectConfig(SpecModel):
    protocol: Annotated[str, StringConstraints(pattern=r"^(HTTP|HTTPS|#\{protocol\})$")] | None = None
    port: AwsNumberString | None = None
    host: str | None = None
    path: str | None = None
    query: str | None = None
    status_code: Literal["HTTP_301", "HTTP_302"]


class RedirectAction(SpecModel):
    type: Literal["redirect"]
    redirect_config: RedirectConfig


class FixedResponseConfig(SpecModel):
    status_code: Annotated[AwsNumberString, StringConstraints(pattern=r"^[245]\d\d$")]
    content_type: (
        Literal["text/plain", "text/css", "text/html", "application/javascript", "application/json"] | None
    ) = None
    message_body: Annotated[str, StringConstraints(max_length=1024)] | None = None


class FixedResponseAction(SpecModel):
    type: Literal["fixed-response"]
    fixed_response_config: FixedResponseConfig


Action = Annotated[ForwardAction | RedirectAction | FixedResponseAction, Field(discriminator="type")]
"""ELBv2's Action: the config that goes with ``type`` is required, the others are unknown fields."""


class RuleCondition(SpecModel):
    field: Literal[
        "path-pattern", "host-header", "http-header", "http-request-method", "query-string", "source-ip"
    ]
    values: Annotated[list[str], Field(min_length=1)]
    #: Only for ``field: http-header``: which header the values match.
    http_header_name: str | None = None

    @model_validator(mode="after")
    def _header_name_with_http_header(self) -> Self:
        if (self.field == "http-header") != (self.http_header_name is not None):
            raise ValueError("httpHeaderName is required with field http-header and allowed only there")
        return self


class ListenerRule(SpecModel):
    priority: Annotated[int, Field(ge=1, le=50000)]
    conditions: Annotated[list[RuleCondition], Field(min_length=1, max_length=5)]
    actions: Annotated[list[Action], Field(min_length=1, max_length=1)]


class Certificate(SpecModel):
    certificate_arn: Annotated[str, StringConstraints(pattern=r"^arn:aws[a-z-]*:(acm|iam):")]


class Listener(SpecModel):
    """One listener of a load balancer, keyed by port.

    ``certificates``: the first is the listener's default certificate (the one CreateListener and
    ModifyListener take); the others are its additional (SNI) certificates, a set by ARN.
    """

    port: Port
    protocol: Literal["HTTP", "HTTPS"]
    ssl_policy: str | None = None
    certificates: list[Certificate] | None = None
    default_action: Action
    rules: list[ListenerRule] | None = None

    @model_validator(mode="after")
    def _certificates_with_https(self) -> Self:
        if self.protocol == "HTTPS" and not self.certificates:
            raise ValueError("an HTTPS listener needs certificates")
        if self.protocol == "HTTP" and (self.certificates or self.ssl_policy):
            raise ValueError("certificates and sslPolicy are only allowed on HTTPS listeners")
        arns = [certificate.certificate_arn for certificate in self.certificates or ()]
        # The certificates after the first are a set keyed by ARN (AddListenerCertificates).
        twice = sorted({arn for arn in arns if arns.count(arn) > 1})
        if twice:
            raise ValueError(f"certificate {twice[0]} is listed twice")
        return self


class LoadBalancerSpec(KindSpec):
    """An Application Load Balancer with its listeners and listener rules."""

    AWS_NAME_FIELD: ClassVar[str] = "load_balancer_name"

    load_balancer_name: ElbName | None = None
    type: Literal["application"] | None = None
    scheme: Literal["internet-facing", "internal"] | None = None
    ip_address_type: Literal["ipv4", "dualstack", "dualstack-without-public-ipv4"] | None = None
    subnets: LoadBalancerSubnets
    security_groups: list[SecurityGroupRef] | None = None
    attributes: Attributes | None = None
    listeners: list[Listener] | None = None

    def forwarded_target_groups(self) -> set[str]:
        """Every TargetGroup document a listener's default action or a rule's actions forward to:
        what the load balancer's listeners wait for, and what a service behind them waits on."""
        return {
            target_group
            for listener in self.listeners or ()
            for action in (
                listener.default_action,
                *(a for rule in listener.rules or () for a in rule.actions),
            )
            if isinstance(action, ForwardAction)
            for target_group in action.target_group_names
        }


# --- Service ------------------------------------------------------------------------------------------


class AwsVpcConfiguration(SpecModel):
    subnets: ServiceSubnets
    security_groups: Annotated[list[SecurityGroupRef], Field(max_length=5)] | None = None
    assign_public_ip: Literal["ENABLED", "DISABLED"] | None = None


class NetworkConfiguration(SpecModel):
    awsvpc_configuration: AwsVpcConfiguration


class ServiceLoadBalancer(SpecModel):
    target_group: MetadataName
    container_name: str
    container_port: Port


class DeploymentCircuitBreaker(SpecModel):
    enable: bool
    rollback: bool


class DeploymentConfiguration(SpecModel):
    minimum_healthy_percent: Annotated[int, Field(ge=0, le=100)] | None = None
    maximum_percent: Annotated[int, Field(ge=100, le=200)] | None = None
    deployment_circuit_breaker: DeploymentCircuitBreaker | None = None


class MetricDimension(SpecModel):
    name: str
    value: str


class CustomizedMetricSpecification(SpecModel):
    metric_name: str
    namespace: str
    statistic: Literal["Average", "Minimum", "Maximum", "SampleCount", "Sum"]
    unit: str | None = None
    dimensions: list[MetricDimension] | None = None


class TargetTrackingPolicy(SpecModel):
    """Application Auto Scaling target tracking; the metric is predefined or customised.

    For ``ALBRequestCountPerTarget`` without ``resourceLabel`` the reconciler derives the label
    from the service's (single) load-balanced target group.
    """

    policy_name: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    predefined_metric_type: (
        Literal[
            "ECSServiceAverageCPUUtilization",
            "ECSServiceAverageMemoryUtilization",
            "ALBRequestCountPerTarget",
        ]
        | None
    ) = None
    resource_label: str | None = None
    customized_metric_specification: CustomizedMetricSpecification | None = None
    target_value: float
    scale_in_cooldown: Annotated[int, Field(ge=0)] | None = None
    scale_out_cooldown: Annotated[int, Field(ge=0)] | None = None
    disable_scale_in: bool | None = None

    @model_validator(mode="after")
    def _one_metric(self) -> Self:
        if (self.predefined_metric_type is None) == (self.customized_metric_specification is None):
            raise ValueError(
                "a policy needs exactly one of predefinedMetricType or customizedMetricSpecification"
            )
        if self.resource_label is not None and self.predefined_metric_type != "ALBRequestCountPerTarget":
            raise ValueError("resourceLabel is only allowed with ALBRequestCountPerTarget")
        return self


class StepAdjustment(SpecModel):
    metric_interval_lower_bound: float | None = None
    metric_interval_upper_bound: float | None = None
    scaling_adjustment: int


class StepScalingPolicy(SpecModel):
    policy_name: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    adjustment_type: Literal["ChangeInCapacity", "PercentChangeInCapacity", "ExactCapacity"]
    cooldown: Annotated[int, Field(ge=0)] | None = None
    metric_aggregation_type: Literal["Average", "Minimum", "Maximum"] | None = None
    min_adjustment_magnitude: int | None = None
    step_adjustments: Annotated[list[StepAdjustment], Field(min_length=1)]


class ScheduledAction(SpecModel):
    scheduled_action_name: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    schedule: Annotated[str, StringConstraints(pattern=r"^(at|rate|cron)\(.+\)$")]
    timezone: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    min_capacity: Annotated[int, Field(ge=0)] | None = None
    max_capacity: Annotated[int, Field(ge=0)] | None = None


class Autoscaling(SpecModel):
    """The service's scalable target (ecs:service:DesiredCount) and its policies.

    Not one AWS object: the resource turns it into RegisterScalableTarget, PutScalingPolicy and
    PutScheduledAction calls. While it is present, the live desired count belongs to the scaler.
    """

    min_capacity: Annotated[int, Field(ge=0)]
    max_capacity: Annotated[int, Field(ge=0)]
    target_tracking_policies: list[TargetTrackingPolicy] | None = None
    step_scaling_policies: list[StepScalingPolicy] | None = None
    scheduled_actions: list[ScheduledAction] | None = None


class ServiceSpec(KindSpec):
    """An ECS service. ``cluster``, ``taskDefinition`` and ``targetGroup`` name documents."""

    AWS_NAME_FIELD: ClassVar[str] = "service_name"

    service_name: AWS_NAME_255 | None = None
    cluster: MetadataName
    task_definition: MetadataName
    desired_count: Annotated[int, Field(ge=0)] | None = None
    launch_type: Literal["FARGATE", "EC2", "EXTERNAL"] | None = None
    capacity_provider_strategy: Annotated[list[CapacityProviderStrategyItem], Field(min_length=1)] | None = (
        None
    )
    platform_version: str | None = None
    network_configuration: NetworkConfiguration | None = None
    load_balancers: list[ServiceLoadBalancer] | None = None
    deployment_configuration: DeploymentConfiguration | None = None
    health_check_grace_period_seconds: Annotated[int, Field(ge=0, le=2147483647)] | None = None
    enable_execute_command: bool | None = None
    propagate_tags: Literal["TASK_DEFINITION", "SERVICE", "NONE"] | None = None
    enable_ecs_managed_tags: bool | None = Field(default=None, alias="enableECSManagedTags")
    scheduling_strategy: Literal["REPLICA", "DAEMON"] | None = None
    autoscaling: Autoscaling | None = None

    @model_validator(mode="after")
    def _launch_type_xor_strategy(self) -> Self:
        if self.launch_type is not None and self.capacity_provider_strategy is not None:
            raise ValueError("use either launchType or capacityProviderStrategy, not both")
        return self


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


class RepositoryManifest(ManifestBase):
    kind: Literal["Repository"]
    spec: RepositorySpec


class ClusterManifest(ManifestBase):
    kind: Literal["Cluster"]
    spec: ClusterSpec


class TaskDefinitionManifest(ManifestBase):
    kind: Literal["TaskDefinition"]
    spec: TaskDefinitionSpec


class SecurityGroupManifest(ManifestBase):
    kind: Literal["SecurityGroup"]
    spec: SecurityGroupSpec


class TargetGroupManifest(ManifestBase):
    kind: Literal["TargetGroup"]
    spec: TargetGroupSpec


class LoadBalancerManifest(ManifestBase):
    kind: Literal["LoadBalancer"]
    spec: LoadBalancerSpec


class ServiceManifest(ManifestBase):
    kind: Literal["Service"]
    spec: ServiceSpec


Manifest = Annotated[
    RepositoryManifest
    | ClusterManifest
    | TaskDefinitionManifest
    | SecurityGroupManifest
    | TargetGroupManifest
    | LoadBalancerManifest
    | ServiceManifest,
    Field(discriminator="kind"),
]
"""Any document, discriminated by ``kind`` (what ``ecs-reconciler schema`` describes)."""

MANIFEST_TYPES: dict[Kind, type[ManifestBase]] = {
    Kind.REPOSITORY: RepositoryManifest,
    Kind.CLUSTER: ClusterManifest,
    Kind.TASK_DEFINITION: TaskDefinitionManifest,
    Kind.SECURITY_GROUP: SecurityGroupManifest,
    Kind.TARGET_GROUP: TargetGroupManifest,
    Kind.LOAD_BALANCER: LoadBalancerManifest,
    Kind.SERVICE: ServiceManifest,
}

SPEC_TYPES: dict[Kind, type[KindSpec]] = {
    Kind.REPOSITORY: RepositorySpec,
    Kind.CLUSTER: ClusterSpec,
    Kind.TASK_DEFINITION: TaskDefinitionSpec,
    Kind.SECURITY_GROUP: SecurityGroupSpec,
    Kind.TARGET_GROUP: TargetGroupSpec,
    Kind.LOAD_BALANCER: LoadBalancerSpec,
    Kind.SERVICE: ServiceSpec,
}


class Named(Protocol):
    """Anything with metadata and a kind spec: a ``*Manifest`` or a loaded ``Document``."""

    @property
    def metadata(self) -> Metadata: ...

    @property
    def spec(self) -> KindSpec: ...


def aws_name(document: Named) -> str:
    """The AWS name of a document's resource: its spec's name field, else metadata.name."""
    return document.spec.aws_name(document.metadata.name)
