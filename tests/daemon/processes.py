"""`ecs-reconciler run` as a real child process, for the daemon's process-level acceptance tests.

`DaemonProcess` starts `python -m reconciler run ...` (or any command) with its stderr in a file,
reads its HTTP endpoints with urllib, and is always stopped by its context manager, whatever the
test did. The child inherits the test's environment, so it reaches the in-process local AWS
through `AWS_ENDPOINT_URL` unless the test passes an environment of its own.

The child listens on `127.0.0.1:0` and the port is read from its `listening` log event: a port
picked free by the test could be taken (by any process's outgoing connection) before the child,
seconds later, binds it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

ROOT = Path(__file__).resolve().parents[2]


def eventually(check: Callable[[], T], *, within: float, interval: float = 0.05, what: str = "") -> T:
    """Poll `check` until it returns something truthy; fail after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {within:.0f} s: {what or check}")
        time.sleep(interval)


class DaemonProcess:
    """One running child; `stderr` is everything it logged so far (for assertions and failures)."""

    def __init__(self, process: subprocess.Popen[bytes], *, stderr_path: Path) -> None:
        self.process = process
        self.stderr_path = stderr_path
        self._port: int | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    @property
    def port(self) -> int | None:
        """The HTTP port, once the child logged that it listens."""
        if self._port is None:
            for line in self.stderr.splitlines():
                if '"listening"' not in line:
                    continue
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event.get("event") == "listening":
                    self._port = int(event["port"])
                    break
        return self._port

    def get(self, path: str) -> tuple[int, str] | None:
        """(status, body) of GET `path`; None while nothing answers yet."""
        port = self.port
        if port is None:
            self.assert_running()
            return None
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            self.assert_running()
            return None

    def get_json(self, path: str) -> Any:
        """The JSON body of GET `path`, whatever its status; None while nothing answers."""
        answer = self.get(path)
        return None if answer is None else json.loads(answer[1])

    def status(self) -> dict[str, Any]:
        body = self.get_json("/status")
        return body if isinstance(body, dict) else {}

    def assert_running(self) -> None:
        code = self.process.poll()
        if code is not None:
            raise AssertionError(f"the daemon exited with {code}; its stderr:\n{self.stderr[-4000:]}")

    def send_signal(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, *, within: float) -> int:
        """The exit code; fails (with the stderr) when the child is still running after `within` s."""
        try:
            return self.process.wait(timeout=within)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"the daemon did not exit within {within:.0f} s; its stderr:\n{self.stderr[-4000:]}"
            ) from None

    def stop(self) -> None:
        """Kill the child if it still runs and reap it; idempotent."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)


@contextmanager
def daemon_process(
    arguments: Sequence[str],
    *,
    logs: Path,
    command: Sequence[str] = (sys.executable, "-m", "reconciler", "run"),
    env: Mapping[str, str] | None = None,
    cwd: Path = ROOT,
) -> Iterator[DaemonProcess]:
    """Start `command + arguments + --listen 127.0.0.1:0`; the child is killed on the way out.

    `logs` is the file its stderr goes to; its stdout goes beside it (`.stdout`).
    """
    logs.parent.mkdir(parents=True, exist_ok=True)
    with logs.open("wb") as stderr, logs.with_suffix(".stdout").open("wb") as stdout:
        process = subprocess.Popen(
            [*command, *arguments, "--listen", "127.0.0.1:0"],
            cwd=cwd,
            env=dict(env if env is not None else os.environ),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
        )
    running = DaemonProcess(process, stderr_path=logs)
    try:
        yield running
    finally:
        running.stop()
