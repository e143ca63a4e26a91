"""Spec sources: folders watched with watchfiles, git repositories polled, and the location grammar.

The git tests build a real repository in tmp_path and let `GitSource` clone and fetch it with the
system's git; the folder tests edit real files and wait for the watcher.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import pytest

from reconciler.daemon.sources import (
    FolderSource,
    GitLocation,
    GitSource,
    GitSourceError,
    SpecSnapshot,
    SpecSource,
)
from reconciler.resources.cluster.model import ClusterSpec

T = TypeVar("T")

WAIT = 5.0

CLUSTER = """\
apiVersion: ecs-reconciler/v1
kind: Cluster
metadata: {name: web}
spec: {capacityProviders: [%s]}
"""
VALID = CLUSTER % "FARGATE"
CHANGED = CLUSTER % "FARGATE, FARGATE_SPOT"
INVALID = VALID.replace("capacityProviders", "capacityProvidrs")


def run(body: Callable[[], Awaitable[T]]) -> T:
    async def main() -> T:
        return await body()

    return asyncio.run(main())


class Snapshots:
    """A source's snapshots, awaited with timeouts that leave the generator running.

    Cancelling a pending `anext` would close the generator; a wait that times out keeps it
    pending for the next call instead.
    """

    def __init__(self, generator: AsyncGenerator[SpecSnapshot, None]) -> None:
        self._generator = generator
        self._pending: asyncio.Future[SpecSnapshot] | None = None

    async def next(self, seconds: float = WAIT) -> SpecSnapshot:
        snapshot = await self._wait(seconds)
        assert snapshot is not None, f"no snapshot within {seconds} s"
        return snapshot

    async def assert_none(self, seconds: float) -> None:
        snapshot = await self._wait(seconds)
        assert snapshot is None, f"unexpected snapshot: {snapshot}"

    async def _wait(self, seconds: float) -> SpecSnapshot | None:
        if self._pending is None:
            self._pending = asyncio.ensure_future(anext(self._generator))
        done, _ = await asyncio.wait({self._pending}, timeout=seconds)
        if not done:
            return None
        pending, self._pending = self._pending, None
        return pending.result()

    async def close(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            await asyncio.wait({self._pending})
        await self._generator.aclose()


@contextlib.asynccontextmanager
async def watching(generator: AsyncGenerator[SpecSnapshot, None]) -> AsyncIterator[Snapshots]:
    snapshots = Snapshots(generator)
    try:
        yield snapshots
    finally:
        await snapshots.close()


def providers(snapshot: SpecSnapshot) -> list[str]:
    assert snapshot.estate is not None, snapshot.errors
    (document,) = snapshot.estate.documents
    assert isinstance(document.spec, ClusterSpec)
    return list(document.spec.capacity_providers or [])


# --- the git location grammar: URL[#REF[:PATH]] ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "url", "ref", "path"),
    [
        ("https://host/repo.git#main:specs", "https://host/repo.git", "main", "specs"),
        (
            "https://host:8443/org/repo.git#v1.2:deploy/specs/",
            "https://host:8443/org/repo.git",
            "v1.2",
            "deploy/specs",
        ),
        ("/local/path/repo#main:specs", "/local/path/repo", "main", "specs"),
        ("file:///x/repo.git", "file:///x/repo.git", "HEAD", ""),
        ("git@github.com:org/repo.git", "git@github.com:org/repo.git", "HEAD", ""),
        ("git@github.com:org/repo.git#:specs", "git@github.com:org/repo.git", "HEAD", "specs"),
        ("https://host/repo.git#release/2024", "https://host/repo.git", "release/2024", ""),
        ("/srv/repo#main:./specs", "/srv/repo", "main", "specs"),
        ("/srv/repo#main:specs:with:colons", "/srv/repo", "main", "specs:with:colons"),
        ("/srv/repo#main:.", "/srv/repo", "main", ""),
    ],
)
def test_git_locations_parse_url_ref_and_path(text: str, url: str, ref: str, path: str) -> None:
    assert GitLocation.parse(text) == GitLocation(url=url, ref=ref, path=path)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "#main:specs",  # no URL
        "-uhttps://host/repo.git",  # would be read as an option
        "/srv/repo#--upload-pack=evil",
        "/srv/repo#main:/etc",  # absolute path
        "/srv/repo#main:../outside",
        "/srv/repo#ma in",
        "/srv/repo#main..other",
    ],
)
def test_git_locations_that_are_ambiguous_or_unsafe_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        GitLocation.parse(text)


def test_a_git_location_never_shows_the_credentials_in_its_url() -> None:
    location = GitLocation.parse("https://deploy:s3cret@host/repo.git#main:specs")
    assert location.url == "https://deploy:s3cret@host/repo.git"
    assert str(location) == "https://***@host/repo.git#main:specs"
    assert str(GitLocation.parse("https://host/repo.git")) == "https://host/repo.git"


# --- GitSource against a repository in tmp_path -----------------------------------------------------

_GIT_ENVIRONMENT = {
    **os.environ,
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
}


def git(repository: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=repository, env=_GIT_ENVIRONMENT, check=True, capture_output=True, text=True
    ).stdout.strip()


def commit(repository: Path, files: dict[str, str]) -> str:
    for name, text in files.items():
        (repository / name).parent.mkdir(parents=True, exist_ok=True)
        (repository / name).write_text(text)
    git(repository, "add", "--all")
    git(repository, "commit", "--quiet", "--allow-empty", "-m", "specs")
    return git(repository, "rev-parse", "HEAD")


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    repository = tmp_path / "origin"
    repository.mkdir()
    git(repository, "init", "--quiet", "--initial-branch=main")
    return repository


def test_git_source_yields_each_new_commit_and_an_invalid_one_with_its_errors(
    origin: Path, tmp_path: Path
) -> None:
    first = commit(origin, {"specs/cluster.yaml": VALID, "README.md": "not a spec"})

    async def body() -> None:
        source = GitSource(f"{origin}#main:specs", poll_interval=0.05, workdir=tmp_path / "checkout")
        async with watching(source.snapshots()) as snapshots:
            snapshot = await snapshots.next()
            assert (snapshot.revision, snapshot.ok, providers(snapshot)) == (first, True, ["FARGATE"])

            second = commit(origin, {"specs/cluster.yaml": CHANGED})
            snapshot = await snapshots.next()
            assert (snapshot.revision, providers(snapshot)) == (second, ["FARGATE", "FARGATE_SPOT"])

            third = commit(origin, {"specs/cluster.yaml": INVALID})
            snapshot = await snapshots.next()
            assert snapshot.revision == third
            assert snapshot.estate is None
            assert not snapshot.ok
            assert any("capacityProvidrs" in str(error) for error in snapshot.errors)

            # Nothing new upstream: polling goes on quietly.
            await snapshots.assert_none(0.4)

    run(body)


def test_git_source_only_loads_the_path_and_follows_the_ref(origin: Path, tmp_path: Path) -> None:
    on_main = commit(origin, {"specs/cluster.yaml": VALID, "other/broken.yaml": "{{ not yaml"})
    git(origin, "checkout", "--quiet", "-b", "next")
    on_next = commit(origin, {"specs/cluster.yaml": CHANGED})
    git(origin, "checkout", "--quiet", "main")

    async def body() -> None:
        for ref, sha, expected in [
            ("main", on_main, ["FARGATE"]),
            ("next", on_next, ["FARGATE", "FARGATE_SPOT"]),
        ]:
            source = GitSource(f"file://{origin}#{ref}:specs", poll_interval=0.05, workdir=tmp_path / ref)
            async with watching(source.snapshots()) as snapshots:
                snapshot = await snapshots.next()
                assert (snapshot.revision, providers(snapshot)) == (sha, expected)

    run(body)


def test_git_source_reuses_an_existing_clone(origin: Path, tmp_path: Path) -> None:
    sha = commit(origin, {"cluster.yaml": VALID})

    async def body() -> None:
        for _ in range(2):
            source = GitSource(str(origin), poll_interval=0.05, workdir=tmp_path / "checkout")
            async with watching(source.snapshots()) as snapshots:
                assert (await snapshots.next()).revision == sha

    run(body)


def test_an_unreachable_repository_is_a_snapshot_error_without_the_credentials(tmp_path: Path) -> None:
    async def body() -> None:
        # Port 1 on the loopback refuses at once.
        source = GitSource(
            "https://deploy:s3cret@127.0.0.1:1/repo.git#main:specs",
            poll_interval=0.05,
            workdir=tmp_path / "checkout",
        )
        async with watching(source.snapshots()) as snapshots:
            snapshot = await snapshots.next(30)
            assert snapshot.estate is None
            assert snapshot.revision == ""
            (error,) = snapshot.errors
            assert "git clone failed" in error.message
            assert "s3cret" not in str(error)
            assert error.file == "https://***@127.0.0.1:1/repo.git#main:specs"
            # The same failure again is not news.
            await snapshots.assert_none(0.3)

    run(body)


def test_a_missing_ref_is_a_snapshot_error_until_it_appears(origin: Path, tmp_path: Path) -> None:
    commit(origin, {"cluster.yaml": VALID})

    async def body() -> None:
        source: SpecSource = GitSource(f"{origin}#release", poll_interval=0.05, workdir=tmp_path / "w")
        async with watching(source.snapshots()) as snapshots:
            missing = await snapshots.next()
            assert missing.estate is None
            assert "git fetch failed" in missing.errors[0].message

            git(origin, "branch", "release")
            found = await snapshots.next()
            assert found.ok
            assert found.revision == git(origin, "rev-parse", "release")

    run(body)


def test_a_missing_git_executable_is_a_clear_error(origin: Path, tmp_path: Path) -> None:
    commit(origin, {"cluster.yaml": VALID})

    async def body() -> None:
        source = GitSource(
            str(origin), poll_interval=0.05, workdir=tmp_path / "w", git=str(tmp_path / "no-git")
        )
        async with watching(source.snapshots()) as snapshots:
            with pytest.raises(GitSourceError, match="not found"):
                await snapshots.next()

    run(body)


def test_a_workdir_holding_something_else_is_refused(origin: Path, tmp_path: Path) -> None:
    commit(origin, {"cluster.yaml": VALID})
    workdir = tmp_path / "busy"
    workdir.mkdir()
    (workdir / "precious.txt").write_text("keep me")

    async def body() -> None:
        source = GitSource(str(origin), poll_interval=0.05, workdir=workdir)
        async with watching(source.snapshots()) as snapshots:
            with pytest.raises(GitSourceError, match="not empty"):
                await snapshots.next()
        assert (workdir / "precious.txt").read_text() == "keep me"

    run(body)


# --- FolderSource --------------------------------------------------------------------------------


def test_folder_source_yields_on_content_changes_only(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    spec_file = specs / "cluster.yaml"
    spec_file.write_text(VALID)

    async def body() -> None:
        source: SpecSource = FolderSource([specs], debounce_ms=50)
        async with watching(source.snapshots()) as snapshots:
            first = await snapshots.next(1.0)
            assert first.ok
            assert providers(first) == ["FARGATE"]
            assert len(first.revision) == 16

            loop = asyncio.get_running_loop()
            edited_at = loop.time()
            spec_file.write_text(CHANGED)
            changed = await snapshots.next(2.0)
            assert changed.revision != first.revision
            assert providers(changed) == ["FARGATE", "FARGATE_SPOT"]
            assert changed.loaded_at - edited_at < 2.0

            # Saved unchanged, touched, or a file that is not a spec: no snapshot.
            spec_file.write_text(CHANGED)
            os.utime(spec_file)
            (specs / "notes.txt").write_text("hello")
            await snapshots.assert_none(0.5)

            spec_file.write_text(INVALID)
            invalid = await snapshots.next(2.0)
            assert invalid.estate is None
            assert any("capacityProvidrs" in str(error) for error in invalid.errors)

    run(body)


def test_folder_source_sees_a_new_file_and_a_file_replaced_by_rename(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    spec_file = specs / "cluster.yaml"
    spec_file.write_text(VALID)

    async def body() -> None:
        # Watching a single file: editors that save by writing a new file and renaming it over
        # the old one must still be seen.
        source = FolderSource([spec_file], debounce_ms=50)
        async with watching(source.snapshots()) as snapshots:
            first = await snapshots.next(1.0)
            replacement = specs / ".cluster.yaml.tmp"
            replacement.write_text(CHANGED)
            os.replace(replacement, spec_file)
            replaced = await snapshots.next(2.0)
            assert replaced.revision != first.revision
            assert providers(replaced) == ["FARGATE", "FARGATE_SPOT"]

        source = FolderSource([specs], debounce_ms=50)
        async with watching(source.snapshots()) as snapshots:
            await snapshots.next(1.0)
            (specs / "more.yml").write_text(VALID.replace("name: web", "name: api"))
            added = await snapshots.next(2.0)
            assert added.estate is not None
            assert len(added.estate.documents) == 2

    run(body)


def test_folder_source_reports_a_missing_folder_as_an_error(tmp_path: Path) -> None:
    async def body() -> None:
        source = FolderSource([tmp_path / "absent"], debounce_ms=50)
        async with watching(source.snapshots()) as snapshots:
            snapshot = await snapshots.next(1.0)
            assert snapshot.estate is None
            assert "no such file or folder" in snapshot.errors[0].message

            # Created later: picked up through the folder above it.
            (tmp_path / "absent").mkdir()
            (tmp_path / "absent" / "cluster.yaml").write_text(VALID)
            created = await snapshots.next(2.0)
            assert created.ok

    run(body)


HOST_SECRET = VALID.replace("name: web", "name: host-secret-7f3a")


@pytest.mark.parametrize("link", ["folder", "file", "nested"])
def test_git_source_never_reads_through_a_symlink_leaving_the_checkout(
    origin: Path, tmp_path: Path, link: str
) -> None:
    # Issue 9, item 4: a committed symlink must not make a file of the daemon's host the specs.
    host = tmp_path / "host"
    host.mkdir()
    (host / "secret.yaml").write_text(HOST_SECRET)
    commit(origin, {"README.md": "specs"})
    if link == "folder":
        (origin / "specs").symlink_to(host)
        expected = "specs"
    elif link == "file":
        commit(origin, {"specs/cluster.yaml": VALID})
        (origin / "specs" / "secret.yaml").symlink_to(host / "secret.yaml")
        expected = "specs/secret.yaml"
    else:
        # Inside the tree at first (specs/secret.yaml -> ../shared/secret.yaml), out of it one
        # link further on.
        commit(origin, {"specs/cluster.yaml": VALID, "shared/.keep": ""})
        (origin / "shared" / "secret.yaml").symlink_to(host / "secret.yaml")
        (origin / "specs" / "secret.yaml").symlink_to(Path("..") / "shared" / "secret.yaml")
        expected = "specs/secret.yaml"
    sha = commit(origin, {})

    async def body() -> None:
        source = GitSource(f"{origin}#main:specs", poll_interval=0.05, workdir=tmp_path / "checkout")
        async with watching(source.snapshots()) as snapshots:
            snapshot = await snapshots.next()
            assert (snapshot.revision, snapshot.ok, snapshot.estate) == (sha, False, None)
            messages = [str(error) for error in snapshot.errors]
            assert any(
                expected in message and "points outside the repository" in message for message in messages
            ), messages
            assert not any("host-secret-7f3a" in message or str(host) in message for message in messages)

    run(body)


def test_a_spec_file_beyond_the_budget_is_a_snapshot_error_naming_it(tmp_path: Path) -> None:
    # Issue 9, item 6: the source reports it like any invalid edit, so the controller keeps the
    # last good set in force, and the oversized file is never held whole.
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "cluster.yaml").write_text(VALID)

    async def body() -> None:
        source: SpecSource = FolderSource([specs], debounce_ms=50)
        async with watching(source.snapshots()) as snapshots:
            assert (await snapshots.next(1.0)).ok
            huge = specs / "huge.yaml"
            with huge.open("wb") as stream:
                stream.truncate(9 * 1024 * 1024)
            rejected = await snapshots.next(5.0)
            assert rejected.estate is None
            assert [(error.file, error.message) for error in rejected.errors] == [
                (str(huge), "file larger than 8 MB: split it")
            ]

    run(body)
