"""What a kind declares to be imported: reading live objects that no document describes yet, by
their AWS identity, and turning each into the `spec` of a document that describes it as it is.

`ecs-reconciler import` (wired in `reconciler.engine.importing`) starts from the objects the
selection names (`KindImporter.roots`), follows what each object uses (`Found.uses`) to the
importer of that kind, and names the documents; a kind's importer lives in its own package
(`<kind>/importer.py`, named by its descriptor's `importer_module`) and never imports another kind:
it names what it uses by kind and AWS identity, and asks `DocumentNames` for the document names.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from reconciler.plan.ownership import user_tags
from reconciler.resources.base import Clients, Environment


@dataclass(frozen=True)
class Uses:
    """Another AWS object that belongs with a found one: what the import reads next."""

    kind: str
    identity: str
    """As the referring object holds it: an ARN, an `sg-` id, a repository name."""


@dataclass(frozen=True)
class Found:
    """One live object read for import, in the API's own shape."""

    kind: str
    identity: str
    """What other objects refer to it by (ARN, id or name): the key `DocumentNames` answers for."""
    aws_name: str
    """Its name in AWS, from which its document's name is made."""
    state: Mapping[str, Any]
    details: Mapping[str, Any] = field(default_factory=dict)
    """What belongs to it beyond the main object (a load balancer's listeners and attributes)."""
    uses: tuple[Uses, ...] = ()
    """Objects the import reads next: what this one refers to, and what belongs to the same stack
    though it refers to this one (a target group's load balancers)."""
    aliases: tuple[str, ...] = ()
    """Other identities that name the same document (older revisions of a task definition family)."""


@dataclass(frozen=True)
class ImportSelection:
    """Which live objects to start from; empty means all of them."""

    clusters: tuple[str, ...] = ()
    services: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportContext:
    clients: Clients
    environment: Environment
    """With the default VPC and its default subnets, so they import as `default`."""
    selection: ImportSelection


class DocumentNames(Protocol):
    def document(self, kind: str, identity: str) -> str | None:
        """The document name given to an imported object; None when it was not imported (not
        found, or not readable), in which case the referring spec keeps the literal value."""
        ...


@dataclass(frozen=True)
class ImportedSpec:
    spec: Mapping[str, Any]
    """The document's `spec`, in the spec language's field names, AWS's defaults left out; the
    AWS name field is added by the caller when the document name differs from it."""
    notes: tuple[str, ...] = ()
    """Said above the document and on standard error (a plain value that looks like a secret)."""


class KindImporter(Protocol):
    kind: ClassVar[str]

    async def roots(self, context: ImportContext) -> Sequence[Found]:
        """The objects the selection names directly (most kinds: none). Raises `AwsError`."""
        ...

    async def read(self, identities: Sequence[str], context: ImportContext) -> Sequence[Found]:
        """The live objects with these identities, in batched reads; one that does not exist is
        absent from the answer (never an error). Raises `AwsError` when AWS cannot be read."""
        ...

    def spec(self, found: Found, names: DocumentNames, context: ImportContext) -> ImportedSpec:
        """Pure: the spec of a document that plans no change but the ownership tags."""
        ...


class ImporterBase:
    """Defaults of `KindImporter`: not a root of the import."""

    async def roots(self, context: ImportContext) -> Sequence[Found]:
        return ()


def imported_tags(tags: Mapping[str, str]) -> dict[str, str] | None:
    """The tags a document keeps: the user's, not the ownership tags (written by adoption) nor
    AWS's own `aws:` tags (which no one may write)."""
    kept = {key: value for key, value in user_tags(tags).items() if not key.startswith("aws:")}
    return dict(sorted(kept.items())) or None


def without_none(tree: Mapping[str, Any]) -> dict[str, Any]:
    """A spec mapping without the fields left out (None), in the order written."""
    return {key: value for key, value in tree.items() if value is not None}


def imported_strategy(items: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]] | None:
    """A capacity provider strategy as a person writes it: the provider first, and `base` and
    `weight` only where they are not ECS's default of 0."""
    written = [
        {
            "capacityProvider": item["capacityProvider"],
            **{key: item[key] for key in ("weight", "base") if item.get(key)},
        }
        for item in items or ()
    ]
    return written or None
