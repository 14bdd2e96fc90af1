# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The service's Kafka interface as an AsyncAPI 3.0 document, generated from the event models.

Four channels (the two input topics, outcomes and dead letters), the operations the service
performs on them, and the JSON Schemas of the events from ``service.domain.events``.
``python -m service.asyncapi`` writes ``schemas/asyncapi.json``; a test fails when the committed
file drifts from the models.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic.json_schema import models_json_schema

from service.domain.events import (
    AccountImportEvent,
    GroupImportEvent,
    MemberImportEvent,
    MessageImportEvent,
    OutcomeEvent,
    UnreadSetEvent,
)
from service.settings import KafkaSettings, TopicsSettings

ASYNCAPI_VERSION = "3.0.0"
# The version of the event contract this document describes (bump it when the contract changes).
CONTRACT_VERSION = "1.1.0"
ASYNCAPI_PATH = Path(__file__).resolve().parent.parent / "schemas" / "asyncapi.json"
SCHEMA_REF = "#/components/schemas/{model}"
DEAD_LETTER_HEADERS = {
    "error.reason": "why the record is not an event (UTF-8, at most 1,000 bytes)",
    "error.topic": "the topic the record was read from (UTF-8)",
    "error.partition": "the partition it was read from (ASCII decimal)",
    "error.offset": "the offset it was read at (ASCII decimal)",
}


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/{kind}/{name}"}


def _key(description: str) -> dict[str, Any]:
    return {
        "kafka": {"key": {"type": "string", "description": description}, "bindingVersion": "0.5.0"}
    }


def _component_schemas() -> dict[str, Any]:
    _, definitions = models_json_schema(
        [
            (AccountImportEvent, "validation"),
            (GroupImportEvent, "validation"),
            (MemberImportEvent, "validation"),
            (MessageImportEvent, "validation"),
            (UnreadSetEvent, "validation"),
            (OutcomeEvent, "validation"),
        ],
        ref_template=SCHEMA_REF,
    )
    schemas: dict[str, Any] = definitions.get("$defs", {})
    schemas["DeadLetterPayload"] = {
        "type": "string",
        "format": "binary",
        "description": "The original record's value, byte for byte (it is not an event).",
    }
    schemas["DeadLetterHeaders"] = {
        "type": "object",
        "description": "The original record's headers, unchanged, followed by these.",
        "properties": {
            name: {"type": "string", "description": text}
            for name, text in DEAD_LETTER_HEADERS.items()
        },
        "required": list(DEAD_LETTER_HEADERS),
    }
    schemas["BudgetReport"] = {
        "type": "object",
        "description": (
            "Internal to the service: one replica's backlog, from which every replica derives "
            "every replica's share of the call budget (service/domain/budget_sharing.py)."
        ),
        "properties": {
            "format": {"const": 1},
            "replica": {"type": "string", "description": "the reporting process's random id"},
            "epoch": {"type": "integer", "minimum": 0, "description": "assignment epoch"},
            "index_count": {"type": "integer", "minimum": 0, "description": "indices spread"},
            "indices": {
                "type": "array",
                "items": {"type": "integer", "minimum": 0},
                "description": "partition indices the replica holds",
            },
            "backlog": {"type": "number", "minimum": 0, "description": "calls left (estimate)"},
            "sequence": {"type": "integer", "minimum": 0, "description": "counts its reports"},
            "group": {"type": "string", "description": "the consumer group (deployment)"},
        },
        "required": [
            "format",
            "replica",
            "epoch",
            "index_count",
            "indices",
            "backlog",
            "sequence",
            "group",
        ],
    }
    return schemas


def _messages() -> dict[str, Any]:
    group_key = "GroupId (UTF-8)"
    return {
        "AccountImport": {
            "name": "account.import",
            "title": "Import an account",
            "summary": (
                "Create (or update) one account at the provider; accounts come first, every "
                "later import names them. Accounts have no order among themselves: the service "
                "imports them in calls of up to 100 across keys."
            ),
            "contentType": "application/json",
            "payload": _ref("components/schemas", "AccountImportEvent"),
            "bindings": _key("UserID (UTF-8) is recommended; the key is not checked"),
        },
        "GroupImport": {
            "name": "group.import",
            "title": "Import a group",
            "summary": "Create one group at the provider with its profile.",
            "contentType": "application/json",
            "payload": _ref("components/schemas", "GroupImportEvent"),
            "bindings": _key(group_key + "; must equal group.GroupId"),
        },
        "MessageImport": {
            "name": "group.message.import",
            "title": "Import a group message",
            "summary": "Import one message into a group, in the group's SendTime order.",
            "contentType": "application/json",
            "payload": _ref("components/schemas", "MessageImportEvent"),
            "bindings": _key(group_key + "; must equal group_id"),
        },
        "MemberImport": {
            "name": "group.member.import",
            "title": "Import a group member",
            "summary": (
                "Add one member to a group; waits for the group's import like a message does."
            ),
            "contentType": "application/json",
            "payload": _ref("components/schemas", "MemberImportEvent"),
            "bindings": _key(group_key + "; must equal group_id"),
        },
        "UnreadSet": {
            "name": "group.member.unread",
            "title": "Set a member's unread count",
            "summary": (
                "Set one member's unread message count, after every message of its group that "
                "precedes it in the partition (importing messages resets unread counts to 0)."
            ),
            "contentType": "application/json",
            "payload": _ref("components/schemas", "UnreadSetEvent"),
            "bindings": _key(group_key + "; must equal group_id"),
        },
        "Outcome": {
            "name": "outcome",
            "title": "Result of one input event",
            "summary": (
                "One terminal outcome per input event (type <input type>.result); a replay after "
                "a crash repeats it with the same event_id, status and msg_seq."
            ),
            "contentType": "application/json",
            "payload": _ref("components/schemas", "OutcomeEvent"),
            "bindings": _key("GroupId (UTF-8; empty when the event named no group)"),
        },
        "DeadLetter": {
            "name": "dead-letter",
            "title": "A record that is not an event",
            "summary": (
                "Not UTF-8, not JSON, not an object, no type or event_id, or an unknown type: "
                "the record unchanged (key, value, headers) plus the error headers."
            ),
            "contentType": "application/octet-stream",
            "headers": _ref("components/schemas", "DeadLetterHeaders"),
            "payload": _ref("components/schemas", "DeadLetterPayload"),
            "bindings": _key("the original record's key, unchanged"),
        },
        "BudgetReport": {
            "name": "budget-report",
            "title": "A replica's backlog (internal)",
            "summary": (
                "Ten a second from each replica holding partitions; the broker's time stamp "
                "(LogAppendTime) sets when the shares computed after it take effect."
            ),
            "contentType": "application/json",
            "payload": _ref("components/schemas", "BudgetReport"),
            "bindings": _key("the reporting replica's id"),
        },
    }


def _channel(address: str, description: str, messages: list[str]) -> dict[str, Any]:
    return {
        "address": address,
        "description": description,
        "messages": {name: _ref("components/messages", name) for name in messages},
        "bindings": {"kafka": {"topic": address, "bindingVersion": "0.5.0"}},
    }


def _operation(action: str, channel: str, summary: str, messages: list[str]) -> dict[str, Any]:
    return {
        "action": action,
        "channel": _ref("channels", channel),
        "summary": summary,
        "messages": [_ref(f"channels/{channel}/messages", name) for name in messages],
    }


def build_document() -> dict[str, Any]:
    """Build the AsyncAPI document (topic names and broker are the defaults; both are settings)."""
    topics = TopicsSettings()
    kafka = KafkaSettings()
    inputs = ["AccountImport", "GroupImport", "MemberImport", "MessageImport", "UnreadSet"]
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "chat-import-service",
            "version": CONTRACT_VERSION,
            "description": (
                "Consumes account, group, group-member, group-message and unread-count import "
                "events, imports them into Tencent Cloud Chat or ZEGOCLOUD ZIM in the "
                "providers' order (accounts, groups, members, messages, unread counts) and in "
                "each group's order, and publishes one outcome event per input event. Records "
                "that are not events go to the dead-letter topic. "
                "Topic names are settings (CHAT_IMPORT_TOPICS__*); the addresses here are the "
                "defaults. An event's type is read from its payload, never from its topic."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "kafka": {
                "host": kafka.bootstrap_servers,
                "protocol": "kafka",
                "description": "CHAT_IMPORT_KAFKA__BOOTSTRAP_SERVERS",
            }
        },
        "channels": {
            "groups": _channel(
                topics.groups,
                "group.import and account.import events (other event types are accepted here too).",
                inputs,
            ),
            "groupMessages": _channel(
                topics.messages,
                "group.member.import, group.message.import and group.member.unread events: a "
                "group's members, then its messages in ascending SendTime, then its unread "
                "counts, on one partition (other event types are accepted here too).",
                inputs,
            ),
            "outcomes": _channel(topics.outcomes, "One result event per input event.", ["Outcome"]),
            "deadLetter": _channel(
                topics.dead_letter, "Records that are not an event at all.", ["DeadLetter"]
            ),
            "control": _channel(
                topics.control,
                "Internal, one partition: the replicas' backlog reports.",
                ["BudgetReport"],
            ),
        },
        "operations": {
            "consumeGroups": _operation(
                "receive", "groups", "Import groups (and any event sent here).", inputs
            ),
            "consumeGroupMessages": _operation(
                "receive", "groupMessages", "Import messages (and any event sent here).", inputs
            ),
            "publishOutcomes": _operation(
                "send", "outcomes", "Report the result of each input event.", ["Outcome"]
            ),
            "publishDeadLetters": _operation(
                "send", "deadLetter", "Set aside records that are not events.", ["DeadLetter"]
            ),
            "reportBacklog": _operation(
                "send", "control", "Report this replica's backlog.", ["BudgetReport"]
            ),
            "readBacklogs": _operation(
                "receive", "control", "Read every replica's backlog.", ["BudgetReport"]
            ),
        },
        "components": {"schemas": _component_schemas(), "messages": _messages()},
    }


def render_asyncapi() -> str:
    """Render the document as the JSON text committed in ``schemas/``."""
    return json.dumps(build_document(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def write_asyncapi(path: Path = ASYNCAPI_PATH) -> Path:
    """Write the document; return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_asyncapi(), encoding="utf-8")
    return path


if __name__ == "__main__":
    sys.stdout.write(f"wrote {write_asyncapi()}\n")
