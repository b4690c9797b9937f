"""The deploy files a newcomer runs: every Kubernetes manifest validates against the schema of a
pinned Kubernetes version (strict: no unknown fields), the compose file validates, and every
compose service either reports its health or is a one-shot that others wait for."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from shared.config import SETTINGS

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.31.0"
MANIFESTS = sorted(K8S.rglob("*.yaml"))


def _resources(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


def _by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {r["metadata"]["name"]: r for path in MANIFESTS for r in _resources(path)
            if r["kind"] == kind}


def test_manifests_exist():
    kinds = {r["kind"] for path in MANIFESTS for r in _resources(path)}
    assert {"Deployment", "Service", "Ingress", "ConfigMap", "Secret",
            "HorizontalPodAutoscaler", "Job"} <= kinds


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: str(p.relative_to(K8S)))
def test_manifest_validates(path: Path):
    for resource in _resources(path):
        kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)


def test_deployments_are_probed_limited_and_non_root():
    for name, deployment in _by_kind("Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        for container in pod["containers"]:
            for key in ("requests", "limits"):
                assert container["resources"][key], name
            for probe in ("livenessProbe", "readinessProbe"):
                assert container[probe], name
        if deployment["metadata"]["labels"]["app.kubernetes.io/component"] == "web":
            probes = {pod["containers"][0][p]["httpGet"]["path"]
                      for p in ("livenessProbe", "readinessProbe")}
            assert probes == {"/healthz", "/readyz"}, name


def test_scheduler_is_single_and_not_autoscaled():
    scheduler = _by_kind("Deployment")["workflow-scheduler"]
    assert scheduler["spec"]["replicas"] == 1
    assert scheduler["spec"]["strategy"]["type"] == "Recreate"
    targets = {h["spec"]["scaleTargetRef"]["name"]
               for h in _by_kind("HorizontalPodAutoscaler").values()}
    assert "workflow-scheduler" not in targets
    assert {"intake", "workflow", "reporting"} <= targets


def test_compose_config_is_valid():
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.fail("docker-compose is missing; `scripts/install-system-deps --for-tests` "
                    "installs it")
    result = subprocess.run(
        [binary, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
        env={**os.environ, "SAKIP_ENV_FILE": "deploy/env.example"},
    )
    assert result.returncode == 0, result.stderr


def test_every_compose_service_has_a_healthcheck_or_is_a_one_shot():
    services = _compose()["services"]
    one_shots = {name for name, s in services.items() if s.get("restart") == "no"}
    waited_on = {dep for s in services.values() for dep, cond in s.get("depends_on", {}).items()
                 if cond.get("condition") == "service_completed_successfully"}
    assert one_shots == waited_on == {"migrate", "buckets"}
    for name, service in services.items():
        if name in one_shots:
            continue
        check = service.get("healthcheck") or {}
        assert not check.get("disable"), name
        assert check.get("test"), name


def test_compose_stateful_parts_keep_their_data_in_volumes():
    compose = _compose()
    for name, path in (("postgres", "/var/lib/postgresql/data"), ("redis", "/data"),
                       ("minio", "/data"), ("prometheus", "/prometheus"),
                       ("grafana", "/var/lib/grafana"), ("caddy", "/data")):
        volumes = {v.split(":")[1]: v.split(":")[0] for v in compose["services"][name]["volumes"]}
        assert volumes.get(path) in compose["volumes"], name
    redis = " ".join(compose["services"]["redis"]["command"])
    assert "--appendonly yes" in redis
    assert "--maxmemory-policy noeviction" in redis


def _uncommented(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_env_example_documents_every_variable_the_stack_names():
    env_names = {line.split("=", 1)[0] for line in _uncommented(ROOT / "deploy" / "env.example")}
    text = "\n".join(_uncommented(ROOT / "docker-compose.yml")
                     + _uncommented(ROOT / "deploy" / "Caddyfile"))
    # ${X} / $${X} in compose, {$X} in the Caddyfile; SAKIP_ENV_FILE names the file itself.
    named = set(re.findall(r"\$\{?([A-Z][A-Z0-9_]+)", text)) - {"SAKIP_ENV_FILE"}
    assert named <= env_names, named - env_names
    # The local run's state dir and the demo clock (refused outside SAKIP_ENV=demo) have no
    # place in a deployment's file.
    settings = {f.metadata["env"] for f in SETTINGS} - {"SAKIP_STATE_DIR", "METRICS_PORT",
                                                         "SAKIP_DEMO_CLOCK"}
    assert settings <= env_names, settings - env_names
