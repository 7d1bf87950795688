"""A registry that fails mid-registration loses nothing and half-writes nothing: a real
`mlflow server` whose artifact store breaks while a run uploads, then comes back; the kept run
is registered by `resume`, exactly once."""

from __future__ import annotations

import subprocess
import sys

import pytest
from mlflow import MlflowClient

from cryptovol.processes import terminate
from cryptovol.redis_runtime import free_port
from cryptovol.settings import Settings
from tests.flows.processes import wait_ready
from tests.training.test_registry import make_run, synthetic_frame
from training.gate import decide
from training.pending import RegistryUnavailable, register_kept, resume, waiting
from training.registry import log_and_register

pytestmark = pytest.mark.integration
TAGS = {"feature_service": "vol_forecast_1d", "vol_scale": "1.0", "target_base": "ewma_vol"}


def _server(tmp_path, port: int, artifacts) -> subprocess.Popen:
    backend = f"sqlite:///{tmp_path / 'mlflow.db'}"
    log = tmp_path / f"mlflow-{port}.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1", "--backend-store-uri", backend, "--artifacts-destination", str(artifacts)],
        stdout=log.open("a"), stderr=subprocess.STDOUT, start_new_session=True)
    wait_ready(f"http://127.0.0.1:{port}", proc, log, budget_s=240, path="/health")
    return proc


def test_a_failed_upload_keeps_the_run_and_resume_registers_it_once(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # fail in seconds, not minutes
    (tmp_path / "afile").write_text("")
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    settings = Settings(home=tmp_path / "home", mlflow_tracking_uri=uri)
    settings.ensure_dirs()
    frame = synthetic_frame()
    run = make_run(frame, 0.3, 1)
    decision = decide(0.1, best_baseline_qlike=1.0, champion_qlike=None, margin=0.02,
                      has_champion=False)
    broken = _server(tmp_path, port, tmp_path / "afile" / "artifacts")  # a file where a folder goes
    try:
        with pytest.raises(RegistryUnavailable) as failed:
            register_kept(settings, run, TAGS, decision)
    finally:
        terminate(broken, grace=5.0, group=True)
    message = str(failed.value)
    (kept,) = waiting(settings)
    assert message.startswith(f"MLFLOW_TRACKING_URI={uri}: the registry failed while registering (")
    assert f"kept in {kept}" in message and "cryptovol models resume" in message
    assert "\n" not in message

    port = free_port()
    settings = Settings(home=tmp_path / "home", mlflow_tracking_uri=f"http://127.0.0.1:{port}")
    server = _server(tmp_path, port, tmp_path / "artifacts")  # the same database, fixed storage
    try:
        client = MlflowClient(settings.tracking_uri, registry_uri=settings.tracking_uri)
        name = settings.registered_model
        assert client.search_model_versions(f"name = '{name}'") == []  # nothing half-written
        experiment = client.get_experiment_by_name(settings.experiment_name)
        (first,) = client.search_runs([experiment.experiment_id])
        training_id = kept.stem
        assert first.data.tags["training_id"] == training_id
        assert "report.json" in message or "artifact" in message  # the upload's error, not a later one

        (registered,) = resume(settings)
        runs = {r.info.run_id: r.info.status
                for r in client.search_runs([experiment.experiment_id])}
        assert runs[first.info.run_id] == "FAILED" and len(runs) == 2  # the abandoned one closed
        assert runs[registered.run_id] == "FINISHED"
        assert (registered.version, registered.is_champion) == ("1", True)
        assert waiting(settings) == [] and resume(settings) == []
        (version,) = client.search_model_versions(f"name = '{name}'")
        assert version.tags["training_id"] == training_id and version.tags["family"] == "lightgbm"
        assert client.get_model_version_by_alias(name, "champion").version == "1"
        # a retry after the version was created (aliases not yet set) completes it, no duplicate
        again = log_and_register(run, settings, {**TAGS, "training_id": training_id}, decision)
        assert again.version == "1"
        assert len(client.search_model_versions(f"name = '{name}'")) == 1
    finally:
        terminate(server, grace=5.0, group=True)
