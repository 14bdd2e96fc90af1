# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The Grafana dashboard: shipped by the production overlay, about metrics that exist."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.promql import exported_families, exported_names, metric_names
from tests.deploy.tools import REPO, run_promtool

PRODUCTION = REPO / "deploy" / "overlays" / "production"
DASHBOARD = PRODUCTION / "dashboards" / "chat-import.json"
# What Grafana puts in place of its variables, so promtool can parse the queries.
GRAFANA_VARIABLES = {
    "$__rate_interval": "2m",
    "$__range": "6h",
    "$namespace": "chat-import",
    "$pod": ".*",
}
# kubectl apply keeps the whole object in an annotation, which may not exceed 256 KiB.
LAST_APPLIED_LIMIT = 256 * 1024


def dashboard() -> dict[str, Any]:
    """Return the dashboard's JSON model."""
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return loaded


def panels() -> list[dict[str, Any]]:
    """Every panel that draws something (not the rows)."""
    return [p for p in dashboard()["panels"] if p["type"] != "row"]


def expressions() -> list[str]:
    """The PromQL of every panel's queries."""
    return [target["expr"] for panel in panels() for target in panel["targets"]]


def grafana_free(expr: str) -> str:
    """The expression with Grafana's variables replaced by values."""
    for name, value in sorted(GRAFANA_VARIABLES.items(), key=lambda item: -len(item[0])):
        expr = expr.replace(name, value)
    return expr


class TestDashboardModel:
    """The dashboard's JSON model."""

    def test_has_a_stable_uid_and_variables(self) -> None:
        """The uid is chat-import; there are data source, namespace and replica variables."""
        variables = [v["name"] for v in dashboard()["templating"]["list"]]
        assert ("chat-import", ["datasource", "namespace", "pod"]) == (
            dashboard()["uid"],
            variables,
        )

    def test_every_panel_uses_the_datasource_variable(self) -> None:
        """No panel is tied to one Grafana's data source uid."""
        uids = {p["datasource"]["uid"] for p in panels()}
        uids |= {t["datasource"]["uid"] for p in panels() for t in p["targets"]}
        assert {"${datasource}"} == uids

    def test_panel_ids_are_unique(self) -> None:
        """Grafana keys panels by id."""
        ids = [p["id"] for p in dashboard()["panels"]]
        assert len(ids) == len(set(ids))

    def test_panels_fit_the_grid(self) -> None:
        """Every panel lies within Grafana's 24 columns."""
        assert [] == [
            p["title"] for p in dashboard()["panels"] if p["gridPos"]["x"] + p["gridPos"]["w"] > 24
        ]

    def test_every_query_selects_the_namespace_and_replicas(self) -> None:
        """Each query is limited to the chosen namespace and replicas."""
        assert [] == [e for e in expressions() if 'namespace="$namespace", pod=~"$pod"' not in e]


class TestDashboardMetrics:
    """The dashboard reads the metrics the service exports, all of them."""

    @pytest.mark.parametrize("expr", expressions())
    def test_queries_name_only_exported_metrics(self, expr: str) -> None:
        """Each query reads metrics a service.metrics.Metrics() registry exposes."""
        names = metric_names(expr)
        assert set() != names
        assert set() == names - exported_names()

    def test_every_service_metric_is_shown(self) -> None:
        """Each chat_import_* metric (each histogram, through one of its series) is on a panel."""
        shown = {name for expr in expressions() for name in metric_names(expr)}
        missing = {
            family
            for family, names in exported_families().items()
            if family.startswith("chat_import_") and not names & shown
        }
        assert set() == missing

    def test_queries_parse(self, tmp_path: Path) -> None:
        """The promtool parser accepts every query (as recording rules, Grafana's variables filled in)."""
        rules = {
            "groups": [
                {
                    "name": "dashboard",
                    "rules": [
                        {"record": f"dashboard:query_{n}", "expr": grafana_free(expr)}
                        for n, expr in enumerate(expressions())
                    ],
                }
            ]
        }
        path = tmp_path / "dashboard.yaml"
        path.write_text(yaml.safe_dump(rules), encoding="utf-8")
        result = run_promtool("check", "rules", path, cwd=tmp_path)
        assert 0 == result.returncode, result.stdout + result.stderr


class TestDashboardShipping:
    """The production overlay ships the dashboard to Grafana's sidecar."""

    def generator(self) -> dict[str, Any]:
        """Return the dashboard's ConfigMap generator."""
        kustomization = yaml.safe_load((PRODUCTION / "kustomization.yaml").read_text())
        (found,) = [
            g for g in kustomization["configMapGenerator"] if g["name"] == "chat-import-dashboard"
        ]
        result: dict[str, Any] = found
        return result

    def test_is_a_configmap_with_the_sidecar_label(self) -> None:
        """A ConfigMap of the JSON file, labelled grafana_dashboard, with a stable name."""
        generator = self.generator()
        assert (["dashboards/chat-import.json"], "1", True) == (
            generator["files"],
            generator["options"]["labels"]["grafana_dashboard"],
            generator["options"]["disableNameSuffixHash"],
        )

    def test_fits_kubectl_apply(self) -> None:
        """The JSON stays well below the 256 KiB that kubectl apply's annotation can hold."""
        assert DASHBOARD.stat().st_size < LAST_APPLIED_LIMIT // 2
