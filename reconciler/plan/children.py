"""The keyed-children diff: which children of a resource to put, change or delete, by key.

Many AWS resources own a collection of children that the API writes one at a time by a key: a
service's scaling policies (by name) and scheduled actions (by name), a load balancer's listeners
(by port) and each listener's rules (by priority), a security group's rules (by their identity).
A kind's plan builds the desired and the live children as normalised trees keyed the same way,
calls `diff_children`, and turns the added, changed and removed keys into its own calls; the
result also carries the `Delta` the drift report shows, each child under `prefix + (key,)`.

Pure: no I/O. Called by the kind packages under `reconciler.resources`.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from reconciler.plan.delta import Delta, FieldDiff, Path, PathItem, diff_trees

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class ChildChanges(Generic[K]):
    """What differs between desired and live children, key by key.

    `added` and `changed` keep the desired side's order, `removed` the live side's: a caller that
    wants its calls in a given order passes its mappings in that order.
    """

    added: tuple[K, ...] = ()
    """Keys only the desired side has."""
    changed: tuple[K, ...] = ()
    """Keys on both sides whose trees differ (in the diff's mode)."""
    removed: tuple[K, ...] = ()
    """Keys only the live side has."""
    deltas: Mapping[K, Delta] = field(default_factory=dict, hash=False)
    """Each added, changed and removed key's own delta: added and changed keys in the desired
    side's order, then removed keys."""

    def __bool__(self) -> bool:
        return bool(self.deltas)

    @property
    def puts(self) -> tuple[K, ...]:
        """Added and changed keys, interleaved in the desired side's order: the children to write."""
        removed = set(self.removed)
        return tuple(key for key in self.deltas if key not in removed)

    def is_added(self, key: K) -> bool:
        return key in self.added

    def delta_of(self, keys: Iterable[K]) -> Delta:
        """The deltas of these keys, in this order; keys without a difference add nothing."""
        return sum((self.deltas.get(key, Delta()) for key in keys), Delta())

    @property
    def delta(self) -> Delta:
        """Every difference: the puts in the desired side's order, then the removals."""
        return self.delta_of(self.deltas)


def diff_children(
    desired: Mapping[K, Any],
    live: Mapping[K, Any],
    *,
    prefix: Path,
    path_item: Callable[[K], PathItem] | None = None,
    exact: bool = False,
    removed_value: Callable[[K], Any] | None = None,
    removed_spec_path: Callable[[K], Path | None] | None = None,
) -> ChildChanges[K]:
    """Compare children keyed alike on both sides (values are normalised trees).

    A child's path is `(*prefix, path_item(key))`; without `path_item` the key itself must be a
    path item (a str or an int). An added child is one `FieldDiff` of its whole desired tree, a
    changed one the field diffs of `diff_trees` in the given mode (`exact`, see
    `reconciler.plan.delta`), a removed one a `FieldDiff` whose live value is `removed_value(key)`
    (default: its live tree) and whose spec path is `removed_spec_path(key)` (default: none).
    """
    item_of = path_item if path_item is not None else _key_as_path_item
    added: list[K] = []
    changed: list[K] = []
    deltas: dict[K, Delta] = {}
    for key, tree in desired.items():
        child = diff_trees(tree, live.get(key), exact=exact, path=(*prefix, item_of(key)))
        if not child:
            continue
        (changed if key in live else added).append(key)
        deltas[key] = child
    removed = tuple(key for key in live if key not in desired)
    for key in removed:
        value = removed_value(key) if removed_value is not None else live[key]
        spec_path = removed_spec_path(key) if removed_spec_path is not None else None
        deltas[key] = Delta((FieldDiff((*prefix, item_of(key)), None, value, spec_path=spec_path),))
    return ChildChanges(tuple(added), tuple(changed), removed, deltas)


def _key_as_path_item(key: Hashable) -> PathItem:
    if isinstance(key, str | int):
        return key
    raise TypeError(f"a child key {key!r} is not a path item: pass path_item to name it in a path")
