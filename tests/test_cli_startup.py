"""Failing cleanly and fast (issue 13, items 1, 6, 11 and 14): a start-up error is one line on
stderr with exit 1, never a traceback, and never after the banner advertised a port that was not
bound; an unreachable AWS is one line within seconds; options that mean nothing are refused; a
reader that stops reading does not change the exit code."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.cli import _listen_address, build_parser, main
from reconciler.daemon.sources import GitLocation
from reconciler.local import LocalAWS
from tests.unreachable import refusing_endpoint, silent_endpoint

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "specs"

REPORTED_WITHIN_SECONDS = 10.0
"""Generous on purpose: `plan` used to say nothing for 25-40 s, or minutes on a silent endpoint."""


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]


def _no_traceback(text: str) -> None:
    assert "Traceback" not in text, text


def _start(command: str) -> list[str]:
    """`command` on the example specs; the daemon on a free port."""
    return [command, str(EXAMPLE), *(["--listen", "127.0.0.1:0"] if command == "run" else [])]


# --- --listen ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("127.0.0.1:8080", ("127.0.0.1", 8080)),
        ("0.0.0.0:0", ("0.0.0.0", 0)),
        ("9000", ("127.0.0.1", 9000)),
        (":9000", ("127.0.0.1", 9000)),
        ("localhost:65535", ("localhost", 65535)),
        ("[::1]:8080", ("::1", 8080)),
    ],
)
def test_a_listen_address_is_host_and_port(text: str, address: tuple[str, int]) -> None:
    assert _listen_address(text) == address


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("127.0.0.1:99999", "the port must be 0-65535, got 99999"),
        ("127.0.0.1:-1", "the port must be 0-65535, got -1"),
        ("127.0.0.1:http", "not HOST:PORT"),
        ("localhost", "not HOST:PORT"),
        ("my host:80", "not a host name or address"),
    ],
)
def test_a_bad_listen_address_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    # 99999 used to reach the bind and end in an OverflowError traceback.
    assert main(["run", str(EXAMPLE), "--listen", text]) == 1
    error = capsys.readouterr().err
    assert f"argument --listen: {message}" in error
    _no_traceback(error)


# --- run: start-up errors -------------------------------------------------------------------------


def test_run_local_on_a_busy_port_says_so_in_one_line_and_advertises_nothing(busy_port: int) -> None:
    # The banner used to advertise the port, then an OSError traceback followed.
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "reconciler",
            "run",
            "--local",
            str(EXAMPLE),
            "--listen",
            f"127.0.0.1:{busy_port}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert finished.returncode == 1, finished.stderr
    assert finished.stderr.strip().splitlines()[-1] == (
        f"error: cannot listen on 127.0.0.1:{busy_port}: Address already in use"
    )
    assert f":{busy_port}/status" not in finished.stderr  # no banner for a port it never had
    _no_traceback(finished.stderr)
    assert finished.stdout == ""


def test_run_on_a_busy_port_is_one_line(
    local_aws: LocalAWS, busy_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(EXAMPLE), "--listen", f"127.0.0.1:{busy_port}", "--output", "json"]) == 1
    captured = capsys.readouterr()
    assert captured.err == f"error: cannot listen on 127.0.0.1:{busy_port}: Address already in use\n"
    assert captured.out == ""


@pytest.mark.parametrize("command", ["run", "plan"])
def test_no_region_is_one_line(
    local_aws: LocalAWS, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    # run used to end in a TerminalAwsError traceback, where plan printed one line.
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    assert main(_start(command)) == 1
    captured = capsys.readouterr()
    assert captured.err == "error: no AWS Region: pass --region or set AWS_REGION / AWS_DEFAULT_REGION\n"
    assert captured.out == ""


@pytest.mark.parametrize("command", ["run", "plan"])
def test_no_credentials_is_one_line(
    local_aws: LocalAWS, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    assert main(_start(command)) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("error: no AWS credentials: ")
    assert captured.err.count("\n") == 1
    assert captured.out == ""


# --- plan against an AWS that cannot be reached ---------------------------------------------------


@pytest.mark.parametrize("endpoint", ["refusing", "silent"])
def test_plan_against_an_unreachable_aws_is_one_line_within_seconds(
    local_aws: LocalAWS, capsys: pytest.CaptureFixture[str], endpoint: str
) -> None:
    with silent_endpoint() as silent:
        url = refusing_endpoint() if endpoint == "refusing" else silent
        started = time.monotonic()
        code = main(["plan", str(EXAMPLE), "--endpoint-url", url])
        seconds = time.monotonic() - started
    captured = capsys.readouterr()
    assert code == 1
    assert seconds < REPORTED_WITHIN_SECONDS
    (line,) = captured.err.splitlines()
    reason = "Could not connect to the endpoint URL" if endpoint == "refusing" else "Read timeout"
    assert line.startswith("error: ") and reason in line, line
    assert captured.out == ""


# --- options and paths that mean nothing ----------------------------------------------------------


@pytest.mark.parametrize(
    "option", [["--endpoint-url", "http://127.0.0.1:1"], ["--output", "json"], ["--region", "eu-west-1"]]
)
def test_local_aws_refuses_the_aws_options(capsys: pytest.CaptureFixture[str], option: list[str]) -> None:
    # It is the endpoint and prints no result: these were accepted and ignored.
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["local-aws", *option])
    assert exited.value.code == 1
    assert f"unrecognized arguments: {option[0]}" in capsys.readouterr().err


def test_local_aws_checks_its_port(capsys: pytest.CaptureFixture[str]) -> None:
    # 99999 started the local AWS on some other, random port.
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["local-aws", "--port", "99999"])
    assert exited.value.code == 1
    assert "argument --port: the port must be 0-65535, got 99999" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("path", "message"),
    [("/dev/null", "not a spec file or folder"), ("/no/such/specs", "no such file or folder")],
)
def test_a_path_that_is_no_spec_file_says_which_it_is(
    capsys: pytest.CaptureFixture[str], path: str, message: str
) -> None:
    assert main(["validate", path]) == 1
    assert f"{path}:0: {message}" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("/srv/repo#HEAD:specs", "/srv/repo#HEAD:specs"),  # was "/srv/repo#:specs"
        ("/srv/repo#main:specs", "/srv/repo#main:specs"),
        ("/srv/repo#v1.2", "/srv/repo#v1.2"),
        ("/srv/repo", "/srv/repo"),
        ("/srv/repo#HEAD", "/srv/repo"),
    ],
)
def test_a_git_location_shows_its_ref(text: str, shown: str) -> None:
    assert str(GitLocation.parse(text)) == shown


# --- a reader that stops reading ------------------------------------------------------------------


@pytest.mark.parametrize("command", ["validate", "drift"])
def test_a_reader_that_goes_away_does_not_change_the_exit_code(local_aws: LocalAWS, command: str) -> None:
    # `drift ... | head` exited 1 or 2 depending on how much of the output fit the pipe.
    local_aws.reset()
    argv = [sys.executable, "-m", "reconciler", command, str(EXAMPLE)]
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    read = subprocess.run(argv, capture_output=True, timeout=120, cwd=ROOT, env=environment)
    assert read.stdout  # there is output to lose

    reader_gone = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=environment
    )
    assert reader_gone.stdout is not None
    reader_gone.stdout.close()  # before the command writes anything
    _, stderr = reader_gone.communicate(timeout=120)

    assert reader_gone.returncode == read.returncode, stderr
    assert b"BrokenPipe" not in stderr and b"Exception ignored" not in stderr, stderr
    _no_traceback(stderr.decode())
