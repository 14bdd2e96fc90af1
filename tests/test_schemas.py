# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
from service.schemas import SCHEMA_DIR, render_schemas


class TestSchemas:
    def test_committed_schemas_match_the_models(self):
        """schemas/ is regenerated from the models (`make schemas`) whenever they change."""
        expected = render_schemas()
        actual = {name: (SCHEMA_DIR / name).read_text(encoding="utf-8") for name in expected}
        assert expected == actual
