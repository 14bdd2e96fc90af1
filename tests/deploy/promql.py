# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Which metrics the service exports, and which ones a PromQL expression reads."""

from __future__ import annotations

import re

from service.metrics import Metrics

# The sample names prometheus-client exposes per metric type (``_created`` is switched off).
SUFFIXES = {
    "counter": ("_total",),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("", "_sum", "_count"),
    "info": ("_info",),
}

PROMQL_KEYWORDS = {
    "and",
    "or",
    "unless",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "offset",
}


def exported_families() -> dict[str, set[str]]:
    """Each metric of a fresh service registry, with the sample names it can expose."""
    return {
        family.name: {family.name + suffix for suffix in SUFFIXES[family.type]}
        for family in Metrics().registry.collect()
    }


def exported_names() -> set[str]:
    """Every sample name a fresh service registry can expose."""
    return set().union(*exported_families().values())


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects.

    A small reader for the expressions this repository writes: strings, label matchers, ranges
    and the label lists of ``by``/``on``/... are dropped; what is left that is neither a
    function call nor a keyword is a metric name.
    """
    text = re.sub(r'"(?:\\.|[^"\\])*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    names = re.findall(r"(?<![\w:.$])([A-Za-z_:][\w:]*)\b(?!\s*\()", text)
    return {name for name in names if name not in PROMQL_KEYWORDS}
