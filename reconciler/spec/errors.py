"""Spec errors: one value per problem, each pointing at a file, a line and a field.

Built by ``reconciler.spec.loader`` (YAML and model errors) and ``reconciler.spec.validate``
(semantic checks); rendered by the CLI, and kept by the daemon as the reason a spec set was
refused. Pure values.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True, order=True)
class SpecError:
    """A problem in the spec files. Field order is the sort order: file, then line.

    ``kind`` and ``name`` are empty when the document's kind or name is unknown (a YAML syntax
    error, a document without metadata). ``path`` is the field path as written in the file,
    relative to ``spec`` for fields inside it (``containerDefinitions[0].image``), from the
    document root otherwise (``metadata.name``, ``apiVersion``); empty for the whole document.
    ``line`` is 1-based; 0 when there is no line to point at (a path that does not exist).
    """

    file: str
    line: int
    kind: str
    name: str
    path: str
    message: str

    def __str__(self) -> str:
        parts = [f"{self.file}:{self.line}"]
        if self.kind or self.name:
            parts.append(f"{self.kind or '?'}/{self.name or '?'}")
        if self.path:
            parts.append(self.path)
        parts.append(self.message)
        return ": ".join(parts)

    def as_dict(self) -> dict[str, str | int]:
        """The JSON shape of the CLI's ``errors`` items."""
        return asdict(self)


def render_path(path: Sequence[str | int]) -> str:
    """A field path as users read it: ``spec`` dropped, keys dotted, list indexes in brackets."""
    parts = list(path)
    if len(parts) > 1 and parts[0] == "spec":
        parts = parts[1:]
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text
