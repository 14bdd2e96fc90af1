# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Synthetic exports for the benchmark, produced fast with record batches."""

from __future__ import annotations

import json
import time
import zlib
from collections import defaultdict

from aiokafka import AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner

BASE_TIME = int(time.time()) - 30 * 86_400


def group_event(gid: str) -> bytes:
    return json.dumps(
        {
            "type": "group.import",
            "event_id": f"bench:group:{gid}",
            "group": {
                "GroupId": gid,
                "Type": "Public",
                "Name": f"bench {gid}",
                "CreateTime": BASE_TIME - 10,
            },
        }
    ).encode()


def message_event(gid: str, n: int) -> bytes:
    return json.dumps(
        {
            "type": "group.message.import",
            "event_id": f"bench:msg:{gid}:{n:06d}",
            "group_id": gid,
            "message": {
                "From_Account": f"user-{n % 17}",
                "SendTime": BASE_TIME + n // 3,  # three messages per second: equal times are normal
                "MsgBody": [
                    {"MsgType": "TIMTextElem", "MsgContent": {"Text": f"message {n} of {gid} ✓"}}
                ],
            },
        }
    ).encode()


def partition_of(key: bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner picks for ``key`` (murmur2)."""
    return DefaultPartitioner()(key, list(range(partitions)), list(range(partitions)))


async def produce_export(
    bootstrap: str,
    groups_topic: str,
    messages_topic: str,
    *,
    groups: int,
    messages: int,
    partitions: int,
    prefix: str = "bench",
) -> int:
    """Produce ``groups`` group imports and ``messages`` messages per group, keyed by GroupId."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=20, max_batch_size=512 * 1024
    )
    await producer.start()
    total = 0
    try:
        by_partition: dict[tuple[str, int], list[tuple[bytes, bytes]]] = defaultdict(list)
        for g in range(groups):
            gid = f"{prefix}-{g:05d}"
            key = gid.encode()
            p = partition_of(key, partitions)
            by_partition[(groups_topic, p)].append((key, group_event(gid)))
            for n in range(messages):
                by_partition[(messages_topic, p)].append((key, message_event(gid, n)))
        futures = []
        for (topic, partition), records in by_partition.items():
            batch = producer.create_batch()
            for key, value in records:
                if batch.append(key=key, value=value, timestamp=None) is None:
                    futures.append(await producer.send_batch(batch, topic, partition=partition))
                    batch = producer.create_batch()
                    batch.append(key=key, value=value, timestamp=None)
                total += 1
            futures.append(await producer.send_batch(batch, topic, partition=partition))
        for future in futures:
            await future
    finally:
        await producer.stop()
    return total


def checksum(text: str) -> int:
    return zlib.crc32(text.encode())


# --- a full migration: accounts, groups, members, messages, unread counts ----------------------


def account_event(user: str) -> bytes:
    return json.dumps(
        {
            "type": "account.import",
            "event_id": f"bench:account:{user}",
            "account": {"UserID": user, "Nick": f"Bench {user}"},
        }
    ).encode()


def member_event(gid: str, user: str, n: int) -> bytes:
    member: dict[str, object] = {"Member_Account": user, "JoinTime": BASE_TIME - 5}
    if n % 10 == 1:
        member["Role"] = "Admin"
    return json.dumps(
        {
            "type": "group.member.import",
            "event_id": f"bench:member:{gid}:{user}",
            "group_id": gid,
            "member": member,
        }
    ).encode()


def unread_event(gid: str, user: str, count: int) -> bytes:
    return json.dumps(
        {
            "type": "group.member.unread",
            "event_id": f"bench:unread:{gid}:{user}",
            "group_id": gid,
            "member": {"Member_Account": user, "UnreadMsgNum": count},
        }
    ).encode()


def members_of(g: int, members: int, accounts: int) -> list[str]:
    """The accounts that are members of group ``g`` (a sliding window over all accounts)."""
    return [f"bench-user-{(g * members + i) % accounts:05d}" for i in range(members)]


def unread_count(i: int) -> int:
    """The unread count set for a group's ``i``-th member."""
    return i % 9


async def produce_records(
    bootstrap: str, records: list[tuple[str, bytes, bytes]], *, partitions: int
) -> int:
    """Produce (topic, key, value) records, each keyed record to its default partition."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=20, max_batch_size=512 * 1024
    )
    await producer.start()
    try:
        by_partition: dict[tuple[str, int], list[tuple[bytes, bytes]]] = defaultdict(list)
        for topic, key, value in records:
            by_partition[(topic, partition_of(key, partitions))].append((key, value))
        futures = []
        for (topic, partition), batch_records in by_partition.items():
            batch = producer.create_batch()
            for key, value in batch_records:
                if batch.append(key=key, value=value, timestamp=None) is None:
                    futures.append(await producer.send_batch(batch, topic, partition=partition))
                    batch = producer.create_batch()
                    batch.append(key=key, value=value, timestamp=None)
            futures.append(await producer.send_batch(batch, topic, partition=partition))
        for future in futures:
            await future
    finally:
        await producer.stop()
    return len(records)


def migration_stages(
    groups_topic: str,
    messages_topic: str,
    *,
    accounts: int,
    groups: int,
    members: int,
    messages: int,
    prefix: str,
) -> list[tuple[str, list[tuple[str, bytes, bytes]]]]:
    """The records of each stage, in the providers' order: (stage name, records)."""
    users = [f"bench-user-{n:05d}" for n in range(accounts)]
    gids = [f"{prefix}-{g:05d}" for g in range(groups)]
    return [
        ("accounts", [(groups_topic, u.encode(), account_event(u)) for u in users]),
        ("groups", [(groups_topic, g.encode(), group_event(g)) for g in gids]),
        (
            "members",
            [
                (messages_topic, gid.encode(), member_event(gid, user, i))
                for g, gid in enumerate(gids)
                for i, user in enumerate(members_of(g, members, accounts))
            ],
        ),
        (
            "messages",
            [
                (messages_topic, gid.encode(), message_event(gid, n))
                for gid in gids
                for n in range(messages)
            ],
        ),
        (
            "unread counts",
            [
                (messages_topic, gid.encode(), unread_event(gid, user, unread_count(i)))
                for g, gid in enumerate(gids)
                for i, user in enumerate(members_of(g, members, accounts))
            ],
        ),
    ]
