# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
from service.runtime.groups import GroupRegistry, GroupStatus


class TestGroupRegistry:
    def test_a_group_is_pending_exactly_while_a_lane_imports_it(self):
        """Pending follows live group lanes, however the lane ended (here: abandoned)."""
        groups = GroupRegistry()
        groups.import_started("g")
        pending = groups.facts("g").status
        groups.import_ended("g")
        assert (GroupStatus.PENDING, GroupStatus.UNKNOWN) == (pending, groups.facts("g").status)

    def test_a_failure_shows_only_once_no_other_import_is_under_way(self):
        """Two imports of one group: the first failing leaves it pending on the second."""
        groups = GroupRegistry()
        groups.import_started("g")
        groups.import_started("g")
        groups.import_failed("g", 10007, "no")
        groups.import_ended("g")
        during = groups.facts("g").status
        groups.import_ended("g")
        assert (GroupStatus.PENDING, GroupStatus.FAILED) == (during, groups.facts("g").status)

    def test_creations_are_forgotten_after_a_rebalance(self):
        """A group created here before a rebalance may have been imported into by another owner."""
        groups = GroupRegistry()
        groups.imported("g", created_here=True)
        before = groups.facts("g").created_here
        groups.forget_creations()
        assert (True, False) == (before, groups.facts("g").created_here)

    def test_memory_is_bounded_by_the_newest_groups(self):
        """Past its bound the registry forgets the oldest settled groups (they become unknown)."""
        groups = GroupRegistry(max_remembered=3)
        for n in range(10):
            groups.imported(f"g{n}", created_here=True)
        assert (3, GroupStatus.UNKNOWN, GroupStatus.EXISTS) == (
            len(groups),
            groups.facts("g0").status,
            groups.facts("g9").status,
        )
