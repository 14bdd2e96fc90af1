#!/bin/sh
# Create the service's five topics, idempotently (--if-not-exists: an existing topic is left as
# it is, partition count included). Run by the chat-import-topics Job and by deploy/compose.yaml,
# inside the apache/kafka image.
#
# Reads the service's own settings for the brokers, topic names and largest record, so the two
# cannot disagree:
#   CHAT_IMPORT_KAFKA__BOOTSTRAP_SERVERS,
#   CHAT_IMPORT_TOPICS__{GROUPS,MESSAGES,OUTCOMES,DEAD_LETTER,CONTROL},
#   CHAT_IMPORT_KAFKA__MAX_MESSAGE_BYTES (the service's producer limit; default 16 MiB, as there)
# and the sizes:
#   TOPIC_INPUT_PARTITIONS (both input topics), TOPIC_OUTCOME_PARTITIONS,
#   TOPIC_DEAD_LETTER_PARTITIONS, TOPIC_REPLICATION_FACTOR, TOPIC_MIN_INSYNC_REPLICAS
# The outcome topic should have at least as many partitions as the inputs (it is keyed by
# GroupId like them); this script refuses fewer.
#
# A secured cluster: the same security settings as the service
#   CHAT_IMPORT_KAFKA__SECURITY_PROTOCOL (SSL, SASL_PLAINTEXT, SASL_SSL), __SASL_MECHANISM,
#   __SASL_USERNAME, __SASL_PASSWORD, __SSL_CAFILE, __SSL_CERTFILE, __SSL_KEYFILE,
#   __SSL_KEYFILE_PASSWORD, __SSL_CHECK_HOSTNAME
# become a client.properties for kafka-topics.sh --command-config (written to
# KAFKA_CLIENT_CONFIG, readable by this user only). PEM files need Kafka 2.7 or later, and a
# client key in PKCS#8 ("BEGIN PRIVATE KEY" or "BEGIN ENCRYPTED PRIVATE KEY").
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

protocol="$(printf '%s' "${CHAT_IMPORT_KAFKA__SECURITY_PROTOCOL:-PLAINTEXT}" | tr '[:lower:]' '[:upper:]')"
client_config="${KAFKA_CLIENT_CONFIG:-/tmp/chat-import-client.properties}"

if [ "$outcome_partitions" -lt "$input_partitions" ]; then
  echo "TOPIC_OUTCOME_PARTITIONS ($outcome_partitions) must be at least TOPIC_INPUT_PARTITIONS ($input_partitions)" >&2
  exit 2
fi

# A value for a JAAS option in double quotes, inside a .properties file: JAAS escapes \ and ",
# then .properties escapes \ again.
jaas_value() {
  printf '%s' "$1" | sed -e 's/[\\"]/\\&/g' -e 's/\\/\\\\/g'
}

# A plain .properties value (a path or a password): backslashes escaped.
property_value() {
  printf '%s' "$1" | sed -e 's/\\/\\\\/g'
}

write_client_config() {
  umask 077
  {
    printf '%s\n' "security.protocol=$protocol"
    case "$protocol" in
      SASL_PLAINTEXT|SASL_SSL)
        mechanism="$(printf '%s' "${CHAT_IMPORT_KAFKA__SASL_MECHANISM:?a SASL protocol needs CHAT_IMPORT_KAFKA__SASL_MECHANISM}" | tr '[:lower:]' '[:upper:]')"
        user="$(jaas_value "${CHAT_IMPORT_KAFKA__SASL_USERNAME:?a SASL protocol needs CHAT_IMPORT_KAFKA__SASL_USERNAME}")"
        password="$(jaas_value "${CHAT_IMPORT_KAFKA__SASL_PASSWORD:?a SASL protocol needs CHAT_IMPORT_KAFKA__SASL_PASSWORD}")"
        case "$mechanism" in
          PLAIN) module=org.apache.kafka.common.security.plain.PlainLoginModule ;;
          SCRAM-SHA-256|SCRAM-SHA-512) module=org.apache.kafka.common.security.scram.ScramLoginModule ;;
          *) echo "unknown SASL mechanism $mechanism" >&2; exit 2 ;;
        esac
        printf '%s\n' "sasl.mechanism=$mechanism"
        printf '%s\n' "sasl.jaas.config=$module required username=\"$user\" password=\"$password\";"
        ;;
    esac
    case "$protocol" in
      SSL|SASL_SSL)
        # Without a CA file the JVM's own trusted CAs verify the brokers (public CAs).
        if [ -n "${CHAT_IMPORT_KAFKA__SSL_CAFILE:-}" ]; then
          printf '%s\n' "ssl.truststore.type=PEM"
          printf '%s\n' "ssl.truststore.location=$(property_value "$CHAT_IMPORT_KAFKA__SSL_CAFILE")"
        fi
        if [ -n "${CHAT_IMPORT_KAFKA__SSL_CERTFILE:-}" ]; then
          # Kafka reads a PEM key store as one file: the private key, then the certificates.
          keystore="${client_config%.properties}-keystore.pem"
          cat "${CHAT_IMPORT_KAFKA__SSL_KEYFILE:?a client certificate needs CHAT_IMPORT_KAFKA__SSL_KEYFILE}" \
            "$CHAT_IMPORT_KAFKA__SSL_CERTFILE" > "$keystore"
          printf '%s\n' "ssl.keystore.type=PEM"
          printf '%s\n' "ssl.keystore.location=$(property_value "$keystore")"
          if [ -n "${CHAT_IMPORT_KAFKA__SSL_KEYFILE_PASSWORD:-}" ]; then
            printf '%s\n' "ssl.key.password=$(property_value "$CHAT_IMPORT_KAFKA__SSL_KEYFILE_PASSWORD")"
          fi
        fi
        case "$(printf '%s' "${CHAT_IMPORT_KAFKA__SSL_CHECK_HOSTNAME:-true}" | tr '[:upper:]' '[:lower:]')" in
          false|0|no|off) printf '%s\n' "ssl.endpoint.identification.algorithm=" ;;
        esac
        ;;
    esac
  } > "$client_config"
}

command_config=""
case "$protocol" in
  PLAINTEXT) ;;
  SSL|SASL_PLAINTEXT|SASL_SSL) write_client_config; command_config="$client_config" ;;
  *) echo "unknown CHAT_IMPORT_KAFKA__SECURITY_PROTOCOL $protocol" >&2; exit 2 ;;
esac

# kafka-topics.sh against the cluster (with the client config when it is secured).
kafka_topics() {
  if [ -n "$command_config" ]; then
    "$KAFKA_TOPICS" --bootstrap-server "$bootstrap" --command-config "$command_config" "$@"
  else
    "$KAFKA_TOPICS" --bootstrap-server "$bootstrap" "$@"
  fi
}

# create TOPIC PARTITIONS [--config KEY=VALUE ...]
create() {
  topic="$1"
  partitions="$2"
  shift 2
  echo "topic $topic: $partitions partitions, replication factor $replication_factor, min.insync.replicas $min_insync $*"
  kafka_topics --create --if-not-exists \
    --topic "$topic" --partitions "$partitions" --replication-factor "$replication_factor" \
    --config "min.insync.replicas=$min_insync" "$@"
}

create "${CHAT_IMPORT_TOPICS__GROUPS:-chat-import.groups}" "$input_partitions"
create "${CHAT_IMPORT_TOPICS__MESSAGES:-chat-import.group-messages}" "$input_partitions"
create "${CHAT_IMPORT_TOPICS__OUTCOMES:-chat-import.outcomes}" "$outcome_partitions" \
  --config "max.message.bytes=$max_message_bytes"
create "${CHAT_IMPORT_TOPICS__DEAD_LETTER:-chat-import.dead-letter}" "$dead_letter_partitions" \
  --config "max.message.bytes=$max_message_bytes"
# The replicas' backlog reports: one partition (every replica reads them in one order), stamped
# by the broker (the instant a budget share takes effect comes from one clock), kept briefly.
create "${CHAT_IMPORT_TOPICS__CONTROL:-chat-import.control}" 1 \
  --config "message.timestamp.type=LogAppendTime" --config "retention.ms=600000"

# What exists now, one summary line per topic.
for topic in "${CHAT_IMPORT_TOPICS__GROUPS:-chat-import.groups}" \
    "${CHAT_IMPORT_TOPICS__MESSAGES:-chat-import.group-messages}" \
    "${CHAT_IMPORT_TOPICS__OUTCOMES:-chat-import.outcomes}" \
    "${CHAT_IMPORT_TOPICS__DEAD_LETTER:-chat-import.dead-letter}" \
    "${CHAT_IMPORT_TOPICS__CONTROL:-chat-import.control}"; do
  kafka_topics --describe --topic "$topic" | head -n 1
done
