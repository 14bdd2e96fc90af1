#!/bin/sh
# Create the service's four topics, idempotently (--if-not-exists: an existing topic is left as
# it is, partition count included). Run by the chat-import-topics Job and by deploy/compose.yaml,
# inside the apache/kafka image.
#
# Reads the service's own settings for the brokers and topic names, so the two cannot disagree:
#   CHAT_IMPORT_KAFKA__BOOTSTRAP_SERVERS, CHAT_IMPORT_TOPICS__{GROUPS,MESSAGES,OUTCOMES,DEAD_LETTER}
# and the sizes:
#   TOPIC_INPUT_PARTITIONS (both input topics), TOPIC_OUTCOME_PARTITIONS,
#   TOPIC_DEAD_LETTER_PARTITIONS, TOPIC_REPLICATION_FACTOR, TOPIC_MIN_INSYNC_REPLICAS
# The outcome topic should have at least as many partitions as the inputs (it is keyed by
# GroupId like them); this script refuses fewer.
set -eu

KAFKA_TOPICS="${KAFKA_TOPICS:-/opt/kafka/bin/kafka-topics.sh}"
bootstrap="${CHAT_IMPORT_KAFKA__BOOTSTRAP_SERVERS:?}"
input_partitions="${TOPIC_INPUT_PARTITIONS:-12}"
outcome_partitions="${TOPIC_OUTCOME_PARTITIONS:-$input_partitions}"
dead_letter_partitions="${TOPIC_DEAD_LETTER_PARTITIONS:-3}"
replication_factor="${TOPIC_REPLICATION_FACTOR:-3}"
min_insync="${TOPIC_MIN_INSYNC_REPLICAS:-2}"

if [ "$outcome_partitions" -lt "$input_partitions" ]; then
  echo "TOPIC_OUTCOME_PARTITIONS ($outcome_partitions) must be at least TOPIC_INPUT_PARTITIONS ($input_partitions)" >&2
  exit 2
fi

create() {
  echo "topic $1: $2 partitions, replication factor $replication_factor, min.insync.replicas $min_insync"
  "$KAFKA_TOPICS" --bootstrap-server "$bootstrap" --create --if-not-exists \
    --topic "$1" --partitions "$2" --replication-factor "$replication_factor" \
    --config "min.insync.replicas=$min_insync"
}

create "${CHAT_IMPORT_TOPICS__GROUPS:-chat-import.groups}" "$input_partitions"
create "${CHAT_IMPORT_TOPICS__MESSAGES:-chat-import.group-messages}" "$input_partitions"
create "${CHAT_IMPORT_TOPICS__OUTCOMES:-chat-import.outcomes}" "$outcome_partitions"
create "${CHAT_IMPORT_TOPICS__DEAD_LETTER:-chat-import.dead-letter}" "$dead_letter_partitions"

# What exists now, one summary line per topic.
for topic in "${CHAT_IMPORT_TOPICS__GROUPS:-chat-import.groups}" \
    "${CHAT_IMPORT_TOPICS__MESSAGES:-chat-import.group-messages}" \
    "${CHAT_IMPORT_TOPICS__OUTCOMES:-chat-import.outcomes}" \
    "${CHAT_IMPORT_TOPICS__DEAD_LETTER:-chat-import.dead-letter}"; do
  "$KAFKA_TOPICS" --bootstrap-server "$bootstrap" --describe --topic "$topic" | head -n 1
done
