"""Typed field-level deltas between a desired and a live tree, and the generic diff that makes them.

Resource modules normalise both sides (see `reconciler.plan.normalise`) and call `diff_trees`; the
planner, the drift report and the logs all read the resulting `Delta`. Pure: no I/O.

Two comparison modes exist because AWS has two kinds of update API:

- `subset` (the default): a mapping on the desired side manages only the keys it sets; keys that
  exist only on the live side belong to someone else (server defaults, fields the spec leaves out).
  That is how partial update calls (UpdateService, ModifyTargetGroup) behave.
- `exact`: the whole value is managed; extra live keys are a difference. Used where the API replaces
  the whole object (a task definition revision, a listener's actions), after normalisation has
  removed the server's own defaults from both sides.

Lists are compared whole in both modes, after normalisation has put unordered lists in a canonical
order: a list the spec sets is managed as a unit, which is what every AWS list field means.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

PathItem = str | int
Path = tuple[PathItem, ...]


class Owner(StrEnum):
    """Who decides a field's live value: shown in drift reports so a reader knows why it is there."""

    SPEC = "spec"
    AUTOSCALING = "autoscaling"
    SERVER_DEFAULT = "server-default"


@dataclass(frozen=True)
class FieldDiff:
    """One differing field: `desired` is what the spec wants, `live` what AWS has (None = absent).

    `path` is the kind's own identity path, which the planner queries (`Delta.touches`): a kind may
    key list items by identity (a rule by its ports and source, a listener by port, a container by
    name) and use the API's casing. `spec_path`, when set, is where the same field is written in
    the spec document (`("listeners", 0, "defaultAction", "type")`), for the drift report's field
    name and line. An item the spec does not have keeps its identity as a key under the spec's list
    (`("containerDefinitions", 0, "environment", "DEBUG")`), so the report names it and points at
    the list.
    """

    path: Path
    desired: Any
    live: Any
    owner: Owner = Owner.SPEC
    spec_path: Path | None = None

    @property
    def dotted_path(self) -> str:
        return format_path(self.path)

    @property
    def written_path(self) -> Path:
        """`spec_path` when the kind set one, else `path` (a kind whose paths mirror the spec)."""
        return self.spec_path if self.spec_path is not None else self.path


@dataclass(frozen=True)
class Delta:
    """The differences of one resource; empty means no call is needed."""

    diffs: tuple[FieldDiff, ...] = field(default_factory=tuple)

    def __bool__(self) -> bool:
        return bool(self.diffs)

    def __iter__(self) -> Iterator[FieldDiff]:
        return iter(self.diffs)

    def __len__(self) -> int:
        return len(self.diffs)

    def touches(self, *prefixes: Path) -> bool:
        """True when any diff lies at or below one of the prefixes."""
        return any(_starts_with(d.path, p) for d in self.diffs for p in prefixes)

    def only_under(self, *prefixes: Path) -> bool:
        """True when the delta is non-empty and every diff lies at or below one of the prefixes."""
        return bool(self.diffs) and all(any(_starts_with(d.path, p) for p in prefixes) for d in self.diffs)

    def under(self, prefix: Path) -> Delta:
        return Delta(tuple(d for d in self.diffs if _starts_with(d.path, prefix)))

    def without(self, *prefixes: Path) -> Delta:
        return Delta(tuple(d for d in self.diffs if not any(_starts_with(d.path, p) for p in prefixes)))

    def __add__(self, other: Delta) -> Delta:
        return Delta(self.diffs + other.diffs)

    def with_spec_paths(self, spec_path: Callable[[Path], Path | None]) -> Delta:
        """The same diffs, each told where the spec writes it: `spec_path(diff.path)`, or, when that
        is None (the path already mirrors the spec), left as it is."""
        return Delta(tuple(_with_spec_path(d, spec_path(d.path)) for d in self.diffs))


def _with_spec_path(diff: FieldDiff, spec_path: Path | None) -> FieldDiff:
    return diff if spec_path is None else replace(diff, spec_path=spec_path)


def _starts_with(path: Path, prefix: Path) -> bool:
    return path[: len(prefix)] == prefix


def format_path(path: Sequence[PathItem]) -> str:
    """`("containerDefinitions", 0, "image")` → `containerDefinitions[0].image`."""
    text = ""
    for item in path:
        if isinstance(item, int):
            text += f"[{item}]"
        else:
            text += f".{item}" if text else item
    return text


def diff_trees(desired: Any, live: Any, *, exact: bool = False, path: Path = ()) -> Delta:
    """Compare two normalised trees; see the module docstring for the two modes."""
    return Delta(tuple(_diff(desired, live, exact=exact, path=path)))


def _diff(desired: Any, live: Any, *, exact: bool, path: Path) -> Iterator[FieldDiff]:
    if isinstance(desired, Mapping) and isinstance(live, Mapping):
        keys = list(desired)
        if exact:
            keys += [key for key in live if key not in desired]
        for key in keys:
            yield from _diff(desired.get(key), live.get(key), exact=exact, path=(*path, key))
        return
    if desired != live:
        yield FieldDiff(path=path, desired=desired, live=live)
