# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""External tools the deployment tests run (promtool, kustomize), found or reported missing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
TOOLS_BIN = REPO / ".tools" / "bin"


def in_ci() -> bool:
    """Tell whether the tests run in CI (which sets CI=true)."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_tool(name: str, how_to_install: str) -> str:
    """The path of a tool in .tools/bin or on PATH.

    A missing tool fails the test in CI, where the Makefile installs it first, and skips it
    elsewhere with the reason, so a developer without it still runs everything else.
    """
    local = TOOLS_BIN / name
    found = str(local) if local.is_file() else shutil.which(name)
    if found is not None:
        return found
    reason = f"{name} not found in .tools/bin or on PATH: {how_to_install}"
    if in_ci():
        pytest.fail(reason)
    pytest.skip(reason)


def run_promtool(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run promtool (from ``make promtool``) with these arguments."""
    tool = require_tool("promtool", "`make promtool` installs it (Debian's prometheus package)")
    return subprocess.run(
        [tool, *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
