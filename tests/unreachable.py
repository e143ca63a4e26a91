"""Endpoints where AWS cannot be reached, for the fail-fast tests of the clients, the CLI and the daemon.

`refusing_endpoint()` is a loopback port nobody listens on: every connection is refused at once.
`silent_endpoint()` listens and never answers: the kernel completes the TCP handshake for the
backlog, the request is sent, and no byte ever comes back (a hung proxy, a blackholed service).
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager


def refusing_endpoint() -> str:
    """The URL of a loopback port that was free a moment ago and has no listener."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@contextmanager
def silent_endpoint() -> Iterator[str]:
    """The URL of a socket that accepts connections (in the kernel's backlog) and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
