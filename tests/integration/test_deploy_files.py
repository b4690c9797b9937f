"""The files of `deploy/` checked by the tools that will read them: docker-compose.yml by
docker-compose, the Prometheus config and alert rules by promtool (with unit tests of every
alert's firing), the Dockerfile against what the compose file runs in it, the Grafana dashboard's
JSON; and every metric the dashboard and the alerts name appears in a live scrape of the services
and processes that expose it (a renamed metric would leave a panel blank and an alert silent)."""

from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import tomllib
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
import yaml
from flask import Flask
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from sqlalchemy.orm import Session, sessionmaker

from shared.config import Settings

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
APP_IMAGE_DOCKERFILE = "deploy/Dockerfile"

# What the compose file runs and where Prometheus finds it: the web services' gunicorn port and
# the non-HTTP processes' METRICS_PORT.
WEB_SERVICES = {"intake", "workflow", "reporting"}
PROCESSES = {"relay", "workflow-consumer", "workflow-scheduler", "reporting-worker"}
PROCESS_MODULES = ("shared.events.relay", "services.workflow.consumer",
                   "services.workflow.scheduler", "services.reporting.celery_app")


def _tool(name: str) -> str:
    binary = shutil.which(name)
    if binary is None:
        pytest.fail(f"{name} is missing; `scripts/install-system-deps --for-tests` installs it")
    return binary


def _run(argv: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env={**os.environ, **env})


def _compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return loaded


# -- docker-compose ---------------------------------------------------------------------------

def test_compose_file_validates():
    result = _run([_tool("docker-compose"), "-f", str(ROOT / "docker-compose.yml"), "config",
                   "-q"], SAKIP_ENV_FILE="deploy/env.example")
    assert result.returncode == 0, result.stderr


# -- Prometheus -------------------------------------------------------------------------------

def test_prometheus_config_is_valid():
    result = _run([_tool("promtool"), "check", "config", str(PROMETHEUS / "prometheus.yml")])
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_scrapes_every_service_and_process_of_the_compose_stack():
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    targets = {}
    for job in config["scrape_configs"]:
        for sd in job.get("dns_sd_configs", []):
            targets[job["job_name"]] = (sd["names"], sd["port"])
    services = _compose()["services"]
    for name in WEB_SERVICES:
        assert targets.get(name) == ([name], 8000), name
    for name in PROCESSES:
        assert targets.get(name) == ([name], int(services[name]["environment"]["METRICS_PORT"]))
    assert set(targets) <= set(services), "a scrape job names no compose service"


def test_alert_rules_are_valid():
    result = _run([_tool("promtool"), "check", "rules", str(PROMETHEUS / "alerts.yml")])
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_fires_and_stays_quiet_in_its_unit_tests():
    result = _run([_tool("promtool"), "test", "rules", str(PROMETHEUS / "alerts_test.yml")])
    assert result.returncode == 0, result.stdout + result.stderr
    tests = yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text())["tests"]
    fired: set[str] = set()
    quiet: set[str] = set()
    for case in tests:
        for check in case["alert_rule_test"]:
            (fired if check["exp_alerts"] else quiet).add(check["alertname"])
    alerts = set(_alert_rules())
    assert fired == alerts, "every alert has a case where it fires"
    assert quiet == alerts, "every alert has a case where it does not fire"


def _alert_rules() -> dict[str, dict[str, Any]]:
    groups = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
    return {rule["alert"]: rule for group in groups for rule in group["rules"]}


def test_every_alert_tells_the_operator_what_to_do():
    rules = _alert_rules()
    for expected in ("SakipNoWorkerUp", "SakipQueueBackingUp", "SakipOutboxNotDraining",
                     "SakipStreamLagGrowing", "SakipDeadLettersAppearing", "SakipStepsOverdue",
                     "SakipReportFailures", "SakipHighServerErrorRate"):
        assert expected in rules
    for name, rule in rules.items():
        annotations = rule["annotations"]
        assert annotations["summary"].strip(), name
        assert re.search(r"^\s*1\. ", annotations["runbook"], re.MULTILINE), \
            f"{name}: the runbook lists the operator's steps"
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, name


# -- the Dockerfile -------------------------------------------------------------------------

def _dockerfile_final_stage() -> list[tuple[str, str]]:
    """(instruction, arguments) of the last stage, continuation lines joined."""
    text = (ROOT / APP_IMAGE_DOCKERFILE).read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines()
             if line.strip() and not line.strip().startswith("#")]
    instructions = [tuple(line.split(None, 1)) for line in lines]
    starts = [i for i, (word, _) in enumerate(instructions) if word.upper() == "FROM"]
    return [(word.upper(), rest) for word, rest in instructions[starts[-1]:]]


def test_the_image_runs_as_a_non_root_user_with_a_health_check():
    stage = _dockerfile_final_stage()
    users = [rest for word, rest in stage if word == "USER"]
    assert users, "the image sets a USER"
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert any(word == "HEALTHCHECK" and "CMD" in rest for word, rest in stage)


def _app_services() -> dict[str, list[str]]:
    """The compose services built from the platform's image, with their command."""
    return {name: service["command"] for name, service in _compose()["services"].items()
            if service.get("build", {}).get("dockerfile") == APP_IMAGE_DOCKERFILE}


def _installed_commands() -> set[str]:
    """What `pip install .` puts on PATH in the image: the project's scripts and those of the
    dependencies the compose file runs directly, beside the base image's python."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = {re.split(r"[\[<>=~ ]", dep, maxsplit=1)[0].lower()
                    for dep in pyproject["dependencies"]}
    return ({"python"} | set(pyproject["scripts"])
            | {tool for tool in ("gunicorn", "celery") if tool in requirements})


def _module_exists(module: str) -> bool:
    path = ROOT.joinpath(*module.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def test_every_compose_command_exists_in_the_image():
    stage_copies = " ".join(rest for word, rest in _dockerfile_final_stage() if word == "COPY")
    build = (ROOT / APP_IMAGE_DOCKERFILE).read_text()
    assert "pip install" in build
    assert "--from=build /install" in stage_copies
    for package in ("shared", "services", "sakip"):
        assert f"COPY {package} " in build, f"the image installs {package}"
    commands = _installed_commands()
    services = _app_services()
    assert set(services) >= WEB_SERVICES | PROCESSES
    for name, argv in services.items():
        assert argv[0] in commands, f"{name}: {argv[0]} is not installed in the image"
        modules = [arg.removeprefix("python:").split(":")[0] for arg in argv
                   if re.fullmatch(r"(python:)?[a-z_]+(\.[a-z_]+)+(:\w+)?", arg)]
        if argv[0] == "python":
            assert argv[1] == "-m", name
            assert modules, name
        for module in modules:
            assert _module_exists(module), f"{name}: no module {module}"


# -- Grafana ---------------------------------------------------------------------------------

def _panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def test_grafana_provisioning_names_the_prometheus_datasource_of_the_dashboards():
    datasources = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text())["datasources"]
    uids = {source["uid"] for source in datasources}
    providers = yaml.safe_load(
        (GRAFANA / "provisioning" / "dashboards" / "sakip.yml").read_text())["providers"]
    assert providers
    assert all(p["type"] == "file" for p in providers)
    assert DASHBOARDS
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        for panel in _panels(dashboard):
            assert panel.get("datasource", {}).get("uid") in uids, panel["title"]
            for target in panel.get("targets", []):
                assert target["datasource"]["uid"] in uids, panel["title"]
                assert target["expr"].strip(), panel["title"]


def test_the_overview_is_per_tenant_with_red_panels_per_service():
    dashboard = json.loads((GRAFANA / "dashboards" / "sakip-overview.json").read_text())
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert {"tenant", "service"} <= set(variables)
    exprs = [t["expr"] for panel in _panels(dashboard) for t in panel.get("targets", [])]
    assert any('tenant=~"$tenant"' in expr for expr in exprs)
    red = [p for p in _panels(dashboard) if p.get("repeat") == "service"]
    assert red, "a row repeated per service"
    service_exprs = " ".join(e for e in exprs if 'service=~"$service"' in e)
    for metric in ("sakip_http_requests_total", "sakip_http_request_duration_seconds_bucket"):
        assert metric in service_exprs
    assert 'status_class="5xx"' in service_exprs


# -- every metric named is scraped ---------------------------------------------------------

HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")


def _named_metrics() -> set[str]:
    texts = [rule["expr"] for rule in _alert_rules().values()]
    for path in DASHBOARDS:
        dashboard = json.loads(path.read_text())
        texts += [t["expr"] for panel in _panels(dashboard) for t in panel.get("targets", [])]
        texts += [json.dumps(v["query"]) for v in dashboard["templating"]["list"]]
    return {name for text in texts for name in re.findall(r"\bsakip_[a-z0-9_]+", text)}


def _exposed(scrape: str) -> set[str]:
    """Sample names and declared families (a labelled counter not yet incremented declares its
    family; Prometheus then has the series as soon as it moves)."""
    names = set()
    for line in scrape.splitlines():
        if line.startswith("# TYPE "):
            family = line.split()[2]
            names.add(family)
            names.update(family + suffix for suffix in HISTOGRAM_SUFFIXES)
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names


def _http_scrape(url: str) -> str:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:  # noqa: S310
        body: bytes = response.read()
    return body.decode()


def _process_scrape(settings: Settings, session_factory: sessionmaker[Session],
                    redis_client: redis.Redis) -> str:
    """What the relay, the consumer, the scheduler and the reporting worker expose: their
    state collectors (read at scrape time) on a registry of their own, and the counters and
    histograms their modules register when imported."""
    for module in PROCESS_MODULES:
        importlib.import_module(module)
    from shared.metrics_events import EventPipelineCollector
    from shared.metrics_reporting import ReportingCollector
    from shared.metrics_workflow import StepsCollector

    registry = CollectorRegistry()
    registry.register(EventPipelineCollector(session_factory, redis_client,
                                             stream=settings.events_stream))
    registry.register(StepsCollector(session_factory))
    registry.register(ReportingCollector(session_factory, redis_client, queue="reporting"))
    return (generate_latest(registry) + generate_latest(REGISTRY)).decode()


def test_every_metric_in_the_dashboards_and_alerts_is_in_a_live_scrape(
        app: Flask, workflow_server: str, reporting_server: str, settings: Settings,
        session_factory: sessionmaker[Session], redis_client: redis.Redis, world: Any) -> None:
    scrapes = {
        "intake": app.test_client().get("/metrics").get_data(as_text=True),
        "workflow": _http_scrape(workflow_server),
        "reporting": _http_scrape(reporting_server),
        "processes": _process_scrape(settings, session_factory, redis_client),
    }
    exposed = set().union(*(_exposed(text) for text in scrapes.values()))
    named = _named_metrics()
    assert len(named) > 10
    missing = sorted(named - exposed)
    assert not missing, f"named in deploy/ but not exposed by any process: {missing}"
