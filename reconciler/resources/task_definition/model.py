"""The TaskDefinition document's `spec`: its pydantic model, the references it makes, its AWS identity.

Conventions are those of `reconciler.spec.models` (camelCase aliases, no server defaults, values
normalised to the form AWS returns). Pure: no I/O, no AWS SDK.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    model_validator,
)

from reconciler.spec.models import (
    AWS_NAME_255,
    METADATA_NAME_PATTERN,
    ContainerCpu,
    ContainerMemory,
    KindSpec,
    MetadataName,
    Port,
    ReferenceTo,
    RoleRef,
    SpecModel,
    TaskCpu,
    TaskMemory,
)

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


AWSLOGS_GROUP = "awslogs-group"
"""The awslogs option naming the log group; it may name a LogGroup document (see `LogConfiguration`)."""
AWSLOGS_REGION = "awslogs-region"
"""The awslogs option naming the group's Region; left out, the Region the task definition is
registered in (the default target's, or its Target's)."""


class LogConfiguration(SpecModel):
    """A container's log configuration, as ECS takes it.

    With `logDriver: awslogs`, an `awslogs-group` value shaped like a document name (1-63 of a-z,
    0-9 and `-`, as `node-app`) names a LogGroup document: the task definition is registered after
    that group exists, with the group's CloudWatch name (its `logGroupName`) in the option. Any
    other value (CloudWatch names usually have a `/`, as `/ecs/node-app`) is a group's literal
    name, sent as written, as a value starting `sg-` is a literal security group id.
    """

    log_driver: Literal[
        "awslogs", "fluentd", "gelf", "json-file", "journald", "logentries", "splunk", "syslog", "awsfirelens"
    ]
    options: dict[str, str] | None = None
    secret_options: list[Secret] | None = None

    def log_group_document(self) -> str | None:
        """The LogGroup document `awslogs-group` names, or None when it is a literal group name."""
        if self.log_driver != "awslogs":
            return None
        group = (self.options or {}).get(AWSLOGS_GROUP)
        if group is None or re.fullmatch(METADATA_NAME_PATTERN, group) is None:
            return None
        return group


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
    KIND: ClassVar[str] = "TaskDefinition"
    REFERENCED_KINDS: ClassVar[frozenset[str]] = frozenset({"Repository", "LogGroup"})

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

    def references(self) -> Iterator[ReferenceTo]:
        # An image's URI is known before its repository exists, so registering waits for nothing.
        for index, container in enumerate(self.container_definitions):
            if isinstance(container.image, RepositoryImage):
                path = ("spec", "containerDefinitions", index, "image", "repository")
                yield ReferenceTo("Repository", container.image.repository, path, needs=None)
            log_group = container.log_configuration and container.log_configuration.log_group_document()
            if log_group:
                # ECS checks the group exists only when a task starts, but a task definition is
                # there to be run: it registers once its log group exists.
                option = ("spec", "containerDefinitions", index, "logConfiguration", "options", AWSLOGS_GROUP)
                yield ReferenceTo("LogGroup", log_group, option)
