# Copyright 2026 chat-import-service contributors
# SPDX-License-Identifier: Apache-2.0
"""The secured-Kafka components: the Secret's password and files reach the service and the Job.

``deploy/components/kafka-sasl-ssl`` (SASL over TLS) and ``deploy/components/kafka-mtls``
(mutual TLS) each patch the service's ConfigMap with the non-secret settings, and the Deployment
and the topics Job with the password (an env entry from a ``secretKeyRef``) and the certificate
files (a Secret volume). These tests check that both sides read the same things, that the
settings point at files the volume provides, that the settings parse, and that the topics script
turns them into a client.properties for ``kafka-topics.sh --command-config``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from service.settings import SecurityProtocol, Settings
from tests.deploy.test_manifests import (
    DEPLOY,
    PRODUCTION,
    SECRET_SETTINGS,
    SETTINGS,
    base_configmap,
    base_docs,
    find,
    load_docs,
    load_one,
    option,
    overlay_configmap,
    run_topics_script,
    topics_configmap,
)

if TYPE_CHECKING:
    from pathlib import Path

Doc = dict[str, Any]
SASL_SSL = DEPLOY / "components" / "kafka-sasl-ssl"
MTLS = DEPLOY / "components" / "kafka-mtls"
COMPONENTS = [SASL_SSL, MTLS]
SECRET = "chat-import-kafka"
PASSWORD = 'p"ass\\word'  # a quote and a backslash, escaped twice in the client config
FILE_SETTINGS = {
    "CHAT_IMPORT_KAFKA__SSL_CAFILE",
    "CHAT_IMPORT_KAFKA__SSL_CERTFILE",
    "CHAT_IMPORT_KAFKA__SSL_KEYFILE",
}
KAFKA_IMAGE_GROUP = 1000


def ids(path: Path) -> str:
    return path.name


def patches(component: Path) -> dict[tuple[str, str], Doc]:
    """The component's patches by (kind, name) of what they patch."""
    kustomization = load_one(component / "kustomization.yaml")
    docs = [doc for p in kustomization["patches"] for doc in load_docs(component / p["path"])]
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in docs}


def configmap_patch(component: Path) -> dict[str, str]:
    data: dict[str, str] = patches(component)[("ConfigMap", "chat-import")]["data"]
    return data


def pod_patch(component: Path, kind: str, name: str) -> tuple[Doc, Doc]:
    """(pod spec, its one container) of the component's patch of ``kind/name``."""
    spec: Doc = patches(component)[(kind, name)]["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    return spec, container


def service_pod(component: Path) -> tuple[Doc, Doc]:
    return pod_patch(component, "Deployment", "chat-import")


def job_pod(component: Path) -> tuple[Doc, Doc]:
    return pod_patch(component, "Job", "chat-import-topics")


def mounted_files(spec: Doc, container: Doc) -> dict[str, str]:
    """Path in the container -> Secret key, for every Secret file the container mounts."""
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    files: dict[str, str] = {}
    for mount in container.get("volumeMounts", []):
        secret = volumes[mount["name"]].get("secret")
        if secret is None:
            continue
        for item in secret["items"]:
            files[f"{mount['mountPath']}/{item['path']}"] = item["key"]
    return files


def secret_env(container: Doc) -> dict[str, tuple[str, str]]:
    """Setting -> (Secret, key) for every env entry read from a Secret."""
    return {
        entry["name"]: (
            entry["valueFrom"]["secretKeyRef"]["name"],
            entry["valueFrom"]["secretKeyRef"]["key"],
        )
        for entry in container.get("env", [])
        if "secretKeyRef" in entry.get("valueFrom", {})
    }


def example_secret(component: Path) -> dict[str, str]:
    data: dict[str, str] = load_one(component / "secret.example.yaml")["stringData"]
    return data


def environment(component: Path, directory: Path) -> dict[str, str]:
    """The pod's settings with the component: ConfigMap, the Secret's values, its files.

    Mounted files are written under ``directory`` (with stand-in contents) and the settings
    rewritten to point there, as the volume would provide them.
    """
    spec, container = service_pod(component)
    env = {**overlay_configmap(PRODUCTION), **configmap_patch(component)}
    for path in mounted_files(spec, container):
        local = directory / path.lstrip("/")
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_text(f"{local.name} from the Secret\n")
    for name, value in list(env.items()):
        if name in FILE_SETTINGS:
            env[name] = str(directory / value.lstrip("/"))
    for name in secret_env(container):
        env[name] = PASSWORD
    return env


class TestComponentShape:
    @pytest.mark.parametrize("component", COMPONENTS, ids=ids)
    def test_patches_the_configmap_the_service_and_the_topics_job(self, component: Path) -> None:
        """Each component is a kustomize Component patching exactly those three base objects."""
        present = {(d["kind"], d["metadata"]["name"]) for d in base_docs()}
        expected = {
            ("ConfigMap", "chat-import"),
            ("Deployment", "chat-import"),
            ("Job", "chat-import-topics"),
        }
        assert "Component" == load_one(component / "kustomization.yaml")["kind"]
        assert (expected, set()) == (set(patches(component)), set(patches(component)) - present)

    @pytest.mark.parametrize("component", COMPONENTS, ids=ids)
    def test_configmap_patch_holds_only_non_secret_settings(self, component: Path) -> None:
        """The ConfigMap gets real settings and no password."""
        keys = set(configmap_patch(component))
        assert (set(), set()) == (keys - set(SETTINGS), keys & SECRET_SETTINGS)

    @pytest.mark.parametrize("component", COMPONENTS, ids=ids)
    def test_the_example_secret_holds_every_key_read(self, component: Path) -> None:
        """secret.example.yaml names every key the pods read from the Secret, as placeholders."""
        spec, container = service_pod(component)
        read = {key for _, key in secret_env(container).values()}
        read |= set(mounted_files(spec, container).values())
        example = example_secret(component)
        assert read == set(example)
        assert [] == [v for v in example.values() if not v.startswith("REPLACE_ME")]


class TestServicePods:
    def test_sasl_password_comes_from_the_secret(self) -> None:
        """SASL over TLS: the password is an env entry from the Secret's sasl-password key."""
        _, container = service_pod(SASL_SSL)
        expected = {"CHAT_IMPORT_KAFKA__SASL_PASSWORD": (SECRET, "sasl-password")}
        assert expected == secret_env(container)

    @pytest.mark.parametrize("component", COMPONENTS, ids=ids)
    def test_every_file_setting_is_a_mounted_file(self, component: Path) -> None:
        """Each CA, certificate or key path in the ConfigMap is a file the Secret volume holds."""
        spec, container = service_pod(component)
        paths = {v for k, v in configmap_patch(component).items() if k in FILE_SETTINGS}
        assert set() == paths - set(mounted_files(spec, container))

    @pytest.mark.parametrize("component", COMPONENTS, ids=ids)
    def test_files_are_read_only_and_for_the_pod_group(self, component: Path) -> None:
        """The Secret volume is mounted read-only, its files readable by owner and group only."""
        spec, container = service_pod(component)
        volumes = {v["name"]: v for v in spec["volumes"]}
        mounts = [m for m in container["volumeMounts"] if "secret" in volumes[m["name"]]]
        assert [(True, 0o440)] * len(mounts) == [
            (m["readOnly"], volumes[m["name"]]["secret"]["defaultMode"]) for m in mounts
        ]

    @pytest.mark.parametrize(
        ("component", "protocol"),
        [(SASL_SSL, SecurityProtocol.SASL_SSL), (MTLS, SecurityProtocol.SSL)],
        ids=["kafka-sasl-ssl", "kafka-mtls"],
    )
    def test_settings_accept_the_pod_environment(
        self,
        component: Path,
        protocol: SecurityProtocol,
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path,
    ) -> None:
        """The production ConfigMap with the component, the password and the files parse."""
        for name, value in environment(component, tmp_path).items():
            monkeypatch.setenv(name, value)
        assert protocol == Settings().kafka.security_protocol


class TestTopicsJob:
    @pytest.mark.parametrize("component", COMPONENTS, ids=ids)
    def test_reads_what_the_service_reads(self, component: Path) -> None:
        """The Job gets the service's password entry and the same files at the same paths."""
        service_spec, service = service_pod(component)
        job_spec, job = job_pod(component)
        assert (secret_env(service), mounted_files(service_spec, service)) == (
            secret_env(job),
            mounted_files(job_spec, job),
        )

    @pytest.mark.parametrize("component", COMPONENTS, ids=ids)
    def test_the_kafka_image_user_can_read_the_files(self, component: Path) -> None:
        """The Job's fsGroup is the Kafka image's group, which runs kafka-topics.sh."""
        job_spec, _ = job_pod(component)
        base_job = find(base_docs(), "Job", "chat-import-topics")
        run_as_group = base_job["spec"]["template"]["spec"]["securityContext"]["runAsGroup"]
        assert (KAFKA_IMAGE_GROUP, KAFKA_IMAGE_GROUP) == (
            job_spec["securityContext"]["fsGroup"],
            run_as_group,
        )

    def test_sasl_over_tls_client_config(self, tmp_path: Path) -> None:
        """SASL over TLS: the mechanism, the escaped credentials, the CA as a PEM trust store."""
        env = {**environment(SASL_SSL, tmp_path), **topics_configmap()}
        config = tmp_path / "client.properties"
        code, calls = run_topics_script(tmp_path, {**env, "KAFKA_CLIENT_CONFIG": str(config)})
        jaas = (
            "sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required "
            'username="chat-import" password="p\\\\"ass\\\\\\\\word";'
        )
        expected = [
            "security.protocol=SASL_SSL",
            "sasl.mechanism=SCRAM-SHA-512",
            jaas,
            "ssl.truststore.type=PEM",
            f"ssl.truststore.location={env['CHAT_IMPORT_KAFKA__SSL_CAFILE']}",
        ]
        assert (0, expected) == (code, config.read_text().splitlines())
        assert {str(config)} == {option(call, "--command-config") for call in calls}
        assert 0o600 == config.stat().st_mode & 0o777

    def test_mutual_tls_client_config(self, tmp_path: Path) -> None:
        """With mutual TLS the key store is one PEM file: the private key, then the certificate."""
        env = {**environment(MTLS, tmp_path), **topics_configmap()}
        config = tmp_path / "client.properties"
        code, calls = run_topics_script(tmp_path, {**env, "KAFKA_CLIENT_CONFIG": str(config)})
        keystore = tmp_path / "client-keystore.pem"
        expected = [
            "security.protocol=SSL",
            "ssl.truststore.type=PEM",
            f"ssl.truststore.location={env['CHAT_IMPORT_KAFKA__SSL_CAFILE']}",
            "ssl.keystore.type=PEM",
            f"ssl.keystore.location={keystore}",
        ]
        assert (0, expected) == (code, config.read_text().splitlines())
        assert "user.key from the Secret\nuser.crt from the Secret\n" == keystore.read_text()
        assert 10 == len([call for call in calls if "--command-config" in call])  # 5 topics

    def test_plaintext_needs_no_client_config(self, tmp_path: Path) -> None:
        """Without a security protocol no client config is written or passed."""
        config = tmp_path / "client.properties"
        env = {**base_configmap(), **topics_configmap(), "KAFKA_CLIENT_CONFIG": str(config)}
        code, calls = run_topics_script(tmp_path, env)
        assert (0, False, []) == (
            code,
            config.exists(),
            [call for call in calls if "--command-config" in call],
        )

    def test_hostname_check_off(self, tmp_path: Path) -> None:
        """CHAT_IMPORT_KAFKA__SSL_CHECK_HOSTNAME=false turns Kafka's endpoint check off too."""
        config = tmp_path / "client.properties"
        env = {
            **base_configmap(),
            **topics_configmap(),
            "CHAT_IMPORT_KAFKA__SECURITY_PROTOCOL": "SSL",
            "CHAT_IMPORT_KAFKA__SSL_CHECK_HOSTNAME": "false",
            "KAFKA_CLIENT_CONFIG": str(config),
        }
        code, _ = run_topics_script(tmp_path, env)
        expected = ["security.protocol=SSL", "ssl.endpoint.identification.algorithm="]
        assert (0, expected) == (code, config.read_text().splitlines())

    @pytest.mark.parametrize(
        "env",
        [
            {"CHAT_IMPORT_KAFKA__SECURITY_PROTOCOL": "TLS"},
            {"CHAT_IMPORT_KAFKA__SECURITY_PROTOCOL": "SASL_SSL"},
        ],
        ids=["unknown protocol", "SASL without credentials"],
    )
    def test_refuses_an_incomplete_setup_before_creating_anything(
        self, env: dict[str, str], tmp_path: Path
    ) -> None:
        """An unknown protocol or a SASL protocol without credentials creates no topic."""
        full = {**base_configmap(), **topics_configmap(), **env}
        full["KAFKA_CLIENT_CONFIG"] = str(tmp_path / "client.properties")
        code, calls = run_topics_script(tmp_path, full)
        assert (True, []) == (code != 0, calls)


def kustomize() -> list[str] | None:
    """``kustomize build``, or ``kubectl kustomize``; None when neither is installed."""
    if (found := shutil.which("kustomize")) is not None:
        return [found, "build"]
    if (found := shutil.which("kubectl")) is not None:
        return [found, "kustomize"]
    return None


def render_production_with(component: Path, directory: Path) -> list[Doc]:
    """``kustomize build`` of the production overlay with ``component`` added."""
    command = kustomize()
    if command is None:
        pytest.skip("neither kustomize nor kubectl is installed")
    (directory / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [os.path.relpath(PRODUCTION, directory)],
                "components": [os.path.relpath(component, directory)],
            }
        )
    )
    rendered = subprocess.run(
        [*command, str(directory)], capture_output=True, text=True, check=True, timeout=60
    )
    return [doc for doc in yaml.safe_load_all(rendered.stdout) if doc is not None]


class TestRendered:
    @pytest.mark.parametrize("component", COMPONENTS, ids=ids)
    def test_production_with_the_component(self, component: Path, tmp_path: Path) -> None:
        """Rendered by kustomize: production's settings plus the component's; both pods mount it."""
        docs = render_production_with(component, tmp_path)
        data = find(docs, "ConfigMap", "chat-import")["data"]
        expected = {**overlay_configmap(PRODUCTION), **configmap_patch(component)}
        assert expected == data
        for kind, name in (("Deployment", "chat-import"), ("Job", "chat-import-topics")):
            spec = find(docs, kind, name)["spec"]["template"]["spec"]
            secrets = [v["secret"]["secretName"] for v in spec["volumes"] if "secret" in v]
            assert [SECRET] == secrets
