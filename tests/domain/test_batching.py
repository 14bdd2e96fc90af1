# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from service.domain.batching import batch_size


@dataclass
class Item:
    topic_id: str | None

    @property
    def batch_key(self) -> str | None:
        return self.topic_id


class TestBatchSize:
    def test_takes_up_to_the_limit(self):
        """Ten queued messages of one topic go seven in the first call."""
        assert 7 == batch_size([Item(None)] * 10, 7)

    def test_takes_all_when_fewer_than_the_limit(self):
        """Three queued messages go together."""
        assert 3 == batch_size([Item(None)] * 3, 7)

    def test_stops_at_a_topic_change(self):
        """One call imports into one topic: a change of topic ends the batch."""
        assert 2 == batch_size([Item("a"), Item("a"), Item("b"), Item("a")], 7)

    def test_stops_at_another_kind_of_item(self):
        """A member (or an unread count) queued among messages ends the messages' batch."""
        assert 1 == batch_size([Item(None), Item("member:"), Item(None)], 7)

    def test_empty_queue_gives_nothing(self):
        """Nothing queued, nothing to send."""
        assert 0 == batch_size([], 7)

    @given(
        st.lists(st.sampled_from([None, "t1", "t2"]), max_size=40),
        st.integers(min_value=1, max_value=7),
    )
    def test_batches_cover_the_queue_in_order(self, topics, limit):
        """Cutting batches repeatedly covers the queue in order, each batch one topic, at most limit."""
        queue = [Item(t) for t in topics]
        rebuilt = []
        while queue:
            size = batch_size(queue, limit)
            assert 1 <= size <= limit
            batch, queue = queue[:size], queue[size:]
            assert len({i.topic_id for i in batch}) == 1
            rebuilt.extend(batch)
        assert topics == [i.topic_id for i in rebuilt]
