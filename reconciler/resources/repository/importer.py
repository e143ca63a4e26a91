"""Imports the ECR repositories that imported task definitions pull from as Repository documents
(`ecs-reconciler import`, through `reconciler.engine.importing`), with their lifecycle and
repository policies; ECR's defaults (MUTABLE, no scan on push, AES256) are left out."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from reconciler.aws.errors import AwsError
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
from reconciler.resources.repository.kind import _all_repositories, _observe_details

_NAMES_BATCH = 100  # DescribeRepositories takes at most 100 names
_DEFAULTS: Mapping[str, Any] = {
    "imageTagMutability": "MUTABLE",
    "imageScanningConfiguration": {"scanOnPush": False},
    "encryptionConfiguration": {"encryptionType": "AES256"},
}


class RepositoryImporter(ImporterBase):
    kind: ClassVar[str] = "Repository"

    async def read(self, identities: Sequence[str], context: ImportContext) -> Sequence[Found]:
        ecr = context.clients.service("ecr")
        repositories: list[Mapping[str, Any]] = []
        for batch in batched(sorted(set(identities)), _NAMES_BATCH):
            try:
                response = await ecr.call("describe_repositories", repositoryNames=batch)
                repositories.extend(response.get("repositories", []))
            except AwsError as error:
                if error.code != "RepositoryNotFoundException":
                    raise
                # One missing name fails the whole call: one listing answers for the batch.
                wanted = set(batch)
                repositories.extend(r for r in await _all_repositories(ecr) if r["repositoryName"] in wanted)
        found = []
        for repository in repositories:
            live = await _observe_details(
                ecr, repository["repositoryName"], repository, lifecycle=True, policy=True
            )
            found.append(
                Found(
                    self.kind,
                    repository["repositoryName"],
                    repository["repositoryName"],
                    {**repository, "Tags": dict(live.tags)},
                    details=live.details,
                )
            )
        return found

    def spec(self, found: Found, names: DocumentNames, context: ImportContext) -> ImportedSpec:
        state = found.state
        fields = {
            key: state.get(key)
            for key in ("imageTagMutability", "imageScanningConfiguration", "encryptionConfiguration")
            if state.get(key) is not None and state.get(key) != _DEFAULTS[key]
        }
        lifecycle = found.details.get("lifecyclePolicyText")
        policy = found.details.get("policyText")
        return ImportedSpec(
            without_none(
                {
                    **fields,
                    "imageTagMutabilityExclusionFilters": state.get("imageTagMutabilityExclusionFilters")
                    or None,
                    "lifecyclePolicy": {"rules": json.loads(lifecycle)["rules"]} if lifecycle else None,
                    "repositoryPolicy": json.loads(policy) if policy else None,
                    "tags": imported_tags(state["Tags"]),
                }
            )
        )


IMPORTER = RepositoryImporter()
