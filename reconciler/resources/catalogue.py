"""Prints `docs/aws-rewrites.md` from the kinds' rewrite catalogues.

`python -m reconciler.resources.catalogue > docs/aws-rewrites.md`; `tests/plan/test_rewrites.py`
fails while the committed page differs from what this prints.
"""

from __future__ import annotations

from reconciler.plan.rewrites import render_markdown
from reconciler.resources.registry import rewrite_catalogue


def main() -> None:
    print(render_markdown(rewrite_catalogue()), end="")


if __name__ == "__main__":
    main()
