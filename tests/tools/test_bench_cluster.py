# Copyright 2026 chat-import-service contributors
"""The benchmark's engine-memory run still drives the engine it measures."""

from __future__ import annotations

from bench.cluster import _groups_through_engine


async def test_every_group_ends_its_lanes_and_is_remembered_within_the_bound():
    """200 groups with a message each: all done, no lane left, each group remembered."""
    figures = await _groups_through_engine(200)
    assert (200, 0) == (figures["groups_remembered"], figures["lanes"])
