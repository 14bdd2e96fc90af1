# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Benchmark rows about the cluster: several replicas on one app budget, and memory per group.

- ``run_replicas``: N service processes in one consumer group against the emulator; the
  export is produced once every replica holds partitions, so the figure is the steady state of
  N replicas splitting the app's budget, not the start-up rebalances.
- ``budget_split``: each replica's share of the app budget for 1 to 12 replicas over the
  benchmark's 12 partitions, as the co-partitioned assignment gives it.
- ``group_memory``: the engine's peak RSS after N distinct groups went through it (one
  ``group.import`` and one message each), in a process of its own with an instant provider:
  per-group state must end with its lanes, so the figure stays flat from 10,000 groups to
  1,000,000.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from service.domain.events import InputRecord
from service.domain.retry_policy import RetryPolicy
from service.domain.validation import Rules
from service.embedded_broker import free_port
from service.metrics import Metrics
from service.providers.base import ApiNames, CallLimits, GroupResult, MessageResult
from service.providers.ratelimit import ApiBudgets, format_share_table, share_table
from service.runtime.engine import Engine
from service.tools.local_stack import ManagedProcess, service_process

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine, Sequence
    from typing import Any

    from service.settings import Settings


async def assigned_partitions(client: httpx.AsyncClient, port: int) -> int:
    """The replica's ``chat_import_assigned_partitions`` (0 while it cannot answer)."""
    try:
        response = await client.get(f"http://127.0.0.1:{port}/metrics")
    except httpx.HTTPError:
        return 0
    for line in response.text.splitlines():
        if line.startswith("chat_import_assigned_partitions "):
            return int(float(line.split()[1]))
    return 0


async def wait_for_assignment(
    ports: Sequence[int], total: int, timeout: float, alive: Callable[[], bool]
) -> None:
    """Until every replica holds partitions and together they hold ``total``."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            if not alive():
                msg = "a replica exited before the group settled; see bench-results/"
                raise RuntimeError(msg)
            held = [await assigned_partitions(client, port) for port in ports]
            if all(held) and sum(held) == total:
                return
            await asyncio.sleep(0.5)
    msg = f"the replicas did not settle on {total} partitions within {timeout:.0f} s"
    raise RuntimeError(msg)


async def run_replicas(
    settings: Settings,
    *,
    replicas: int,
    partitions: int,
    results: Path,
    name: str,
    produce: Callable[[], Coroutine[Any, Any, int]],
    collect: Callable[[int], Coroutine[Any, Any, Any]],
) -> None:
    """Start ``replicas`` processes, wait for the group to settle, then produce and collect."""
    processes: list[ManagedProcess] = []
    ports: list[int] = []
    for index in range(replicas):
        port = free_port()
        ports.append(port)
        own = settings.model_copy(update={"http_port": port})
        log_path = results / f"service-{name}-{index}.log"
        processes.append(service_process(own, log_path=log_path).start())
    try:
        await wait_for_assignment(
            ports,
            total=2 * partitions,
            timeout=120,
            alive=lambda: all(process.alive() for process in processes),
        )
        total = await produce()
        await collect(total)
    finally:
        for process in processes:
            process.terminate()


def budget_split(partitions: int, app_rate: float) -> str:
    """Each replica's calls per second for 1 to 12 replicas, and their sum."""
    return format_share_table(share_table(partitions, app_rate))


# ------------------------------------------------------------------------ memory per group


def group_memory(groups: int) -> dict[str, float]:
    """Peak RSS (MB) of a process that ran ``groups`` distinct groups through the engine."""
    output = subprocess.run(  # noqa: S603 - this interpreter and module
        [sys.executable, "-m", "bench.cluster", str(groups)],
        capture_output=True,
        check=True,
        text=True,
        timeout=1_800,
    )
    return dict(json.loads(output.stdout.strip().splitlines()[-1]))


def own_peak_rss_kb() -> int:
    """This process's peak RSS since it started its program (kB).

    Linux's ``VmHWM``: ``ru_maxrss`` also keeps the peak of the process it was forked from,
    so a child of a large benchmark process would report the parent's size.
    """
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class InstantProvider:
    """Answers every import at once, as a provider with no latency would."""

    name = "tencent"
    group_missing_code = 10010
    messages_per_call = 7
    accounts_per_call = 100
    members_per_call = 20
    call_limits = CallLimits()
    rules = Rules()
    api_names = ApiNames("import_group", "import_group_msg", "group_msg_get_simple")

    def __init__(self) -> None:
        self.seq = 0

    async def import_group(self, group: Any) -> GroupResult:  # noqa: ANN401
        return GroupResult(group_id=group.GroupId, already_existed=False)

    async def import_messages(
        self,
        group_id: str,  # noqa: ARG002
        topic_id: str | None,  # noqa: ARG002
        messages: Sequence[Any],
        *,
        recent_contact: int | None = None,  # noqa: ARG002
    ) -> list[MessageResult]:
        results = []
        for _ in messages:
            self.seq += 1
            results.append(MessageResult(0, self.seq, 0))
        return results

    def check_element_support(self, message: Any) -> None:  # noqa: ANN401, ARG002
        return None

    async def history(self, *args: Any, **kwargs: Any) -> Any:  # noqa: ANN401
        raise NotImplementedError


class DiscardingSink:
    async def publish_outcomes(self, outcomes: Sequence[Any]) -> None:
        pass

    async def publish_dead_letter(self, record: Any, reason: str) -> None:  # noqa: ANN401
        pass


async def _groups_through_engine(groups: int) -> dict[str, float]:
    engine = Engine(
        InstantProvider(),  # type: ignore[arg-type]
        DiscardingSink(),
        policy=RetryPolicy(),
        max_in_flight_calls=64,
        metrics=Metrics(),
        budgets=ApiBudgets(1e9),
    )
    groups_topic, messages_topic = "groups", "messages"
    engine.assign([(groups_topic, 0), (messages_topic, 0)])
    base = int(time.time()) - 86_400
    chunk = 1_000
    started = time.monotonic()
    for first in range(0, groups, chunk):
        for n in range(first, min(groups, first + chunk)):
            gid = f"g-{n:07d}"
            group = {
                "type": "group.import",
                "event_id": f"group:{gid}",
                "group": {"GroupId": gid, "Type": "Public", "Name": gid, "CreateTime": base},
            }
            message = {
                "type": "group.message.import",
                "event_id": f"message:{gid}",
                "group_id": gid,
                "message": {
                    "From_Account": "user",
                    "SendTime": base + 10,
                    "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": gid}}],
                },
            }
            engine.submit(InputRecord(groups_topic, 0, n, gid.encode(), json.dumps(group).encode()))
            engine.submit(
                InputRecord(messages_topic, 0, n, gid.encode(), json.dumps(message).encode())
            )
        if not await engine.wait_idle(120):
            msg = "the engine did not finish a chunk within 120 s"
            raise RuntimeError(msg)
    peak_kb = own_peak_rss_kb()
    return {
        "groups": groups,
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "groups_remembered": engine.groups_known,
        "lanes": engine.lanes,
        "seconds": round(time.monotonic() - started, 1),
    }


if __name__ == "__main__":
    count = int(sys.argv[1])
    print(json.dumps(asyncio.run(_groups_through_engine(count))))
