"""Reading spec files into typed documents, keeping the line of every field.

``load_documents`` is the first half of ``reconciler.spec.validate.load_spec_set`` (which the
CLI and the engine call): it finds the YAML files, parses them, builds plain values itself from
PyYAML's node graph (so every mapping key and list item keeps its line, and duplicate keys are
caught), and validates each document against its kind's model. Every problem becomes a
``SpecError`` with a position; nothing here raises on bad input. Cross-document rules
(duplicates, references, cycles, Fargate sizes) are ``reconciler.spec.validate``'s.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.alias_generators import to_camel
from pydantic_core import ErrorDetails

from reconciler.spec.document import Document, DocumentKey, FieldPath
from reconciler.spec.errors import SpecError, render_path
from reconciler.spec.models import KindSpec, SpecModel, manifest_model
from reconciler.spec.secrets import FINGERPRINTED_FIELDS, snippet
from reconciler.spec.targets import TARGET_KIND, Target, TargetManifest

# libyaml's composer is several times faster than the pure-Python one and keeps the same marks.
_YamlLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

SPEC_SUFFIXES = (".yaml", ".yml")
_MAX_DEPTH = 64
# Aliases let a few lines expand into an enormous value ("billion laughs"); a real spec document
# is a few hundred nodes, so this bound only stops abuse.
_MAX_NODES = 200_000


@dataclass(frozen=True)
class Budget:
    """How much one spec file and one spec set may hold; checked while reading, before parsing
    more.

    Well above a large estate (1,000 services with their task definitions, target groups,
    scaling and rules: about 7,000 documents and 350,000 values even with 50 environment
    variables a task), and below what would exhaust the deployed 1 GB task: 50 MB of small
    documents once took 1.8 GB and 37 s to accept; 20,000 task definitions of 55 values each
    (1.1 million values, 15 MB) measured 650 MB and 13 s, so values bound memory best.
    """

    file_bytes: int = 8 * 1024 * 1024
    file_documents: int = 5_000
    set_bytes: int = 32 * 1024 * 1024
    set_documents: int = 20_000
    set_values: int = 1_000_000


DEFAULT_BUDGET = Budget()


@dataclass
class _Spending:
    """What the files read so far have used of a ``Budget``."""

    budget: Budget
    bytes: int = 0
    documents: int = 0
    values: int = 0


class _OverBudget(Exception):
    """The spec set outgrew its budget: reading stops, the error names the file and line."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_NULL_TAG = "tag:yaml.org,2002:null"
KindModels = Mapping[str, type[KindSpec]]
"""Spec model by ``kind:`` (``reconciler.spec.validate.SpecKinds.models``)."""


@dataclass(frozen=True)
class LoadResult:
    """What ``load_documents`` found.

    ``documents`` are those that passed their kind's model; ``errors`` are sorted by file and
    line. ``invalid_keys`` are ``(kind, name)`` of documents that were written but failed their
    model, and ``complete`` is False when some file could not be parsed to its end: the
    reference check uses both so a broken document is not also reported as missing.
    """

    documents: tuple[Document, ...]
    errors: tuple[SpecError, ...]
    files: tuple[str, ...] = ()
    invalid_keys: frozenset[DocumentKey] = frozenset()
    complete: bool = True
    targets: tuple[Target, ...] = ()
    """``kind: Target`` documents that passed their model (``reconciler.spec.targets``); not
    resources, so never among ``documents``."""
    invalid_targets: frozenset[str] = frozenset()
    """Names of Target documents that were written but failed their model: a namespace naming
    one is not also reported as naming no Target."""


class _BuildError(Exception):
    """A problem building values from nodes; carries the node's line."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass
class _Builder:
    """Turns one document's node graph into plain values and a path -> line map."""

    positions: dict[FieldPath, int] = field(default_factory=dict)
    constructor: yaml.constructor.SafeConstructor = field(default_factory=yaml.constructor.SafeConstructor)
    nodes_built: int = 0
    active: set[int] = field(default_factory=set)
    spending: _Spending | None = None

    def build(self, node: yaml.Node, path: FieldPath, depth: int = 0) -> Any:
        line = node.start_mark.line + 1
        self.nodes_built += 1
        if self.nodes_built > _MAX_NODES:
            raise _BuildError(line, f"document too large (more than {_MAX_NODES} values, alias expansion?)")
        if self.spending is not None:
            self.spending.values += 1
            if self.spending.values > self.spending.budget.set_values:
                limit = self.spending.budget.set_values
                raise _OverBudget(line, f"the spec set holds more than {limit:,} values: split it or trim it")
        if depth > _MAX_DEPTH:
            raise _BuildError(line, f"nesting deeper than {_MAX_DEPTH} levels")
        if id(node) in self.active:
            raise _BuildError(line, "an alias refers to a node that contains it")
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, line)
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                items = []
                for index, item in enumerate(node.value):
                    self.positions.setdefault((*path, index), item.start_mark.line + 1)
                    items.append(self.build(item, (*path, index), depth + 1))
                return items
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path, depth)
        finally:
            self.active.discard(id(node))
        raise _BuildError(line, f"unsupported YAML node {type(node).__name__}")  # pragma: no cover

    def _scalar(self, node: yaml.ScalarNode, line: int) -> Any:
        # Timestamps stay as written: string fields (tags, labels) keep the text the user typed,
        # and datetime fields (scheduled actions) parse ISO text themselves.
        if node.tag == _TIMESTAMP_TAG:
            return node.value
        try:
            return self.constructor.construct_object(node)
        except yaml.YAMLError as error:
            raise _BuildError(line, _yaml_problem(error)) from error
        except ValueError as error:  # e.g. an !!int tag on text that is no integer
            raise _BuildError(line, f"cannot read {snippet(node.value)} as {node.tag}") from error

    def _mapping(self, node: yaml.MappingNode, path: FieldPath, depth: int) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        merged: list[tuple[yaml.Node, yaml.Node]] = []
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if key_node.tag == _MERGE_TAG:
                merged.extend(self._merge_sources(value_node))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise _BuildError(key_line, "a mapping key must be a plain value, not a mapping or list")
            key = self._scalar(key_node, key_line)
            try:
                hash(key)
            except TypeError as error:  # pragma: no cover - scalar constructors give hashable values
                raise _BuildError(key_line, f"unusable mapping key {key_node.value!r}") from error
            if key in first_line:
                raise _BuildError(key_line, f"duplicate key {key!r} (first at line {first_line[key]})")
            first_line[key] = key_line
            self.positions[(*path, key)] = key_line
            result[key] = self.build(value_node, (*path, key), depth + 1)
        # "<<: *defaults" fills only the keys the mapping does not write itself (YAML merge keys).
        for key_node, value_node in merged:
            key_line = key_node.start_mark.line + 1
            key = self._scalar(key_node, key_line) if isinstance(key_node, yaml.ScalarNode) else None
            if key is None or key in result:
                continue
            self.positions.setdefault((*path, key), key_line)
            result[key] = self.build(value_node, (*path, key), depth + 1)
        return result

    def _merge_sources(self, node: yaml.Node) -> Iterator[tuple[yaml.Node, yaml.Node]]:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                raise _BuildError(
                    source.start_mark.line + 1, "a merge key (<<) needs a mapping or list of mappings"
                )
            yield from source.value


def _never_closed(error: yaml.YAMLError) -> bool:
    """A quote, bracket or block left open: the parser notices only at the end of the file, but
    what to fix is where it was opened (the error's context mark)."""
    return (
        isinstance(error, yaml.MarkedYAMLError)
        and error.context_mark is not None
        and "end of stream" in (error.problem or "")
    )


def _yaml_problem(error: yaml.YAMLError) -> str:
    if _never_closed(error):
        assert isinstance(error, yaml.MarkedYAMLError)
        opened = str(error.context).removeprefix("while scanning ").removeprefix("while parsing ")
        return f"{opened.replace('scalar', 'string')} starts here and is never closed (the file ends first)"
    if isinstance(error, yaml.MarkedYAMLError):
        problem = error.problem or "invalid YAML"
        return f"{problem} ({error.context})" if error.context else problem
    return str(error).splitlines()[0] if str(error) else "invalid YAML"


def _yaml_error_line(error: yaml.YAMLError, text: str) -> int:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    if _never_closed(error):
        mark = getattr(error, "context_mark", None)
    if mark is not None:
        return int(mark.line) + 1
    position = getattr(error, "position", None)
    if isinstance(position, int):
        return text.count("\n", 0, position) + 1
    return 1


# --- finding files ---------------------------------------------------------------------------


def find_spec_files(
    paths: Sequence[Path | str], *, allow_empty: bool = False
) -> tuple[list[Path], list[SpecError]]:
    """Every ``*.yaml``/``*.yml`` under the given folders, and the given files, each once.

    Folders are walked in sorted order and hidden entries (``.git``) are skipped, so the same tree
    always loads in the same order. A folder without spec files is an error (a mistyped path must
    not read as "nothing is wanted"), unless ``allow_empty``: the caller asked to delete everything.
    """
    files: list[Path] = []
    errors: list[SpecError] = []
    seen: set[Path] = set()

    def add(candidate: Path) -> None:
        resolved = candidate.resolve()
        if resolved not in seen:
            seen.add(resolved)
            files.append(candidate)

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(
                candidate
                for candidate in path.rglob("*")
                if candidate.suffix in SPEC_SUFFIXES
                and candidate.is_file()
                and not any(part.startswith(".") for part in candidate.relative_to(path).parts)
            )
            if not found and not allow_empty:
                errors.append(
                    _file_error(
                        str(path),
                        0,
                        "no *.yaml or *.yml files in this folder (to delete everything this instance "
                        "owns, pass --prune --allow-mass-prune)",
                    )
                )
            for candidate in found:
                add(candidate)
        elif path.is_file():
            add(path)
        elif path.exists():  # /dev/null, a socket, a pipe: there, but nothing to read specs from
            errors.append(_file_error(str(path), 0, "not a spec file or folder"))
        else:
            errors.append(_file_error(str(path), 0, "no such file or folder"))
    return files, errors


def _file_error(file: str, line: int, message: str) -> SpecError:
    return SpecError(file=file, line=line, kind="", name="", path="", message=message)


# --- loading ----------------------------------------------------------------------------------


@dataclass
class _FileResult:
    """One file's findings while loading; frozen into a ``LoadResult`` at the end."""

    documents: list[Document] = field(default_factory=list)
    errors: list[SpecError] = field(default_factory=list)
    invalid_keys: set[DocumentKey] = field(default_factory=set)
    complete: bool = True
    over_budget: bool = False
    targets: list[Target] = field(default_factory=list)
    invalid_targets: set[str] = field(default_factory=set)


def load_documents(
    paths: Sequence[Path | str],
    models: KindModels,
    *,
    budget: Budget = DEFAULT_BUDGET,
    allow_empty: bool = False,
) -> LoadResult:
    """Load and model-validate every document under ``paths`` (folders or files) into the spec
    model of its kind (``models``, from the registry).

    Never raises on bad input: unreadable files, YAML errors, empty files, documents that are not
    mappings, missing or unknown kinds, wrong apiVersion, duplicate keys, unknown fields and
    wrong values all become ``SpecError``s with the line of the field concerned. A file or set
    beyond ``budget`` is an error naming the file, and the files after it are not read.
    """
    files, errors = find_spec_files(paths, allow_empty=allow_empty)
    documents: list[Document] = []
    targets: list[Target] = []
    invalid: set[DocumentKey] = set()
    invalid_targets: set[str] = set()
    complete = not errors
    spending = _Spending(budget)
    for path in files:
        result = _load_file(path, models, spending)
        documents.extend(result.documents)
        targets.extend(result.targets)
        errors.extend(result.errors)
        invalid |= result.invalid_keys
        invalid_targets |= result.invalid_targets
        complete = complete and result.complete
        if result.over_budget:
            break
    return LoadResult(
        documents=tuple(documents),
        errors=tuple(sorted(errors)),
        files=tuple(str(path) for path in files),
        invalid_keys=frozenset(invalid),
        complete=complete,
        targets=tuple(targets),
        invalid_targets=frozenset(invalid_targets),
    )


def load_file(path: Path, models: KindModels, *, budget: Budget = DEFAULT_BUDGET) -> LoadResult:
    """Every document of one file (see ``load_documents``)."""
    return _frozen(_load_file(path, models, _Spending(budget)), files=(str(path),))


def load_text(text: str, models: KindModels, *, file: str, budget: Budget = DEFAULT_BUDGET) -> LoadResult:
    """Every document of one file's text; ``file`` is the name errors and documents carry."""
    return _frozen(_load_text(text, models, file=file, spending=_Spending(budget)), files=(file,))


def _frozen(result: _FileResult, *, files: tuple[str, ...]) -> LoadResult:
    return LoadResult(
        documents=tuple(result.documents),
        errors=tuple(sorted(result.errors)),
        files=files,
        invalid_keys=frozenset(result.invalid_keys),
        complete=result.complete,
        targets=tuple(result.targets),
        invalid_targets=frozenset(result.invalid_targets),
    )


def _load_file(path: Path, models: KindModels, spending: _Spending) -> _FileResult:
    name = str(path)
    budget = spending.budget
    try:
        with path.open("rb") as stream:
            # Never more than the budget plus one byte in memory, whatever the file's size.
            allowed = min(budget.file_bytes, max(budget.set_bytes - spending.bytes, 0))
            raw = stream.read(allowed + 1)
        spending.bytes += len(raw)
        if len(raw) > allowed:
            if allowed < budget.file_bytes:
                message = f"the spec set is larger than {_size(budget.set_bytes)}: split it or trim it"
            else:
                message = f"file larger than {_size(budget.file_bytes)}: split it"
            return _FileResult(errors=[_file_error(name, 0, message)], complete=False, over_budget=True)
        text = raw.decode("utf-8-sig")
    except OSError as error:
        return _FileResult(
            errors=[_file_error(name, 0, f"cannot read: {error.strerror or error}")], complete=False
        )
    except UnicodeDecodeError as error:
        return _FileResult(errors=[_file_error(name, 1, f"not UTF-8 text ({error.reason})")], complete=False)
    return _load_text(text, models, file=name, spending=spending)


def _size(count: int) -> str:
    return f"{count // (1024 * 1024)} MB"


def _load_text(text: str, models: KindModels, *, file: str, spending: _Spending) -> _FileResult:
    result = _FileResult()
    seen_any = False
    budget = spending.budget
    in_file = 0
    try:
        for node in yaml.compose_all(text, Loader=_YamlLoader):
            if node is None or (isinstance(node, yaml.ScalarNode) and node.tag == _NULL_TAG):
                continue  # an empty document between separators, e.g. a trailing "---"
            seen_any = True
            in_file += 1
            spending.documents += 1
            line = node.start_mark.line + 1
            if in_file > budget.file_documents:
                raise _OverBudget(
                    line, f"more than {budget.file_documents:,} documents in one file: split it"
                )
            if spending.documents > budget.set_documents:
                raise _OverBudget(line, f"the spec set holds more than {budget.set_documents:,} documents")
            _load_node(node, models, file, result, spending)
    except _OverBudget as error:
        result.errors.append(_file_error(file, error.line, error.message))
        result.complete = False
        result.over_budget = True
        return result
    except yaml.YAMLError as error:
        result.errors.append(_file_error(file, _yaml_error_line(error, text), _yaml_problem(error)))
        result.complete = False
        return result
    except RecursionError:
        result.errors.append(_file_error(file, 1, "YAML nested too deeply to read"))
        result.complete = False
        return result
    if not seen_any:
        result.errors.append(_file_error(file, 1, "no documents in this file (empty, or only comments)"))
    return result


def _load_node(
    node: yaml.Node, models: KindModels, file: str, result: _FileResult, spending: _Spending
) -> None:
    line = node.start_mark.line + 1
    builder = _Builder(positions={(): line}, spending=spending)
    try:
        data = builder.build(node, ())
    except _BuildError as error:
        result.errors.append(_file_error(file, error.line, error.message))
        return
    if not isinstance(data, dict):
        # A file that is no spec (a private key, say) must not be echoed: a short masked snippet.
        what = "a list" if isinstance(data, list) else f"the value {snippet(data)}"
        message = f"a document must be a mapping with apiVersion, kind, metadata and spec, not {what}"
        result.errors.append(_file_error(file, line, message))
        return
    kind_value = data.get("kind")
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    name_text = name if isinstance(name, str) else ""
    kind_text = kind_value if isinstance(kind_value, str) else ""
    positions = builder.positions

    def error_at(path: FieldPath, message: str) -> SpecError:
        return SpecError(
            file=file,
            line=_line_of(positions, path, line),
            kind=kind_text,
            name=name_text,
            path=render_path(path),
            message=message,
        )

    known_kinds = [*models, TARGET_KIND]
    if "kind" not in data:
        kinds = ", ".join(known_kinds)
        result.errors.append(error_at((), f"missing kind (one of {kinds})"))
        return
    if kind_value == TARGET_KIND:
        _load_target(data, builder.positions, file, line, result, error_at)
        return
    if not isinstance(kind_value, str) or kind_value not in models:
        kinds = ", ".join(known_kinds)
        suggestion = _suggest(str(kind_value), known_kinds)
        result.errors.append(
            SpecError(
                file=file,
                line=_line_of(positions, ("kind",), line),
                kind="",
                name=name_text,
                path="kind",
                message=f"unknown kind {kind_value!r}{suggestion} (one of {kinds})",
            )
        )
        return
    kind = kind_value
    manifest_type = manifest_model(models[kind])
    try:
        manifest = manifest_type.model_validate(data, by_alias=True, by_name=False)
    except ValidationError as error:
        _record_invalid(error, data, result, error_at)
        if name_text:
            result.invalid_keys.add((kind, name_text))
        return
    result.documents.append(
        Document(
            kind=kind,
            metadata=manifest.metadata,
            spec=manifest.spec,
            file=file,
            line=line,
            positions=MappingProxyType(positions),
        )
    )


def _record_invalid(error: ValidationError, data: dict[Any, Any], result: _FileResult, error_at: Any) -> None:
    """Every problem pydantic found in one document, as errors at their fields' lines."""
    for detail in error.errors():
        path, message = translate_error(detail, data)
        result.errors.append(error_at(path, message))


def _load_target(
    data: dict[Any, Any],
    positions: dict[FieldPath, int],
    file: str,
    line: int,
    result: _FileResult,
    error_at: Any,
) -> None:
    """A ``kind: Target`` document: validated as strictly as a resource's, kept apart from them."""
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    try:
        manifest = TargetManifest.model_validate(data, by_alias=True, by_name=False)
    except ValidationError as error:
        _record_invalid(error, data, result, error_at)
        if isinstance(name, str):
            result.invalid_targets.add(name)
        return
    if manifest.metadata.namespace is not None:
        # A Target is where a namespace goes, not something converged into one.
        result.errors.append(error_at(("metadata", "namespace"), "a Target is not in a namespace"))
        result.invalid_targets.add(manifest.metadata.name)
        return
    result.targets.append(
        Target(
            name=manifest.metadata.name,
            spec=manifest.spec,
            metadata=manifest.metadata,
            file=file,
            line=line,
            positions=MappingProxyType(positions),
        )
    )


def _line_of(positions: Mapping[FieldPath, int], path: FieldPath, default: int) -> int:
    candidate = path
    while candidate:
        if candidate in positions:
            return positions[candidate]
        candidate = candidate[:-1]
    return positions.get((), default)


# --- pydantic errors in the user's words --------------------------------------------------------


def translate_error(detail: ErrorDetails, data: Any) -> tuple[FieldPath, str]:
    """Map one pydantic error to the field path as written in the file, and a message.

    pydantic's ``loc`` mixes the keys of the input with the tags of union members
    (``image.RepositoryImage.tag``). Walking the input alongside the loc keeps the elements that
    exist in the data and drops the rest; a final element naming a missing field is kept, so the
    message names it and the line falls back to its parent.
    """
    error_type = detail["type"]
    loc = detail["loc"]
    path: list[str | int] = []
    current: Any = data
    for index, element in enumerate(loc):
        last = index == len(loc) - 1
        in_mapping = isinstance(current, dict) and element in current
        in_list = isinstance(current, list) and isinstance(element, int) and 0 <= element < len(current)
        if in_mapping or in_list:
            path.append(element)
            current = current[element]
        elif last and error_type == "missing" and isinstance(element, str):
            path.append(element)
    if error_type == "union_tag_invalid" and isinstance(current, dict):
        # Point at the discriminating key (``type: bogus``), not at the whole object.
        discriminator = str((detail.get("ctx") or {}).get("discriminator", "")).strip("'")
        if discriminator in current:
            path.append(discriminator)
    return tuple(path), _message(detail)


_SCALARS = (str, int, float, bool, type(None))


def _message(detail: ErrorDetails) -> str:
    error_type = detail["type"]
    context = detail.get("ctx") or {}
    loc = detail["loc"]
    if error_type == "missing":
        return "required field is missing"
    if error_type == "extra_forbidden":
        key = str(loc[-1]) if loc else ""
        if key in _field_vocabulary():
            return "field not allowed here"  # a real key, in the wrong object (or for this type)
        return f"unknown field{_suggest(key, _field_vocabulary())}"
    discriminator = str(context.get("discriminator", "type")).strip("'")
    if error_type == "union_tag_invalid":
        expected = str(context.get("expected_tags", "")).replace("'", "")
        return f"unknown {discriminator} {context.get('tag')!r} (one of {expected})"
    if error_type == "union_tag_not_found":
        return f"missing {discriminator}"
    message = detail["msg"]
    if error_type == "value_error":
        return message.removeprefix("Value error, ")
    value = detail.get("input")
    if loc and loc[-1] == "[key]":
        return f"key {_quoted(value)}: {message}"  # a mapping key is wrong, not the value under it
    if any(item in FINGERPRINTED_FIELDS for item in loc):
        # Environment values and arguments are where plain-text secrets live: never echoed.
        return f"{message} (got a value of type {type(value).__name__})"
    if isinstance(value, _SCALARS):
        return f"{message} (got {_quoted(value)})"
    return message


def _quoted(value: Any) -> str:
    """A value a message may quote: numbers and flags as they are, text as a short masked snippet."""
    return snippet(value, width=40) if isinstance(value, str) else repr(value)


def _suggest(word: str, vocabulary: Iterable[str]) -> str:
    words = sorted(vocabulary)
    camel = to_camel(word)
    if camel != word and camel in words:
        return f" (did you mean {camel!r}? keys are camelCase, as in the AWS API)"
    close = difflib.get_close_matches(word, words, n=1, cutoff=0.75)
    return f" (did you mean {close[0]!r}?)" if close else ""


@functools.cache
def _field_vocabulary() -> frozenset[str]:
    """Every key any spec model accepts, for "did you mean" hints on unknown fields."""
    names: set[str] = set()
    pending: list[type[BaseModel]] = [SpecModel]
    while pending:
        model = pending.pop()
        pending.extend(model.__subclasses__())
        for name, info in model.model_fields.items():
            names.add(info.alias or name)
    return frozenset(names)


__all__ = [
    "DEFAULT_BUDGET",
    "Budget",
    "LoadResult",
    "find_spec_files",
    "load_documents",
    "load_file",
    "load_text",
    "translate_error",
]
