# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Co-partitioned assignment: partition p of every input topic goes to the same replica.

Both input topics are keyed by GroupId with the same partitioner, so partition p of the groups
topic and partition p of the messages topic hold the same groups. The replica that owns *index*
p reads both (as Kafka Streams does for the inputs of a join): a group's messages never wait for
an import that another replica holds, and the indices a replica owns are its share of the work,
hence of the app-wide call budget (``service.providers.ratelimit.replica_share``).

How the leader spreads P indices over M members (``plan_indices``):

- members in member-id order; each gets ⌊P/M⌋ or ⌈P/M⌉ indices, and the same indices on every
  topic;
- sticky: each member's join metadata carries the indices it was last given and the epoch of
  that assignment; a member keeps as many of them as its quota allows, and an index two members
  both claim goes to the newer epoch (a member that fell out of the group and came back claims
  stale indices, and loses them);
- the leader stamps every assignment with a new epoch and the number of indices it spread; each
  member keeps both (``CopartitionedAssignor.holding``) to take its share of the budget.

If the topics' partition counts differ, only the indices every topic has are assigned: the
rest would be read by nobody. ``ensure_copartitioned`` is the start-up check that refuses to run
in that case.

aiokafka calls the assignor through the object given in ``partition_assignment_strategy``; its
own assignors are classes with class-level state, this one is an instance so that every consumer
(several in one process in the tests) remembers its own assignment. Give each consumer its own.
"""

from __future__ import annotations

import asyncio
import struct
import time
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.assignors.abstract import AbstractPartitionAssignor
from aiokafka.coordinator.protocol import (
    ConsumerProtocolMemberAssignment,
    ConsumerProtocolMemberMetadata,
)

from service.errors import CopartitioningError
from service.messaging.kafka_clients import security_options
from service.settings import KafkaSettings, TopicsSettings

log = structlog.get_logger("service.messaging.assignor")

USER_DATA_FORMAT = 1
MAX_EPOCH = 0xFFFF_FFFF
PARTITIONS_WAIT_SECONDS = 30.0
PARTITIONS_POLL_SECONDS = 0.2

_CLAIM_HEAD = struct.Struct(">BI")  # format, epoch; then one unsigned 32-bit int per index
_ASSIGNMENT = struct.Struct(">BII")  # format, epoch, number of indices spread
_INDEX_SIZE = 4


@dataclass(frozen=True, slots=True)
class Claim:
    """The indices a member was given by the assignment of ``epoch`` (epoch 0: none known)."""

    epoch: int = 0
    indices: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Holding:
    """What this member was given last: ``indices`` out of ``index_count`` spread in ``epoch``."""

    epoch: int
    indices: frozenset[int]
    index_count: int


# ------------------------------------------------------------------------------ user data


def encode_claim(claim: Claim) -> bytes:
    """A member's join user data: the format, the epoch and the indices it holds."""
    if claim.epoch == 0 and not claim.indices:
        return b""
    indices = sorted(claim.indices)
    return _CLAIM_HEAD.pack(USER_DATA_FORMAT, claim.epoch) + struct.pack(
        f">{len(indices)}I", *indices
    )


def decode_claim(data: bytes | None) -> Claim:
    """The claim in a member's join user data; no claim when absent or unreadable."""
    if not data or len(data) < _CLAIM_HEAD.size:
        return Claim()
    body = len(data) - _CLAIM_HEAD.size
    version, epoch = _CLAIM_HEAD.unpack_from(data)
    if version != USER_DATA_FORMAT or body % _INDEX_SIZE:
        return Claim()
    indices = struct.unpack_from(f">{body // _INDEX_SIZE}I", data, _CLAIM_HEAD.size)
    return Claim(epoch, frozenset(indices))


def encode_assignment(epoch: int, index_count: int) -> bytes:
    """The leader's user data in every member's assignment."""
    return _ASSIGNMENT.pack(USER_DATA_FORMAT, epoch, index_count)


def decode_assignment(data: bytes | None) -> tuple[int, int] | None:
    """``(epoch, index count)`` from an assignment's user data; None when unreadable."""
    if not data or len(data) != _ASSIGNMENT.size:
        return None
    version, epoch, index_count = _ASSIGNMENT.unpack(data)
    if version != USER_DATA_FORMAT:
        return None
    return epoch, index_count


# ------------------------------------------------------------------------------- the plan


def next_epoch(claims: Iterable[Claim]) -> int:
    """The epoch of a new assignment: newer than every claim's."""
    return min(MAX_EPOCH, max((claim.epoch for claim in claims), default=0) + 1)


def plan_indices(
    claims: Mapping[str, Claim], indices: Collection[int]
) -> dict[str, frozenset[int]]:
    """Spread ``indices`` over the members (the keys of ``claims``), sticky and balanced.

    Every index goes to exactly one member; each member gets ⌊P/M⌋ or ⌈P/M⌉ of them. A member
    keeps the indices it claims (lowest first) up to its quota; an index claimed twice goes to
    the newer epoch, on a tie to the smaller member id. The members holding the most of their
    claims get the larger quotas. The rest is handed out in index order, to members in member-id
    order. Without claims this is a range assignment over member ids.
    """
    members = sorted(claims)
    if not members:
        return {}
    universe = set(indices)
    owner: dict[int, str] = {}
    for member in members:
        claim = claims[member]
        for index in claim.indices & universe:
            current = owner.get(index)
            if current is None or claim.epoch > claims[current].epoch:
                owner[index] = member
    won: dict[str, list[int]] = {member: [] for member in members}
    for index in sorted(owner):
        won[owner[index]].append(index)
    base, extra = divmod(len(universe), len(members))
    by_claims = sorted(members, key=lambda member: (-len(won[member]), member))
    quota = {member: base + 1 if rank < extra else base for rank, member in enumerate(by_claims)}
    plan = {member: won[member][: quota[member]] for member in members}
    taken = {index for held in plan.values() for index in held}
    free = sorted(universe - taken)
    for member in members:
        missing = quota[member] - len(plan[member])
        plan[member] += free[:missing]
        del free[:missing]
    return {member: frozenset(held) for member, held in plan.items()}


# --------------------------------------------------------------------------- the assignor


class CopartitionedAssignor(AbstractPartitionAssignor):  # type: ignore[misc] # aiokafka ships no types
    """Partition p of every subscribed topic to one member; sticky across rebalances."""

    name = "copartitioned"
    version = 0

    def __init__(self) -> None:
        self.holding: Holding | None = None

    def metadata(self, topics: Iterable[str]) -> ConsumerProtocolMemberMetadata:
        """Join metadata: the topics and this member's last assignment (for stickiness)."""
        holding = self.holding
        claim = Claim(holding.epoch, holding.indices) if holding is not None else Claim()
        return ConsumerProtocolMemberMetadata(self.version, sorted(topics), encode_claim(claim))

    def assign(
        self,
        cluster: Any,  # noqa: ANN401 - aiokafka's ClusterMetadata (untyped)
        members: Mapping[str, ConsumerProtocolMemberMetadata],
    ) -> dict[str, ConsumerProtocolMemberAssignment]:
        """The leader's assignment: partition p of every topic to the owner of index p."""
        subscriptions = {member: frozenset(meta.subscription) for member, meta in members.items()}
        if len(set(subscriptions.values())) > 1:
            log.warning(
                "members subscribe to different topics: a topic's partitions go only to "
                "owners of their index that subscribe to it",
                subscriptions={member: sorted(t) for member, t in subscriptions.items()},
            )
        partitions: dict[str, frozenset[int]] = {}
        for topic in sorted({topic for topics in subscriptions.values() for topic in topics}):
            found = cluster.partitions_for_topic(topic)
            if found is None:
                log.warning("no partition metadata for a subscribed topic yet", topic=topic)
                continue
            partitions[topic] = frozenset(found)
        common = frozenset.intersection(*partitions.values()) if partitions else frozenset()
        if len({len(found) for found in partitions.values()}) > 1:
            log.error(
                "subscribed topics differ in partition count: only the indices all of them "
                "have are assigned",
                partitions={topic: len(found) for topic, found in partitions.items()},
            )
        claims = {member: decode_claim(meta.user_data) for member, meta in members.items()}
        plan = plan_indices(claims, common)
        user_data = encode_assignment(next_epoch(claims.values()), len(common))
        return {
            member: ConsumerProtocolMemberAssignment(
                self.version,
                [
                    (topic, sorted(plan[member]))
                    for topic in partitions
                    if topic in subscriptions[member]
                ],
                user_data,
            )
            for member in members
        }

    def on_assignment(self, assignment: ConsumerProtocolMemberAssignment) -> None:
        """Remember what this member was given: claimed at the next join, and its budget share.

        aiokafka calls this before the rebalance listener's ``on_partitions_assigned``.
        """
        indices = frozenset(tp.partition for tp in assignment.partitions())
        stamp = decode_assignment(assignment.user_data)
        if stamp is None:
            # Not from this assignor's format: no index count to take a share from, so none is
            # taken (no calls) rather than one that could overrun the app-wide budget.
            log.error("assignment without a readable index count; taking no call budget")
            self.holding = Holding(0, indices, 0)
            return
        epoch, index_count = stamp
        self.holding = Holding(epoch, indices, index_count)


# ----------------------------------------------------------------------- start-up check


def check_copartitioned(partition_counts: Mapping[str, int]) -> None:
    """Raise ``CopartitioningError`` unless every topic exists with the same partition count."""
    counts = dict(partition_counts)
    if len(set(counts.values())) <= 1 and 0 not in counts.values():
        return
    listed = ", ".join(
        f"{topic} has {count}" if count else f"{topic} has 0 (missing)"
        for topic, count in counts.items()
    )
    raise CopartitioningError(
        "the input topics must have the same number of partitions (partition p of each holds "
        f"the same GroupIds): {listed}"
    )


async def read_partition_counts(
    kafka: KafkaSettings, topics: Sequence[str], *, timeout: float = PARTITIONS_WAIT_SECONDS
) -> dict[str, int]:
    """Each topic's partition count from the broker's metadata; 0 for a topic still missing.

    Topics just created may take a moment to show in the metadata: this polls until every one
    has partitions or ``timeout`` passes. It asks for all topics, never for them by name: a
    metadata request naming a missing topic makes some brokers create it with their defaults.
    """
    admin = AIOKafkaAdminClient(
        bootstrap_servers=kafka.bootstrap_servers,
        client_id=kafka.client_id,
        **security_options(kafka),
    )
    await admin.start()
    try:
        deadline = time.monotonic() + timeout
        while True:
            described = {
                entry["topic"]: len(entry["partitions"]) if entry["error_code"] == 0 else 0
                for entry in await admin.describe_topics()
            }
            counts = {topic: described.get(topic, 0) for topic in topics}
            if all(counts.values()) or time.monotonic() >= deadline:
                return counts
            await asyncio.sleep(PARTITIONS_POLL_SECONDS)
    finally:
        await admin.close()


async def ensure_copartitioned(
    kafka: KafkaSettings, topics: TopicsSettings, *, timeout: float = PARTITIONS_WAIT_SECONDS
) -> int:
    """The input topics' common partition count; ``CopartitioningError`` when they differ."""
    counts = await read_partition_counts(kafka, [topics.groups, topics.messages], timeout=timeout)
    check_copartitioned(counts)
    return counts[topics.groups]
