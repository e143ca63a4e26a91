"""`ecs-reconciler run`: wires the spec source, the engine, the lease, the HTTP server and the
controller together, and owns the process lifecycle (signals, graceful shutdown).

Called by the CLI. The first SIGTERM/SIGINT stops intake and lets the pass in flight finish (its
AWS calls included, bounded by `shutdown_seconds`), then releases the lease and exits 0; a second
signal exits at once.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import structlog
from aiohttp import web

from reconciler.aws.calls import CallCounter
from reconciler.aws.clients import AwsClients
from reconciler.aws.errors import AwsError
from reconciler.aws.settings import AwsSettings
from reconciler.daemon.controller import Controller, DaemonSettings, Leadership
from reconciler.daemon.fleet import Fleet, TargetRun
from reconciler.daemon.http import (
    GuardedSite,
    HttpLimits,
    RateLimitedLog,
    build_app,
    install_rate_limited_loop_errors,
)
from reconciler.daemon.leader import (
    LeaderElectionError,
    LeaderElectionSettings,
    LeaderElector,
    default_identity,
)
from reconciler.daemon.metrics import Metrics
from reconciler.daemon.notify import TargetNotifier, WebhookNotifier
from reconciler.daemon.shards import ShardCoordinator
from reconciler.daemon.sources import FolderSource, GitSource, SpecSource
from reconciler.daemon.subscribers import Notifier
from reconciler.engine.clients import EngineClients
from reconciler.engine.estate import target_aws_settings
from reconciler.engine.observe import ProcessCache
from reconciler.engine.reconcile import Engine, EngineSettings
from reconciler.engine.session import DeferredEngine
from reconciler.resources.base import PlanSettings
from reconciler.spec.estate import Namespace
from reconciler.spec.targets import Target

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RunOptions:
    paths: tuple[Path, ...] = ()
    """Spec files or folders to watch (unless `git` is set)."""
    git: str | None = None
    """`URL[#REF][:PATH]` of a git repository to poll instead of local folders."""
    git_poll_seconds: float = 30.0
    """How often the git source fetches."""
    daemon: DaemonSettings = field(default_factory=DaemonSettings)
    """Mode, resync interval, requeue delays, backoff."""
    plan: PlanSettings = field(default_factory=PlanSettings)
    """Instance name, pruning, delete limits."""
    aws: AwsSettings = field(default_factory=AwsSettings)
    """Region, endpoint, credentials chain, role to assume."""
    listen: tuple[str, int] = ("127.0.0.1", 8080)
    """Where the HTTP endpoints listen; port 0 picks a free one."""
    leader_table: str | None = None
    """DynamoDB table for leader election; None runs without election (a single replica)."""
    lease: LeaderElectionSettings = field(default_factory=LeaderElectionSettings)
    """Lease duration, renew deadline, retry period."""
    notify_webhook: str | None = None
    """URL that receives a JSON event when a resource drifts, heals, fails or a rollout fails."""
    shutdown_seconds: float = 30.0
    """How long a graceful stop waits for the pass in flight."""
    http_token: str | None = field(default=None, repr=False)
    """Bearer token /status, /drift and /metrics require; None leaves them open."""
    http_limits: HttpLimits = field(default_factory=HttpLimits)
    """Header and idle timeouts and the connection limit of the HTTP server."""


class StartupError(Exception):
    """The daemon cannot start as configured (the listen address is taken, say): one line for
    the operator, before anything was advertised."""


@dataclass
class RunningDaemon:
    """Handles a test or the CLI can use while the daemon runs."""

    fleet: Fleet
    port: int
    leader: LeaderElector | None
    """The default namespace's leader lease; None without a lease table."""
    shards: ShardCoordinator | None
    """The Targets' shard leases; None without a lease table."""
    calls: CallCounter
    """Every AWS call attempt the daemon's own clients made (the default target's, the lease's)."""

    @property
    def controller(self) -> Controller:
        """The default namespace's controller (a tree without Targets has no other)."""
        run = self.fleet.run_of(None)
        if run is None:
            raise LookupError("no valid spec set with documents in the default namespace is loaded")
        return run.controller


def _source(options: RunOptions, workdir: Path) -> SpecSource:
    if options.git is not None:
        return GitSource(options.git, poll_interval=options.git_poll_seconds, workdir=workdir)
    return FolderSource(list(options.paths))


async def run_daemon(
    options: RunOptions,
    *,
    stop: asyncio.Event | None = None,
    started: Callable[[RunningDaemon], None] | None = None,
    install_signal_handlers: bool = True,
) -> int:
    """Run until `stop` is set or a signal arrives; returns the exit code.

    `started` is called once the HTTP port is bound and the loop runs: what advertises the daemon
    (the CLI's banner) waits for it. Raises `StartupError` when the listen address cannot be
    bound and `AwsError` when AWS access cannot be set up (no Region, no credentials, a role that
    cannot be assumed), both before anything was advertised. A Target's role is assumed later, by
    the first pass that needs it: one that is refused fails that target alone.
    """
    loop = asyncio.get_running_loop()
    stopping = stop if stop is not None else asyncio.Event()
    if install_signal_handlers:
        _install_signal_handlers(loop, stopping)
    http_log = RateLimitedLog()
    install_rate_limited_loop_errors(loop, http_log)
    if options.http_token is None and not _is_loopback(options.listen[0]):
        log.warning(
            "http_open_to_the_network",
            host=options.listen[0],
            advice="/status, /drift and /metrics answer anyone: pass --http-token-file or --http-token-env",
        )
    with tempfile.TemporaryDirectory(prefix="ecs-reconciler-") as workdir:
        async with AwsClients(options.aws) as aws:
            clients = await EngineClients.open(aws)
            cache = ProcessCache()
            engine = Engine(
                clients=clients,
                settings=EngineSettings(region=aws.region, plan=options.plan),
                cache=cache,
            )
            identity = default_identity()
            # Each replica's sessions in the workload accounts carry its identity, so CloudTrail
            # there says which replica made a call.
            role_session_name = _session_name(identity)
            leader, shards = None, None
            if options.leader_table is not None:
                lease = replace(
                    options.lease, lease_name=f"{options.lease.lease_name}/{options.plan.instance}"
                )
                leader = LeaderElector(
                    await aws.dynamodb(),
                    table=options.leader_table,
                    identity=identity,
                    settings=lease,
                    clock=loop.time,
                )
                # The Targets' shards live beside the leader lease, in a group of their own.
                shards = ShardCoordinator(
                    await aws.dynamodb(),
                    table=options.leader_table,
                    identity=identity,
                    shards=(),
                    settings=replace(lease, lease_name=f"{lease.lease_name}/targets"),
                    clock=loop.time,
                )
            notifier = (
                WebhookNotifier(options.notify_webhook, instance=options.plan.instance)
                if options.notify_webhook is not None
                else None
            )

            def new_run(namespace: Namespace, target: Target | None) -> TargetRun:
                metrics = Metrics()
                if target is None:
                    return TargetRun(
                        namespace=namespace,
                        target=None,
                        controller=_controller(
                            engine,
                            metrics,
                            aws.counter,
                            leader,
                            work_only_while_leading=False,
                            notifier=notifier,
                        ),
                        metrics=metrics,
                        cache=cache,
                        region=aws.region,
                        lease=leader,
                    )
                deferred = DeferredEngine(
                    replace(target_aws_settings(options.aws, target), role_session_name=role_session_name),
                    replace(options.plan, namespace=namespace),
                    cache=(target_cache := ProcessCache()),
                )
                shard = shards.lease(target.name) if shards is not None else None
                return TargetRun(
                    namespace=namespace,
                    target=target,
                    controller=_controller(
                        deferred,
                        metrics,
                        deferred.counter,
                        shard,
                        work_only_while_leading=shard is not None,
                        notifier=TargetNotifier(notifier, target.name) if notifier is not None else None,
                    ),
                    metrics=metrics,
                    cache=target_cache,
                    region=target.region,
                    engine=deferred,
                    lease=shard,
                )

            def _controller(
                engine: Engine | DeferredEngine,
                metrics: Metrics,
                counter: CallCounter,
                lease: Leadership | None,
                *,
                work_only_while_leading: bool,
                notifier: Notifier | None,
            ) -> Controller:
                return Controller(
                    engine=engine,
                    settings=options.daemon,
                    metrics=metrics,
                    clock=loop.time,
                    wall_clock=time.time,
                    call_counter=counter,
                    leadership=lease,
                    work_only_while_leading=work_only_while_leading,
                    notifier=notifier,
                )

            source = _source(options, Path(workdir))
            fleet = Fleet(
                new_run=new_run,
                metrics=Metrics(),
                source_location=source.location,
                clock=loop.time,
                wall_clock=time.time,
                shards=shards,
            )
            app = build_app(
                fleet,
                clock=loop.time,
                liveness_seconds=max(60.0, options.daemon.resync_seconds),
                leadership_known=(lambda: leader is None or leader.leader_identity is not None),
                token=options.http_token,
            )
            limits = options.http_limits
            runner = web.AppRunner(app, access_log=None, keepalive_timeout=limits.idle_seconds)
            await runner.setup()
            site = GuardedSite(runner, options.listen[0], options.listen[1], limits=limits, log=http_log)
            try:
                await site.start()
            except OSError as error:
                await runner.cleanup()
                host, port = options.listen
                reason = os.strerror(error.errno) if error.errno else str(error)
                raise StartupError(f"cannot listen on {host}:{port}: {reason}") from error
            port = _bound_port(runner, options.listen[1])
            log.info("listening", host=options.listen[0], port=port, mode=options.daemon.mode)
            try:
                async with asyncio.TaskGroup() as group:
                    follow = group.create_task(fleet.follow(source.snapshots()))
                    election = group.create_task(leader.run()) if leader is not None else None
                    if started is not None:
                        started(
                            RunningDaemon(
                                fleet=fleet, port=port, leader=leader, shards=shards, calls=aws.counter
                            )
                        )
                    loop_task = group.create_task(fleet.run(stopping))
                    await stopping.wait()
                    log.info("stopping: finishing the pass in flight")
                    follow.cancel()
                    try:
                        await asyncio.wait_for(asyncio.shield(loop_task), options.shutdown_seconds)
                    except TimeoutError:
                        log.warning("pass still running at the shutdown deadline; cancelling it")
                        loop_task.cancel()
                    if election is not None:
                        election.cancel()
            finally:
                await _release(leader, fleet)
                if notifier is not None:
                    await notifier.close()
                await runner.cleanup()
    log.info("stopped")
    return 0


async def _release(leader: LeaderElector | None, fleet: Fleet) -> None:
    """Give back the leases held, so the others take over at once (else they expire: another
    replica waits that long)."""
    if leader is not None:
        try:
            await leader.release()
        except (AwsError, LeaderElectionError) as error:
            log.warning("could not release the lease", error=str(error))
    await fleet.release_shards()


def _session_name(identity: str) -> str:
    """`ecs-reconciler-IDENTITY` as an STS role session name: at most 64 of `[\\w+=,.@-]`, the
    identity's end (process id and random suffix) kept when a long host name must be cut."""
    cleaned = re.sub(r"[^\w+=,.@-]", "-", identity)
    return f"ecs-reconciler-{cleaned[-(64 - len('ecs-reconciler-')) :]}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything


def _bound_port(runner: web.AppRunner, requested: int) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    return requested


def _install_signal_handlers(loop: asyncio.AbstractEventLoop, stopping: asyncio.Event) -> None:
    def on_signal(signum: int) -> None:
        if stopping.is_set():
            log.warning("second signal: exiting at once", signal=signum)
            os._exit(128 + signum)
        log.info("signal received: stopping gracefully", signal=signum)
        stopping.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)
