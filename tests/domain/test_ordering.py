# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
from hypothesis import given
from hypothesis import strategies as st

from service.domain.ordering import Lanes


class TestLanes:
    def test_first_push_of_a_key_asks_for_a_worker(self):
        """Only the first item of an idle key starts a worker; later ones queue behind it."""
        lanes: Lanes[str, int] = Lanes()
        assert [True, False] == [lanes.push("g", 1), lanes.push("g", 2)]

    def test_release_refused_while_items_queue(self):
        """A worker may not stop while its key has queued items."""
        lanes: Lanes[str, int] = Lanes()
        lanes.push("g", 1)
        assert False is lanes.release("g")

    def test_key_needs_a_new_worker_after_release(self):
        """Once released, the next item of the key starts a worker again."""
        lanes: Lanes[str, int] = Lanes()
        lanes.push("g", 1)
        lanes.take("g", 1)
        lanes.release("g")
        assert True is lanes.push("g", 2)

    def test_remove_where_keeps_the_order_of_the_rest(self):
        """Dropping revoked items leaves the others in their order."""
        lanes: Lanes[str, int] = Lanes()
        for i in range(6):
            lanes.push("g", i)
        removed = lanes.remove_where(lambda i: i % 2 == 0)
        assert ([0, 2, 4], [1, 3, 5]) == (removed, list(lanes.peek("g")))

    @given(
        st.lists(st.tuples(st.sampled_from("abc"), st.integers()), max_size=50),
        st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=20),
    )
    def test_each_key_is_served_in_push_order(self, pushes, sizes):
        """Whatever the batch sizes, each key's items come out in the order they went in."""
        lanes: Lanes[str, int] = Lanes()
        for key, value in pushes:
            lanes.push(key, value)
        out: dict[str, list[int]] = {}
        step = 0
        while len(lanes):
            for key in list(lanes.keys()):
                out.setdefault(key, []).extend(lanes.take(key, sizes[step % len(sizes)]))
                step += 1
                lanes.release(key)
        expected: dict[str, list[int]] = {}
        for key, value in pushes:
            expected.setdefault(key, []).append(value)
        assert expected == out
