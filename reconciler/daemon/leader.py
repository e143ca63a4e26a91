"""Leader election over a DynamoDB lease, so only one replica of the daemon writes to AWS.

The daemon (`ecs-reconciler run`) starts one `LeaderElector` per instance and runs `run()` as a
task. The controller (`reconciler.daemon.controller`) plans each pass under `is_leader`, so a
follower observes and reports and writes nothing; between passes it also waits on
`wait_until_leader()`, so taking the lease starts a full pass at once instead of at the next
resync; and it cancels a pass's writes as soon as `wait_until_follower()` returns, on top of
asking `is_leader` before every call. On graceful shutdown the daemon stops the controller first
and then calls `release()`, so a standby takes over at once. `/status` shows `is_leader` and
`leader_identity`.

The lease works like Kubernetes' `coordination.k8s.io/Lease` as client-go's leaderelection uses it:

- One item per lease name in a table keyed by the string `pk` (created on first use,
  PAY_PER_REQUEST): `holder`, `expires_at` (epoch seconds, as a DynamoDB number), `version` (a
  counter bumped by every write) and `acquired_at`.
- A follower reads the item every `retry_period` and, when it is absent, expired or already its
  own, takes it with a conditional PutItem:
  `attribute_not_exists(pk) OR (version = :seen AND (expires_at < :now OR holder = :me))`.
  The version clause makes the write lose to anyone who wrote since the read, so two followers
  that saw the same expired lease cannot both win.
- The leader renews every `retry_period` with an UpdateItem conditioned on
  `holder = :me AND version = :v`; a failed condition (someone else wrote the item) makes it a
  follower at once.
- `release()` deletes the item on `holder = :me`.

Safety. A leader that has not renewed successfully within `renew_deadline` of the *sending* of its
last successful renew stops being leader, whether its calls fail, hang or are slow: `is_leader` is
computed against that deadline, each renew call is cut off at it, and the loop then clears the
leadership event. The lease it last wrote expires `lease_duration` after that same moment
(measured on the wall clock), and `renew_deadline < lease_duration`, so the old leader has
stopped before anyone else can acquire.

Clock skew. Expiry is decided by the *acquiring* replica's wall clock (`expires_at < :now`),
against a value written from the *holder's* wall clock. The margin above holds while the two
wall clocks differ by less than `lease_duration - renew_deadline` (5 s with the defaults), and
while the monotonic clocks run at about the same rate. Keep the hosts on NTP; raise the margin
when that cannot be promised. Writes the old leader sent just before its deadline may still land
after it stepped down; that is why the controller cancels its writes in flight when leadership
ends: none of them goes on waiting (for a client-side budget, an SDK retry backoff) to be sent
later. A request already on the wire cannot be recalled; the margin above is for it.

The lease calls should go through AWS clients of their own (their own `AwsClients` and so rate
limiter): a renew queued behind a burst of reconcile calls in a shared client-side budget could
miss its deadline and cost the leadership.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import structlog

from reconciler.aws.errors import AwsError

_log = structlog.get_logger(__name__)

_CONDITION_FAILED = "ConditionalCheckFailedException"
_NOT_FOUND = "ResourceNotFoundException"
_IN_USE = "ResourceInUseException"


class LeaseTableClient(Protocol):
    """What the elector needs of a DynamoDB client: `reconciler.aws.clients.AwsClient` fits.

    `call` takes botocore's snake_case operation and parameters, returns the response dict and
    raises `AwsError` (with `.code`) when the call fails.
    """

    async def call(self, operation: str, /, **params: Any) -> dict[str, Any]: ...


@dataclass(frozen=True, kw_only=True)
class LeaderElectionSettings:
    """Timing and naming of the lease; the defaults are client-go's."""

    lease_name: str = "ecs-reconciler"
    """The item's key: replicas that share a lease name elect one leader among themselves (one
    lease per `--instance`)."""

    lease_duration: float = 15.0
    """Seconds a written lease stays valid; a follower can take over this long after the
    leader's last renew."""

    renew_deadline: float = 10.0
    """Seconds after its last successful renew (as sent) at which a leader that could not renew
    stops leading. Must be less than `lease_duration`; the difference is the tolerated clock
    skew between replicas."""

    retry_period: float = 2.0
    """Seconds between renew attempts of the leader and acquire attempts of a follower."""

    create_table: bool = True
    """Create the table when it does not exist. Turn off where the daemon's role may not
    call CreateTable; the table must then exist (`pk` string hash key)."""

    table_active_timeout: float = 120.0
    """Seconds to wait for a newly created table to become ACTIVE before giving up the attempt."""

    def __post_init__(self) -> None:
        if not self.lease_name:
            raise ValueError("lease_name must not be empty")
        if min(self.lease_duration, self.renew_deadline, self.retry_period) <= 0:
            raise ValueError("lease_duration, renew_deadline and retry_period must be positive")
        if self.renew_deadline >= self.lease_duration:
            raise ValueError(
                f"renew_deadline ({self.renew_deadline}) must be less than lease_duration "
                f"({self.lease_duration}), or two leaders could overlap"
            )
        if self.retry_period >= self.renew_deadline:
            raise ValueError(
                f"retry_period ({self.retry_period}) must be less than renew_deadline "
                f"({self.renew_deadline}), or a leader gets no second chance to renew"
            )


@dataclass(frozen=True)
class LeaseRecord:
    """The lease item as last read or written."""

    holder: str
    expires_at: float
    """Epoch seconds (the writer's wall clock)."""
    version: int


class LeaderElectionError(Exception):
    """The lease table cannot be used (missing and not created, or never became ACTIVE)."""


def default_identity() -> str:
    """A replica identity unique per process: host name, process id and a random suffix.

    A restarted process gets a new identity, so it waits for its predecessor's lease to expire
    unless that one released it; two processes can never mistake each other's lease for theirs.
    """
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"


class LeaseLoop:
    """What a loop that keeps leases in the table needs, whatever it keeps: the table, who this
    replica is, the timing, the clocks, and a pause that `release` can cut short.

    `clock` is the monotonic clock deadlines are measured on (default: the running event loop's
    time); `wall_clock` gives the epoch seconds written as `expires_at` and compared with it
    (default: `time.time`). Not thread-safe: use it from the event loop that runs the loop.
    """

    def __init__(
        self,
        client: LeaseTableClient,
        *,
        table: str,
        identity: str,
        settings: LeaderElectionSettings | None = None,
        clock: Callable[[], float] | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if not identity:
            raise ValueError("identity must not be empty")
        self._client = client
        self._table = table
        self._identity = identity
        self._settings = settings if settings is not None else LeaderElectionSettings()
        self._given_clock = clock
        self._wall_clock = wall_clock
        self._last_error: str | None = None
        self._table_ready = False
        self._stopping = False
        self._wake = asyncio.Event()
        # Writes to the table never overlap, so `release` sees the version of the last renew.
        self._write_lock = asyncio.Lock()

    @property
    def identity(self) -> str:
        """This replica's identity, as written to `holder`."""
        return self._identity

    @property
    def settings(self) -> LeaderElectionSettings:
        return self._settings

    @property
    def last_error(self) -> str | None:
        """The last failure talking to the lease table, None after a success."""
        return self._last_error

    def _remember_failure(self, error: Exception, event: str, **fields: str) -> None:
        """Log a failure talking to the table when it differs from the last one (repeating it
        every retry period would bury other logs)."""
        if isinstance(error, TimeoutError):
            message = "TimeoutError: the lease table did not answer in time"
        elif isinstance(error, AwsError):
            message = str(error)
        else:
            message = f"{type(error).__name__}: {error}"
        if message != self._last_error:
            _log.warning(event, error=message, **fields)
        self._last_error = message

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()

    def _clock(self) -> float:
        if self._given_clock is None:
            self._given_clock = asyncio.get_running_loop().time
        return self._given_clock()


class LeaderElector(LeaseLoop):
    """Campaigns for one lease and keeps it; see the module docstring for the protocol, and
    `LeaseLoop` for the clocks."""

    def __init__(
        self,
        client: LeaseTableClient,
        *,
        table: str,
        identity: str,
        settings: LeaderElectionSettings | None = None,
        clock: Callable[[], float] | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            client, table=table, identity=identity, settings=settings, clock=clock, wall_clock=wall_clock
        )
        self._holding = False
        self._renewed_at = 0.0
        self._version = 0
        self._observed: LeaseRecord | None = None
        self._leading = asyncio.Event()
        self._following = asyncio.Event()
        self._following.set()

    @property
    def is_leader(self) -> bool:
        """True while this replica holds the lease and its last renew is within the deadline.

        Turns False at the renew deadline even when the loop that renews is stuck.
        """
        return self._holding and self._clock() < self._renewed_at + self._settings.renew_deadline

    @property
    def leader_identity(self) -> str | None:
        """The holder of the lease as last read or written (possibly expired); None when there is
        no lease item or it was never read."""
        return self._observed.holder if self._observed is not None else None

    @property
    def observed(self) -> LeaseRecord | None:
        """The lease item as last read or written, None when absent or not read yet."""
        return self._observed

    async def wait_until_leader(self) -> None:
        """Return once this replica leads (at once if it does)."""
        await self._leading.wait()

    async def wait_until_follower(self) -> None:
        """Return once this replica does not lead (at once if it does not)."""
        await self._following.wait()

    async def run(self) -> None:
        """Campaign for the lease, then keep renewing it, until cancelled or released.

        Cancelling does not release the lease (a crash does not either): the others take over
        when it expires. AWS errors are logged and retried every `retry_period`; they never end
        the loop. Raises only `CancelledError`.
        """
        self._clock()  # resolve the loop's clock before anyone asks is_leader
        try:
            while not self._stopping:
                try:
                    if not self._table_ready:
                        await self.ensure_table()
                    if self._holding:
                        await self._renew()
                    else:
                        await self._try_acquire()
                except (AwsError, LeaderElectionError, TimeoutError) as error:
                    self._failed(error)
                await self._pause(self._until_next_attempt())
        finally:
            self._step_down("stopped")

    async def release(self) -> None:
        """Stop campaigning and give the lease up, so a follower takes over without waiting.

        Call it after the work that needs leadership has stopped. Leadership ends before the
        lease item is deleted. Idempotent; a failure to delete is logged, and the lease then
        simply expires.
        """
        self._stopping = True
        self._wake.set()
        async with self._write_lock:
            was_leader = self.is_leader
            self._step_down("released")
            try:
                await self._client.call(
                    "delete_item",
                    TableName=self._table,
                    Key={"pk": {"S": self._settings.lease_name}},
                    ConditionExpression="holder = :me",
                    ExpressionAttributeValues={":me": {"S": self._identity}},
                )
            except AwsError as error:
                if error.code not in (_CONDITION_FAILED, _NOT_FOUND):
                    _log.warning("leader_release_failed", lease=self._settings.lease_name, code=error.code)
                return
            self._observed = None
            if was_leader:
                _log.info("leader_released", lease=self._settings.lease_name, identity=self._identity)

    async def ensure_table(self) -> None:
        """Make sure the lease table exists and is ACTIVE, creating it when allowed (see
        `ensure_lease_table`)."""
        await ensure_lease_table(self._client, table=self._table, settings=self._settings, clock=self._clock)
        self._table_ready = True

    async def _try_acquire(self) -> None:
        async with self._write_lock:
            if self._stopping:
                return
            # A read first: a follower polling a healthy lease costs a read, not a failed write.
            async with asyncio.timeout(self._settings.renew_deadline):
                response = await self._client.call(
                    "get_item",
                    TableName=self._table,
                    Key={"pk": {"S": self._settings.lease_name}},
                    ConsistentRead=True,
                )
            self._last_error = None
            current = lease_record(response.get("Item"))
            self._observe(current)
            if (
                current is not None
                and current.holder != self._identity
                and current.expires_at >= self._wall_clock()
            ):
                return
            seen = current.version if current is not None else 0
            sent = self._clock()
            async with asyncio.timeout(self._settings.renew_deadline):
                written = await take_lease(
                    self._client,
                    table=self._table,
                    key=self._settings.lease_name,
                    identity=self._identity,
                    seen=seen,
                    now=self._wall_clock(),
                    duration=self._settings.lease_duration,
                )
            if written is None:
                # Someone wrote since our read; the next read shows who.
                _log.debug("leader_acquire_lost_race", lease=self._settings.lease_name)
                return
            self._version = written.version
            self._renewed_at = sent
            self._holding = True
            self._observe(written)
            self._following.clear()
            self._leading.set()
            _log.info(
                "leader_acquired",
                lease=self._settings.lease_name,
                identity=self._identity,
                version=self._version,
            )

    async def _renew(self) -> None:
        async with self._write_lock:
            remaining = self._renewed_at + self._settings.renew_deadline - self._clock()
            if remaining <= 0:
                self._step_down("renew deadline passed")
                return
            sent = self._clock()
            try:
                async with asyncio.timeout(remaining):
                    renewed = await renew_lease(
                        self._client,
                        table=self._table,
                        key=self._settings.lease_name,
                        identity=self._identity,
                        version=self._version,
                        now=self._wall_clock(),
                        duration=self._settings.lease_duration,
                    )
            except TimeoutError:
                self._step_down("renew deadline passed")
                return
            if renewed is None:
                self._observed = None
                self._step_down("lease taken over")
                return
            self._last_error = None
            self._version = renewed.version
            self._renewed_at = sent
            self._observe(renewed)

    def _step_down(self, reason: str) -> None:
        was_holding = self._holding
        self._holding = False
        self._leading.clear()
        self._following.set()
        if was_holding and reason != "released":
            # Stopping is the owner's decision; losing the lease otherwise is worth a warning.
            log = _log.info if reason == "stopped" else _log.warning
            log("leader_lost", lease=self._settings.lease_name, identity=self._identity, reason=reason)

    def _observe(self, record: LeaseRecord | None) -> None:
        before = self.leader_identity
        self._observed = record
        if record is not None and record.holder != before and record.holder != self._identity:
            _log.info("leader_observed", lease=self._settings.lease_name, holder=record.holder)

    def _failed(self, error: Exception) -> None:
        self._remember_failure(error, "leader_election_failed", lease=self._settings.lease_name)
        if self._holding and not self.is_leader:
            self._step_down("renew deadline passed")

    def _until_next_attempt(self) -> float:
        """A retry period, but a leader whose renewals keep failing looks again at its deadline:
        it steps down then (`wait_until_follower` returns, and the controller stops writing), not
        up to a retry period after `is_leader` turned False."""
        if not self._holding:
            return self._settings.retry_period
        deadline = self._renewed_at + self._settings.renew_deadline
        return max(0.0, min(self._settings.retry_period, deadline - self._clock()))


async def ensure_lease_table(
    client: LeaseTableClient, *, table: str, settings: LeaderElectionSettings, clock: Callable[[], float]
) -> None:
    """Make sure the lease table exists and is ACTIVE, creating it when `settings` allow.

    Idempotent, and safe when several replicas create it at once. Raises `AwsError` for failed
    calls and `LeaderElectionError` when the table is missing and may not be created, or did not
    become ACTIVE within `table_active_timeout`.
    """

    async def status() -> str:
        response = await client.call("describe_table", TableName=table)
        return str(response["Table"]["TableStatus"])

    try:
        current = await status()
    except AwsError as error:
        if error.code != _NOT_FOUND:
            raise
        if not settings.create_table:
            raise LeaderElectionError(
                f"lease table {table!r} does not exist and create_table is off"
            ) from error
        try:
            await client.call(
                "create_table",
                TableName=table,
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                BillingMode="PAY_PER_REQUEST",
            )
        except AwsError as create_error:
            # Another replica created it between our describe and create.
            if create_error.code != _IN_USE:
                raise
        else:
            _log.info("leader_table_created", table=table)
        current = await status()
    started = clock()
    while current != "ACTIVE":
        if clock() - started > settings.table_active_timeout:
            raise LeaderElectionError(f"lease table {table!r} is {current}, not ACTIVE")
        await asyncio.sleep(min(settings.retry_period, 1.0))
        current = await status()


async def take_lease(
    client: LeaseTableClient,
    *,
    table: str,
    key: str,
    identity: str,
    seen: int,
    now: float,
    duration: float,
) -> LeaseRecord | None:
    """Write the lease item `key` for `identity`, valid `duration` seconds from `now` (wall clock),
    if it is absent, or nobody wrote it since version `seen` was read and it is expired or already
    ours. The record written, or None when that condition failed (someone else wrote since: the
    next read shows who). Raises `AwsError`; the caller bounds the time."""
    record = LeaseRecord(holder=identity, expires_at=now + duration, version=seen + 1)
    try:
        await client.call(
            "put_item",
            TableName=table,
            Item={
                "pk": {"S": key},
                "holder": {"S": identity},
                "expires_at": {"N": lease_timestamp(record.expires_at)},
                "acquired_at": {"N": lease_timestamp(now)},
                "version": {"N": str(record.version)},
            },
            ConditionExpression=(
                "attribute_not_exists(pk) OR (version = :seen AND (expires_at < :now OR holder = :me))"
            ),
            ExpressionAttributeValues={
                ":seen": {"N": str(seen)},
                ":now": {"N": lease_timestamp(now)},
                ":me": {"S": identity},
            },
        )
    except AwsError as error:
        if error.code != _CONDITION_FAILED:
            raise
        return None
    return record


async def renew_lease(
    client: LeaseTableClient,
    *,
    table: str,
    key: str,
    identity: str,
    version: int,
    now: float,
    duration: float,
) -> LeaseRecord | None:
    """Extend the lease item `key` that `identity` wrote as `version` to `duration` seconds from
    `now`. The record written, or None when the item is no longer that (taken over). Raises
    `AwsError`; the caller bounds the time."""
    record = LeaseRecord(holder=identity, expires_at=now + duration, version=version + 1)
    try:
        await client.call(
            "update_item",
            TableName=table,
            Key={"pk": {"S": key}},
            UpdateExpression="SET expires_at = :expires, version = :next",
            ConditionExpression="holder = :me AND version = :v",
            ExpressionAttributeValues={
                ":expires": {"N": lease_timestamp(record.expires_at)},
                ":next": {"N": str(record.version)},
                ":me": {"S": identity},
                ":v": {"N": str(version)},
            },
        )
    except AwsError as error:
        if error.code != _CONDITION_FAILED:
            raise
        return None
    return record


def lease_record(item: dict[str, Any] | None) -> LeaseRecord | None:
    """A lease item as read from the table; None when absent."""
    if not item:
        return None
    try:
        return LeaseRecord(
            holder=str(item["holder"]["S"]),
            expires_at=float(item["expires_at"]["N"]),
            version=int(item["version"]["N"]),
        )
    except (KeyError, TypeError, ValueError):
        # Not an item this module wrote. Taking it over could overrule a writer we do not
        # understand, so it stays where it is (the conditional put cannot match version -1) and
        # an operator is told to delete it.
        _log.warning("leader_lease_unreadable", item_keys=sorted(item))
        return LeaseRecord(holder="(unreadable)", expires_at=float("inf"), version=-1)


def lease_timestamp(value: float) -> str:
    """Epoch seconds as the lease items store them (a DynamoDB number, millisecond precision)."""
    return f"{value:.3f}"


__all__ = [
    "LeaderElectionError",
    "LeaderElectionSettings",
    "LeaderElector",
    "LeaseLoop",
    "LeaseRecord",
    "LeaseTableClient",
    "default_identity",
    "ensure_lease_table",
    "lease_record",
    "lease_timestamp",
    "renew_lease",
    "take_lease",
]
