"""Generic normalisation helpers shared by the resource modules' per-kind rules.

AWS answers with server defaults, numbers as strings, lists in an order that means nothing, and
`null`, `[]` and an absent key for the same thing. Each resource module composes these helpers into
its own `normalise_desired` / `normalise_live`, so both sides of a comparison have one canonical
form and no field shows as a perpetual difference. Pure, and never mutates its input.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any


def drop_empty(tree: Any) -> Any:
    """Remove None, empty lists and empty mappings at every depth: AWS treats them as absent."""
    if isinstance(tree, Mapping):
        cleaned = {key: drop_empty(value) for key, value in tree.items()}
        return {key: value for key, value in cleaned.items() if not _is_empty(value)}
    if isinstance(tree, list | tuple):
        return [drop_empty(item) for item in tree if not _is_empty(drop_empty(item))]
    return tree


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, list | tuple | Mapping) and len(value) == 0)


def drop_defaults(tree: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Remove keys whose value equals the server default: absent and default mean the same."""
    return {key: value for key, value in tree.items() if key not in defaults or defaults[key] != value}


def fill_defaults(tree: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Add the server default for keys the tree does not set."""
    return {**defaults, **tree}


def sort_by(items: Iterable[Any], key: Callable[[Any], Any] | None = None) -> list[Any]:
    """Canonical order for a list whose order has no meaning (env vars, subnets, tags...)."""
    return sorted(items, key=key if key is not None else canonical_json)


def canonical_json(value: Any) -> str:
    """A stable text form of a JSON-able value, for sorting and for comparing policy documents."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def as_string(value: Any) -> Any:
    """Numbers and booleans as AWS's string form ("1024", "true"); other values unchanged."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return value


def tags_to_map(
    tags: Iterable[Mapping[str, str]] | None, *, key: str = "key", value: str = "value"
) -> dict[str, str]:
    """AWS's tag lists (`[{key, value}]`, `[{Key, Value}]`) as one mapping."""
    return {tag[key]: tag.get(value, "") for tag in tags or ()}


def map_to_tags(tags: Mapping[str, str], *, key: str = "key", value: str = "value") -> list[dict[str, str]]:
    return [{key: k, value: v} for k, v in sorted(tags.items())]


def parse_json_text(text: str | None) -> Any:
    """A JSON document AWS returns as text (ECR policies), parsed so formatting never differs."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def pascal_keys(tree: Any) -> Any:
    """Spec camelCase keys as the PascalCase of ELBv2 and Application Auto Scaling, at every depth."""
    if isinstance(tree, Mapping):
        return {key[:1].upper() + key[1:]: pascal_keys(value) for key, value in tree.items()}
    if isinstance(tree, list):
        return [pascal_keys(item) for item in tree]
    return tree


def normalise_strategy(items: Sequence[Mapping[str, Any]] | None) -> list[dict[str, Any]] | None:
    """A capacity provider strategy (a cluster's default, a service's own) as AWS returns it:
    base and weight default to 0, and the order of a strategy has no meaning."""
    if items is None:
        return None
    filled = [{"base": 0, "weight": 0, **item} for item in items]
    return sort_by(filled, key=lambda item: item["capacityProvider"])
