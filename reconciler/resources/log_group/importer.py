"""Imports the CloudWatch Logs groups that imported task definitions write to (their
`awslogs-group`) as LogGroup documents (`ecs-reconciler import`, through
`reconciler.engine.importing`); a task definition then names the group's document. A group that
does not exist (yet: `awslogs-create-group`) is not imported, and the option keeps its name."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from reconciler.resources.common import batched
from reconciler.resources.importing import (
    DocumentNames,
    Found,
    ImportContext,
    ImportedSpec,
    ImporterBase,
    imported_tags,
    without_none,
)
from reconciler.resources.log_group.kind import DESCRIBE_BATCH, _tags, log_group_arn


class LogGroupImporter(ImporterBase):
    kind: ClassVar[str] = "LogGroup"

    async def read(self, identities: Sequence[str], context: ImportContext) -> Sequence[Found]:
        logs = context.clients.service("logs")
        groups: list[Mapping[str, Any]] = []
        for names in batched(sorted(set(identities)), DESCRIBE_BATCH):
            async for page in logs.paginate("describe_log_groups", logGroupIdentifiers=names):
                groups += [group for group in page.get("logGroups", []) if group["logGroupName"] in names]
        tags = await asyncio.gather(*(_tags(logs, log_group_arn(group)) for group in groups))
        return [
            Found(self.kind, group["logGroupName"], group["logGroupName"], {**group, "Tags": group_tags})
            for group, group_tags in zip(groups, tags, strict=True)
        ]

    def spec(self, found: Found, names: DocumentNames, context: ImportContext) -> ImportedSpec:
        # Absent retention means never expire, absent key none: CloudWatch's defaults, left out.
        return ImportedSpec(
            without_none(
                {
                    "retentionInDays": found.state.get("retentionInDays"),
                    "kmsKeyId": found.state.get("kmsKeyId"),
                    "tags": imported_tags(found.state["Tags"]),
                }
            )
        )


IMPORTER = LogGroupImporter()
