# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
from collections import Counter
from collections.abc import Mapping

import pytest
from aiokafka.coordinator.protocol import (
    ConsumerProtocolMemberAssignment,
    ConsumerProtocolMemberMetadata,
)
from faststream.kafka import KafkaBroker
from hypothesis import given
from hypothesis import strategies as st

from service.errors import CopartitioningError, ServiceError
from service.messaging.assignor import (
    Claim,
    CopartitionedAssignor,
    Holding,
    check_copartitioned,
    decode_assignment,
    decode_claim,
    encode_claim,
)

GROUPS = "chat-import.groups"
MESSAGES = "chat-import.group-messages"
TOPICS = (GROUPS, MESSAGES)


class FakeCluster:
    """The one thing an assignor asks of aiokafka's ClusterMetadata."""

    def __init__(self, counts: Mapping[str, int]) -> None:
        self._counts = dict(counts)

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        count = self._counts.get(topic)
        return None if count is None else set(range(count))


def metadata(user_data: bytes = b"", topics=TOPICS) -> ConsumerProtocolMemberMetadata:
    return ConsumerProtocolMemberMetadata(0, list(topics), user_data)


def owned(assignment: ConsumerProtocolMemberAssignment) -> dict[str, set[int]]:
    """Topic → partitions of one member's assignment."""
    return {topic: set(partitions) for topic, partitions in assignment.assignment}


def assign(counts: Mapping[str, int], members: Mapping[str, bytes], topics=TOPICS):
    cluster = FakeCluster(counts)
    return CopartitionedAssignor().assign(
        cluster, {member: metadata(data, topics) for member, data in members.items()}
    )


def rebalance(
    assignors: Mapping[str, CopartitionedAssignor], counts: Mapping[str, int]
) -> dict[str, set[int]]:
    """One join round as aiokafka runs it: metadata, the leader's assign, on_assignment."""
    members = {member: a.metadata(list(counts)) for member, a in assignors.items()}
    leader = assignors[min(assignors)]
    result = leader.assign(FakeCluster(counts), members)
    for member, assignor in assignors.items():
        # the assignment as it reaches the member: encoded by the leader, decoded by aiokafka
        assignor.on_assignment(ConsumerProtocolMemberAssignment.decode(result[member].encode()))
    return {member: set(a.holding.indices) for member, a in assignors.items() if a.holding}


member_ids = st.lists(
    st.text(alphabet="abcdef0123456789-", min_size=1, max_size=12),
    min_size=1,
    max_size=8,
    unique=True,
)
user_data = st.one_of(
    st.just(b""),
    st.binary(max_size=16),  # junk: read as no claim
    st.builds(
        encode_claim,
        st.builds(
            Claim,
            st.integers(min_value=0, max_value=6),
            st.frozensets(st.integers(min_value=0, max_value=40), max_size=20),
        ),
    ),
)


@st.composite
def groups(draw: st.DrawFn) -> tuple[int, dict[str, bytes]]:
    """A partition count and members, each with any (possibly stale or clashing) claim."""
    partitions = draw(st.integers(min_value=0, max_value=36))
    members = draw(member_ids)
    return partitions, {member: draw(user_data) for member in members}


class TestAssignProperties:
    @given(groups())
    def test_every_partition_of_every_topic_is_assigned_exactly_once(self, group):
        """Whatever the members claim, each partition of each topic has exactly one owner."""
        partitions, members = group
        result = assign(dict.fromkeys(TOPICS, partitions), members)
        given_out = Counter(
            (topic, p)
            for assignment in result.values()
            for topic, ps in owned(assignment).items()
            for p in ps
        )
        assert {(t, p): 1 for t in TOPICS for p in range(partitions)} == dict(given_out)

    @given(groups())
    def test_a_member_owns_the_same_indices_on_every_topic(self, group):
        """Partition p of the groups topic and of the messages topic go to the same member."""
        partitions, members = group
        result = assign(dict.fromkeys(TOPICS, partitions), members)
        for assignment in result.values():
            by_topic = owned(assignment)
            assert by_topic[GROUPS] == by_topic[MESSAGES]

    @given(groups())
    def test_members_hold_floor_or_ceiling_of_p_over_m_indices(self, group):
        """With P indices and M members each member holds ⌊P/M⌋ or ⌈P/M⌉ of them."""
        partitions, members = group
        result = assign(dict.fromkeys(TOPICS, partitions), members)
        low, high = partitions // len(members), -(-partitions // len(members))
        sizes = {len(owned(a)[GROUPS]) for a in result.values()}
        assert sizes <= {low, high}

    @given(groups(), st.integers(min_value=0, max_value=36))
    def test_only_indices_every_topic_has_are_assigned(self, group, other):
        """Topics of 12 and 8 partitions: indices 0-7 go out, partitions 8-11 to nobody."""
        partitions, members = group
        result = assign({GROUPS: partitions, MESSAGES: other}, members)
        common = set(range(min(partitions, other)))
        for topic in TOPICS:
            given_out = Counter(p for a in result.values() for p in owned(a)[topic])
            assert dict.fromkeys(common, 1) == dict(given_out)

    @given(member_ids, st.integers(min_value=0, max_value=36), st.data())
    def test_a_member_that_stays_keeps_what_its_new_quota_allows(self, members, partitions, data):
        """After members join or leave, each one that stays keeps min(old, new) of its indices."""
        counts = dict.fromkeys(TOPICS, partitions)
        assignors = {member: CopartitionedAssignor() for member in members}
        before = rebalance(assignors, counts)
        leaving = data.draw(st.sets(st.sampled_from(members), max_size=len(members) - 1))
        joining = data.draw(member_ids.filter(lambda ids: not set(ids) & set(members)))
        staying = {m: a for m, a in assignors.items() if m not in leaving}
        after = rebalance(staying | {m: CopartitionedAssignor() for m in joining}, counts)
        for member in staying:
            expected = min(len(before[member]), len(after[member]))
            assert expected == len(before[member] & after[member])


class TestAssignExamples:
    def test_fresh_members_get_ranges_in_member_id_order(self):
        """Without claims, 12 partitions over b, a, c: a gets 0-3, b 4-7, c 8-11."""
        result = assign(dict.fromkeys(TOPICS, 12), dict.fromkeys(["b", "a", "c"], b""))
        expected = {
            "a": set(range(4)),
            "b": set(range(4, 8)),
            "c": set(range(8, 12)),
        }
        assert expected == {m: owned(a)[GROUPS] for m, a in result.items()}

    def test_survivors_keep_their_indices_when_a_member_leaves(self):
        """Members a 0-3, b 4-7, c 8-11; c leaves: a and b keep theirs and share 8-11."""
        counts = dict.fromkeys(TOPICS, 12)
        assignors = {m: CopartitionedAssignor() for m in "abc"}
        rebalance(assignors, counts)
        del assignors["c"]
        expected = {"a": {0, 1, 2, 3, 8, 9}, "b": {4, 5, 6, 7, 10, 11}}
        assert expected == rebalance(assignors, counts)

    def test_nothing_moves_when_the_members_stay(self):
        """A rebalance with the same members (a restart of the leader, say) moves no partition."""
        counts = dict.fromkeys(TOPICS, 12)
        assignors = {m: CopartitionedAssignor() for m in "abc"}
        rebalance(assignors, counts)
        del assignors["b"]
        first = rebalance(assignors, counts)
        assert first == rebalance(assignors, counts)

    def test_an_index_claimed_twice_goes_to_the_newer_epoch(self):
        """A member back from a long pause claims 0-5 of epoch 3; b holds 0-5 since epoch 4."""
        members = {
            "a": encode_claim(Claim(3, frozenset(range(6)))),
            "b": encode_claim(Claim(4, frozenset(range(6)))),
            "c": encode_claim(Claim(4, frozenset(range(6, 12)))),
        }
        result = assign(dict.fromkeys(TOPICS, 12), members)
        expected = {"a": {4, 5, 10, 11}, "b": {0, 1, 2, 3}, "c": {6, 7, 8, 9}}
        assert expected == {m: owned(a)[GROUPS] for m, a in result.items()}

    def test_the_assignment_carries_a_newer_epoch_and_the_index_count(self):
        """The leader stamps epoch 8 after claims of epoch 7, and the 12 indices it spread."""
        members = {"a": encode_claim(Claim(7, frozenset({1}))), "b": b""}
        result = assign({GROUPS: 12, MESSAGES: 16}, members)
        assert {(8, 12)} == {decode_assignment(a.user_data) for a in result.values()}

    def test_a_topic_without_metadata_yet_is_left_out(self):
        """While the messages topic has no metadata, the groups topic is assigned alone."""
        result = assign({GROUPS: 4}, {"a": b""})
        assert {GROUPS: {0, 1, 2, 3}} == owned(result["a"])

    def test_a_member_gets_only_topics_it_subscribes_to(self):
        """A member subscribed to the groups topic only is not given messages partitions."""
        cluster = FakeCluster(dict.fromkeys(TOPICS, 2))
        result = CopartitionedAssignor().assign(
            cluster, {"a": metadata(b""), "b": metadata(b"", topics=(GROUPS,))}
        )
        assert ({GROUPS: {0}, MESSAGES: {0}}, {GROUPS: {1}}) == (
            owned(result["a"]),
            owned(result["b"]),
        )

    def test_more_members_than_indices_leaves_spares(self):
        """Three members, two partitions: one member holds nothing (a spare replica)."""
        result = assign(dict.fromkeys(TOPICS, 2), dict.fromkeys("abc", b""))
        assert {"a": {0}, "b": {1}, "c": set()} == {
            m: set().union(*owned(a).values()) for m, a in result.items()
        }


class TestAssignorState:
    def test_holding_records_the_indices_epoch_and_index_count(self):
        """After an assignment the member knows its indices, their epoch, and how many there were."""
        assignor = CopartitionedAssignor()
        rebalance({"a": assignor, "b": CopartitionedAssignor()}, dict.fromkeys(TOPICS, 12))
        assert Holding(1, frozenset(range(6)), 12) == assignor.holding

    def test_join_metadata_claims_the_last_assignment(self):
        """The next join carries the indices and epoch this member was given."""
        assignor = CopartitionedAssignor()
        rebalance({"a": assignor}, dict.fromkeys(TOPICS, 3))
        sent = assignor.metadata(TOPICS)
        assert (sorted(TOPICS), Claim(1, frozenset({0, 1, 2}))) == (
            sent.subscription,
            decode_claim(sent.user_data),
        )

    def test_a_new_member_claims_nothing(self):
        """Before its first assignment a member's join metadata has empty user data."""
        assert b"" == CopartitionedAssignor().metadata(TOPICS).user_data

    def test_an_unreadable_assignment_takes_no_budget(self):
        """An assignment without this assignor's stamp leaves an index count of 0 (no calls)."""
        assignor = CopartitionedAssignor()
        assignor.on_assignment(ConsumerProtocolMemberAssignment(0, [(GROUPS, [0, 1])], b""))
        assert Holding(0, frozenset({0, 1}), 0) == assignor.holding

    @given(st.binary(max_size=40))
    def test_junk_user_data_never_fails_the_leader(self, data):
        """Any bytes decode to a claim (none when unreadable); the leader never raises on them."""
        assert isinstance(decode_claim(data), Claim)

    @given(
        st.builds(
            Claim,
            st.integers(min_value=1, max_value=2**32 - 1),
            st.frozensets(st.integers(min_value=0, max_value=2**31 - 1)),
        )
    )
    def test_claims_survive_encoding(self, claim):
        """A claim read back from its user data is the claim that was written."""
        assert claim == decode_claim(encode_claim(claim))


class TestCheckCopartitioned:
    def test_equal_counts_pass(self):
        """Both input topics with 12 partitions: the service may start."""
        check_copartitioned({GROUPS: 12, MESSAGES: 12})

    def test_different_counts_are_refused_on_one_line_naming_both(self):
        """12 and 8 partitions: the error names each topic with its count, on one line."""
        with pytest.raises(CopartitioningError) as raised:
            check_copartitioned({GROUPS: 12, MESSAGES: 8})
        message = str(raised.value)
        assert (True, True, 1) == (
            f"{GROUPS} has 12" in message,
            f"{MESSAGES} has 8" in message,
            len(message.splitlines()),
        )

    def test_a_missing_topic_is_refused(self):
        """A topic without partitions (not created) is named as missing."""
        with pytest.raises(CopartitioningError, match=f"{MESSAGES} has 0 \\(missing\\)"):
            check_copartitioned({GROUPS: 12, MESSAGES: 0})

    def test_the_error_is_a_service_error_and_a_value_error(self):
        """Callers may catch it as either."""
        assert issubclass(CopartitioningError, ServiceError)
        assert issubclass(CopartitioningError, ValueError)


class TestFastStreamSubscriber:
    def test_subscriber_hands_the_assignor_to_its_consumer(self):
        """broker.subscriber(partition_assignment_strategy=...) passes it to AIOKafkaConsumer."""
        assignor = CopartitionedAssignor()
        broker = KafkaBroker("127.0.0.1:9")
        subscriber = broker.subscriber(
            GROUPS, MESSAGES, group_id="g", partition_assignment_strategy=(assignor,)
        )
        assert (assignor,) == subscriber._connection_args["partition_assignment_strategy"]
