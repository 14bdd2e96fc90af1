# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
import base64
import random
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.domain.offset_map import (
    DEFAULT_MAX_BYTES,
    MAGIC,
    Fate,
    MapBuilder,
    OffsetMap,
    decode,
    encode,
)

fates = st.sampled_from(list(Fate))
runs = st.lists(st.tuples(fates, st.integers(1, 300)), max_size=60)
tails = st.sampled_from([Fate.DOUBTFUL, Fate.NEW])
bases = st.integers(0, 2**62)


def per_offset(offset_map: OffsetMap, upto: int) -> list[Fate]:
    return [offset_map.fate(offset) for offset in range(offset_map.base, upto)]


class TestRoundTrip:
    @given(bases, runs, tails)
    def test_every_map_comes_back_as_it_was_committed(self, base, given_runs, tail):
        """Encoding then decoding (against the same committed offset) is the identity."""
        offset_map = OffsetMap.of(base, given_runs, tail)
        text = encode(offset_map, max_bytes=1 << 20)
        assert text is not None
        assert offset_map == (decode(text, base) if text else OffsetMap.unknown(base))

    @given(st.integers(0, 10_000), runs, tails)
    def test_each_offset_keeps_its_fate(self, base, given_runs, tail):
        """The fate of every offset (runs, then the tail) survives the text form."""
        offset_map = OffsetMap.of(base, given_runs, tail)
        text = encode(offset_map, max_bytes=1 << 20)
        assert text is not None
        back = decode(text, base) or OffsetMap.unknown(base)
        expected = [fate for fate, length in given_runs for _ in range(length)]
        expected += [tail] * 5
        upto = base + len(expected)
        assert expected == per_offset(back, upto)

    @given(st.integers(0, 10_000), st.sets(st.integers(0, 3_000), max_size=400))
    def test_scattered_offsets_round_trip_through_the_bitmap_or_the_runs(self, base, done):
        """Single done offsets among doubtful ones: whichever body is smaller, the same map."""
        builder = MapBuilder(base)
        for offset in sorted(done):
            builder.put(base + offset, Fate.DONE, gap=Fate.DOUBTFUL)
        offset_map = builder.build(Fate.DOUBTFUL)
        text = encode(offset_map)
        assert text is not None
        assert offset_map == (decode(text, base) or OffsetMap.unknown(base))

    def test_the_text_is_ascii_with_the_magic_prefix(self):
        """Kafka counts the metadata in characters: ours are all ASCII."""
        text = encode(OffsetMap.of(41, [(Fate.DONE, 3), (Fate.NEW, 2)], Fate.DOUBTFUL))
        assert text is not None
        assert text.startswith(MAGIC)
        assert text.isascii()

    def test_the_plain_watermark_is_the_empty_string(self):
        """A map that says nothing is no metadata at all: what a plain commit says."""
        assert ("", None) == (encode(OffsetMap.unknown(7)), decode("", 7))


class TestLimit:
    def test_a_map_over_the_limit_is_not_encoded(self):
        """Too many runs for the limit: None, so the caller commits the plain watermark."""
        rng = random.Random(7)
        builder = MapBuilder(0)
        for offset in range(0, 60_000, 2):
            builder.put(offset + rng.randrange(2), Fate.DONE, gap=Fate.DOUBTFUL)
        offset_map = builder.build(Fate.DOUBTFUL)
        assert encode(offset_map, max_bytes=1 << 20) is not None
        assert encode(offset_map, max_bytes=DEFAULT_MAX_BYTES) is None

    @given(st.integers(0, 1_000), runs, tails, st.integers(0, 600))
    def test_what_is_encoded_fits_the_limit(self, base, given_runs, tail, limit):
        """Whatever the limit, a text is given only when it fits."""
        text = encode(OffsetMap.of(base, given_runs, tail), max_bytes=limit)
        assert text is None or len(text) <= limit

    def test_long_runs_cost_a_few_bytes(self):
        """A million finished records in a few runs fit easily (runs, not a bitmap)."""
        offset_map = OffsetMap.of(
            10, [(Fate.DOUBTFUL, 1), (Fate.DONE, 1_000_000), (Fate.NEW, 5), (Fate.DONE, 999_999)]
        )
        text = encode(offset_map)
        assert text is not None
        assert len(text) < 40


def _ours(payload: bytes) -> str:
    return MAGIC + base64.urlsafe_b64encode(zlib.compress(payload)).decode().rstrip("=")


class TestForeignAndCorrupted:
    committed = 1_000
    valid = encode(OffsetMap.of(1_000, [(Fate.DONE, 4), (Fate.NEW, 3)], Fate.DOUBTFUL)) or ""

    @pytest.mark.parametrize(
        "metadata",
        [
            None,
            "",
            "some other tool's note",
            '{"done": [1001, 1002]}',
            "cim2:AAAA",  # a version this code does not know
            "cim1:",
            "cim1:!!!not base64!!!",
            "cim1:" + base64.urlsafe_b64encode(b"not a zlib stream").decode(),
            _ours(b""),  # no base offset
            _ours(b"\xe8\x07\x01\x07\x05"),  # a body of an unknown kind
            _ours(b"\xe8\x07\x00\x00\x04"),  # a DONE tail
            _ours(b"\xe8\x07\x01\x00\x13"),  # fate 3 in a run
            _ours(b"\xe8\x07\x01\x01\x09\xff"),  # a bitmap shorter or longer than its span
            _ours(b"\xe8\x07\x01\x00" + b"\xff" * 11),  # a varint that never ends
        ],
    )
    def test_anything_that_is_not_an_intact_map_of_ours_is_ignored(self, metadata):
        """None: the partition resumes as after a plain commit (everything doubtful)."""
        assert decode(metadata, self.committed) is None

    def test_the_valid_map_used_above_does_decode(self):
        """So the cases above fail for their own reason, not for the committed offset."""
        assert decode(self.valid, self.committed) is not None

    def test_a_map_written_for_another_committed_offset_is_ignored(self):
        """An operator moved the offset: the map describes other records."""
        assert decode(self.valid, self.committed + 1) is None

    @given(st.data())
    def test_a_damaged_map_never_decodes_to_another_map(self, data):
        """One byte changed or the text cut short: ignored, never read as other fates."""
        text = self.valid
        position = data.draw(st.integers(len(MAGIC), len(text) - 1))
        if data.draw(st.booleans()):
            damaged = text[:position]
        else:
            replacement = data.draw(
                st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
            )
            damaged = text[:position] + replacement + text[position + 1 :]
        back = decode(damaged, self.committed)
        assert back is None or back == decode(text, self.committed)


class TestMap:
    def test_below_the_base_everything_is_done(self):
        """The committed offset is the lowest unfinished one."""
        offset_map = OffsetMap.of(10, [(Fate.NEW, 2)], Fate.DOUBTFUL)
        assert [Fate.DONE, Fate.NEW, Fate.NEW, Fate.DOUBTFUL] == [
            offset_map.fate(o) for o in (9, 10, 11, 12)
        ]

    def test_runs_are_merged_and_trimmed_to_the_tail(self):
        """Canonical: equal maps compare equal whatever runs built them."""
        assert OffsetMap.of(0, [(Fate.DONE, 2)], Fate.NEW) == OffsetMap.of(
            0, [(Fate.DONE, 1), (Fate.DONE, 1), (Fate.NEW, 0), (Fate.NEW, 4)], Fate.NEW
        )

    def test_a_done_tail_is_refused(self):
        """Everything above a map cannot be done: the committed offset would be past it."""
        with pytest.raises(ValueError, match="tail"):
            OffsetMap(0, (), Fate.DONE)

    def test_gaps_join_the_run_before_them(self):
        """Offsets without a record (transaction markers) do not break runs."""
        builder = MapBuilder(0)
        builder.put(0, Fate.NEW)
        builder.put(3, Fate.NEW)
        builder.put(4, Fate.DONE)
        assert ((Fate.NEW, 4), (Fate.DONE, 1)) == builder.build(Fate.DOUBTFUL).runs
