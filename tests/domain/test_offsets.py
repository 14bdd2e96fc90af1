# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
from hypothesis import given
from hypothesis import strategies as st

from service.domain.offsets import OffsetTracker


class TestOffsetTracker:
    def test_watermark_is_none_before_any_read(self):
        """A partition with nothing read has nothing to commit."""
        assert None is OffsetTracker().watermark

    def test_watermark_stops_at_the_lowest_unfinished_offset(self):
        """Finishing a later record does not move the watermark past an earlier unfinished one."""
        tracker = OffsetTracker()
        for offset in (10, 11, 12):
            tracker.read(offset)
        tracker.finish(12)
        tracker.finish(10)
        assert 11 == tracker.watermark

    def test_watermark_is_next_offset_when_all_finished(self):
        """With every record finished the consumer resumes after the last one read."""
        tracker = OffsetTracker()
        for offset in (5, 6, 9):  # gaps occur (compaction, transaction markers)
            tracker.read(offset)
        for offset in (9, 6, 5):
            tracker.finish(offset)
        assert 10 == tracker.watermark

    def test_a_record_delivered_again_is_not_tracked_twice(self):
        """An offset at or below one already read is refused, so it cannot finish twice."""
        tracker = OffsetTracker()
        assert tracker.read(3)
        assert (False, False) == (tracker.read(2), tracker.read(3))
        assert 1 == tracker.unfinished

    @given(
        st.lists(st.integers(min_value=1, max_value=3), min_size=1, max_size=60),
        st.randoms(use_true_random=False),
        st.data(),
    )
    def test_never_commits_past_an_unfinished_record(self, gaps, rng, data):
        """For any finishing order, the watermark never exceeds the lowest unfinished offset."""
        offsets = []
        position = 0
        for gap in gaps:
            position += gap
            offsets.append(position)
        tracker = OffsetTracker()
        for offset in offsets:
            tracker.read(offset)
        order = list(offsets)
        rng.shuffle(order)
        finished_count = data.draw(st.integers(min_value=0, max_value=len(order)))
        finished = set(order[:finished_count])
        for offset in order[:finished_count]:
            tracker.finish(offset)
        unfinished = [o for o in offsets if o not in finished]
        expected = unfinished[0] if unfinished else offsets[-1] + 1
        assert expected == tracker.watermark
        assert len(unfinished) == tracker.unfinished
