#!/usr/bin/env python3
"""Point every container image of one managed repository at a new tag, editing spec files in place.

The GitOps step of .github/workflows/app-image.yml: after CI pushed `<repository>:<git sha>`, this
rewrites the `tag:` of each `image: {repository: <name>, tag: ...}` in the given spec files or
folders, and the workflow opens a pull request with the change. Merging it is the deployment: the
daemon sees the new tag and rolls the service out.

    python3 deploy/bump_image_tag.py --repository node-app --tag 3f2c9e1... specs/node-app

Only the tag's value changes; comments, ordering and layout stay as written, so the pull request
shows a one-line diff per image. The tag is written quoted (a hex commit hash such as `1234e567`
would otherwise read as a number). Standard library only, so a CI runner needs no install.
Exit status: 0 when at least one image now carries the tag, 1 when no image of that repository
was found (a typo in the workflow should fail loudly, not open an empty pull request), 2 on bad
arguments.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

_KEY = re.compile(r"^(?P<indent>\s*)(?:-\s+)?(?P<key>[A-Za-z]+):\s*(?P<value>.*?)\s*(?:#.*)?$")
_FLOW_IMAGE = re.compile(r"(?P<head>\bimage:\s*\{)(?P<body>[^}]*)(?P<tail>\})")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")  # what Docker and ECR accept as a tag


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _significant(line: str) -> bool:
    stripped = line.strip()
    return bool(stripped) and not stripped.startswith("#")


def bump_text(text: str, *, repository: str, tag: str) -> tuple[str, int]:
    """The text with every image of `repository` on `tag`, and how many images were found."""
    lines = text.splitlines(keepends=True)
    found = 0
    for index, line in enumerate(lines):
        flow = _FLOW_IMAGE.search(line)
        if flow is not None:
            fields = dict(
                (part.split(":", 1)[0].strip(), _unquote(part.split(":", 1)[1]))
                for part in flow.group("body").split(",")
                if ":" in part
            )
            if fields.get("repository") == repository and "tag" in fields:
                body = re.sub(r"(\btag:\s*)[^,}]*", lambda m: f'{m.group(1)}"{tag}"', flow.group("body"))
                lines[index] = line[: flow.start("body")] + body + line[flow.end("body") :]
                found += 1
            continue
        match = _KEY.match(line)
        if (
            match is None
            or match.group("key") != "repository"
            or _unquote(match.group("value")) != repository
        ):
            continue
        if not _under_image_key(lines, index):
            continue
        tag_index = _sibling(lines, index, "tag")
        if tag_index is None:
            continue  # pinned by digest: nothing to bump
        tag_line = lines[tag_index]
        tag_match = _KEY.match(tag_line)
        assert tag_match is not None
        start, end = tag_match.span("value")
        lines[tag_index] = f'{tag_line[:start]}"{tag}"{tag_line[end:]}'
        found += 1
    return "".join(lines), found


def _block(lines: Sequence[str], index: int) -> tuple[range, int | None]:
    """The lines of the block mapping that holds the key on `lines[index]`, and its parent key's line.

    Its keys share the key's indentation; it ends at the first line indented less (or `---`).
    """
    indent = _indent(lines[index])

    def inside(line: str) -> bool:
        return not _significant(line) or (_indent(line) >= indent and line.strip() != "---")

    start = index
    while start > 0 and inside(lines[start - 1]):
        start -= 1
    end = index + 1
    while end < len(lines) and inside(lines[end]):
        end += 1
    parent = start - 1 if start > 0 and lines[start - 1].strip() != "---" else None
    return range(start, end), parent


def _sibling(lines: Sequence[str], index: int, key: str) -> int | None:
    block, _ = _block(lines, index)
    for candidate in block:
        match = _KEY.match(lines[candidate])
        if (
            match is not None
            and match.group("key") == key
            and _indent(lines[candidate]) == _indent(lines[index])
        ):
            return candidate
    return None


def _under_image_key(lines: Sequence[str], index: int) -> bool:
    """Whether the mapping holding `lines[index]` is the value of an `image:` key."""
    _, parent = _block(lines, index)
    if parent is None:
        return False
    match = _KEY.match(lines[parent])
    return match is not None and match.group("key") == "image" and match.group("value") == ""


def _spec_files(paths: Sequence[str]) -> list[Path]:
    files: list[Path] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            files += sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml"))
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(name)
    return files


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repository", required=True, help="the Repository document's metadata.name")
    parser.add_argument("--tag", required=True, help="the image tag to roll out, e.g. the commit SHA")
    parser.add_argument("paths", nargs="+", help="spec files or folders")
    arguments = parser.parse_args(argv)
    if not _TAG.fullmatch(arguments.tag):
        parser.error(f"{arguments.tag!r} is not a valid image tag")
    try:
        files = _spec_files(arguments.paths)
    except FileNotFoundError as error:
        parser.error(f"no such file or folder: {error}")
    total = 0
    for path in files:
        text = path.read_text()
        bumped, found = bump_text(text, repository=arguments.repository, tag=arguments.tag)
        total += found
        if bumped != text:
            path.write_text(bumped)
        if found:
            print(f"{path}: {found} image(s) of {arguments.repository} now on tag {arguments.tag}")
    if not total:
        print(
            f"no image of repository {arguments.repository} in {', '.join(arguments.paths)}", file=sys.stderr
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
