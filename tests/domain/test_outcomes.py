# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
from service.domain import outcomes
from service.domain.events import GroupProfile, SourceRef, Status
from service.domain.validation import ValidGroupImport

SOURCE = SourceRef(topic="groups", partition=0, offset=7)


class TestImported:
    def test_an_events_warnings_reach_the_imported_outcome(self):
        """A group imported without CreateTime says so in error_info, after any other note."""
        event = ValidGroupImport(
            "e", GroupProfile(GroupId="g", Type="Public", Name="n"), warnings=("no CreateTime",)
        )
        outcome = outcomes.imported(
            event, provider="tencent", source=SOURCE, attempts=1, info="already there"
        )
        assert (Status.IMPORTED, 0, "already there; no CreateTime") == (
            outcome.status,
            outcome.error_code,
            outcome.error_info,
        )
