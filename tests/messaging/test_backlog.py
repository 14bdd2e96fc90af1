# Copyright 2026 chat-import-service contributors
"""The records left on a partition, as every replica computes them from the broker."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from service.domain.offset_map import Fate, OffsetMap, encode
from service.messaging.backlog import next_refresh, records_left


class TestRecordsLeft:
    def test_without_a_map_everything_from_the_committed_offset_is_left(self):
        """A plain watermark: the end less the committed offset."""
        assert 70 == records_left(end=100, committed=30, metadata="")

    def test_records_the_map_says_are_done_are_not_left(self):
        """Committed 30, done 30-39 and 45-49 by the map: 100 - 30 - 15 = 55 left."""
        runs = [(Fate.DONE, 10), (Fate.DOUBTFUL, 5), (Fate.DONE, 5)]
        metadata = encode(OffsetMap.of(30, runs))
        assert metadata is not None
        assert 55 == records_left(end=100, committed=30, metadata=metadata)

    def test_foreign_metadata_counts_as_no_map(self):
        """Another tool's metadata (or a corrupted map) says nothing: the plain backlog."""
        assert 70 == records_left(end=100, committed=30, metadata="cim1:not-a-map")
        assert 70 == records_left(end=100, committed=30, metadata="{'owner': 'x'}")

    @given(
        st.integers(min_value=0, max_value=1_000),
        st.lists(
            st.tuples(st.sampled_from(list(Fate)), st.integers(min_value=1, max_value=50)),
            max_size=20,
        ),
        st.integers(min_value=0, max_value=2_000),
    )
    def test_never_negative_never_more_than_the_plain_backlog(self, committed, runs, extra):
        """Whatever the map says, 0 <= left <= end - committed."""
        end = committed + extra
        metadata = encode(OffsetMap.of(committed, runs)) or ""
        left = records_left(end=end, committed=committed, metadata=metadata)
        assert 0 <= left <= end - committed


class TestRefreshInstants:
    def test_every_replica_refreshes_at_the_same_wall_clock_instants(self):
        """Two replicas a moment apart agree on the next instant, and it lies ahead."""
        assert next_refresh(1000.6, 1.5) == next_refresh(1001.4, 1.5) == 1002.0
        assert next_refresh(1002.0, 1.5) == 1003.5  # at an instant, the next one is ahead
