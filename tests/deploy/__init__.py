# ruff: noqa: CPY001
