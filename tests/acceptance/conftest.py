"""Fixtures of the acceptance tests: the two stacks as folders, and a person's console."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reconciler.local import LocalAWS
from tests.acceptance.fleet import write_fleet
from tests.acceptance.support import NODE_APP, Console


@pytest.fixture
def node_app(tmp_path: Path) -> Path:
    """A copy of specs/node-app, for tests that edit it (the others may read the original)."""
    return Path(shutil.copytree(NODE_APP, tmp_path / "node-app"))


@pytest.fixture
def fleet(tmp_path: Path) -> Path:
    """The 20-service variant, written into tmp_path/fleet."""
    return write_fleet(tmp_path / "fleet")


@pytest.fixture
def console(aws: LocalAWS) -> Console:
    return Console(aws)
