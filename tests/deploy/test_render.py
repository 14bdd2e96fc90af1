# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""Every kustomization and optional component, rendered with the real kustomize.

Rendering uses ``kustomize build`` when it is on PATH, else ``kubectl kustomize`` (kubectl carries
kustomize). The custom resources (KEDA's ScaledObject and TriggerAuthentication, Strimzi's
KafkaTopic) have no schema available offline: their required fields are checked by hand, and
their values against the service's own ConfigMap and settings.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import typer.main
import yaml

from service.cli import app
from service.settings import Settings
from tests.deploy.tools import REPO, require_tool

DEPLOY = REPO / "deploy"
COMPONENTS = DEPLOY / "components"
Doc = dict[str, Any]

# Where each render's objects land.
NAMESPACE = "chat-import"
DEV_NAMESPACE = "chat-import-dev"
# A render: (kustomization directories as resources, components, namespace set around them).
TARGETS: dict[str, tuple[list[str], list[str], str | None]] = {
    "base": (["base"], [], None),
    "dev": (["overlays/dev"], [], DEV_NAMESPACE),
    "production": (["overlays/production"], [], NAMESPACE),
    "jobs": (["jobs"], [], NAMESPACE),
    "production+keda": (["overlays/production"], ["components/keda"], NAMESPACE),
    "production+keda+keda-secured": (
        ["overlays/production"],
        ["components/keda", "components/keda-secured"],
        NAMESPACE,
    ),
    "production+kafka-sasl-ssl": (
        ["overlays/production"],
        ["components/kafka-sasl-ssl"],
        NAMESPACE,
    ),
    "production+kafka-mtls": (["overlays/production"], ["components/kafka-mtls"], NAMESPACE),
    "production+strimzi-topics": (
        ["overlays/production"],
        ["components/strimzi-topics"],
        NAMESPACE,
    ),
}
# The digests the operator must set in the production overlay (deploy/README.md, "Build").
IMAGE_DIGEST_PLACEHOLDER = "sha256:SET-THE-DIGEST-OF-THE-PUSHED-IMAGE"
KAFKA_DIGEST_PLACEHOLDER = "sha256:SET-THE-DIGEST-OF-APACHE-KAFKA-3.9.1"
# Kinds without a namespace.
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition"}
# The authentication parameters KEDA's Kafka scaler reads from a TriggerAuthentication.
KAFKA_SCALER_AUTH = {
    "sasl",
    "username",
    "password",
    "tls",
    "ca",
    "cert",
    "key",
    "keyPassword",
    "unsafeSsl",
    "oauthTokenEndpointUri",
    "scopes",
    "oauthExtensions",
}

Render = Callable[[str], list[Doc]]


def kustomize_command() -> list[str]:
    """``kustomize build``, or ``kubectl kustomize`` when only kubectl is installed."""
    kustomize = shutil.which("kustomize")
    if kustomize is not None:
        return [kustomize, "build"]
    return [
        require_tool("kubectl", "install kubectl (it carries kustomize) or kustomize"),
        "kustomize",
    ]


def composed(directory: Path, name: str) -> Path:
    """The directory to build for a target: the kustomization itself, or one composing it."""
    resources, components, namespace = TARGETS[name]
    if not components:
        (resource,) = resources
        return DEPLOY / resource
    root = directory / name
    root.mkdir()
    kustomization: Doc = {
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        # kustomize refuses absolute paths to other kustomizations: relative ones.
        "resources": [os.path.relpath(DEPLOY / entry, root) for entry in resources],
        "components": [os.path.relpath(DEPLOY / entry, root) for entry in components],
    }
    if namespace is not None:
        kustomization["namespace"] = namespace
    (root / "kustomization.yaml").write_text(yaml.safe_dump(kustomization), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def render(tmp_path_factory: pytest.TempPathFactory) -> Render:
    """Render a target by name (once per module)."""
    cache: dict[str, list[Doc]] = {}
    scratch = tmp_path_factory.mktemp("kustomize")

    def build(name: str) -> list[Doc]:
        if name not in cache:
            result = subprocess.run(
                [*kustomize_command(), str(composed(scratch, name))],
                capture_output=True,
                text=True,
                check=False,
                timeout=120,
            )
            assert 0 == result.returncode, result.stderr
            cache[name] = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
        return cache[name]

    return build


def find(docs: list[Doc], kind: str, name: str) -> Doc:
    """Return the one object of this kind and name."""
    matches = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert 1 == len(matches), f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def kinds(docs: list[Doc], kind: str) -> list[Doc]:
    """Every object of this kind."""
    return [d for d in docs if d["kind"] == kind]


def service_config(docs: list[Doc]) -> dict[str, str]:
    """The service's ConfigMap data as rendered."""
    data: dict[str, str] = find(docs, "ConfigMap", "chat-import")["data"]
    return data


def topic_sizes(render: Render) -> dict[str, str]:
    """The topics Job's sizes, as the production overlay renders them."""
    data: dict[str, str] = find(render("production"), "ConfigMap", "chat-import-topics")["data"]
    return data


def containers(doc: Doc) -> list[Doc]:
    """The containers of a workload's pod template."""
    found: list[Doc] = doc["spec"]["template"]["spec"]["containers"]
    return found


class TestRender:
    """Every target renders into well-formed objects in the right namespace."""

    @pytest.mark.parametrize("name", TARGETS)
    def test_renders_named_unique_objects(self, render: Render, name: str) -> None:
        """Kustomize builds it; every object has apiVersion, kind and a name, none twice."""
        docs = render(name)
        assert [] != docs
        assert [] == [d for d in docs if not (d.get("apiVersion") and d["metadata"].get("name"))]
        twice = [
            key
            for key, n in Counter((d["kind"], d["metadata"]["name"]) for d in docs).items()
            if n > 1
        ]
        assert [] == twice

    @pytest.mark.parametrize("name", [n for n, t in TARGETS.items() if t[2] is not None])
    def test_objects_land_in_the_namespace(self, render: Render, name: str) -> None:
        """Every namespaced object carries the overlay's namespace."""
        expected = TARGETS[name][2]
        wrong = [
            (d["kind"], d["metadata"]["name"], d["metadata"].get("namespace"))
            for d in render(name)
            if d["kind"] not in CLUSTER_SCOPED and d["metadata"].get("namespace") != expected
        ]
        assert [] == wrong

    def test_every_component_is_rendered(self) -> None:
        """Each directory under deploy/components is part of some render here."""
        rendered = {c for _, components, _ in TARGETS.values() for c in components}
        present = {f"components/{p.parent.name}" for p in COMPONENTS.glob("*/kustomization.yaml")}
        assert present == rendered

    def test_components_are_components(self) -> None:
        """Each component's kustomization is of kind Component (it cannot be built alone)."""
        found = {
            p.parent.name: yaml.safe_load(p.read_text())["kind"]
            for p in COMPONENTS.glob("*/kustomization.yaml")
        }
        assert dict.fromkeys(found, "Component") == found

    def test_production_runs_three_replicas(self, render: Render) -> None:
        """Without KEDA, production runs three replicas."""
        assert 3 == find(render("production"), "Deployment", "chat-import")["spec"]["replicas"]

    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("dev", {"chat-import:dev"}),
            ("production", {f"registry.example.com/chat-import:0.1.0@{IMAGE_DIGEST_PLACEHOLDER}"}),
            ("jobs", {f"registry.example.com/chat-import:0.1.0@{IMAGE_DIGEST_PLACEHOLDER}"}),
        ],
    )
    def test_every_container_runs_the_overlay_image(
        self, render: Render, name: str, expected: set[str]
    ) -> None:
        """Each container running the service's image gets the one the overlay sets."""
        images = {
            c["image"]
            for d in render(name)
            if d["kind"] in {"Deployment", "Job"}
            for c in containers(d)
            if "kafka" not in c["image"]
        }
        assert expected == images

    def test_production_images_carry_a_digest_to_set(self, render: Render) -> None:
        """Production pins every image by tag and digest; the digests are placeholders to set.

        A placeholder is no valid digest, so an apply that forgot it fails to pull instead of
        running whatever the tag points at.
        """
        images = {
            c["image"]
            for d in render("production")
            if d["kind"] in {"Deployment", "Job"}
            for c in containers(d)
        }
        expected = {
            f"registry.example.com/chat-import:0.1.0@{IMAGE_DIGEST_PLACEHOLDER}",
            f"apache/kafka:3.9.1@{KAFKA_DIGEST_PLACEHOLDER}",
        }
        assert expected == images


class TestKeda:
    """The KEDA component: a ScaledObject on the group's lag, optionally authenticated."""

    def scaled_object(self, render: Render, name: str = "production+keda") -> Doc:
        """Return the rendered ScaledObject."""
        return find(render(name), "ScaledObject", "chat-import")

    def test_scales_the_service_deployment(self, render: Render) -> None:
        """The scale target is the Deployment of the same render."""
        docs = render("production+keda")
        target = self.scaled_object(render)["spec"]["scaleTargetRef"]
        find(docs, target.get("kind", "Deployment"), target["name"])
        assert ("keda.sh/v1alpha1", "chat-import") == (
            self.scaled_object(render)["apiVersion"],
            target["name"],
        )

    def test_the_deployment_leaves_the_count_to_keda(self, render: Render) -> None:
        """The rendered Deployment has no replicas field for kubectl apply to reset."""
        deployment = find(render("production+keda"), "Deployment", "chat-import")
        assert "replicas" not in deployment["spec"]

    def test_scales_to_zero_and_at_most_to_the_partitions(self, render: Render) -> None:
        """The minimum is 0 replicas; the maximum is at least 1 and at most the partitions."""
        spec = self.scaled_object(render)["spec"]
        partitions = int(topic_sizes(render)["TOPIC_INPUT_PARTITIONS"])
        assert 0 == spec["minReplicaCount"]
        assert 1 <= spec["maxReplicaCount"] <= partitions

    def test_one_kafka_trigger_per_input_topic(self, render: Render) -> None:
        """Two kafka triggers, on the groups and messages topics of the service's ConfigMap."""
        config = service_config(render("production+keda"))
        triggers = self.scaled_object(render)["spec"]["triggers"]
        expected = [
            ("kafka", config["CHAT_IMPORT_TOPICS__GROUPS"]),
            ("kafka", config["CHAT_IMPORT_TOPICS__MESSAGES"]),
        ]
        assert expected == [(t["type"], t["metadata"]["topic"]) for t in triggers]

    def test_triggers_read_the_service_group_on_its_brokers(self, render: Render) -> None:
        """Brokers, group and offset reset policy are the service's own settings."""
        config = service_config(render("production+keda"))
        expected = {
            (
                config["CHAT_IMPORT_KAFKA__BOOTSTRAP_SERVERS"],
                config["CHAT_IMPORT_KAFKA__GROUP_ID"],
                config["CHAT_IMPORT_KAFKA__AUTO_OFFSET_RESET"],
            )
        }
        actual = {
            (m["bootstrapServers"], m["consumerGroup"], m["offsetResetPolicy"])
            for m in (t["metadata"] for t in self.scaled_object(render)["spec"]["triggers"])
        }
        assert expected == actual

    def test_no_idle_consumers_and_a_positive_threshold(self, render: Render) -> None:
        """Idle consumers are not allowed; the lag threshold is a positive whole number."""
        for trigger in self.scaled_object(render)["spec"]["triggers"]:
            metadata = trigger["metadata"]
            assert ("false", True) == (
                metadata["allowIdleConsumers"],
                int(metadata["lagThreshold"]) > 0,
            )

    def test_trigger_metadata_values_are_strings(self, render: Render) -> None:
        """KEDA's CRD types trigger metadata as strings: a bare false or 10 is refused."""
        values = [
            (key, value)
            for trigger in self.scaled_object(render)["spec"]["triggers"]
            for key, value in trigger["metadata"].items()
            if not isinstance(value, str)
        ]
        assert [] == values

    def test_plain_triggers_need_no_authentication(self, render: Render) -> None:
        """Without keda-secured, no trigger references a TriggerAuthentication."""
        triggers = self.scaled_object(render)["spec"]["triggers"]
        assert [] == [t for t in triggers if "authenticationRef" in t]
        assert [] == kinds(render("production+keda"), "TriggerAuthentication")

    def test_secured_triggers_use_the_trigger_authentication(self, render: Render) -> None:
        """With keda-secured, both triggers reference the TriggerAuthentication in the render."""
        name = "production+keda+keda-secured"
        (auth,) = kinds(render(name), "TriggerAuthentication")
        refs = [
            t["authenticationRef"]["name"]
            for t in self.scaled_object(render, name)["spec"]["triggers"]
        ]
        assert [auth["metadata"]["name"]] * 2 == refs

    def test_secured_credentials_come_from_a_secret(self, render: Render) -> None:
        """SASL and TLS parameters come from one Secret that is not in the repository."""
        docs = render("production+keda+keda-secured")
        (auth,) = kinds(docs, "TriggerAuthentication")
        refs = auth["spec"]["secretTargetRef"]
        parameters = {r["parameter"] for r in refs}
        assert {"sasl", "username", "password", "tls", "ca", "cert", "key"} == parameters
        assert set() == parameters - KAFKA_SCALER_AUTH
        secrets = {r["name"] for r in refs}
        assert ({"chat-import-kafka-scaler"}, []) == (secrets, kinds(docs, "Secret"))
        assert [] == [r for r in refs if not r["key"]]


class TestStrimziTopics:
    """The Strimzi component: KafkaTopics instead of the topics Job."""

    NAME = "production+strimzi-topics"

    def topics(self, render: Render) -> dict[str, Doc]:
        """The rendered KafkaTopics by topic name."""
        return {t["spec"]["topicName"]: t for t in kinds(render(self.NAME), "KafkaTopic")}

    def test_replaces_the_topics_job(self, render: Render) -> None:
        """The Job, its sizes ConfigMap and its script ConfigMap are gone."""
        docs = render(self.NAME)
        gone = [
            ("Job", "chat-import-topics"),
            ("ConfigMap", "chat-import-topics"),
            ("ConfigMap", "chat-import-topics-script"),
        ]
        present = {(d["kind"], d["metadata"]["name"]) for d in docs}
        assert set() == set(gone) & present

    def test_creates_the_five_topics_of_the_settings(self, render: Render) -> None:
        """The KafkaTopics' topic names are the service's five topic names."""
        config = service_config(render(self.NAME))
        expected = {
            config[key]
            for key in (
                "CHAT_IMPORT_TOPICS__GROUPS",
                "CHAT_IMPORT_TOPICS__MESSAGES",
                "CHAT_IMPORT_TOPICS__OUTCOMES",
                "CHAT_IMPORT_TOPICS__DEAD_LETTER",
                "CHAT_IMPORT_TOPICS__CONTROL",
            )
        }
        assert expected == set(self.topics(render))

    def test_sizes_match_the_topics_job(self, render: Render) -> None:
        """Partitions, replicas and min.insync.replicas are those the Job would use."""
        sizes = topic_sizes(render)
        config = service_config(render(self.NAME))
        partitions = {
            config["CHAT_IMPORT_TOPICS__GROUPS"]: sizes["TOPIC_INPUT_PARTITIONS"],
            config["CHAT_IMPORT_TOPICS__MESSAGES"]: sizes["TOPIC_INPUT_PARTITIONS"],
            config["CHAT_IMPORT_TOPICS__OUTCOMES"]: sizes["TOPIC_OUTCOME_PARTITIONS"],
            config["CHAT_IMPORT_TOPICS__DEAD_LETTER"]: sizes["TOPIC_DEAD_LETTER_PARTITIONS"],
            config["CHAT_IMPORT_TOPICS__CONTROL"]: "1",  # one partition, in the script too
        }
        expected = {
            name: (
                int(count),
                int(sizes["TOPIC_REPLICATION_FACTOR"]),
                int(sizes["TOPIC_MIN_INSYNC_REPLICAS"]),
            )
            for name, count in partitions.items()
        }
        actual = {
            name: (
                t["spec"]["partitions"],
                t["spec"]["replicas"],
                t["spec"]["config"]["min.insync.replicas"],
            )
            for name, t in self.topics(render).items()
        }
        assert expected == actual

    def test_outcomes_and_dead_letters_accept_the_largest_record(self, render: Render) -> None:
        """max.message.bytes of both output topics is the producer's CHAT_IMPORT_KAFKA__MAX_MESSAGE_BYTES."""
        config = service_config(render(self.NAME))
        limit = Settings().kafka.max_message_bytes
        topics = self.topics(render)
        actual = [
            topics[config[key]]["spec"]["config"]["max.message.bytes"]
            for key in ("CHAT_IMPORT_TOPICS__OUTCOMES", "CHAT_IMPORT_TOPICS__DEAD_LETTER")
        ]
        assert [limit, limit] == actual

    def test_topics_belong_to_the_cluster_the_service_uses(self, render: Render) -> None:
        """strimzi.io/cluster names the cluster whose bootstrap Service the service connects to."""
        config = service_config(render(self.NAME))
        bootstrap_service = config["CHAT_IMPORT_KAFKA__BOOTSTRAP_SERVERS"].split(".", 1)[0]
        clusters = {
            t["metadata"]["labels"]["strimzi.io/cluster"] for t in self.topics(render).values()
        }
        assert {bootstrap_service.removesuffix("-kafka-bootstrap")} == clusters

    def test_required_fields(self, render: Render) -> None:
        """Each is a kafka.strimzi.io/v1beta2 KafkaTopic with positive partitions and replicas."""
        bad = [
            name
            for name, t in self.topics(render).items()
            if t["apiVersion"] != "kafka.strimzi.io/v1beta2"
            or not (isinstance(t["spec"]["partitions"], int) and t["spec"]["partitions"] >= 1)
            or not (isinstance(t["spec"]["replicas"], int) and t["spec"]["replicas"] >= 1)
        ]
        assert [] == bad


class TestCommandJobs:
    """`chat-import verify` and `chat-import report` as Jobs (deploy/jobs)."""

    def job(self, render: Render, command: str) -> Doc:
        """Return the Job running ``command``."""
        return find(render("jobs"), "Job", f"chat-import-{command}")

    @pytest.mark.parametrize("command", ["verify", "report"])
    def test_runs_the_command_with_valid_options(self, render: Render, command: str) -> None:
        """The container's arguments are the command and options the CLI accepts."""
        (container,) = containers(self.job(render, command))
        group: Any = typer.main.get_command(app)
        subcommand = group.get_command(group.make_context("chat-import", [command]), command)
        subcommand.make_context(command, list(container["args"][1:]))  # raises if refused
        assert command == container["args"][0]

    @pytest.mark.parametrize("command", ["verify", "report"])
    def test_runs_once_with_the_service_image(self, render: Render, command: str) -> None:
        """The pod is never restarted and runs the image of the production Deployment."""
        job = self.job(render, command)
        (container,) = containers(job)
        (service,) = containers(find(render("production"), "Deployment", "chat-import"))
        assert ("Never", service["image"]) == (
            job["spec"]["template"]["spec"]["restartPolicy"],
            container["image"],
        )

    @pytest.mark.parametrize("command", ["verify", "report"])
    def test_is_hardened_like_the_service(self, render: Render, command: str) -> None:
        """Non-root (10001), read-only root, no privilege escalation, no capabilities."""
        job = self.job(render, command)
        (container,) = containers(job)
        effective = {
            **job["spec"]["template"]["spec"]["securityContext"],
            **container["securityContext"],
        }
        expected = {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
        }
        assert expected == {key: effective.get(key) for key in expected}

    def test_verify_reads_the_provider_credentials(self, render: Render) -> None:
        """Verify calls the provider: it reads the ConfigMap and the Secret; report only the ConfigMap."""
        sources = {
            command: [
                next(iter(s.values()))["name"]
                for s in containers(self.job(render, command))[0]["envFrom"]
            ]
            for command in ("verify", "report")
        }
        assert {
            "verify": ["chat-import", "chat-import-secrets"],
            "report": ["chat-import"],
        } == sources

    def test_a_difference_is_not_retried(self, render: Render) -> None:
        """Verify exits 1 on a difference: backoffLimit 0 keeps that answer instead of rerunning."""
        assert 0 == self.job(render, "verify")["spec"]["backoffLimit"]
