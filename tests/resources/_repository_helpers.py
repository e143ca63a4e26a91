"""Helpers shared by the Repository and TaskDefinition tests: documents and plan contexts by hand.

The pure tests build `Document`s and a `PlanContext` directly (no YAML, no AWS) so each rule is
pinned in isolation; the integration tests write YAML and go through `tests.harness`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import boto3

from reconciler.local import LocalAWS
from reconciler.plan.steps import ResourceKey
from reconciler.resources.base import Environment, LiveResource, LiveState, PlanContext, PlanSettings
from reconciler.resources.repository.model import RepositorySpec
from reconciler.resources.task_definition.model import TaskDefinitionSpec
from reconciler.spec import Document, Metadata, SpecSet

ACCOUNT = "123456789012"
REGION = "us-east-1"
ENVIRONMENT = Environment(account_id=ACCOUNT, region=REGION)

_SPEC_TYPES: Mapping[str, Any] = {"Repository": RepositorySpec, "TaskDefinition": TaskDefinitionSpec}


def document(
    kind: str, name: str, spec: Mapping[str, Any], annotations: Mapping[str, str] | None = None
) -> Document:
    return Document(
        kind=kind,
        metadata=Metadata(name=name, annotations=dict(annotations or {})),
        spec=_SPEC_TYPES[kind].model_validate(spec),
        file=f"{name}.yaml",
        line=1,
    )


def context(
    documents: Iterable[Document],
    *,
    live: Iterable[LiveResource] = (),
    facts: Mapping[str, Any] | None = None,
    **settings: Any,
) -> PlanContext:
    resources: dict[ResourceKey, LiveResource] = {resource.key: resource for resource in live}
    return PlanContext(
        spec_set=SpecSet(tuple(documents)),
        live=LiveState(resources=resources, facts=dict(facts or {})),
        environment=ENVIRONMENT,
        settings=PlanSettings(**settings),
    )


def write_specs(folder: Path, *texts: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("*.yaml"):
        stale.unlink()
    for index, text in enumerate(texts):
        (folder / f"spec-{index}.yaml").write_text(text)
    return folder


def client(local: LocalAWS, service: str) -> Any:
    return boto3.client(service, region_name=local.region, endpoint_url=local.endpoint_url)
