# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
import ast
from pathlib import Path

import service

FORBIDDEN = {"faststream", "aiokafka", "httpx", "asyncio", "structlog", "starlette", "uvicorn"}
PACKAGE = Path(service.__file__).parent


def imported_roots(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


class TestArchitecture:
    def test_domain_is_pure(self):
        """service/domain imports no I/O library: it is plain functions over values."""
        offenders = {
            path.name: sorted(imported_roots(path) & FORBIDDEN)
            for path in (PACKAGE / "domain").glob("*.py")
            if imported_roots(path) & FORBIDDEN
        }
        assert {} == offenders

    def test_only_provider_adapters_import_httpx(self):
        """Httpx is used by the provider adapters and the edges that own the client."""
        allowed = {"providers", "app.py", "emulator", "tools"}
        offenders = sorted(
            str(path.relative_to(PACKAGE))
            for path in PACKAGE.rglob("*.py")
            if "httpx" in imported_roots(path) and path.relative_to(PACKAGE).parts[0] not in allowed
        )
        assert [] == offenders
