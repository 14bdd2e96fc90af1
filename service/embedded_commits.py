# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The commit metadata of the embedded broker, kept as Apache Kafka keeps it.

Tansu (the embedded broker) accepts the metadata of an offset commit but answers every offset
fetch without it, and the service keeps its offset map there (``service/domain/offset_map.py``).
This front listens where clients connect, passes every request and answer through unchanged, and
on the way:

- remembers the metadata of each offset commit the broker acknowledged (per consumer group,
  topic and partition; a later commit replaces it, metadata or none, as in Kafka);
- puts it back into the offset fetch answers whose committed offset is the one it came with.

It reads only the non-flexible versions that aiokafka speaks (OffsetCommit v2-v7, OffsetFetch
v1-v5); any other version, and any frame it cannot read, passes untouched. Run by
``EmbeddedBroker`` as ``python -m service.embedded_commits --listen PORT --broker PORT``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import struct
from dataclasses import dataclass, field

OFFSET_COMMIT = 8
OFFSET_FETCH = 9
COMMIT_VERSIONS = range(2, 8)
FETCH_VERSIONS = range(1, 6)

Key = tuple[str, str, int]  # consumer group, topic, partition


class _Reader:
    __slots__ = ("data", "position")

    def __init__(self, data: bytes, position: int = 0) -> None:
        self.data = data
        self.position = position

    def take(self, fmt: str) -> int:
        (value,) = struct.unpack_from(fmt, self.data, self.position)
        self.position += struct.calcsize(fmt)
        return int(value)

    def string(self) -> str | None:
        length = self.take(">h")
        if length < 0:
            return None
        value = self.data[self.position : self.position + length]
        if len(value) != length:
            raise struct.error("string runs past the frame")
        self.position += length
        return value.decode("utf-8")

    def count(self) -> int:
        return max(0, self.take(">i"))


def _string(value: str | None) -> bytes:
    if value is None:
        return struct.pack(">h", -1)
    encoded = value.encode("utf-8")
    return struct.pack(">h", len(encoded)) + encoded


@dataclass
class _Commit:
    group: str
    offsets: dict[tuple[str, int], tuple[int, str | None]] = field(default_factory=dict)


def parse_commit(version: int, body: _Reader) -> _Commit:
    """The group and the (offset, metadata) of each partition of an OffsetCommit request."""
    group = body.string() or ""
    body.take(">i")  # generation
    body.string()  # member id
    if version <= 4:  # noqa: PLR2004 - retention time until v4
        body.take(">q")
    if version >= 7:  # noqa: PLR2004 - group instance id from v7
        body.string()
    commit = _Commit(group)
    for _ in range(body.count()):
        topic = body.string() or ""
        for _ in range(body.count()):
            partition = body.take(">i")
            offset = body.take(">q")
            if version >= 6:  # noqa: PLR2004 - leader epoch from v6
                body.take(">i")
            commit.offsets[(topic, partition)] = (offset, body.string())
    return commit


def accepted(version: int, answer: _Reader) -> set[tuple[str, int]]:
    """The partitions an OffsetCommit answer says were committed."""
    if version >= 3:  # noqa: PLR2004 - throttle time from v3
        answer.take(">i")
    done: set[tuple[str, int]] = set()
    for _ in range(answer.count()):
        topic = answer.string() or ""
        for _ in range(answer.count()):
            partition = answer.take(">i")
            if answer.take(">h") == 0:
                done.add((topic, partition))
    return done


def fill_fetch(
    version: int, group: str, answer: bytes, start: int, kept: dict[Key, tuple[int, str | None]]
) -> bytes:
    """The OffsetFetch answer body with the kept metadata put back."""
    reader = _Reader(answer, start)
    out = bytearray()
    if version >= 3:  # noqa: PLR2004 - throttle time from v3
        out += struct.pack(">i", reader.take(">i"))
    topics = reader.count()
    out += struct.pack(">i", topics)
    for _ in range(topics):
        topic = reader.string() or ""
        out += _string(topic)
        partitions = reader.count()
        out += struct.pack(">i", partitions)
        for _ in range(partitions):
            partition = reader.take(">i")
            offset = reader.take(">q")
            epoch = reader.take(">i") if version >= 5 else None  # noqa: PLR2004 - v5 adds it
            metadata = reader.string()
            error = reader.take(">h")
            stored = kept.get((group, topic, partition))
            if not metadata and error == 0 and stored is not None and stored[0] == offset:
                metadata = stored[1]
            out += struct.pack(">iq", partition, offset)
            if epoch is not None:
                out += struct.pack(">i", epoch)
            out += _string(metadata) + struct.pack(">h", error)
    out += answer[reader.position :]  # the top-level error code (v2+)
    return bytes(out)


class CommitsFront:
    """The front: one broker behind it, the kept metadata of every consumer group."""

    def __init__(self, broker_port: int) -> None:
        self.broker_port = broker_port
        self.kept: dict[Key, tuple[int, str | None]] = {}

    async def handle(
        self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter
    ) -> None:
        """Pass one client connection through to the broker."""
        try:
            broker_in, broker_out = await asyncio.open_connection("127.0.0.1", self.broker_port)
        except OSError:
            client_out.close()
            return
        asked: dict[int, tuple[int, int, object]] = {}  # correlation id -> api, version, what
        upstream = asyncio.create_task(self._requests(client_in, broker_out, asked))
        downstream = asyncio.create_task(self._answers(broker_in, client_out, asked))
        try:
            await asyncio.wait((upstream, downstream), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (upstream, downstream):
                task.cancel()
            await asyncio.gather(upstream, downstream, return_exceptions=True)
            for writer in (client_out, broker_out):
                writer.close()

    async def _requests(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        asked: dict[int, tuple[int, int, object]],
    ) -> None:
        while True:
            size = await source.readexactly(4)
            frame = await source.readexactly(struct.unpack(">i", size)[0])
            with contextlib.suppress(struct.error, UnicodeDecodeError):
                api, version, correlation = struct.unpack_from(">hhi", frame)
                if (api == OFFSET_COMMIT and version in COMMIT_VERSIONS) or (
                    api == OFFSET_FETCH and version in FETCH_VERSIONS
                ):
                    reader = _Reader(frame, 8)
                    reader.string()  # client id
                    what: object = (
                        parse_commit(version, reader)
                        if api == OFFSET_COMMIT
                        else (reader.string() or "")
                    )
                    asked[correlation] = (api, version, what)
            sink.write(size + frame)
            await sink.drain()

    async def _answers(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        asked: dict[int, tuple[int, int, object]],
    ) -> None:
        while True:
            size = await source.readexactly(4)
            frame = await source.readexactly(struct.unpack(">i", size)[0])
            (correlation,) = struct.unpack_from(">i", frame)
            request = asked.pop(correlation, None)
            if request is not None:
                api, version, what = request
                with contextlib.suppress(struct.error, UnicodeDecodeError):
                    if api == OFFSET_COMMIT and isinstance(what, _Commit):
                        for topic, partition in accepted(version, _Reader(frame, 4)):
                            if (topic, partition) in what.offsets:
                                self.kept[(what.group, topic, partition)] = what.offsets[
                                    (topic, partition)
                                ]
                    elif api == OFFSET_FETCH and isinstance(what, str):
                        frame = frame[:4] + fill_fetch(version, what, frame, 4, self.kept)
                        size = struct.pack(">i", len(frame))
            sink.write(size + frame)
            await sink.drain()


async def serve(listen_port: int, broker_port: int) -> None:
    """Serve until SIGTERM or SIGINT."""
    front = CommitsFront(broker_port)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError, OSError):
            await front.handle(reader, writer)

    server = await asyncio.start_server(handle, "127.0.0.1", listen_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with server:
        await stop.wait()


def main() -> None:
    """``python -m service.embedded_commits --listen PORT --broker PORT``."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listen", type=int, required=True)
    parser.add_argument("--broker", type=int, required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.listen, args.broker))


if __name__ == "__main__":
    main()
