"""Imports the task definition revisions that services run as TaskDefinition documents
(`ecs-reconciler import`, through `reconciler.engine.importing`).

An image in one of the account's ECR repositories becomes `{repository, tag}` (or `digest`) naming
the repository's document, which the import reads next; any other image stays as written. Secrets
stay `secrets` references; plain environment values are written as they are (they are not secrets
by definition), and one that looks like a secret is said in a note above the document.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from reconciler.plan.normalise import drop_defaults, drop_empty, tags_to_map
from reconciler.resources.importing import (
    DocumentNames,
    Found,
    ImportContext,
    ImportedSpec,
    ImporterBase,
    Uses,
    imported_tags,
)
from reconciler.resources.task_definition.kind import _CONTAINER_DEFAULTS, _TASK_DEFAULTS, SERVER_FIELDS
from reconciler.resources.task_definition.model import AWSLOGS_GROUP
from reconciler.spec.secrets import looks_secret, plain_secret_warnings

_REPOSITORY = "Repository"
_LOG_GROUP = "LogGroup"


class TaskDefinitionImporter(ImporterBase):
    kind: ClassVar[str] = "TaskDefinition"

    async def read(self, identities: Sequence[str], context: ImportContext) -> Sequence[Found]:
        ecs = context.clients.service("ecs")
        described = await asyncio.gather(
            *(
                ecs.call("describe_task_definition", taskDefinition=arn, include=["TAGS"])
                for arn in identities
            )
        )
        # Services may run several revisions of one family: one document per family, the newest;
        # a service on an older one will be rolled to it (a real change, which `plan` shows).
        newest: dict[str, tuple[Mapping[str, Any], list[str]]] = {}
        for arn, response in zip(identities, described, strict=True):
            revision = {**response["taskDefinition"], "tags": response.get("tags") or []}
            family = revision["family"]
            kept, aliases = newest.get(family, (revision, []))
            if revision["revision"] > kept["revision"]:
                kept = revision
            newest[family] = (kept, [*aliases, arn])
        return [
            Found(
                self.kind,
                revision["taskDefinitionArn"],
                family,
                revision,
                aliases=tuple(arn for arn in aliases if arn != revision["taskDefinitionArn"]),
                uses=(
                    *(
                        Uses(_REPOSITORY, image[0])
                        for container in revision.get("containerDefinitions") or []
                        if (image := _repository_image(container.get("image", ""), context)) is not None
                    ),
                    *(
                        Uses(_LOG_GROUP, group)
                        for container in revision.get("containerDefinitions") or []
                        if (group := _log_group(container)) is not None
                    ),
                ),
            )
            for family, (revision, aliases) in sorted(newest.items())
        ]

    def spec(self, found: Found, names: DocumentNames, context: ImportContext) -> ImportedSpec:
        state = found.state
        fields = drop_defaults(
            {key: value for key, value in state.items() if key not in SERVER_FIELDS}, _TASK_DEFAULTS
        )
        notes: list[str] = []
        containers = []
        for container in fields.get("containerDefinitions") or []:
            written: dict[str, Any] = drop_empty(drop_defaults(container, _CONTAINER_DEFAULTS))
            written["image"] = _image(container.get("image", ""), names, context)
            group = _log_group(container)
            document = names.document(_LOG_GROUP, group) if group is not None else None
            if document is not None:
                log = written["logConfiguration"]
                written["logConfiguration"] = {**log, "options": {**log["options"], AWSLOGS_GROUP: document}}
            environment = [(item["name"], item.get("value")) for item in written.get("environment") or []]
            notes += [
                f"container {container['name']}: {message}"
                for _, message in plain_secret_warnings(environment)
            ]
            notes += [
                f"container {container['name']}: an argument of {field} looks like a secret in plain text"
                for field in ("command", "entryPoint")
                if any(
                    isinstance(argument, str) and looks_secret(argument)
                    for argument in written.get(field) or []
                )
            ]
            containers.append(written)
        spec: dict[str, Any] = drop_empty({**fields, "containerDefinitions": containers})
        tags = imported_tags(tags_to_map(state.get("tags")))
        if tags:
            spec["tags"] = tags
        return ImportedSpec(spec, tuple(notes))


_ECR_IMAGE = re.compile(
    r"^(?P<host>[^/]+)/(?P<name>[^:@]+)(?::(?P<tag>[^@]+)|@(?P<digest>sha256:[0-9a-f]{64}))$"
)


def _repository_image(image: str, context: ImportContext) -> tuple[str, str | None, str | None] | None:
    """(repository name, tag, digest) of an image in this account's ECR, else None."""
    match = _ECR_IMAGE.match(image)
    environment = context.environment
    host = f"{environment.account_id}.dkr.ecr.{environment.region}.{environment.dns_suffix}"
    if match is None or match["host"] != host:
        return None
    return match["name"], match["tag"], match["digest"]


def _log_group(container: Mapping[str, Any]) -> str | None:
    """The log group an awslogs container writes to, if any."""
    log = container.get("logConfiguration") or {}
    if log.get("logDriver") != "awslogs":
        return None
    group = (log.get("options") or {}).get(AWSLOGS_GROUP)
    return str(group) if group else None


def _image(image: str, names: DocumentNames, context: ImportContext) -> Any:
    parsed = _repository_image(image, context)
    if parsed is None:
        return image
    repository, tag, digest = parsed
    document = names.document(_REPOSITORY, repository)
    if document is None or (tag is None and digest is None):
        return image
    return (
        {"repository": document, "tag": tag}
        if tag is not None
        else {"repository": document, "digest": digest}
    )


IMPORTER = TaskDefinitionImporter()
