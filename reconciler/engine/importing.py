"""`ecs-reconciler import`: reads live services and everything they use, and writes spec documents
that describe them as they are, each with the adopt annotation, so that the first `plan` on them
plans only the ownership tags, `apply` adopts, and the plan after it is empty.

Kind-neutral: the kinds' importers (`reconciler.resources.importing`, declared on each kind's
descriptor) say which objects the selection names (`roots`), how to read objects by identity and
what each uses; this module follows those uses until nothing new turns up, names the documents,
renders them as YAML (one file per kind), checks them with the project's own loader, and only
then writes them. Called by the CLI (`reconciler.cli`).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from reconciler.aws.clients import AwsClients
from reconciler.aws.settings import AwsSettings
from reconciler.engine.clients import EngineClients
from reconciler.resources.base import Clients, Environment
from reconciler.resources.importing import Found, ImportContext, ImportSelection, KindImporter
from reconciler.resources.registry import descriptors, load_spec_set
from reconciler.spec import SpecError
from reconciler.spec.models import ANNOTATION_ADOPT

API_VERSION = "ecs-reconciler/v1"
MAX_DOCUMENT_NAME = 63
_NOT_NAME_CHARACTERS = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class ImportedDocument:
    kind: str
    name: str
    body: Mapping[str, Any]
    """The whole document: apiVersion, kind, metadata and spec."""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Estate:
    """What an import read, as documents in creation order."""

    documents: tuple[ImportedDocument, ...]
    not_found: tuple[str, ...] = ()
    """`Kind identity` of objects something uses that could not be read (deleted since)."""


def document_name(aws_name: str) -> str:
    """A document name (1-63 of `[a-z0-9-]`) made from an AWS name: lower case, every run of other
    characters one `-` (`varuntd/node_app` is `varuntd-node-app`)."""
    name = _NOT_NAME_CHARACTERS.sub("-", aws_name.lower()).strip("-")
    return name[:MAX_DOCUMENT_NAME].rstrip("-") or "imported"


def unique_name(wanted: str, taken: set[str]) -> str:
    """`wanted`, or `wanted-2`, `wanted-3`... (still within 63 characters): two AWS objects of one
    kind can make the same document name (`Web` and `web`, or same-named services of two clusters)."""
    name, suffix = wanted, 1
    while name in taken:
        suffix += 1
        tail = f"-{suffix}"
        name = wanted[: MAX_DOCUMENT_NAME - len(tail)].rstrip("-") + tail
    taken.add(name)
    return name


class _Names:
    """Document names by (kind, AWS identity), aliases included."""

    def __init__(self) -> None:
        self._names: dict[tuple[str, str], str] = {}

    def add(self, found: Found, name: str) -> None:
        for identity in (found.identity, *found.aliases):
            self._names[(found.kind, identity)] = name

    def document(self, kind: str, identity: str) -> str | None:
        return self._names.get((kind, identity))


def _importers() -> dict[str, KindImporter]:
    return {
        kind: importer
        for kind, descriptor in descriptors().items()
        if (importer := descriptor.importer) is not None
    }


async def read_estate(context: ImportContext) -> Estate:
    """Every object the selection's roots use, directly or not, as documents. Raises `AwsError`."""
    importers = _importers()
    found: dict[tuple[str, str], Found] = {}
    asked: set[tuple[str, str]] = set()

    def keep(objects: Sequence[Found]) -> None:
        for item in objects:
            for identity in (item.identity, *item.aliases):
                found[(item.kind, identity)] = item
                asked.add((item.kind, identity))

    for roots in await asyncio.gather(*(importer.roots(context) for importer in importers.values())):
        keep(roots)
    while True:
        wanted: dict[str, set[str]] = {}
        for item in list(found.values()):
            for use in item.uses:
                if use.kind in importers and (use.kind, use.identity) not in asked:
                    wanted.setdefault(use.kind, set()).add(use.identity)
        if not wanted:
            break
        for kind, identities in wanted.items():
            asked.update((kind, identity) for identity in identities)
        answers = await asyncio.gather(
            *(importers[kind].read(sorted(identities), context) for kind, identities in wanted.items())
        )
        for answer in answers:
            keep(answer)
    not_found = sorted(f"{kind} {identity}" for kind, identity in asked if (kind, identity) not in found)
    return Estate(_documents(found, importers, context), tuple(not_found))


def _documents(
    found: Mapping[tuple[str, str], Found], importers: Mapping[str, KindImporter], context: ImportContext
) -> tuple[ImportedDocument, ...]:
    unique = {(item.kind, item.identity): item for item in found.values()}
    names = _Names()
    named: list[tuple[Found, str]] = []
    for kind in importers:
        taken: set[str] = set()
        for item in sorted(
            (i for i in unique.values() if i.kind == kind), key=lambda i: (i.aws_name, i.identity)
        ):
            name = unique_name(document_name(item.aws_name), taken)
            names.add(item, name)
            named.append((item, name))
    documents = []
    for item, name in named:
        imported = importers[item.kind].spec(item, names, context)
        model = descriptors()[item.kind].spec
        spec = dict(imported.spec)
        if item.aws_name != name:
            # The AWS name field goes first, where a reader looks for what the document is.
            spec = {
                model.model_fields[model.AWS_NAME_FIELD].alias or model.AWS_NAME_FIELD: item.aws_name,
                **spec,
            }
        body = {
            "apiVersion": API_VERSION,
            "kind": item.kind,
            "metadata": {"name": name, "annotations": {ANNOTATION_ADOPT: "true"}},
            "spec": spec,
        }
        documents.append(ImportedDocument(item.kind, name, body, imported.notes))
    return tuple(documents)


def file_name(kind: str) -> str:
    """`TaskDefinition` is `task-definitions.yaml`, `Repository` `repositories.yaml`: one file per kind."""
    words = re.sub(r"(?<!^)(?=[A-Z])", "-", kind).lower()
    return (words[:-1] + "ies" if words.endswith("y") else words + "s") + ".yaml"


def render(estate: Estate) -> dict[str, str]:
    """The YAML text of each file, documents in creation order, a document's notes as comments."""
    files: dict[str, list[str]] = {}
    for document in estate.documents:
        comments = "".join(f"# {note}\n" for note in document.notes)
        text = yaml.safe_dump(dict(document.body), sort_keys=False, default_flow_style=False, width=100)
        files.setdefault(file_name(document.kind), []).append(comments + text)
    return {name: "---\n".join(texts) for name, texts in files.items()}


def write_checked(files: Mapping[str, str], out: Path) -> list[SpecError]:
    """Write `files` into `out` only if, together, they validate; otherwise write nothing and
    return the errors. Raises `FileExistsError` rather than overwrite a file already there."""
    existing = sorted(name for name in files if (out / name).exists())
    if existing:
        raise FileExistsError(f"{out / existing[0]} exists; import into an empty folder")
    with tempfile.TemporaryDirectory(prefix="ecs-reconciler-import-") as staging:
        for name, text in files.items():
            (Path(staging) / name).write_text(text)
        _, errors = load_spec_set([staging])
        if errors:
            # Said of the files as they would have been written, not of the staging folder.
            return [replace(error, file=str(out / Path(error.file).name)) for error in errors]
        out.mkdir(parents=True, exist_ok=True)
        for name in files:
            shutil.copyfile(Path(staging) / name, out / name)
    return []


async def import_environment(clients: Clients, *, region: str) -> Environment:
    """The account, and its default VPC and default subnets: what imports as `default`."""
    identity = await clients.service("sts").call("get_caller_identity")
    environment = Environment(
        account_id=str(identity["Account"]),
        region=region,
        partition=str(identity.get("Arn", "arn:aws:")).split(":")[1] or "aws",
    )
    ec2 = clients.service("ec2")
    vpcs = await ec2.call("describe_vpcs", Filters=[{"Name": "isDefault", "Values": ["true"]}])
    if not vpcs.get("Vpcs"):
        return environment
    vpc_id = vpcs["Vpcs"][0]["VpcId"]
    subnets = await ec2.call(
        "describe_subnets",
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "default-for-az", "Values": ["true"]}],
    )
    return Environment(
        account_id=environment.account_id,
        region=region,
        partition=environment.partition,
        default_vpc_id=vpc_id,
        default_subnet_ids=tuple(sorted(subnet["SubnetId"] for subnet in subnets.get("Subnets", []))),
    )


@dataclass(frozen=True)
class ImportOutcome:
    estate: Estate
    files: tuple[Path, ...]
    """What was written: nothing when `errors`."""
    errors: tuple[SpecError, ...]
    """Why the documents did not validate (a shape the importers do not know yet)."""
    calls: Mapping[str, int]
    """Every AWS call attempt, by operation: an import only reads."""


async def run_import(aws_settings: AwsSettings, selection: ImportSelection, out: Path) -> ImportOutcome:
    """Read the estate the selection names and write its documents into `out`, checked first.
    Raises `AwsError` when AWS cannot be read, `FileExistsError` rather than overwrite a file."""
    async with AwsClients(aws_settings) as aws:
        clients = await EngineClients.open(aws)
        environment = await import_environment(clients, region=aws.region)
        estate = await read_estate(ImportContext(clients, environment, selection))
        calls = aws.counter.snapshot()
    files = render(estate) if estate.documents else {}
    errors = write_checked(files, out) if files else []
    written = () if errors else tuple(out / name for name in files)
    return ImportOutcome(estate, written, tuple(errors), calls)


__all__ = [
    "Estate",
    "ImportContext",
    "ImportOutcome",
    "ImportSelection",
    "ImportedDocument",
    "document_name",
    "file_name",
    "import_environment",
    "read_estate",
    "render",
    "run_import",
    "unique_name",
    "write_checked",
]
