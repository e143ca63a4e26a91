"""The sample workload in app/: its routes, graceful shutdown, lockfiles and Dockerfile.

The app is started for real as a subprocess. Its dependencies come from `npm ci` (run only when
app/node_modules does not match package-lock.json) and it runs under the Bun version the image
pins, installed from the npm registry's `bun` package into pytest's cache folder. Without Bun it
runs under Node, and test_app_runs_under_the_pinned_bun skips saying so. Without node and npm the
runtime tests skip; the lockfile and Dockerfile checks need neither.
"""

from __future__ import annotations

import contextlib
import fcntl
import fnmatch
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "app"
PACKAGE = json.loads((APP / "package.json").read_text())
BUN_VERSION: str = PACKAGE["engines"]["bun"]

STARTUP_TIMEOUT_S = 10.0
INSTALL_TIMEOUT_S = 300


# --- installing what the app needs -----------------------------------------------------------


@contextlib.contextmanager
def _exclusive(lock_file: Path) -> Iterator[None]:
    """Serialises installs between pytest sessions sharing this checkout."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run(command: list[str], cwd: Path, timeout: float, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )
    if result.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def _node_modules_match_lock() -> bool:
    """True when every package package-lock.json names is installed at its locked version."""
    lock = json.loads((APP / "package-lock.json").read_text())
    for key, entry in lock["packages"].items():
        if not key:
            continue  # the root project itself
        manifest = APP / key / "package.json"
        if not manifest.is_file() or json.loads(manifest.read_text()).get("version") != entry["version"]:
            return False
    return True


def _tool_cache(config: pytest.Config, name: str) -> Path:
    cache = getattr(config, "cache", None)  # absent under -p no:cacheprovider
    if cache is not None:
        return Path(cache.mkdir(name))
    path = Path(tempfile.gettempdir()) / f"ecs-reconciler-{name}"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def node_modules(request: pytest.FixtureRequest) -> Path:
    """app/node_modules, installed from package-lock.json with `npm ci` if it is missing or stale."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.skip("node and npm are not on PATH: cannot install or run the sample app")
    # The lock lives outside node_modules, which npm ci deletes and recreates.
    with _exclusive(_tool_cache(request.config, "app-npm-ci") / "install.lock"):
        if not _node_modules_match_lock():
            _run([npm, "ci", "--no-audit", "--no-fund"], APP, INSTALL_TIMEOUT_S)
    return APP / "node_modules"


@dataclass(frozen=True)
class Bun:
    path: str | None
    why_not: str = ""  # why the pinned Bun is unavailable, when path is None
    cache_dir: Path | None = None  # bun's package cache, kept out of the user's home


@pytest.fixture(scope="session")
def bun(request: pytest.FixtureRequest) -> Bun:
    """The pinned Bun: from PATH when its version matches, else the npm registry's `bun` package."""
    cache = _tool_cache(request.config, f"bun-{BUN_VERSION}")
    package_cache = cache / "install-cache"
    on_path = shutil.which("bun")
    if on_path is not None and _bun_version(on_path) == BUN_VERSION:
        return Bun(on_path, cache_dir=package_cache)
    binary = cache / "node_modules" / ".bin" / "bun"
    npm = shutil.which("npm")
    with _exclusive(cache / "install.lock"):
        if _bun_version(str(binary)) != BUN_VERSION and npm is not None:
            install = [npm, "install", "--no-save", "--no-package-lock", "--no-audit", "--no-fund"]
            subprocess.run(
                [*install, "--prefix", str(cache), f"bun@{BUN_VERSION}"],
                capture_output=True,
                text=True,
                timeout=INSTALL_TIMEOUT_S,
                check=False,
            )
    if _bun_version(str(binary)) == BUN_VERSION:
        return Bun(str(binary), cache_dir=package_cache)
    if on_path is not None:
        return Bun(None, f"bun on PATH is {_bun_version(on_path)}, and npm could not install {BUN_VERSION}")
    return Bun(None, "not on PATH, and npm could not install it" if npm else "not on PATH, and no npm")


def _bun_version(path: str) -> str | None:
    try:
        result = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return None
    return result.stdout.strip() if result.returncode == 0 else None


@pytest.fixture(scope="session")
def runtime(node_modules: Path, bun: Bun) -> list[str]:
    """The command that runs a script of the app: the pinned Bun, or Node when Bun is unavailable."""
    if bun.path is not None:
        return [bun.path]
    node = shutil.which("node")
    assert node is not None  # node_modules skipped otherwise
    return [node]


# --- running the app -------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def _serve(runtime: list[str], tmp: Path, **env: str) -> Iterator[Server]:
    """Starts src/server.js on a free port and yields once /healthz answers; kills it on exit."""
    port = _free_port()
    log = tmp / f"server-{port}.log"
    full_env = {**os.environ, "NODE_ENV": "production", "PORT": str(port), **env}
    # Output to a file, not a pipe: nobody drains a pipe while tests run, and a full one blocks.
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*runtime, "src/server.js"], cwd=APP, env=full_env, stdout=sink, stderr=subprocess.STDOUT
        )
    server = Server(process, port, log)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(f"app exited {process.returncode} during startup:\n{server.output()}")
            with contextlib.suppress(OSError):
                if _get(server.url + "/healthz", timeout=1).status == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"/healthz did not answer within {STARTUP_TIMEOUT_S} s:\n{server.output()}")
            time.sleep(0.05)
        yield server
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


@dataclass(frozen=True)
class Response:
    status: int
    content_type: str
    body: bytes
    elapsed_s: float

    def json(self) -> Any:
        return json.loads(self.body)


def _get(url: str, timeout: float = 10) -> Response:
    start = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            status, headers, body = reply.status, reply.headers, reply.read()
    except urllib.error.HTTPError as error:
        with error:
            status, headers, body = error.code, error.headers, error.read()
    return Response(status, headers.get("Content-Type", ""), body, time.monotonic() - start)


@pytest.fixture(scope="module")
def server(runtime: list[str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with _serve(runtime, tmp_path_factory.mktemp("app")) as running:
        yield running


# --- routes ----------------------------------------------------------------------------------


def test_root_says_hello_world(server: Server) -> None:
    reply = _get(server.url + "/")
    assert (reply.status, reply.body) == (200, b"Hello world")
    assert reply.content_type.startswith("text/plain")


def test_healthz_answers_ok(server: Server) -> None:
    reply = _get(server.url + "/healthz")
    assert reply.status == 200
    assert reply.content_type.startswith("application/json")
    assert reply.json() == {"status": "ok"}


def test_cpu_burns_for_the_requested_time(server: Server) -> None:
    reply = _get(server.url + "/cpu?ms=50")
    assert reply.status == 200
    assert reply.content_type.startswith("application/json")
    body = reply.json()
    assert body["requestedMs"] == body["ms"] == 50
    assert body["capped"] is False
    assert body["maxMs"] == 5000  # the documented default cap
    assert body["burnedMs"] >= 50
    assert reply.elapsed_s >= 0.050


def test_cpu_defaults_to_200_ms(server: Server) -> None:
    body = _get(server.url + "/cpu").json()
    assert body["requestedMs"] == body["ms"] == 200
    assert body["burnedMs"] >= 200


def test_cpu_caps_large_values(runtime: list[str], tmp_path: Path) -> None:
    # A small cap keeps the test fast; the default cap is checked above through maxMs.
    with _serve(runtime, tmp_path, CPU_MAX_MS="100") as capped:
        reply = _get(capped.url + "/cpu?ms=100000")
    body = reply.json()
    assert (body["requestedMs"], body["ms"], body["maxMs"], body["capped"]) == (100000, 100, 100, True)
    assert 100 <= body["burnedMs"] < 1000
    assert reply.elapsed_s < 5


@pytest.mark.parametrize("query", ["ms=abc", "ms=-1", "ms=1.5", "ms=", "ms=1&ms=2"])
def test_cpu_rejects_malformed_ms(server: Server, query: str) -> None:
    reply = _get(f"{server.url}/cpu?{query}")
    assert reply.status == 400
    assert "error" in reply.json()


def test_unknown_route_is_a_json_404(server: Server) -> None:
    reply = _get(server.url + "/no/such/route")
    assert reply.status == 404
    assert reply.json() == {"error": "not found", "path": "/no/such/route"}


def test_healthcheck_script_reports_health(server: Server, runtime: list[str]) -> None:
    """src/healthcheck.js is the image's HEALTHCHECK: exit 0 against a live app, 1 against none."""

    def check(port: int) -> int:
        env = {**os.environ, "PORT": str(port)}
        command = [*runtime, "src/healthcheck.js"]
        return subprocess.run(
            command, cwd=APP, env=env, capture_output=True, timeout=30, check=False
        ).returncode

    assert check(server.port) == 0
    assert check(_free_port()) == 1


def test_app_runs_under_the_pinned_bun(server: Server, bun: Bun) -> None:
    if bun.path is None:
        node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False).stdout
        pytest.skip(
            f"bun {BUN_VERSION} unavailable ({bun.why_not}): the app tests ran under node {node.strip()}"
        )
    assert f"(bun {BUN_VERSION})" in server.output()


# --- graceful shutdown -----------------------------------------------------------------------


def test_sigterm_lets_the_in_flight_request_finish_then_exits_0(runtime: list[str], tmp_path: Path) -> None:
    with _serve(runtime, tmp_path) as app:
        replies: list[Response | OSError] = []

        def burn() -> None:
            try:
                replies.append(_get(app.url + "/cpu?ms=600"))
            except OSError as error:  # recorded, so a refused connection fails the assert below
                replies.append(error)

        request = threading.Thread(target=burn)
        request.start()
        time.sleep(0.2)  # the request is now being served: the burn blocks the app for 600 ms
        app.process.send_signal(signal.SIGTERM)
        request.join(timeout=10)
        assert app.process.wait(timeout=10) == 0, app.output()
    assert [getattr(reply, "status", reply) for reply in replies] == [200]
    assert "SIGTERM received" in app.output()


def test_sigterm_does_not_wait_for_idle_keep_alive_connections(runtime: list[str], tmp_path: Path) -> None:
    # The ALB holds keep-alive connections to its targets; they must not delay a clean stop.
    with _serve(runtime, tmp_path) as app:
        connection = http.client.HTTPConnection("127.0.0.1", app.port, timeout=10)
        try:
            connection.request("GET", "/healthz")
            assert connection.getresponse().read() == b'{"status":"ok"}'
            start = time.monotonic()
            app.process.send_signal(signal.SIGTERM)
            assert app.process.wait(timeout=10) == 0, app.output()
            assert time.monotonic() - start < 3
        finally:
            connection.close()


# --- lockfiles -------------------------------------------------------------------------------


def _bun_lock() -> dict[str, Any]:
    # bun.lock is JSON with trailing commas (JSONC); dropping those makes it plain JSON.
    text = (APP / "bun.lock").read_text()
    parsed: dict[str, Any] = json.loads(re.sub(r",(\s*[}\]])", r"\1", text))
    return parsed


def test_dependencies_are_pinned_exactly() -> None:
    for name, spec in PACKAGE["dependencies"].items():
        assert re.fullmatch(r"\d+\.\d+\.\d+", spec), f"{name} is {spec!r}: pin an exact version"
    assert re.fullmatch(r"\d+\.\d+\.\d+", BUN_VERSION)


def test_npm_and_bun_lockfiles_lock_the_same_versions() -> None:
    """npm ci (local runs, these tests) and the image's bun install must install the same tree."""
    npm_lock = json.loads((APP / "package-lock.json").read_text())
    from_npm = {
        (key.rsplit("node_modules/", 1)[1], entry["version"])
        for key, entry in npm_lock["packages"].items()
        if key
    }
    from_bun = {tuple(entry[0].rsplit("@", 1)) for entry in _bun_lock()["packages"].values()}
    assert from_npm == from_bun, (
        "package-lock.json and bun.lock disagree; regenerate bun.lock with `rm bun.lock && bun install` "
        f"in app/ (bun migrates package-lock.json). Only in npm's: {sorted(from_npm - from_bun)}; "
        f"only in bun's: {sorted(from_bun - from_npm)}"
    )
    assert npm_lock["packages"][""]["dependencies"] == PACKAGE["dependencies"]
    assert _bun_lock()["workspaces"][""]["dependencies"] == PACKAGE["dependencies"]


def test_bun_lock_satisfies_the_images_frozen_install(bun: Bun, tmp_path: Path) -> None:
    """Replays the Dockerfile's install step on a copy of the build context's two files."""
    if bun.path is None:
        pytest.skip(f"bun {BUN_VERSION} unavailable ({bun.why_not})")
    for name in ("package.json", "bun.lock"):
        shutil.copy(APP / name, tmp_path / name)
    env = {**os.environ, "BUN_INSTALL_CACHE_DIR": str(bun.cache_dir)}
    _run([bun.path, "install", "--frozen-lockfile", "--production"], tmp_path, INSTALL_TIMEOUT_S, env)
    assert (tmp_path / "node_modules" / "express" / "package.json").is_file()
    assert (tmp_path / "bun.lock").read_bytes() == (APP / "bun.lock").read_bytes()


# --- Dockerfile ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


def _dockerfile() -> list[Instruction]:
    """The Dockerfile's instructions, with comments dropped and continuation lines joined."""
    lines = [
        line for line in (APP / "Dockerfile").read_text().splitlines() if not line.lstrip().startswith("#")
    ]
    instructions: list[Instruction] = []
    pending = ""
    for line in lines:
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        text = (pending + line).strip()
        pending = ""
        if text:
            keyword, _, args = text.partition(" ")
            instructions.append(Instruction(keyword.upper(), " ".join(args.split())))
    return instructions


def _stages() -> tuple[dict[str, str], list[list[Instruction]]]:
    """The global ARG defaults, and the instructions of each stage (each starting with its FROM)."""
    global_args: dict[str, str] = {}
    stages: list[list[Instruction]] = []
    for instruction in _dockerfile():
        if instruction.keyword == "FROM":
            stages.append([instruction])
        elif stages:
            stages[-1].append(instruction)
        elif instruction.keyword == "ARG":
            name, _, default = instruction.args.partition("=")
            global_args[name] = re.sub(r"\$\{(\w+)\}", lambda m: global_args[m.group(1)], default)
    return global_args, stages


def test_dockerfile_base_image_is_pinned_to_the_tested_bun() -> None:
    global_args, stages = _stages()
    assert global_args.get("BUN_VERSION") == BUN_VERSION, "Dockerfile BUN_VERSION must equal engines.bun"
    aliases: set[str] = set()
    for stage in stages:
        image, _, alias = stage[0].args.partition(" AS ")
        image = re.sub(r"\$\{(\w+)\}", lambda m: global_args[m.group(1)], image)
        if image not in aliases:
            assert re.fullmatch(rf"oven/bun:{re.escape(BUN_VERSION)}-slim(@sha256:[0-9a-f]{{64}})?", image), (
                f"base image {image!r} is not pinned to an exact version"
            )
        if alias:
            aliases.add(alias.strip())


def test_dockerfile_installs_from_the_lockfile() -> None:
    _, stages = _stages()
    for stage in stages:
        installs = [i for i, step in enumerate(stage) if step.keyword == "RUN" and "bun install" in step.args]
        for index in installs:
            assert "--frozen-lockfile" in stage[index].args
            assert "--production" in stage[index].args
            copied = [step.args for step in stage[:index] if step.keyword == "COPY"]
            assert any("bun.lock" in args.split() for args in copied), (
                "bun.lock must be copied before install"
            )
    assert any("bun install" in step.args for stage in stages for step in stage if step.keyword == "RUN")


def test_dockerfile_runtime_stage_is_production_grade() -> None:
    _, stages = _stages()
    final = stages[-1]
    by_keyword: dict[str, list[str]] = {}
    for step in final:
        by_keyword.setdefault(step.keyword, []).append(step.args)
    users = by_keyword.get("USER", [])
    assert users, "the runtime stage must switch to a non-root USER"
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert "3000" in by_keyword.get("EXPOSE", [])
    (healthcheck,) = by_keyword["HEALTHCHECK"]
    assert "CMD" in healthcheck and "src/healthcheck.js" in healthcheck
    assert any("NODE_ENV=production" in env for env in by_keyword.get("ENV", []))
    (cmd,) = by_keyword["CMD"]
    # Exec form: a shell as PID 1 would swallow the SIGTERM the app relies on.
    assert json.loads(cmd) == ["bun", "src/server.js"]


def _docker_ignored(path: str, patterns: list[str]) -> bool:
    ignored = False
    for pattern in patterns:  # like Docker: the last matching pattern wins
        negated = pattern.startswith("!")
        glob = pattern.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, glob) or path.startswith(glob + "/"):
            ignored = not negated
    return ignored


def test_dockerignore_admits_exactly_what_the_image_copies() -> None:
    patterns = [
        line.strip()
        for line in (APP / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for unwanted in ("node_modules", "node_modules/express/package.json", ".git", "Dockerfile", "README.md"):
        assert _docker_ignored(unwanted, patterns), f"{unwanted} would be sent to the build context"
    _, stages = _stages()
    for stage in stages:
        for step in stage:
            if step.keyword != "COPY" or step.args.startswith("--from"):
                continue
            *sources, _destination = step.args.split()
            for source in sources:
                assert (APP / source).exists(), f"COPY {source}: no such file in app/"
                assert not _docker_ignored(source, patterns), f"COPY {source}: excluded by .dockerignore"
    for source in (APP / "src").rglob("*"):
        assert not _docker_ignored(str(source.relative_to(APP)), patterns)
