# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Records of every stage of a migration, and engines for the stage tests."""

from __future__ import annotations

import json
import time
from typing import Any

from service.domain.events import InputRecord, OutcomeEvent
from service.domain.retry_policy import RetryPolicy
from service.domain.validation import Rules
from service.metrics import Metrics
from service.providers.ratelimit import ApiBudgets
from service.runtime.engine import Engine

from .fakes import FakeProvider, FakeSink

NOW = 1_700_000_000
CREATED = NOW - 10_000


class StageFeed:
    """Builds records of every event type with ascending offsets per (topic, partition)."""

    def __init__(self) -> None:
        self.offsets: dict[tuple[str, int], int] = {}

    def record(self, topic: str, partition: int, key: str | None, value: object) -> InputRecord:
        offset = self.offsets.get((topic, partition), 0)
        self.offsets[(topic, partition)] = offset + 1
        raw = json.dumps(value).encode()
        return InputRecord(topic, partition, offset, key.encode() if key else None, raw)

    def account(self, user: str, partition: int = 0) -> InputRecord:
        event = {"type": "account.import", "event_id": f"a:{user}", "account": {"UserID": user}}
        return self.record("groups", partition, user, event)

    def group(self, gid: str, partition: int = 0, **extra: object) -> InputRecord:
        body = {"GroupId": gid, "Type": "Public", "Name": f"name {gid}", "CreateTime": CREATED}
        body.update(extra)
        event = {"type": "group.import", "event_id": f"g:{gid}", "group": body}
        return self.record("groups", partition, gid, event)

    def member(self, gid: str, user: str, partition: int = 0, **extra: object) -> InputRecord:
        member: dict[str, Any] = {"Member_Account": user, "JoinTime": CREATED + 10, **extra}
        event = {
            "type": "group.member.import",
            "event_id": f"gm:{gid}:{user}",
            "group_id": gid,
            "member": member,
        }
        return self.record("messages", partition, gid, event)

    def message(self, gid: str, n: int, partition: int = 0, **envelope: object) -> InputRecord:
        message = {
            "From_Account": "u",
            "SendTime": CREATED + 100 + n,
            "Random": n,
            "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": f"m{n}"}}],
        }
        event = {
            "type": "group.message.import",
            "event_id": f"m:{gid}:{n}",
            "group_id": gid,
            "message": message,
            **envelope,
        }
        return self.record("messages", partition, gid, event)

    def unread(self, gid: str, user: str, count: int, partition: int = 0) -> InputRecord:
        event = {
            "type": "group.member.unread",
            "event_id": f"u:{gid}:{user}:{count}",
            "group_id": gid,
            "member": {"Member_Account": user, "UnreadMsgNum": count},
        }
        return self.record("messages", partition, gid, event)


def stage_engine(
    provider: FakeProvider,
    sink: FakeSink,
    *,
    rate: float = 100_000,
    partitions: int = 1,
    wall_clock: bool = False,
    **policy: float,
) -> Engine:
    """An engine holding ``partitions`` partitions of both topics.

    On a fixed clock, unless ``wall_clock`` (waits measured by the engine's clock then end).
    """
    eng = Engine(
        provider,
        sink,
        policy=RetryPolicy(
            initial_seconds=0.01,
            max_seconds=0.05,
            group_wait_seconds=policy.get("group_wait", 5.0),
            account_wait_seconds=policy.get("account_wait", 5.0),
            account_grace_seconds=policy.get("account_grace", 0.1),
        ),
        rules=Rules(),
        max_in_flight_calls=64,
        metrics=Metrics(),
        budgets=ApiBudgets(rate),
        clock=time.time if wall_clock else lambda: float(NOW),
    )
    eng.assign([(topic, p) for topic in ("groups", "messages") for p in range(partitions)])
    return eng


def by_event(sink: FakeSink) -> dict[str, OutcomeEvent]:
    return {outcome.event_id: outcome for outcome in sink.outcomes}


def kinds(provider: FakeProvider, group_id: str = "") -> list[str]:
    """The kinds of call made, in order (for one group, or accounts)."""
    return [kind for kind, gid, _ in provider.journal if gid == group_id or kind == "accounts"]
