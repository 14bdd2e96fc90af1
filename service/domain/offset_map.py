# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The offset map: what a partition's committed offset cannot say, carried in the commit's metadata.

The committed offset of a partition is the lowest unfinished one, and key-ordered concurrency
finishes records far above it. The map tells the next owner of the partition (a restart, another
replica after a rebalance) the fate of each record from the committed offset on:

``DONE``
    its outcome (or dead letter) is published: skip it, publish nothing again;
``DOUBTFUL``
    it may have been handed to the provider and its outcome is not published: check the
    provider's history before importing it (and only then);
``NEW``
    no call carrying it ever left: import it without looking back.

Below the committed offset everything is done. The map lists fates as runs from the committed
offset (``base``) up to its ``end``; from there on every record has the fate ``tail``. A map says
only what is certain: a writer that may still send calls after the commit (every commit but the
last one of a drain) calls every unfinished record doubtful, so a kill -9 after it costs history
checks but never a wrong skip.

The text form (the commit's metadata) is ``cim1:`` and the URL-safe base64 of a zlib stream
(whose checksum catches a corrupted string) of: the base offset, the tail fate, and the runs,
either as run lengths or as a two-bit-per-offset bitmap, whichever compresses smaller. A string
without the prefix (another tool's metadata, a reset by an operator), one that does not decode,
or one written for another committed offset is ignored: the partition is resumed as if nothing
were known (every unfinished record doubtful), which is what a plain watermark says. A map whose
text would exceed the limit (the broker's ``offset.metadata.max.bytes``, 4,096 by default) is
not committed at all: the plain watermark goes instead.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import IntEnum

MAGIC = "cim1:"
DEFAULT_MAX_BYTES = 4096  # Kafka's offset.metadata.max.bytes
# Decoding never inflates more than this (a hostile string cannot exhaust memory).
MAX_DECODED_BYTES = 1 << 20
MAX_BITMAP_SPAN = 1 << 18
_RUNS, _BITS = 0, 1


class Fate(IntEnum):
    """What is known about one record of a partition."""

    DONE = 0
    DOUBTFUL = 1
    NEW = 2


Run = tuple[Fate, int]  # a fate and how many consecutive offsets have it


@dataclass(frozen=True, slots=True)
class OffsetMap:
    """The fate of every offset of a partition from ``base`` (the committed offset) on.

    Canonical: no empty run, no two adjacent runs of one fate, no last run of the tail's fate, and
    a tail that is never ``DONE``. Build it with ``OffsetMap.of`` or ``MapBuilder``.
    """

    base: int
    runs: tuple[Run, ...] = ()
    tail: Fate = Fate.DOUBTFUL
    _starts: tuple[int, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.base < 0:
            msg = f"offsets are not negative: {self.base}"
            raise ValueError(msg)
        if self.tail is Fate.DONE:
            msg = "the tail cannot be DONE: the committed offset would be above it"
            raise ValueError(msg)
        starts: list[int] = []
        offset = self.base
        previous: Fate | None = None
        for fate, length in self.runs:
            if length <= 0 or fate is previous:
                msg = "runs are not canonical (use OffsetMap.of)"
                raise ValueError(msg)
            starts.append(offset)
            offset += length
            previous = fate
        if previous is self.tail:
            msg = "runs are not canonical (use OffsetMap.of)"
            raise ValueError(msg)
        object.__setattr__(self, "_starts", tuple(starts))

    @classmethod
    def of(cls, base: int, runs: Iterable[Run], tail: Fate = Fate.DOUBTFUL) -> OffsetMap:
        """The canonical map of these runs (merged, empty ones dropped, trimmed to the tail)."""
        builder = MapBuilder(base)
        for fate, length in runs:
            builder.extend(fate, length)
        return builder.build(tail)

    @classmethod
    def unknown(cls, base: int) -> OffsetMap:
        """Nothing known above ``base``: what a plain watermark says."""
        return cls(base)

    @property
    def end(self) -> int:
        """The first offset the runs say nothing about (the tail's fate from there on)."""
        if not self.runs:
            return self.base
        return self._starts[-1] + self.runs[-1][1]

    @property
    def says_anything(self) -> bool:
        """False for the plain watermark (every record from ``base`` on doubtful)."""
        return bool(self.runs) or self.tail is not Fate.DOUBTFUL

    def fate(self, offset: int) -> Fate:
        """The fate of the record at ``offset``."""
        if offset < self.base:
            return Fate.DONE
        if offset >= self.end:
            return self.tail
        index = bisect.bisect_right(self._starts, offset) - 1
        return self.runs[index][0]

    def runs_from(self, offset: int) -> Iterator[tuple[int, Fate, int]]:
        """(start, fate, length) of the runs at or above ``offset``, the first one clipped."""
        for start, (fate, length) in zip(self._starts, self.runs, strict=True):
            stop = start + length
            if stop <= offset:
                continue
            begin = max(start, offset)
            yield begin, fate, stop - begin

    def offsets(self, fate: Fate) -> Iterator[int]:
        """Every offset below ``end`` with ``fate``, ascending."""
        for start, (run_fate, length) in zip(self._starts, self.runs, strict=True):
            if run_fate is fate:
                yield from range(start, start + length)


class MapBuilder:
    """Builds a canonical map from fates given in ascending offsets."""

    __slots__ = ("_base", "_cursor", "_runs")

    def __init__(self, base: int) -> None:
        self._base = base
        self._cursor = base
        self._runs: list[list[int]] = []  # [fate, length], merged as they come

    @property
    def cursor(self) -> int:
        """The next offset to be given a fate."""
        return self._cursor

    def extend(self, fate: Fate, length: int) -> None:
        """The next ``length`` offsets have ``fate``."""
        if length <= 0:
            return
        if self._runs and self._runs[-1][0] == fate:
            self._runs[-1][1] += length
        else:
            self._runs.append([int(fate), length])
        self._cursor += length

    def put(self, offset: int, fate: Fate, gap: Fate | None = None) -> None:
        """``offset`` has ``fate``; offsets skipped since the last one get ``gap``.

        ``gap`` None: they take the fate of the run before them (offsets without a record, such
        as transaction markers, have no fate of their own; joining a run keeps the map short).
        """
        if offset < self._cursor:
            msg = f"offset {offset} given after {self._cursor - 1}"
            raise ValueError(msg)
        skipped = offset - self._cursor
        if skipped:
            filler = gap if gap is not None else (Fate(self._runs[-1][0]) if self._runs else fate)
            self.extend(filler, skipped)
        self.extend(fate, 1)

    def build(self, tail: Fate) -> OffsetMap:
        """The map, trimmed of the trailing runs that say what the tail says."""
        runs = [(Fate(fate), length) for fate, length in self._runs]
        while runs and runs[-1][0] is tail:
            runs.pop()
        return OffsetMap(self._base, tuple(runs), tail)


# ------------------------------------------------------------------------------------ the text


def encode(offset_map: OffsetMap, max_bytes: int = DEFAULT_MAX_BYTES) -> str | None:
    """The commit metadata for ``offset_map``; None when it does not fit in ``max_bytes``.

    The plain watermark (a map that says nothing) is the empty string: it always fits.
    """
    if not offset_map.says_anything:
        return ""
    head = bytearray()
    _put_varint(head, offset_map.base)
    head.append(int(offset_map.tail))
    candidates = [
        zlib.compress(bytes(head) + body, 9)
        for body in (_runs_body(offset_map), _bits_body(offset_map))
        if body is not None
    ]
    packed = min(candidates, key=len)
    text = MAGIC + base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")
    return text if len(text) <= max_bytes else None


def decode(metadata: str | None, committed: int) -> OffsetMap | None:
    """The map in ``metadata`` if it is one of ours, intact, and written for ``committed``.

    None (resume as if nothing were known) for anything else: no metadata, another tool's, a
    corrupted or truncated string, a map of another version, or one whose base is not the
    committed offset (an operator moved the offset; the map then describes other records).
    """
    if not metadata or not metadata.startswith(MAGIC):
        return None
    try:
        text = metadata[len(MAGIC) :]
        packed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        inflater = zlib.decompressobj()
        raw = inflater.decompress(packed, MAX_DECODED_BYTES)
        if inflater.unconsumed_tail or not inflater.eof or inflater.unused_data:
            return None
        return _parse(raw, committed)
    except (ValueError, binascii.Error, zlib.error, IndexError):
        return None


def _runs_body(offset_map: OffsetMap) -> bytes:
    out = bytearray([_RUNS])
    for fate, length in offset_map.runs:
        _put_varint(out, length << 2 | int(fate))
    return bytes(out)


def _bits_body(offset_map: OffsetMap) -> bytes | None:
    span = offset_map.end - offset_map.base
    # Two bits an offset win over run lengths only where runs are a few offsets long.
    if span > min(16 * len(offset_map.runs) + 64, MAX_BITMAP_SPAN):
        return None
    out = bytearray([_BITS])
    _put_varint(out, span)
    bits = bytearray((span + 3) // 4)
    position = 0
    for fate, length in offset_map.runs:
        if fate is not Fate.DONE:  # DONE is 0: the bytes start zeroed
            for index in range(position, position + length):
                bits[index >> 2] |= int(fate) << ((index & 3) * 2)
        position += length
    return bytes(out + bits)


def _parse(raw: bytes, committed: int) -> OffsetMap | None:
    reader = _Reader(raw)
    base = reader.varint()
    tail = Fate(reader.byte())
    if base != committed or tail is Fate.DONE:
        return None
    kind = reader.byte()
    builder = MapBuilder(base)
    if kind == _RUNS:
        while not reader.at_end:
            value = reader.varint()
            builder.extend(Fate(value & 3), value >> 2)
    elif kind == _BITS:
        span = reader.varint()
        bits = reader.rest()
        # a bitmap is only ever written for short spans (see _bits_body)
        if span > MAX_BITMAP_SPAN or len(bits) != (span + 3) // 4:
            return None
        for index in range(span):
            builder.extend(Fate(bits[index >> 2] >> ((index & 3) * 2) & 3), 1)
    else:
        return None
    return builder.build(tail)


def _put_varint(out: bytearray, value: int) -> None:
    while value >= 0x80:  # noqa: PLR2004 - seven bits a byte
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)


class _Reader:
    __slots__ = ("_data", "_position")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._position = 0

    @property
    def at_end(self) -> bool:
        return self._position >= len(self._data)

    def byte(self) -> int:
        value = self._data[self._position]
        self._position += 1
        return value

    def varint(self) -> int:
        value = shift = 0
        while True:
            byte = self.byte()
            value |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return value
            shift += 7
            if shift > 63:  # noqa: PLR2004 - a Kafka offset is a signed 64-bit number
                msg = "varint too long"
                raise ValueError(msg)

    def rest(self) -> bytes:
        value = self._data[self._position :]
        self._position = len(self._data)
        return value
