# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Creating the service's topics when they do not exist yet (a setting turns it off)."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from service.messaging.kafka_clients import security_options
from service.settings import KafkaSettings, TopicsSettings


def topic_names(topics: TopicsSettings) -> list[str]:
    """Every topic the service reads or writes."""
    return [topics.groups, topics.messages, topics.outcomes, topics.dead_letter, topics.control]


CONTROL_RETENTION_MS = 600_000  # reports are read within a second; ten minutes is plenty


async def ensure_topics(kafka: KafkaSettings, topics: TopicsSettings) -> list[str]:
    """Create missing topics with ``kafka.topic_partitions`` partitions; return those created."""
    admin = AIOKafkaAdminClient(
        bootstrap_servers=kafka.bootstrap_servers,
        client_id=kafka.client_id,
        **security_options(kafka),
    )
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in topic_names(topics) if name not in existing]
        if not missing:
            return []
        try:
            await admin.create_topics([_new_topic(name, kafka, topics) for name in missing])
        except TopicAlreadyExistsError:
            pass
        except KafkaError:
            # another replica may have created them meanwhile; the consumer reports real trouble
            return []
        return missing
    finally:
        await admin.close()


def _new_topic(name: str, kafka: KafkaSettings, topics: TopicsSettings) -> NewTopic:
    if name == topics.control:
        # one partition: every replica reads every report in the same order
        return NewTopic(
            name,
            num_partitions=1,
            replication_factor=kafka.replication_factor,
            # the broker's clock stamps every report: the instant a share takes effect is the
            # same on every replica (service.domain.budget_sharing)
            topic_configs={
                "retention.ms": str(CONTROL_RETENTION_MS),
                "message.timestamp.type": "LogAppendTime",
            },
        )
    return NewTopic(
        name,
        num_partitions=kafka.topic_partitions,
        replication_factor=kafka.replication_factor,
        topic_configs=(
            {"max.message.bytes": str(kafka.max_message_bytes)}
            if name == topics.dead_letter
            else {}
        ),
    )
