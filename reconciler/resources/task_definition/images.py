"""Container images of managed ECR repositories: their URIs and the tag → digest facts.

The Repository kind exposes `repository_uri` as its `uri` output; the TaskDefinition kind uses the
same pure helper to write image references for repositories that do not exist yet (the URI is
deterministic, so no `Ref` and no ordering constraint is needed), and `render_image` to turn a
container's `image` into the string a task definition registers. The digests of `{repository,
tag}` images are observed once per pass by the TaskDefinition kind's `observe_facts` and shared
through `LiveState.facts[IMAGE_DIGESTS]`. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from reconciler.resources.base import Environment
from reconciler.resources.common import repository_uri
from reconciler.resources.task_definition.model import RepositoryImage, TaskDefinitionSpec
from reconciler.spec import Document, SpecSet

IMAGE_DIGESTS = "image_digests"
"""Key of `LiveState.facts`: `{(repositoryName, tag): "sha256:..."}`; a tag absent from the
mapping does not exist (or its repository does not)."""

ImageKey = tuple[str, str]
"""(ECR repository name, tag)."""


def repository_name_of(spec_set: SpecSet, document_name: str) -> str:
    """The ECR name of a Repository document (its `repositoryName`, or its metadata.name)."""
    document = spec_set.get("Repository", document_name)
    return document.aws_name if document is not None else document_name


def repository_images(document: Document) -> Iterator[RepositoryImage]:
    """Every `{repository, tag | digest}` image of a TaskDefinition document's containers."""
    spec = document.spec_as(TaskDefinitionSpec)
    for container in spec.container_definitions:
        if isinstance(container.image, RepositoryImage):
            yield container.image


def tagged_images(documents: Iterable[Document], spec_set: SpecSet) -> dict[str, set[str]]:
    """Tags to resolve, by ECR repository name, over every TaskDefinition document given."""
    wanted: dict[str, set[str]] = {}
    for document in documents:
        for image in repository_images(document):
            if image.tag is not None:
                wanted.setdefault(repository_name_of(spec_set, image.repository), set()).add(image.tag)
    return wanted


@dataclass(frozen=True)
class RenderedImage:
    """A container image reference, or why it cannot be written yet.

    `missing` names `repository:tag` when the image needs a digest that does not resolve (digest
    pinning), and `warning` says a tag does not exist yet (tag pinning: still registered).
    """

    reference: str | None
    missing: str | None = None
    warning: str | None = None


def render_image(
    image: str | RepositoryImage,
    *,
    pinning: str,
    spec_set: SpecSet,
    environment: Environment,
    digests: Mapping[ImageKey, str],
) -> RenderedImage:
    if isinstance(image, str):
        return RenderedImage(image)
    name = repository_name_of(spec_set, image.repository)
    uri = repository_uri(environment, name)
    if image.digest is not None:
        return RenderedImage(f"{uri}@{image.digest}")
    assert image.tag is not None  # the model requires exactly one of tag or digest
    digest = digests.get((name, image.tag))
    if pinning == "digest":
        if digest is None:
            return RenderedImage(None, missing=f"{name}:{image.tag}")
        return RenderedImage(f"{uri}@{digest}")
    warning = None if digest is not None else f"tag {image.tag} not found in repository {name}"
    return RenderedImage(f"{uri}:{image.tag}", warning=warning)
