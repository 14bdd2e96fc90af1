#!/bin/sh
# Create the service's four topics, idempotently (--if-not-exists: an existing topic is left as
# it is, partition count included). Run by the chat-import-topics Job and by deploy/compose.yaml,
# inside the apache/kafka image.
#
# Reads the service's own settings for the brokers, topic names and largest record, so the two
# cannot disagree:
#   CHAT_IMPORT_KAFKA__BOOTSTRAP_SERVERS, CHAT_IMPORT_TOPICS__{GROUPS,MESSAGES,OUTCOMES,DEAD_LETTER},
#   CHAT_IMPORT_KAFKA__MAX_MESSAGE_BYTES (the service's producer limit; default 16 MiB, as there)
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
# A dead letter is the unreadable record byte for byte, and an outcome echoes the event's
# identifiers: the topics the service writes accept what its producer may send (the service sets
# the same on the dead-letter topic when it creates topics itself).
max_message_bytes="${CHAT_IMPORT_KAFKA__MAX_MESSAGE_BYTES:-16777216}"

if [ "$outcome_partitions" -lt "$input_partitions" ]; then
  echo "TOPIC_OUTCOME_PARTITIONS ($outcome_partitions) must be at least TOPIC_INPUT_PARTITIONS ($input_partitions)" >&2
  exit 2
fi

# create TOPIC PARTITIONS [--config KEY=VALUE ...]
create() {
  topic="$1"
  partitions="$2"
  shift 2
  echo "topic $topic: $partitions partitions, replication factor $replication_factor, min.insync.replicas $min_insync $*"
  "$KAFKA_TOPICS" --bootstrap-server "$bootstrap" --create --if-not-exists \
    --topic "$topic" --partitions "$partitions" --replication-factor "$replication_factor" \
    --config "min.insync.replicas=$min_insync" "$@"
}

create "${CHAT_IMPORT_TOPICS__GROUPS:-chat-import.groups}" "$input_partitions"
create "${CHAT_IMPORT_TOPICS__MESSAGES:-chat-import.group-messages}" "$input_partitions"
create "${CHAT_IMPORT_TOPICS__OUTCOMES:-chat-import.outcomes}" "$outcome_partitions" \
  --config "max.message.bytes=$max_message_bytes"
create "${CHAT_IMPORT_TOPICS__DEAD_LETTER:-chat-import.dead-letter}" "$dead_letter_partitions" \
  --config "max.message.bytes=$max_message_bytes"

# What exists now, one summary line per topic.
for topic in "${CHAT_IMPORT_TOPICS__GROUPS:-chat-import.groups}" \
    "${CHAT_IMPORT_TOPICS__MESSAGES:-chat-import.group-messages}" \
    "${CHAT_IMPORT_TOPICS__OUTCOMES:-chat-import.outcomes}" \
    "${CHAT_IMPORT_TOPICS__DEAD_LETTER:-chat-import.dead-letter}"; do
  "$KAFKA_TOPICS" --bootstrap-server "$bootstrap" --describe --topic "$topic" | head -n 1
done
