# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The production overlay's PrometheusRule: valid for promtool, about metrics that exist.

promtool comes from Debian's prometheus package (``make promtool``). Metric names are collected
from a live ``service.metrics.Metrics()`` registry, with the suffixes prometheus-client exposes.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.promql import exported_names, metric_names
from tests.deploy.tools import REPO, run_promtool

PRODUCTION = REPO / "deploy" / "overlays" / "production"
RULE_FILE = PRODUCTION / "prometheusrule.yaml"
UNIT_TESTS = Path(__file__).parent / "promtool" / "alerts_test.yaml"
DEPLOY_README = REPO / "deploy" / "README.md"
TOPICS_CONFIGMAP = REPO / "deploy" / "base" / "topics-configmap.yaml"
INPUT_TOPICS = 2

# Series of kube-state-metrics the readiness alert reads (the service cannot report its own
# readiness to Prometheus when it is the thing that is broken).
KUBE_STATE_METRICS = {"kube_pod_status_ready", "kube_pod_owner"}

EXPECTED_ALERTS = {
    "ChatImportHalted",
    "ChatImportDeadLettersGrowing",
    "ChatImportProviderErrorRatioHigh",
    "ChatImportConsumerLagNotFalling",
    "ChatImportPartitionsUnassigned",
    "ChatImportCallBudgetSaturated",
    "ChatImportBudgetReportsReadLate",
    "ChatImportReplicaNotReady",
}


def rule_object() -> dict[str, Any]:
    """Return the PrometheusRule object of the production overlay."""
    with RULE_FILE.open(encoding="utf-8") as stream:
        loaded: dict[str, Any] = yaml.safe_load(stream)
    return loaded


def alerts() -> list[dict[str, Any]]:
    """Every alerting rule of the PrometheusRule."""
    return [
        rule
        for group in rule_object()["spec"]["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


def write_rules(directory: Path) -> Path:
    """Write the PrometheusRule's spec as a plain Prometheus rule file, as the operator does."""
    path = directory / "rules.yaml"
    path.write_text(yaml.safe_dump(rule_object()["spec"]), encoding="utf-8")
    return path


class TestPrometheusRule:
    """The PrometheusRule object, read as YAML (no CRD schema is available offline)."""

    def test_is_a_prometheus_operator_rule(self) -> None:
        """apiVersion, kind, name and at least one named group with rules."""
        rule = rule_object()
        groups = rule["spec"]["groups"]
        assert ("monitoring.coreos.com/v1", "PrometheusRule", "chat-import") == (
            rule["apiVersion"],
            rule["kind"],
            rule["metadata"]["name"],
        )
        assert [True] * len(groups) == [bool(g["name"] and g["rules"]) for g in groups]

    def test_has_the_expected_alerts(self) -> None:
        """Halted, dead letters, provider errors, lag, partitions, budget and readiness."""
        assert EXPECTED_ALERTS == {rule["alert"] for rule in alerts()}

    def test_is_in_the_production_overlay(self) -> None:
        """The production kustomization lists the rule file."""
        kustomization = yaml.safe_load((PRODUCTION / "kustomization.yaml").read_text())
        assert "prometheusrule.yaml" in kustomization["resources"]

    @pytest.mark.parametrize("rule", alerts(), ids=lambda r: r["alert"])
    def test_every_alert_has_severity_summary_and_runbook(self, rule: dict[str, Any]) -> None:
        """Each alert has a severity label, a summary and a runbook link into deploy/README."""
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}
        assert rule["annotations"]["summary"]
        assert f"deploy/README.md#{rule['alert'].lower()}" == rule["annotations"]["runbook"]

    @pytest.mark.parametrize("rule", alerts(), ids=lambda r: r["alert"])
    def test_every_runbook_anchor_is_a_readme_heading(self, rule: dict[str, Any]) -> None:
        """deploy/README.md has a heading named after each alert (the runbook anchor)."""
        headings = re.findall(r"^#+ (\S+)\s*$", DEPLOY_README.read_text(), re.MULTILINE)
        assert rule["alert"] in headings

    @pytest.mark.parametrize("rule", alerts(), ids=lambda r: r["alert"])
    def test_expressions_name_only_exported_metrics(self, rule: dict[str, Any]) -> None:
        """Each expression reads metrics the service exports (or kube-state-metrics' ones)."""
        names = metric_names(rule["expr"])
        assert set() != names
        assert set() == names - exported_names() - KUBE_STATE_METRICS

    def test_partition_count_matches_the_topics(self) -> None:
        """The unassigned-partitions threshold is 2 input topics x TOPIC_INPUT_PARTITIONS."""
        (rule,) = [r for r in alerts() if r["alert"] == "ChatImportPartitionsUnassigned"]
        threshold = re.search(r"<\s*(\d+)\s*$", rule["expr"].strip())
        assert threshold is not None
        partitions = yaml.safe_load(TOPICS_CONFIGMAP.read_text())["data"]["TOPIC_INPUT_PARTITIONS"]
        assert INPUT_TOPICS * int(partitions) == int(threshold.group(1))
        assert f"of the {threshold.group(1)} input partitions" in rule["annotations"]["summary"]

    def test_every_alert_has_a_promtool_unit_test(self) -> None:
        """tests/deploy/promtool/alerts_test.yaml evaluates every alert at least once."""
        tests = yaml.safe_load(UNIT_TESTS.read_text())["tests"]
        tested = {case["alertname"] for test in tests for case in test["alert_rule_test"]}
        assert EXPECTED_ALERTS == tested


class TestPromtool:
    """promtool accepts the rules and their unit tests pass."""

    def test_check_rules(self, tmp_path: Path) -> None:
        """`promtool check rules` parses every expression and template."""
        rules = write_rules(tmp_path)
        result = run_promtool("check", "rules", rules, cwd=tmp_path)
        assert (0, f"SUCCESS: {len(alerts())} rules found") == (
            result.returncode,
            result.stdout.strip().splitlines()[-1].strip(),
        ), result.stdout + result.stderr

    def test_unit_tests(self, tmp_path: Path) -> None:
        """`promtool test rules` passes: the alerts fire on the input series they should."""
        write_rules(tmp_path)
        shutil.copy(UNIT_TESTS, tmp_path / UNIT_TESTS.name)
        result = run_promtool("test", "rules", UNIT_TESTS.name, cwd=tmp_path)
        assert 0 == result.returncode, result.stdout + result.stderr
        assert "SUCCESS" in result.stdout

    def test_a_broken_expectation_fails(self, tmp_path: Path) -> None:
        """The unit tests can fail: an alert expected where none fires is reported."""
        write_rules(tmp_path)
        tests = yaml.safe_load(UNIT_TESTS.read_text())
        case = tests["tests"][0]["alert_rule_test"][0]  # the halted replica, before it alerts
        case["exp_alerts"] = [{"exp_labels": {"severity": "critical"}}]
        (tmp_path / "broken_test.yaml").write_text(yaml.safe_dump(tests), encoding="utf-8")
        result = run_promtool("test", "rules", "broken_test.yaml", cwd=tmp_path)
        assert 1 == result.returncode
