"""Where the daemon's desired state comes from: spec folders on disk, or a path in a git repository.

The controller loop (`ecs-reconciler run`) picks one `SpecSource` from its options
(`FolderSource` for `--specs DIR...`, `GitSource` for `--git URL#REF:PATH`) and iterates
`snapshots()`. Each `SpecSnapshot` is the whole estate (every namespace's spec set and the
Targets), loaded and validated (`reconciler.resources.registry.load_estate`), as of one revision. A
snapshot with errors is still yielded, so the daemon can say why it keeps the last good set in
force; it never applies one.

Sources are edge-triggered only as far as "something may have changed, load again"; what the
controller acts on is always a complete, freshly loaded set (level-triggered).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol
from urllib.parse import urlsplit

import structlog
import watchfiles

from reconciler.resources.registry import load_estate
from reconciler.spec import SpecError
from reconciler.spec.estate import Estate
from reconciler.spec.loader import SPEC_SUFFIXES, find_spec_files

_log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class SpecSnapshot:
    """The estate as of one revision of its source."""

    estate: Estate | None
    """The validated estate (one namespace, the default, in a tree without Targets); None when it
    did not load (see `errors`)."""

    errors: tuple[SpecError, ...]
    """Why the set did not load: spec errors, or a failure to read the source (git). Empty when
    `estate` is set."""

    revision: str
    """What was loaded: a content hash of the spec files (folders), the commit SHA (git)."""

    loaded_at: float
    """Event-loop time when the snapshot was taken."""

    @property
    def ok(self) -> bool:
        """True when the snapshot may be applied."""
        return self.estate is not None and not self.errors


class SpecSource(Protocol):
    """A stream of spec snapshots."""

    # Declared without `async`: an async generator method is a plain function returning an
    # async generator. A generator rather than any async iterator, so the consumer can close it
    # (`contextlib.aclosing`) and the watcher or git process stops at once, not at garbage
    # collection.
    def snapshots(self) -> AsyncGenerator[SpecSnapshot, None]:
        """Yield a snapshot at once, then one whenever the loaded content changes.

        Runs until closed or cancelled (cancelling a pending `anext` closes it). Never yields the
        same revision twice in a row with the same errors. Raises only when the source cannot go
        on (`SpecSourceError`: e.g. `GitSourceError` when git is missing, or the file watcher
        failed); transient failures become snapshots with errors.
        """
        ...

    @property
    def location(self) -> str:
        """Where the specs come from, for logs and /status; never contains credentials."""
        ...


class FolderSource:
    """Spec files and folders on the local disk, watched for changes.

    Changes to `*.yaml`/`*.yml` files under the given paths trigger a reload after a quiet period
    of up to `debounce_ms`; a snapshot is yielded only when the content hash of the spec files (their
    paths and bytes) changed, so saving a file unchanged yields nothing. A given file is watched
    through its folder, so editors that save by replacing the file are seen too.
    """

    def __init__(
        self,
        paths: Sequence[Path | str],
        *,
        debounce_ms: int = 300,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if not paths:
            raise ValueError("FolderSource needs at least one path")
        self._paths = tuple(Path(path) for path in paths)
        self._debounce_ms = debounce_ms
        self._clock = clock

    @property
    def location(self) -> str:
        return ", ".join(str(path) for path in self._paths)

    async def snapshots(self) -> AsyncGenerator[SpecSnapshot, None]:
        clock = self._clock or asyncio.get_running_loop().time
        changed = asyncio.Event()
        stop = asyncio.Event()
        watcher = asyncio.create_task(self._watch(changed, stop), name="spec-folder-watch")
        # One turn of the loop lets the watcher register with the OS before the first load, so
        # no edit can fall between the load and the start of watching.
        await asyncio.sleep(0)
        try:
            last_revision: str | None = None
            while True:
                loaded = await asyncio.to_thread(_load_folder, self._paths, last_revision)
                if loaded is not None:
                    revision, estate, errors = loaded
                    last_revision = revision
                    _log.info("specs_loaded", source=self.location, revision=revision, errors=len(errors))
                    yield SpecSnapshot(estate, tuple(errors), revision, clock())
                await changed.wait()
                changed.clear()
                if watcher.done():
                    error = None if watcher.cancelled() else watcher.exception()
                    raise SpecSourceError(f"watching {self.location} stopped: {error}") from error
        finally:
            await _stop_watcher(watcher, stop)

    async def _watch(self, changed: asyncio.Event, stop: asyncio.Event) -> None:
        roots = [path.resolve() for path in self._paths]
        targets = sorted({str(_watch_target(root)) for root in roots})

        def relevant(_change: watchfiles.Change, name: str) -> bool:
            path = Path(name)
            # A watched path (or a folder above it) appearing, moving or going away changes which
            # spec files exist, and the files in a new folder may be written before the watcher
            # has added it.
            if any(root.is_relative_to(path) for root in roots):
                return True
            # `..data` is the symlink a Kubernetes ConfigMap volume swaps to publish new files at
            # once; the spec files themselves do not change then, only what they point to.
            return (path.suffix in SPEC_SUFFIXES or path.name == "..data") and any(
                path.is_relative_to(root) for root in roots
            )

        try:
            async for _ in watchfiles.awatch(
                *targets, watch_filter=relevant, debounce=self._debounce_ms, stop_event=stop
            ):
                changed.set()
        finally:
            # Also wakes the loop when watching ends, so a failed watcher is seen, not waited on.
            changed.set()


def _watch_target(path: Path) -> Path:
    # A folder is watched itself; a file (or a path that does not exist yet) through the nearest
    # existing folder above it.
    if path.is_dir():
        return path
    for parent in path.parents:
        if parent.is_dir():
            return parent
    return Path("/")


def _load_folder(
    paths: Sequence[Path], last_revision: str | None
) -> tuple[str, Estate | None, list[SpecError]] | None:
    """The revision and loaded set, or None when the revision is `last_revision`.

    Runs in a worker thread: reading and validating a large tree must not stall the event loop.
    """
    # Hash before loading: if a file changes in between, the set loaded is newer than its hash,
    # and the change event that follows finds a different hash and loads again. The other order
    # could record the new hash with the old content and then skip the reload.
    revision = _content_hash(paths)
    if revision == last_revision:
        return None
    estate, errors = load_estate(paths)
    return revision, estate, errors


def _content_hash(paths: Sequence[Path]) -> str:
    files, problems = find_spec_files(paths)
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path).encode() + b"\0")
        try:
            # In chunks: a file far beyond the loader's budget must not be held whole to hash it.
            with path.open("rb") as stream:
                while chunk := stream.read(1 << 20):
                    digest.update(chunk)
        except OSError as error:
            digest.update(f"unreadable: {error.strerror}".encode())
        digest.update(b"\0")
    for problem in problems:
        digest.update(str(problem).encode() + b"\0")
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class GitLocation:
    """Where in which repository the specs are: `URL[#REF[:PATH]]`.

    - URL is anything `git clone` accepts (`https://host/org/repo.git`, `git@host:org/repo.git`,
      `file:///srv/repo.git`, `/srv/repo`). It ends at the first `#`, so it may contain `:` but
      not `#`.
    - REF follows `#` and is what `git fetch origin REF` takes: a branch, a tag or a commit. It
      ends at the first `:` (git refs cannot contain one). Absent or empty: the remote's HEAD.
    - PATH follows the `:` after REF: a relative path of a folder or file in the repository.
      Absent or empty: the repository root. Without a REF, write `URL#:PATH`.

    Examples: `https://host/repo.git#main:specs`, `/srv/repo#v1.2:deploy/specs`,
    `file:///srv/repo.git`, `git@github.com:org/repo.git#:specs`.
    """

    url: str
    ref: str = "HEAD"
    path: str = ""

    @classmethod
    def parse(cls, text: str) -> GitLocation:
        """Parse `URL[#REF[:PATH]]`; raises ValueError naming what is wrong."""
        url, has_ref, rest = text.strip().partition("#")
        ref, _, path = rest.partition(":") if has_ref else ("", "", "")
        if not url:
            raise ValueError(f"no repository URL in {text!r}: expected URL[#REF[:PATH]]")
        if url.startswith("-"):
            raise ValueError(f"a repository URL cannot start with '-': {url!r}")
        ref = ref or "HEAD"
        if ref.startswith("-") or any(char.isspace() or ord(char) < 32 for char in ref) or ".." in ref:
            raise ValueError(f"not a git ref: {ref!r}")
        return cls(url=url, ref=ref, path=_repository_path(path))

    def __str__(self) -> str:
        text = _redact_url(self.url)
        if self.ref != "HEAD" or self.path:
            # HEAD too, when a path follows: `#:specs` reads as a ref gone missing.
            text += f"#{self.ref}"
        if self.path:
            text += f":{self.path}"
        return text


def _repository_path(path: str) -> str:
    pure = PurePosixPath(path.strip())
    if pure.is_absolute() or ".." in pure.parts:
        raise ValueError(f"the path in the repository must be relative and stay inside it: {path!r}")
    text = str(pure)
    return "" if text == "." else text


def _redact_url(url: str) -> str:
    userinfo = _userinfo(url)
    return url.replace(userinfo + "@", "***@", 1) if userinfo else url


def _userinfo(url: str) -> str:
    """The `user:password` part of a URL ("" when none): the secret to keep out of logs."""
    if "://" not in url:
        return ""
    netloc = urlsplit(url).netloc
    return netloc.rpartition("@")[0]


class SpecSourceError(Exception):
    """A source cannot go on: its configuration can never work, or watching failed."""


class GitSourceError(SpecSourceError):
    """The git source cannot work as configured (git missing, workdir unusable)."""


class GitCommandError(GitSourceError):
    """A git command failed or timed out; becomes a snapshot with errors, and is retried."""


class GitSource:
    """Specs at a path in a git repository, polled for new commits.

    Clones the repository once into `workdir` (reusing an earlier clone there), then every
    `poll_interval` seconds fetches REF and, when the commit changed, checks it out detached and
    loads PATH. Each snapshot's `revision` is the commit SHA; an invalid commit yields its errors
    with its SHA, so it is not applied. A failing fetch or clone yields one snapshot with the
    error (revision: the last commit loaded, or "") and is retried at the next poll; a successful
    poll after it yields the commit again.

    git runs without a shell, with prompts off (`GIT_TERMINAL_PROMPT=0`): credentials must come
    from the URL, a credential helper or SSH keys. Each command is killed after
    `command_timeout` seconds. Credentials in the URL are kept out of logs and errors, but git
    stores the URL in the clone's config.
    """

    def __init__(
        self,
        url_ref_path: str | GitLocation,
        *,
        poll_interval: float = 30.0,
        workdir: Path | str,
        git: str = "git",
        command_timeout: float = 120.0,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._location = (
            url_ref_path if isinstance(url_ref_path, GitLocation) else GitLocation.parse(url_ref_path)
        )
        if poll_interval <= 0 or command_timeout <= 0:
            raise ValueError("poll_interval and command_timeout must be positive")
        self._poll_interval = poll_interval
        self._workdir = Path(workdir)
        self._git = git
        self._command_timeout = command_timeout
        self._clock = clock
        self._cloned = False
        self._loaded_sha: str | None = None
        self._last_sha = ""

    @property
    def location(self) -> str:
        return str(self._location)

    @property
    def git_location(self) -> GitLocation:
        return self._location

    async def snapshots(self) -> AsyncGenerator[SpecSnapshot, None]:
        clock = self._clock or asyncio.get_running_loop().time
        last: tuple[str, tuple[SpecError, ...]] | None = None
        while True:
            snapshot = await self._poll(clock)
            if snapshot is not None and (snapshot.revision, snapshot.errors) != last:
                last = (snapshot.revision, snapshot.errors)
                yield snapshot
            await asyncio.sleep(self._poll_interval)

    async def _poll(self, clock: Callable[[], float]) -> SpecSnapshot | None:
        """A snapshot when there is something new to say, else None."""
        try:
            if not self._cloned:
                await self._clone()
            sha = await self._fetch()
            if sha == self._loaded_sha:
                return None
            await self._git_command("checkout", "--quiet", "--force", "--detach", sha, cwd=self._workdir)
        except GitCommandError as error:
            # Load again after recovering, even the same commit: the error snapshot replaced it.
            self._loaded_sha = None
            if not (self._workdir / ".git").is_dir():
                self._cloned = False
            _log.warning("git_source_failed", source=self.location, error=str(error))
            failure = SpecError(file=self.location, line=0, kind="", name="", path="", message=str(error))
            return SpecSnapshot(None, (failure,), self._last_sha, clock())
        target = self._workdir / self._location.path if self._location.path else self._workdir
        escapes = await asyncio.to_thread(_links_leaving_the_tree, self._workdir, target)
        if escapes:
            # Nothing is loaded: not even the files inside the tree, so a commit is applied whole or
            # not at all, and no byte from the host reaches /status or the logs.
            self._loaded_sha = self._last_sha = sha
            _log.warning("specs_rejected", source=self.location, revision=sha, errors=len(escapes))
            return SpecSnapshot(None, escapes, sha, clock())
        estate, errors = await asyncio.to_thread(load_estate, [target])
        self._loaded_sha = self._last_sha = sha
        _log.info("specs_loaded", source=self.location, revision=sha, errors=len(errors))
        return SpecSnapshot(estate, tuple(errors), sha, clock())

    async def _clone(self) -> None:
        workdir = self._workdir
        if (workdir / ".git").is_dir():
            # A clone from an earlier run: point it at today's URL and fetch from there.
            await self._git_command("remote", "set-url", "origin", self._location.url, cwd=workdir)
        else:
            if workdir.exists() and (not workdir.is_dir() or any(workdir.iterdir())):
                raise GitSourceError(f"workdir {workdir} is not empty and not a git clone")
            try:
                workdir.parent.mkdir(parents=True, exist_ok=True)
            except OSError as error:
                raise GitSourceError(f"cannot create workdir {workdir}: {error.strerror}") from error
            await self._git_command(
                "clone",
                "--quiet",
                "--no-checkout",
                "--",
                self._location.url,
                str(workdir),
                cwd=workdir.parent,
            )
        self._cloned = True

    async def _fetch(self) -> str:
        await self._git_command("fetch", "--quiet", "--", "origin", self._location.ref, cwd=self._workdir)
        return (await self._git_command("rev-parse", "FETCH_HEAD", cwd=self._workdir)).strip()

    async def _git_command(self, *args: str, cwd: Path) -> str:
        """Run git with `args`; its stdout, or GitCommandError with its (redacted) stderr."""
        environment = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
        try:
            process = await asyncio.create_subprocess_exec(
                self._git,
                *args,
                cwd=cwd,
                env=environment,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
        except FileNotFoundError as error:
            raise GitSourceError(f"git executable {self._git!r} not found") from error
        except OSError as error:
            raise GitSourceError(f"cannot run {self._git!r}: {error.strerror}") from error
        try:
            async with asyncio.timeout(self._command_timeout):
                stdout, stderr = await process.communicate()
        except TimeoutError:
            await _kill(process)
            raise GitCommandError(f"git {args[0]} timed out after {self._command_timeout:g} s") from None
        except BaseException:
            # Cancelled: no git process may outlive the source.
            await _kill(process)
            raise
        if process.returncode != 0:
            message = stderr.decode(errors="replace").strip().splitlines()
            detail = message[-1] if message else f"exit status {process.returncode}"
            raise GitCommandError(f"git {args[0]} failed: {self._redact(detail)}")
        return stdout.decode(errors="replace")

    def _redact(self, text: str) -> str:
        userinfo = _userinfo(self._location.url)
        return text.replace(userinfo, "***") if userinfo else text


def _links_leaving_the_tree(root: Path, target: Path) -> tuple[SpecError, ...]:
    """An error for the spec path, or each spec file under it, that resolves outside `root`.

    A commit is untrusted input: a symlink in it (the spec folder itself, a file, or a folder
    link that leads to another link) could make the daemon read any file of its host. The spec
    files are found the way the loader finds them and each is resolved before any is read; the
    error names the path in the repository, never where it points.
    """
    tree = root.resolve()

    def outside(path: Path) -> SpecError:
        where = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
        message = "a symbolic link that points outside the repository: not read"
        return SpecError(file=where, line=0, kind="", name="", path="", message=message)

    if not target.resolve().is_relative_to(tree):
        return (outside(target),)
    files, _ = find_spec_files([target])
    return tuple(outside(path) for path in files if not path.resolve().is_relative_to(tree))


async def _kill(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
    # Reaping it and draining its pipes closes their transports.
    await process.communicate()


async def _stop_watcher(task: asyncio.Task[None], stop: asyncio.Event) -> None:
    """Stop the watcher and wait for it; its thread notices `stop` within watchfiles' 50 ms step."""
    stop.set()
    if not task.done():
        await asyncio.wait({task}, timeout=1.0)
    if not task.done():
        task.cancel()
        await asyncio.wait({task})
    if not task.cancelled():
        task.exception()  # retrieved: a failure was already raised to the consumer, or is moot now


__all__ = [
    "FolderSource",
    "GitCommandError",
    "GitLocation",
    "GitSource",
    "GitSourceError",
    "SpecSnapshot",
    "SpecSource",
    "SpecSourceError",
]
