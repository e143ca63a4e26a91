"""The catalogue of AWS's rewrites: every way AWS answers a field differently from how it was sent.

A spec says `2001:DB8::/48`; EC2 answers `2001:db8::/48`. A spec leaves `protocol` out; ECS
answers `tcp`. Each such rewrite, unhandled, is a perpetual diff: a write on every pass that never
sticks. Every kind declares its rewrites once, as `rewrites` on its kind object (see
`reconciler.resources.registry.rewrite_catalogue`), each entry with how the engine handles it, where
the behaviour is documented, and the test that feeds the real-AWS-shaped answer to the planner.
`docs/aws-rewrites.md` is rendered from the catalogue (`python -m reconciler.resources.catalogue`)
and a test keeps the two equal. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum


class Handling(StrEnum):
    """How the engine keeps a rewrite from showing as a difference."""

    CANONICAL_AT_VALIDATION = "canonicalised at validation"
    """The spec value is rewritten to AWS's form when loaded, so spec, plan and AWS agree."""
    NORMALISED = "normalised on both sides"
    """Both the desired and the live tree are put in one canonical form before they are compared."""
    RESOLVED = "resolved to what AWS reports"
    """A name in the spec is looked up to the identifier AWS answers with (an ARN for a name)."""
    REQUIRED_FORM = "required in AWS's form"
    """Validation rejects any other spelling, with an error that names the form AWS answers with."""
    NOT_MANAGED = "not managed"
    """The field is left to AWS: the engine never compares it."""


@dataclass(frozen=True)
class Rewrite:
    """One documented (or measured) difference between what is sent and what AWS answers."""

    field: str
    """Where the spec writes it, in drift-report form: `containerDefinitions[].environment[].value`."""
    sent: str
    """What a spec (and so the request) says: `FEATURE_FLAGS: ""`."""
    answered: str
    """What AWS answers on the next read: `the entry is absent`."""
    handling: Handling
    how: str
    """One sentence: what exactly the engine does about it."""
    source: str
    """Where the behaviour is written down: an API reference page, a botocore shape documentation
    string, a public issue. `undocumented: ...` says so, with how it was established, instead of
    guessing."""
    test: str
    """The test that feeds AWS's answer to the planner, as `tests/path.py::test_name`."""


def render_markdown(catalogue: Mapping[str, Sequence[Rewrite]]) -> str:
    """The catalogue as the page `docs/aws-rewrites.md`: one table per kind, in the given order."""
    lines = [
        "# What AWS rewrites, and how ecs-reconciler keeps it from showing as a change",
        "",
        "Rendered from the `rewrites` each kind declares (`python -m reconciler.resources.catalogue"
        " > docs/aws-rewrites.md`); a test keeps this page equal to the code. Each row is a way AWS",
        "answers a field differently from how it was sent. Left unhandled, any of them is a perpetual",
        "diff: a write on every pass that never sticks. Should one slip through anyway, the engine's",
        "perpetual-diff breaker stops writing to that resource after a few tries and reports it.",
        "",
    ]
    for kind, rewrites in catalogue.items():
        lines += [f"## {kind}", ""]
        if not rewrites:
            lines += ["No rewrite is known for this kind.", ""]
            continue
        lines += [
            "| field | sent | AWS answers | handling | source | test |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for rewrite in rewrites:
            cells = (
                f"`{rewrite.field}`",
                rewrite.sent,
                rewrite.answered,
                f"{rewrite.handling.value}: {rewrite.how}",
                _link(rewrite.source),
                f"`{rewrite.test.rpartition('::')[2]}`",
            )
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        lines.append("")
    return "\n".join(lines)


def _link(source: str) -> str:
    return f"<{source}>" if source.startswith("https://") else source
