"""The bad-spec corpus: one file per rule under ``bad/``, each refused with the right file, line and message.

Every file starts with ``# expect: LINE: Kind/name: path: message fragment`` lines (several when one
mistake yields several errors); the test runs ``ecs-reconciler validate FILE --output json`` in-process
and requires exactly those errors. A separate test runs the whole corpus in a fresh interpreter to pin
that validation never loads the AWS SDK, so nothing can be sent to AWS.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.cli import main

BAD = Path(__file__).parent / "bad"
CORPUS = sorted(BAD.glob("*.yaml"))
EXPECT = re.compile(r"^# expect: (\d+): (.+)$")


def _expectations(path: Path) -> list[tuple[int, str]]:
    expectations = []
    for line in path.read_text().splitlines():
        match = EXPECT.match(line)
        if match is None:
            break
        expectations.append((int(match.group(1)), match.group(2)))
    return expectations


def _rendered_without_position(error: dict[str, object]) -> str:
    parts = []
    if error["kind"] or error["name"]:
        parts.append(f"{error['kind'] or '?'}/{error['name'] or '?'}")
    if error["path"]:
        parts.append(str(error["path"]))
    parts.append(str(error["message"]))
    return ": ".join(parts)


def test_the_corpus_covers_at_least_forty_rules() -> None:
    assert len(CORPUS) >= 40
    assert all(_expectations(path) for path in CORPUS), "every corpus file starts with # expect: lines"


@pytest.mark.parametrize("path", CORPUS, ids=[path.stem for path in CORPUS])
def test_bad_spec_is_refused_at_the_expected_line(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    exit_code = main(["validate", str(path), "--output", "json"])
    report = json.loads(capsys.readouterr().out)

    assert exit_code == 1
    assert report["ok"] is False
    assert report["resources"] == []
    assert report["calls"] == {}
    found = [(error["file"], error["line"], _rendered_without_position(error)) for error in report["errors"]]
    for line, fragment in _expectations(path):
        matches = [item for item in found if item[0] == str(path) and item[1] == line and fragment in item[2]]
        assert matches, f"expected {path.name}:{line}: {fragment}\nfound:\n" + "\n".join(map(str, found))
    assert len(found) == len(_expectations(path)), "unexpected extra errors:\n" + "\n".join(map(str, found))


_PROBE = """
import contextlib, io, sys
from pathlib import Path
from reconciler.cli import main
codes = []
for path in sorted(Path(sys.argv[1]).glob("*.yaml")):
    with contextlib.redirect_stdout(io.StringIO()):
        codes.append(main(["validate", str(path), "--output", "json"]))
sdk = sorted(name for name in sys.modules if name.split(".")[0] in ("botocore", "aiobotocore", "boto3"))
print(len(codes), set(codes), sdk)
"""


def test_validating_the_corpus_never_loads_the_aws_sdk() -> None:
    # A fresh interpreter, because the test session itself loads the SDK for the local AWS. With
    # the SDK never imported, no request can have been signed or sent; the unreachable endpoint
    # and missing credentials make sure of it even if that ever changed.
    environment = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    environment["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, str(BAD)],
        capture_output=True,
        text=True,
        env=environment,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{len(CORPUS)} {{1}} []"
