#!/usr/bin/env python3
"""Point every container image of one managed repository at a new tag, editing spec files in place.

The GitOps step of .github/workflows/images.yml: after CI pushed `<repository>:<git sha>`, this
rewrites the `tag:` of each `image: {repository: <name>, tag: ...}` in the given spec files or
folders, and the workflow opens a pull request with the change. Merging it is the deployment: the
daemon sees the new tag and rolls the service out.

    python3 deploy/bump_image_tag.py --repository node-app --tag 3f2c9e1... specs/node-app
    python3 deploy/bump_image_tag.py --repository node-app --print-tags specs/node-app

Only the tag's value changes; comments, ordering and layout stay as written, so the pull request
shows a one-line diff per image. The tag is written quoted (a hex commit hash such as `1234e567`
would otherwise read as a number). `--print-tags` changes nothing and prints the tags those
images are on now, one a line: the workflow proposes a commit only when it is newer than them.
Standard library only, so a CI runner needs no install.
Exit status: 0 when at least one image was found (and now carries the tag), 1 when no image of
that repository was found (a typo in the workflow should fail loudly, not open an empty pull
request), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

_KEY = re.compile(r"^(?P<indent>\s*)(?:-\s+)?(?P<key>[A-Za-z]+):\s*(?P<value>.*?)\s*(?:#.*)?$")
_FLOW_IMAGE = re.compile(r"(?P<head>\bimage:\s*\{)(?P<body>[^}]*)(?P<tail>\})")
_FLOW_TAG = re.compile(r"\btag:\s*(?P<value>[^,}]*?)\s*(?=[,}]|$)")
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


def _tag_spans(lines: Sequence[str], repository: str) -> Iterator[tuple[int, int, int]]:
    """(line index, start, end) of the tag's value, for every image of `repository` named by tag."""
    for index, line in enumerate(lines):
        flow = _FLOW_IMAGE.search(line)
        if flow is not None:
            fields = dict(
                (part.split(":", 1)[0].strip(), _unquote(part.split(":", 1)[1]))
                for part in flow.group("body").split(",")
                if ":" in part
            )
            if fields.get("repository") == repository and "tag" in fields:
                value = _FLOW_TAG.search(flow.group("body"))
                assert value is not None
                offset = flow.start("body")
                yield index, offset + value.start("value"), offset + value.end("value")
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
        tag_match = _KEY.match(lines[tag_index])
        assert tag_match is not None
        yield tag_index, *tag_match.span("value")


def bump_text(text: str, *, repository: str, tag: str) -> tuple[str, int]:
    """The text with every image of `repository` on `tag`, and how many images were found."""
    lines = text.splitlines(keepends=True)
    spans = list(_tag_spans(lines, repository))
    for index, start, end in spans:
        lines[index] = f'{lines[index][:start]}"{tag}"{lines[index][end:]}'
    return "".join(lines), len(spans)


def image_tags(text: str, *, repository: str) -> list[str]:
    """The tags the images of `repository` are on now, in the order they are written."""
    lines = text.splitlines(keepends=True)
    return [_unquote(lines[index][start:end]) for index, start, end in _tag_spans(lines, repository)]


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
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--tag", help="the image tag to roll out, e.g. the commit SHA")
    action.add_argument(
        "--print-tags", action="store_true", help="print the tags the images are on now; change nothing"
    )
    parser.add_argument("paths", nargs="+", help="spec files or folders")
    arguments = parser.parse_args(argv)
    if arguments.tag is not None and not _TAG.fullmatch(arguments.tag):
        parser.error(f"{arguments.tag!r} is not a valid image tag")
    try:
        files = _spec_files(arguments.paths)
    except FileNotFoundError as error:
        parser.error(f"no such file or folder: {error}")
    total = 0
    for path in files:
        text = path.read_text()
        if arguments.print_tags:
            tags = image_tags(text, repository=arguments.repository)
            total += len(tags)
            for tag in tags:
                print(tag)
            continue
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
