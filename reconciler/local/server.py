"""The local AWS server: moto's WSGI app on 127.0.0.1, serialised behind one lock, patched to answer like AWS.

Called by the test fixtures (``tests/conftest.py``), by the embedded ``--local`` mode of the command line,
and by ``ecs-reconciler local-aws`` through :func:`serve_forever`. Nothing in the engine imports it: the
engine only ever sees an endpoint URL.

moto keeps every backend in process-global dictionaries, so the lock that serialises requests is
process-global too (two ``LocalAWS`` in one process share state and must share the lock). Backends are not
thread-safe: without the lock, concurrent requests sporadically fail with HTTP 500 (measured, see
LOCAL-AWS-NOTES.md), and for XML services botocore does not even retry those.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import sys
import threading
import time
import types
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from collections.abc import Set as AbstractSet
from contextlib import AbstractContextManager, contextmanager, suppress
from typing import IO, Any, Final, Self

from reconciler.local import patches
from reconciler.local.rollouts import RolloutModel, serving

DEFAULT_ACCOUNT_ID: Final = "123456789012"
"""moto's default account: what the fake ``testing`` credentials map to."""

DEFAULT_REGION: Final = "us-east-1"
FAKE_ACCESS_KEY: Final = "testing"
FAKE_SECRET_KEY: Final = "testing"
_DOCKER_MANIFEST: Final = "application/vnd.docker.distribution.manifest.v2+json"

# A reentrant lock so a test holding ``LocalAWS.lock`` can still call settle() or the backend accessors.
_BACKEND_LOCK: Final = threading.RLock()

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _SerialisedApp:
    """Runs each request, body included, under the backend lock and with this server's rollout model.

    The response body is read out while the lock is held because a WSGI body may be produced lazily,
    and producing it reads the backends.
    """

    def __init__(
        self,
        app: WsgiApp,
        lock: threading.RLock,
        model: RolloutModel,
        after_each: Callable[[], None] = lambda: None,
        refused_roles: AbstractSet[str] = frozenset(),
    ) -> None:
        self._app = app
        self._lock = lock
        self._model = model
        self._after_each = after_each
        self._refused_roles = refused_roles

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        if self._refused_roles:
            refusal = _refused_assume_role(environ, self._refused_roles)
            if refusal is not None:
                start_response(
                    "403 Forbidden", [("Content-Type", "text/xml"), ("Content-Length", str(len(refusal)))]
                )
                return [refusal]
        with self._lock, serving(self._model):
            body = self._app(environ, start_response)
            try:
                return list(body)
            finally:
                close = getattr(body, "close", None)
                if close is not None:
                    close()
                self._after_each()


def _refused_assume_role(environ: dict[str, Any], refused: AbstractSet[str]) -> bytes | None:
    """STS's AccessDenied answer when ``environ`` is an AssumeRole of a role in ``refused``, else
    None. The body is read and put back, so moto still sees every other request whole."""
    if environ.get("REQUEST_METHOD") != "POST":
        return None
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(body)
    form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
    role = (form.get("RoleArn") or [""])[0]
    if form.get("Action") != ["AssumeRole"] or role not in refused:
        return None
    message = (
        f"User: arn:aws:iam::{DEFAULT_ACCOUNT_ID}:user/moto is not authorized to perform: "
        f"sts:AssumeRole on resource: {role}"
    )
    return (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        f"<Error><Type>Sender</Type><Code>AccessDenied</Code><Message>{message}</Message></Error>"
        "<RequestId>refused-by-local-aws</RequestId></ErrorResponse>"
    ).encode()


class LocalAWS:
    """moto in server mode on 127.0.0.1, with the behaviour of AWS restored where the engine relies on it.

    Use as a context manager, or call :meth:`start` and :meth:`stop`. ``port=0`` picks a free port.
    ``rollout_seconds`` is how long an ECS deployment or a scaling change takes to reach steady state
    (0 for tests: it completes on the next read); ``clock`` is the monotonic clock that measures it.
    ``push_latest`` stands in for the ``docker push`` a tutorial does right after creating a
    repository: each new ECR repository gets a small synthetic image tagged ``latest`` (what
    ``run --local`` wants, so that the example's first start is all in sync; tests leave it off).
    """

    def __init__(
        self,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        region: str = DEFAULT_REGION,
        account_id: str = DEFAULT_ACCOUNT_ID,
        rollout_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        push_latest: bool = False,
    ) -> None:
        self._host = host
        self._port = port
        self._region = region
        self._account_id = account_id
        self._default_rollout_seconds = rollout_seconds
        self._rollouts = RolloutModel(rollout_seconds=rollout_seconds, clock=clock)
        self._push_latest = push_latest
        self._repositories_seen: set[str] = set()
        self._refused_roles: set[str] = set()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------------------------------

    def start(self) -> Self:
        """Start serving in a daemon thread; returns once the port accepts connections."""
        if self._server is not None:
            raise RuntimeError("LocalAWS is already running")
        # moto and werkzeug are imported here, not at module import, so importing reconciler.local
        # stays cheap for code that only needs the names.
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        # moto loads its catalogue of 1300 public AMIs into every account and region it builds, again after
        # each reset: 0.12 s each time, for images the reconciler never reads. A user who wants them sets
        # MOTO_EC2_LOAD_DEFAULT_AMIS=true. (moto takes its settings from the environment only.)
        os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
        patches.apply()

        class QuietRequestHandler(MotoRequestHandler):
            """Drops werkzeug's one log line per request; errors are still logged."""

            def log_request(self, *args: Any, **kwargs: Any) -> None:
                return None

        app = _SerialisedApp(
            DomainDispatcherApplication(create_backend_app),
            _BACKEND_LOCK,
            self._rollouts,
            after_each=self._push_latest_to_new_repositories if self._push_latest else lambda: None,
            refused_roles=self._refused_roles,
        )
        self._server = make_server(
            self._host, self._port, app, threaded=True, request_handler=QuietRequestHandler
        )
        self._thread = threading.Thread(
            # A short poll interval so stop() returns in a tenth of a second rather than half a second.
            target=lambda: self._server.serve_forever(poll_interval=0.1),
            name=f"local-aws:{self.port}",
            daemon=True,
        )
        self._thread.start()
        self._ensure_layer_state()
        return self

    def stop(self) -> None:
        """Stop serving and join the server thread. The backends' state stays (it is process-wide)."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: types.TracebackType | None,
    ) -> None:
        self.stop()

    def reset(self) -> None:
        """Wipe every service in every account (moto's reset), then restore what this layer guarantees.

        Also restores the constructor's ``rollout_seconds``, so a test that changed it leaves no trace.
        Credentials from ``sts:AssumeRole`` keep mapping to their account (see
        :func:`_restore_temporary_credentials`).
        """
        with self.lock:
            credentials = _temporary_credentials()
        request = urllib.request.Request(f"{self.endpoint_url}/moto-api/reset", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
        self._rollouts.rollout_seconds = self._default_rollout_seconds
        self._refused_roles.clear()
        with self.lock:
            _restore_temporary_credentials(credentials)
        self._ensure_layer_state()

    def _ensure_layer_state(self) -> None:
        # moto builds an account's default VPC (172.31.0.0/16, one default subnet per AZ, DNS hostnames
        # on) when the EC2 backend is first touched; touching it now makes it exist before any request,
        # as an account's default VPC does on AWS.
        with self.lock:
            self.ec2_backend()

    # -- addresses and settings ----------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("LocalAWS is not running")
        return int(self._server.server_address[1])

    @property
    def endpoint_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def region(self) -> str:
        return self._region

    @property
    def account_id(self) -> str:
        return self._account_id

    @property
    def rollout_seconds(self) -> float:
        """Seconds an ECS deployment or scaling change takes; settable, restored by :meth:`reset`."""
        return self._rollouts.rollout_seconds

    @rollout_seconds.setter
    def rollout_seconds(self, seconds: float) -> None:
        self._rollouts.rollout_seconds = seconds

    def environment(self) -> dict[str, str]:
        """The variables an AWS SDK or the AWS CLI needs to talk to this server and nowhere else."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint_url,
            "AWS_DEFAULT_REGION": self._region,
            "AWS_ACCESS_KEY_ID": FAKE_ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": FAKE_SECRET_KEY,
        }

    # -- in-process access for tests -----------------------------------------------------------------

    @property
    def lock(self) -> AbstractContextManager[Any]:
        """Hold this while reading or mutating backends in-process (e.g. to fake console drift)."""
        return _BACKEND_LOCK

    def _backend(self, backends: Any, account: str | None, region: str | None) -> Any:
        return backends[account or self._account_id][region or self._region]

    def ecs_backend(self, account: str | None = None, region: str | None = None) -> Any:
        from moto.ecs.models import ecs_backends

        return self._backend(ecs_backends, account, region)

    def ec2_backend(self, account: str | None = None, region: str | None = None) -> Any:
        from moto.ec2.models import ec2_backends

        return self._backend(ec2_backends, account, region)

    def elbv2_backend(self, account: str | None = None, region: str | None = None) -> Any:
        from moto.elbv2.models import elbv2_backends

        return self._backend(elbv2_backends, account, region)

    def ecr_backend(self, account: str | None = None, region: str | None = None) -> Any:
        from moto.ecr.models import ecr_backends

        return self._backend(ecr_backends, account, region)

    def autoscaling_backend(self, account: str | None = None, region: str | None = None) -> Any:
        """Application Auto Scaling (not EC2 Auto Scaling)."""
        from moto.applicationautoscaling.models import applicationautoscaling_backends

        return self._backend(applicationautoscaling_backends, account, region)

    def cloudwatch_backend(self, account: str | None = None, region: str | None = None) -> Any:
        from moto.cloudwatch.models import cloudwatch_backends

        return self._backend(cloudwatch_backends, account, region)

    # -- simulation controls -------------------------------------------------------------------------

    def fail_next_rollout(
        self, cluster: str, service: str, *, account: str | None = None, region: str | None = None
    ) -> None:
        """Make the next deployment of this service fail as ECS's deployment circuit breaker fails it.

        See :meth:`RolloutModel.fail_next_deployment` for what follows (rollback or not).
        Raises ``KeyError`` if the service does not exist.
        """
        with self.lock:
            self._rollouts.fail_next_deployment(self.ecs_backend(account, region), cluster, service)

    def refuse_assume_role(self, role_arn: str) -> None:
        """Test facility: answer every sts:AssumeRole of ``role_arn`` with AccessDenied, as AWS does
        when the role's trust policy does not name the caller or the external id differs (moto
        itself never refuses). Undone by :meth:`reset`."""
        self._refused_roles.add(role_arn)

    def allow_assume_role(self, role_arn: str) -> None:
        """Undo :meth:`refuse_assume_role` for ``role_arn`` (the trust policy fixed)."""
        self._refused_roles.discard(role_arn)

    def settle(self, *, account: str | None = None, region: str | None = None) -> None:
        """Bring every service of the account and region to where its rollout would end, now."""
        with self.lock:
            self._rollouts.settle(self.ecs_backend(account, region))

    def _push_latest_to_new_repositories(self) -> None:
        """After each request (under the backend lock): a repository of the default account and
        Region seen for the first time gets a ``latest`` image (see ``push_latest``)."""
        names = set(self.ecr_backend().repositories)
        for name in sorted(names - self._repositories_seen):
            self.push_image(name, "latest")
        self._repositories_seen = names

    def push_image(
        self, repository_name: str, tag: str, *, content: str = "", account: str | None = None
    ) -> str:
        """Put a small image manifest under ``tag`` and return its digest, ``sha256:`` + sha256(manifest).

        moto derives digests from the layer list; AWS's digest is the hash of the manifest, so this passes
        the digest AWS would compute. The manifest depends on repository, tag and ``content``: push again
        with other ``content`` to move the tag to a new image. Pushing the same image again is a no-op.
        Raises ``LookupError`` if the repository does not exist.
        """
        layer = hashlib.sha256(f"{repository_name}:{tag}:{content}".encode()).hexdigest()
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": _DOCKER_MANIFEST,
                "config": {
                    "mediaType": "application/vnd.docker.container.image.v1+json",
                    "size": 1024,
                    "digest": f"sha256:{hashlib.sha256(layer.encode()).hexdigest()}",
                },
                "layers": [
                    {
                        "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                        "size": 2048,
                        "digest": f"sha256:{layer}",
                    }
                ],
            },
            indent=3,
        )
        digest = f"sha256:{hashlib.sha256(manifest.encode()).hexdigest()}"
        from moto.ecr.exceptions import ImageAlreadyExistsException

        with self.lock:
            backend = self.ecr_backend(account)
            if repository_name not in backend.repositories:
                raise LookupError(f"ECR repository {repository_name!r} does not exist")
            # As ``docker push`` of an image already there: nothing to do (PutImage itself would refuse).
            with suppress(ImageAlreadyExistsException):
                backend.put_image(repository_name, manifest, tag, _DOCKER_MANIFEST, digest)
        return digest


def _temporary_credentials() -> list[tuple[str, str, Any]]:
    from moto.iam.models import iam_backends

    backends: Any = iam_backends
    return [
        (account_id, partition, key)
        for account_id, partition, backend in backends.iter_backends()
        for key in backend.access_keys.values()
        if key.access_key_id.startswith("ASIA")
    ]


def _restore_temporary_credentials(credentials: list[tuple[str, str, Any]]) -> None:
    """AWS: temporary credentials from AssumeRole stay valid, for their account, until they expire;
    moto 5.2.5: a reset forgets them, and requests signed with them then silently land in the default
    account (123456789012). Restored after each reset, so a client holding them still reaches its account.
    """
    from moto.iam.models import iam_backends

    for account_id, partition, key in credentials:
        iam_backends[account_id][partition].access_keys[key.access_key_id] = key


def serve_forever(
    port: int = 5000,
    *,
    host: str = "127.0.0.1",
    region: str = DEFAULT_REGION,
    rollout_seconds: float = 1.0,
    out: IO[str] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Run a :class:`LocalAWS` in the foreground until Ctrl-C, SIGTERM or ``stop`` is set.

    Prints the endpoint and the environment variables to export, for ``ecs-reconciler local-aws``.
    """
    out = out or sys.stdout
    stop = stop or threading.Event()
    with LocalAWS(port=port, host=host, region=region, rollout_seconds=rollout_seconds) as aws:
        print(f"Local AWS (moto, patched) listening on {aws.endpoint_url}", file=out)
        print("Point the AWS CLI or an SDK at it with:", file=out)
        for name, value in aws.environment().items():
            print(f"  export {name}={value}", file=out)
        print("Press Ctrl-C to stop.", file=out, flush=True)
        with _stop_on_sigterm(stop):
            try:
                while not stop.wait(0.5):
                    pass
            except KeyboardInterrupt:
                pass


@contextmanager
def _stop_on_sigterm(stop: threading.Event) -> Iterator[None]:
    # Signal handlers can only be installed from the main thread; elsewhere the caller stops us.
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
