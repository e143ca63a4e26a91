"""The on-disk memory of task definition revisions, for one-shot runs (`plan`, `apply`, `drift`).

A revision never changes, so what one run learnt of it (its description, and the tags it had
then) spares the next run its DescribeTaskDefinition: with it, a steady `plan` reads no task
definition at all. Also kept is when each family was last listed, so that the slow schedule of
listings (`PlanSettings.family_listing_interval`) spans runs. One small JSON file per endpoint,
partition, account and Region, in the cache folder the CLI chooses. Safe to delete at any time:
a file that cannot be read is ignored and one that cannot be written is skipped, because the
cache only ever saves reads; it never decides what is true of anything that can change.

The daemon keeps the same in memory (`reconciler.engine.observe.ProcessCache`) and has no file.
Not for a local AWS: it forgets its revisions when it stops and hands out their ARNs again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from reconciler.resources.base import ObserveCache

FORMAT = 1


@dataclass(frozen=True)
class Scope:
    """Where revision ARNs are unique: one endpoint (empty for AWS's own), partition, account, Region."""

    endpoint: str
    partition: str
    account_id: str
    region: str

    @property
    def file_name(self) -> str:
        key = "|".join((self.endpoint, self.partition, self.account_id, self.region))
        return f"task-definitions-{hashlib.sha256(key.encode()).hexdigest()[:24]}.json"

    def as_dict(self) -> dict[str, str]:
        return {
            "endpoint": self.endpoint,
            "partition": self.partition,
            "accountId": self.account_id,
            "region": self.region,
        }


@dataclass
class RevisionFile:
    """The cache file of one scope, loaded into and saved from a process's `ObserveCache`."""

    directory: Path
    endpoint: str = ""
    _scope: Scope | None = field(default=None, init=False)
    _saved: tuple[int, int] | None = field(default=None, init=False)

    def load(self, cache: ObserveCache, *, partition: str, account_id: str, region: str) -> None:
        """Fill `cache` with what the file of this scope holds (once per process; what the process
        learnt itself wins)."""
        if self._scope is not None:
            return
        self._scope = Scope(self.endpoint, partition, account_id, region)
        stored = _read(self.directory / self._scope.file_name)
        if stored is None or stored.get("scope") != self._scope.as_dict():
            return
        for arn, described in dict(stored.get("revisions") or {}).items():
            if arn not in cache.task_definitions:
                cache.remember_revision(arn, described)
        for family, listed in dict(stored.get("familiesListed") or {}).items():
            if isinstance(listed, int | float):
                cache.families_listed.setdefault(family, float(listed))
        self._saved = _fingerprint(cache)

    def save(self, cache: ObserveCache) -> None:
        """Write what `cache` knows, if it learnt anything since the last load or save."""
        if self._scope is None or _fingerprint(cache) == self._saved:
            return
        content = {
            "format": FORMAT,
            "scope": self._scope.as_dict(),
            "revisions": dict(cache.task_definitions),
            "familiesListed": dict(cache.families_listed),
        }
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            # Written whole and renamed: a run that stops mid-write leaves the old file, never half one.
            handle, temporary = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(handle, "w") as file:
                json.dump(content, file, separators=(",", ":"))
            os.replace(temporary, self.directory / self._scope.file_name)
        except OSError:
            return  # a read-only or full disk costs the next run its reads, nothing else
        self._saved = _fingerprint(cache)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return stored if isinstance(stored, dict) and stored.get("format") == FORMAT else None


def _fingerprint(cache: ObserveCache) -> tuple[int, int]:
    return cache.revisions_remembered, hash(tuple(sorted(cache.families_listed.items())))


CACHE_DIR_VARIABLE = "ECS_RECONCILER_CACHE_DIR"


def for_one_shot_run(endpoint_url: str | None, environment: Mapping[str, str]) -> RevisionFile | None:
    """The revision file a CLI run uses: in `$ECS_RECONCILER_CACHE_DIR` (empty: none), else
    `$XDG_CACHE_HOME/ecs-reconciler`, else `~/.cache/ecs-reconciler`. None against a local AWS
    (a loopback endpoint), whose revision ARNs do not outlive it."""
    endpoint = endpoint_url or environment.get("AWS_ENDPOINT_URL") or ""
    host = urlsplit(endpoint).hostname or ""
    if host == "localhost" or host.startswith("127.") or host == "::1":
        return None
    if CACHE_DIR_VARIABLE in environment:
        chosen = environment[CACHE_DIR_VARIABLE]
        return RevisionFile(Path(chosen), endpoint) if chosen else None
    home = Path(environment.get("HOME", "~")).expanduser()
    base = Path(environment.get("XDG_CACHE_HOME") or home / ".cache")
    return RevisionFile(base / "ecs-reconciler", endpoint)
