# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The committed AsyncAPI document matches the models and holds together."""

from __future__ import annotations

import json
from typing import Any

from service.asyncapi import ASYNCAPI_PATH, build_document, render_asyncapi
from service.domain.budget_sharing import Report, encode_report
from service.domain.events import GroupImportEvent, MessageImportEvent, OutcomeEvent
from service.settings import TopicsSettings


def refs(node: Any) -> list[str]:
    """Every ``$ref`` inside ``node``."""
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [ref for value in node.values() for ref in refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in refs(value)]
    return []


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part]
    return node


class TestAsyncApi:
    def test_committed_document_matches_the_models(self) -> None:
        """schemas/asyncapi.json is regenerated (`make schemas`) whenever the models change."""
        assert render_asyncapi() == ASYNCAPI_PATH.read_text(encoding="utf-8")

    def test_every_reference_resolves(self) -> None:
        """No dangling $ref: channels, operations, messages and schemas point at real nodes."""
        document = json.loads(ASYNCAPI_PATH.read_text(encoding="utf-8"))
        for ref in refs(document):
            assert resolve(document, ref) is not None

    def test_five_topics_with_the_event_schemas(self) -> None:
        """Both inputs take every event type; outcomes, dead letters and reports have theirs."""
        document = build_document()
        topics = TopicsSettings()
        channels = document["channels"]
        expected = {topics.groups, topics.messages, topics.outcomes, topics.dead_letter}
        assert ("3.0.0", expected | {topics.control}) == (
            document["asyncapi"],
            {channel["address"] for channel in channels.values()},
        )
        schemas = document["components"]["schemas"]
        for model in (GroupImportEvent, MessageImportEvent, OutcomeEvent):
            assert set(model.model_json_schema()["properties"]) == set(
                schemas[model.__name__]["properties"]
            )
        operations = document["operations"]
        assert {"receive": 3, "send": 3} == {
            action: sum(op["action"] == action for op in operations.values())
            for action in ("receive", "send")
        }
        dead = document["components"]["messages"]["DeadLetter"]
        headers = resolve(document, dead["headers"]["$ref"])
        assert {"error.reason", "error.topic", "error.partition", "error.offset"} == set(
            headers["required"]
        )
        assert "application/octet-stream" == dead["contentType"]

    def test_the_control_topics_reports_match_what_the_service_writes(self) -> None:
        """The BudgetReport schema names exactly the fields a report carries."""
        schema = build_document()["components"]["schemas"]["BudgetReport"]
        written = json.loads(encode_report(Report("r", 1, 2, frozenset({0}), 3.5, 4)))
        assert set(schema["required"]) == set(written) == set(schema["properties"])
