"""Work shared by daemon replicas as leased shards (one per target), over the leader-lease table.

With several targets (accounts and Regions) and a lease table, every target is a shard: one
replica at a time holds its lease and only that replica writes to the target. The daemon starts one
`ShardCoordinator` per instance and runs `run()` as a task; each target's controller takes
`coordinator.lease(target)` where a single daemon takes the `LeaderElector`: the same `Leadership`
protocol (`is_leader`, `wait_until_leader`, `wait_until_follower`), so taking a shard starts that
target's pass at once and losing it cancels that target's writes in flight.

The table is the leader election's (`reconciler.daemon.leader`), keyed by the string `pk`:

- `{group}/shard/{name}`: a shard's lease, with the leader lease's fields and protocol (`holder`,
  `expires_at` on the writer's wall clock, `version` bumped by every write): taken with a
  conditional PutItem on the version read, renewed with an UpdateItem on `holder` and `version`,
  released with a conditional DeleteItem.
- `{group}/replica/{identity}`: a replica's heartbeat (`expires_at`), so the others know how many
  replicas share the work.

One round every `retry_period`: one Scan of the group's items (so a replica's reads do not grow
with the number of shards), a heartbeat, a renew of every shard held, then a re-balance. The fair
share is shards / live replicas, rounded down or up so that the shares add up: a replica holding
more gives the excess back (it stops writing to a shard before deleting its lease), one holding less
takes free or expired shards. Which shards a
replica prefers to hold and to give back comes from rendezvous hashing of (shard, replica), so the
assignment is stable while the replica set is, and each join or leave moves few shards.

The safety argument is the leader lease's, per shard: a holder that has not renewed within
`renew_deadline` of *sending* its last successful renew stops holding (`is_leader` is computed
against that deadline), and its lease expires `lease_duration` after that moment, later. Two
replicas may briefly both want a shard (each computes the share from its own scan); the
conditional writes let only one of them hold it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import structlog

from reconciler.aws.errors import AwsError
from reconciler.daemon.leader import (
    LeaderElectionError,
    LeaderElectionSettings,
    LeaseLoop,
    LeaseRecord,
    LeaseTableClient,
    ensure_lease_table,
    lease_record,
    lease_timestamp,
    renew_lease,
    take_lease,
)

_log = structlog.get_logger(__name__)

_CONDITION_FAILED = "ConditionalCheckFailedException"
_NOT_FOUND = "ResourceNotFoundException"


class ShardLease:
    """One shard as this replica holds it, or not: the `Leadership` a target's controller waits on.

    Changed only by its `ShardCoordinator`; `clock` is the coordinator's monotonic clock.
    """

    def __init__(self, name: str, *, renew_deadline: float, clock: Callable[[], float]) -> None:
        self.name = name
        self._renew_deadline = renew_deadline
        self._clock = clock
        self._holding = False
        self._renewed_at = 0.0
        self._version = 0
        self._ours = False
        """Whether the item in the table was last written by this replica (also after holding
        ended locally, e.g. when the loop was cancelled): what `release` deletes."""
        self._leading = asyncio.Event()
        self._following = asyncio.Event()
        self._following.set()
        self.observed: LeaseRecord | None = None
        """The shard's lease item as last read or written; None when absent or not read yet."""

    @property
    def is_leader(self) -> bool:
        """True while this replica holds the shard and its last renew is within the deadline;
        turns False at the deadline even when the coordinator's loop is stuck."""
        return self._holding and self._clock() < self._renewed_at + self._renew_deadline

    @property
    def holder(self) -> str | None:
        """Who holds the shard as last read or written (possibly expired)."""
        return self.observed.holder if self.observed is not None else None

    @property
    def deadline(self) -> float | None:
        """When holding ends without a renew (on the coordinator's clock); None when not held."""
        return self._renewed_at + self._renew_deadline if self._holding else None

    async def wait_until_leader(self) -> None:
        """Return once this replica holds the shard (at once if it does)."""
        await self._leading.wait()

    async def wait_until_follower(self) -> None:
        """Return once this replica does not hold the shard (at once if it does not)."""
        await self._following.wait()

    def _took(self, record: LeaseRecord, *, sent: float) -> None:
        self.observed = record
        self._version = record.version
        self._renewed_at = sent
        self._holding = True
        self._ours = True
        self._following.clear()
        self._leading.set()

    def _lost(self) -> bool:
        was_holding = self._holding
        self._holding = False
        self._leading.clear()
        self._following.set()
        return was_holding


class ShardCoordinator(LeaseLoop):
    """Takes, renews and gives back shard leases for one replica; see the module docstring.

    `shards` names the shards to share (the target names); `set_shards` changes them while
    running. See `LeaseLoop` for the clocks.
    """

    def __init__(
        self,
        client: LeaseTableClient,
        *,
        table: str,
        identity: str,
        shards: Iterable[str],
        settings: LeaderElectionSettings | None = None,
        clock: Callable[[], float] | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            client, table=table, identity=identity, settings=settings, clock=clock, wall_clock=wall_clock
        )
        self._shards: tuple[str, ...] = ()
        self._leases: dict[str, ShardLease] = {}
        self._replicas: tuple[str, ...] = (identity,)
        self.set_shards(shards)

    @property
    def shards(self) -> tuple[str, ...]:
        return self._shards

    @property
    def replicas(self) -> tuple[str, ...]:
        """The live replicas (this one included) as of the last scan, sorted."""
        return self._replicas

    @property
    def fair_share(self) -> int:
        """How many shards this replica keeps: ⌊shards / live replicas⌋, one more for the first
        `shards mod replicas` replicas in identity order (so the shares add up to the shards)."""
        whole, left_over = divmod(len(self._shards), max(1, len(self._replicas)))
        return whole + (1 if self._replicas.index(self._identity) < left_over else 0)

    @property
    def held(self) -> tuple[str, ...]:
        """The shards this replica holds now (within their renew deadlines), sorted."""
        return tuple(sorted(name for name, lease in self._leases.items() if lease.is_leader))

    def lease(self, shard: str) -> ShardLease:
        """The lease of one shard, as a target's controller waits on it (the same object for the
        life of the coordinator, also after the shard was dropped and added again)."""
        lease = self._leases.get(shard)
        if lease is None:
            lease = ShardLease(shard, renew_deadline=self._settings.renew_deadline, clock=self._clock)
            self._leases[shard] = lease
        return lease

    def holders(self) -> Mapping[str, str | None]:
        """Every shard and its holder as last observed, for `/status`."""
        return {shard: self.lease(shard).holder for shard in self._shards}

    def set_shards(self, shards: Iterable[str]) -> None:
        """Share these shards from now on. A shard no longer named is given back at the next
        round (the lease's controller has been told to stop by then: `wait_until_follower`)."""
        self._shards = tuple(sorted(set(shards)))
        for shard in self._shards:
            self.lease(shard)
        self._wake.set()

    async def run(self) -> None:
        """Take and keep a fair share of the shards until cancelled or released.

        Cancelling does not give the shards back (a crash does not either): the others take them
        when their leases expire. AWS errors are logged and retried every `retry_period`; they
        never end the loop. Raises only `CancelledError`.
        """
        self._clock()
        try:
            while not self._stopping:
                self._wake.clear()
                try:
                    if not self._table_ready:
                        await ensure_lease_table(
                            self._client, table=self._table, settings=self._settings, clock=self._clock
                        )
                        self._table_ready = True
                    async with self._write_lock:
                        if not self._stopping:
                            await self._round()
                    self._last_error = None
                except (AwsError, LeaderElectionError, TimeoutError) as error:
                    self._failed(error)
                await self._pause(self._until_next_round())
        finally:
            for lease in self._leases.values():
                self._step_down(lease, "stopped")

    async def release(self) -> None:
        """Stop taking shards and give back every one held, so the others take over at once.

        Call it after the work that needs the shards has stopped. Holding ends before each lease
        item is deleted. Idempotent; a failure to delete is logged, and the lease then expires.
        """
        self._stopping = True
        self._wake.set()
        async with self._write_lock:
            ours = [lease for lease in self._leases.values() if lease._ours]
            await asyncio.gather(*(self._give_back(lease, "released") for lease in ours))
            with contextlib.suppress(AwsError):
                await self._client.call(
                    "delete_item", TableName=self._table, Key={"pk": {"S": self._replica_key(self._identity)}}
                )

    # --- one round ------------------------------------------------------------------------------

    async def _round(self) -> None:
        # Renewing comes first and all at once: it is the one step with a deadline.
        held = [lease for lease in self._leases.values() if lease._holding]
        renewed = await asyncio.gather(*(self._renew(lease) for lease in held))
        kept = [lease for lease, ok in zip(held, renewed, strict=True) if ok]

        now = self._wall_clock()
        (shard_records, replica_expiries), _ = await asyncio.gather(self._scan(), self._heartbeat(now))
        live = {identity for identity, expires_at in replica_expiries.items() if expires_at >= now}
        self._replicas = tuple(sorted(live | {self._identity}))
        for shard in self._shards:
            if not self.lease(shard)._holding:
                self._observe(self.lease(shard), shard_records.get(shard))

        wanted = set(self._shards)
        unwanted = [lease for lease in kept if lease.name not in wanted]
        kept = [lease for lease in kept if lease.name in wanted]
        # Least preferred first: what this replica would hand over if it had to.
        kept.sort(key=lambda lease: self._preference(lease.name))
        excess = kept[: max(0, len(kept) - self.fair_share)]
        if unwanted or excess:
            await asyncio.gather(
                *(self._give_back(lease, "shard dropped") for lease in unwanted),
                *(self._give_back(lease, "re-balanced") for lease in excess),
            )
            return

        room = self.fair_share - len(kept)
        free = [
            shard
            for shard in self._shards
            if not self.lease(shard)._holding and _takeable(shard_records.get(shard), now, self._identity)
        ]
        free.sort(key=self._preference, reverse=True)
        await asyncio.gather(
            *(self._take(self.lease(shard), shard_records.get(shard)) for shard in free[:room])
        )

    async def _scan(self) -> tuple[dict[str, LeaseRecord], dict[str, float]]:
        """Every shard lease and replica heartbeat of the group: one Scan (a page per MB)."""
        shard_prefix = self._shard_key("")
        replica_prefix = self._replica_key("")
        shards: dict[str, LeaseRecord] = {}
        replicas: dict[str, float] = {}
        start: dict[str, Any] | None = None
        while True:
            params: dict[str, Any] = {
                "TableName": self._table,
                "ConsistentRead": True,
                "FilterExpression": "begins_with(pk, :group)",
                "ExpressionAttributeValues": {":group": {"S": f"{self._settings.lease_name}/"}},
            }
            if start is not None:
                params["ExclusiveStartKey"] = start
            async with asyncio.timeout(self._settings.renew_deadline):
                response = await self._client.call("scan", **params)
            for item in response.get("Items", []):
                key = str(item["pk"]["S"])
                record = lease_record(item)
                if record is None:
                    continue
                if key.startswith(shard_prefix):
                    shards[key.removeprefix(shard_prefix)] = record
                elif key.startswith(replica_prefix):
                    replicas[key.removeprefix(replica_prefix)] = record.expires_at
            start = response.get("LastEvaluatedKey")
            if not start:
                return shards, replicas

    async def _heartbeat(self, now: float) -> None:
        async with asyncio.timeout(self._settings.renew_deadline):
            await self._client.call(
                "put_item",
                TableName=self._table,
                Item={
                    "pk": {"S": self._replica_key(self._identity)},
                    "holder": {"S": self._identity},
                    "expires_at": {"N": lease_timestamp(now + self._settings.lease_duration)},
                    "version": {"N": "0"},
                },
            )

    async def _take(self, lease: ShardLease, seen: LeaseRecord | None) -> None:
        sent = self._clock()
        async with asyncio.timeout(self._settings.renew_deadline):
            written = await take_lease(
                self._client,
                table=self._table,
                key=self._shard_key(lease.name),
                identity=self._identity,
                seen=seen.version if seen is not None else 0,
                now=self._wall_clock(),
                duration=self._settings.lease_duration,
            )
        if written is None:
            _log.debug("shard_take_lost_race", shard=lease.name)
            return
        lease._took(written, sent=sent)
        _log.info("shard_acquired", shard=lease.name, identity=self._identity, version=written.version)

    async def _renew(self, lease: ShardLease) -> bool:
        """Renew one held shard; False (and no longer held) when it could not be."""
        deadline = lease.deadline
        remaining = (deadline if deadline is not None else 0.0) - self._clock()
        if remaining <= 0:
            self._step_down(lease, "renew deadline passed")
            return False
        sent = self._clock()
        try:
            async with asyncio.timeout(remaining):
                renewed = await renew_lease(
                    self._client,
                    table=self._table,
                    key=self._shard_key(lease.name),
                    identity=self._identity,
                    version=lease._version,
                    now=self._wall_clock(),
                    duration=self._settings.lease_duration,
                )
        except TimeoutError:
            self._step_down(lease, "renew deadline passed")
            return False
        except AwsError:
            if not lease.is_leader:
                self._step_down(lease, "renew deadline passed")
            raise
        if renewed is None:
            lease.observed = None
            lease._ours = False
            self._step_down(lease, "lease taken over")
            return False
        lease._took(renewed, sent=sent)
        return True

    async def _give_back(self, lease: ShardLease, reason: str) -> None:
        """Stop holding first (the controller stops writing), then delete the lease item."""
        self._step_down(lease, reason)
        lease._ours = False
        try:
            # On the holder alone, not the version: a renew cut off by cancellation may have
            # landed without this replica learning the version it wrote.
            await self._client.call(
                "delete_item",
                TableName=self._table,
                Key={"pk": {"S": self._shard_key(lease.name)}},
                ConditionExpression="holder = :me",
                ExpressionAttributeValues={":me": {"S": self._identity}},
            )
        except AwsError as error:
            if error.code not in (_CONDITION_FAILED, _NOT_FOUND):
                _log.warning("shard_release_failed", shard=lease.name, code=error.code)
            return
        lease.observed = None

    # --- helpers --------------------------------------------------------------------------------

    def _observe(self, lease: ShardLease, record: LeaseRecord | None) -> None:
        before = lease.holder
        lease.observed = record
        if record is not None and record.holder not in (before, self._identity):
            _log.debug("shard_observed", shard=lease.name, holder=record.holder)

    def _step_down(self, lease: ShardLease, reason: str) -> None:
        if lease._lost() and reason not in ("released", "stopped"):
            log = _log.info if reason in ("re-balanced", "shard dropped") else _log.warning
            log("shard_lost", shard=lease.name, identity=self._identity, reason=reason)

    def _preference(self, shard: str) -> tuple[bool, str]:
        """How much this replica wants a shard: first those for which it ranks highest among the
        live replicas (rendezvous hashing), then by its own score."""
        mine = _score(shard, self._identity)
        best = max(_score(shard, replica) for replica in self._replicas)
        return (mine == best, mine)

    def _failed(self, error: Exception) -> None:
        self._remember_failure(error, "shard_coordination_failed", table=self._table)
        for lease in self._leases.values():
            if lease._holding and not lease.is_leader:
                self._step_down(lease, "renew deadline passed")

    def _until_next_round(self) -> float:
        """A retry period, or sooner when a held shard's deadline comes first (so it is given up
        at its deadline, not up to a period later)."""
        deadlines = [lease.deadline for lease in self._leases.values() if lease.deadline is not None]
        if not deadlines:
            return self._settings.retry_period
        return max(0.0, min(self._settings.retry_period, min(deadlines) - self._clock()))

    def _shard_key(self, shard: str) -> str:
        return f"{self._settings.lease_name}/shard/{shard}"

    def _replica_key(self, identity: str) -> str:
        return f"{self._settings.lease_name}/replica/{identity}"


def _takeable(record: LeaseRecord | None, now: float, identity: str) -> bool:
    return record is None or record.expires_at < now or record.holder == identity


def _score(shard: str, replica: str) -> str:
    return hashlib.sha256(f"{shard}\0{replica}".encode()).hexdigest()


__all__ = ["ShardCoordinator", "ShardLease"]
