"""Issue 22: one champion per race, kept runs judged where they land, and a disk that fills
while a model is saved — on a real MLflow registry (SQLite) with real processes."""

from __future__ import annotations

import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cryptovol.settings import Settings
from tests.flows.processes import SLOW
from tests.training.test_registry import make_run, register_through_gate, synthetic_frame
from training.aliases import CHALLENGER, CHAMPION
from training.gate import decide
from training.pending import PendingRun, folder, resume_before_training, waiting
from training.promotion import GateContext
from training.registry import TrainingRun, configure

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
TAGS = {"feature_service": "vol_forecast_1d", "vol_scale": "1.0", "target_base": "ewma_vol"}


def judged_alone(run: TrainingRun, frame) -> tuple[TrainingRun, object]:
    """``run`` as training leaves it when no champion exists yet: the first judgement (a
    bootstrap promotion) and the context to judge it again."""
    holdout = run.oof.assign(har=frame.loc[run.oof.index, "har_rv_d"])
    context = GateContext(holdout, "lightgbm", "har", margin=0.02)
    decision = decide(0.1, best_baseline_qlike=1.0, champion_qlike=None, has_champion=False)
    run.gate = context
    return run, decision


RACER = textwrap.dedent("""
    import logging, sys, time
    logging.basicConfig(level=logging.INFO)
    from pathlib import Path
    from cryptovol.settings import Settings
    from tests.training.test_promotion import TAGS, judged_alone
    from tests.training.test_registry import make_run, synthetic_frame
    from training.registry import log_and_register
    settings = Settings(home=Path(sys.argv[1]), mlflow_tracking_uri=None)
    frame = synthetic_frame()
    run, decision = judged_alone(make_run(frame, float(sys.argv[2]), int(sys.argv[3])), frame)
    Path(sys.argv[4]).touch()  # ready: both runs judged, nothing registered yet
    while not Path(sys.argv[5]).exists():
        time.sleep(0.01)
    registered = log_and_register(run, settings, {**TAGS, "training_id": sys.argv[3]}, decision)
    print(registered.version, registered.is_champion, flush=True)
""")


def test_two_trainings_at_once_crown_one_champion_and_compare_the_other(tmp_path):
    """Two pipelines started together in a fresh home both judged "no champion yet"; both
    versions were crowned, the second without ever being compared with the first."""
    settings = Settings(home=tmp_path, mlflow_tracking_uri=None)
    settings.ensure_dirs()
    configure(settings)  # the experiment exists before the race (as after `cryptovol init`)
    go = tmp_path / "go"
    racers = [subprocess.Popen([sys.executable, "-c", RACER, str(tmp_path), noise, seed,
                                str(tmp_path / f"ready-{seed}"), str(go)], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for noise, seed in (("0.3", "1"), ("0.0", "3"))]
    while not all((tmp_path / f"ready-{s}").exists() for s in ("1", "3")):
        assert all(r.poll() is None for r in racers), [r.communicate() for r in racers]
    go.touch()
    outs = [r.communicate(timeout=300 * SLOW) for r in racers]
    assert all(r.returncode == 0 for r in racers), [o[1][-2000:] for o in outs]
    client = configure(settings)
    name = settings.registered_model
    gates = {str(v.version): v.tags["gate"] for v in client.search_model_versions(f"name = '{name}'")}
    assert sorted(gates) == ["1", "2"]
    uncompared = [v for v, g in gates.items() if "there is no champion yet" in g]
    assert len(uncompared) == 1, gates  # exactly one crowned without a comparison ...
    (other,) = set(gates) - set(uncompared)
    assert "the champion's" in gates[other], gates  # ... the other judged against it
    assert "judged again" in "".join(o[1] for o in outs)  # and said so in its log
    champion = str(client.get_model_version_by_alias(name, CHAMPION).version)
    assert champion == (other if gates[other].startswith("PROMOTE") else uncompared[0])


def test_a_kept_run_is_resumed_by_the_next_training_and_judged_against_todays_aliases(tmp_path):
    """A run kept while the registry was away, with a decision taken against no champion:
    registered days later it was crowned on that old decision and took @challenger from the
    newer v2. Now the next training registers it first, judged against the current champion,
    and the newer candidate keeps @challenger."""
    settings = Settings(home=tmp_path, mlflow_tracking_uri=None)
    settings.ensure_dirs()
    frame = synthetic_frame()
    holdout = frame.iloc[450:]
    kept, decision = judged_alone(make_run(frame, 3.0, 2), frame)  # a poor model
    pending = PendingRun("old-run", "1d", 7, kept,
                         {**TAGS, "training_id": "old-run", "trained_at": "2026-01-01T00:00:00+00:00"},
                         decision)
    (folder(settings)).mkdir(parents=True, exist_ok=True)
    (folder(settings) / "old-run.pkl").write_bytes(pickle.dumps(pending))
    first = register_through_gate(make_run(frame, 0.3, 1), settings, holdout)  # v1, champion
    second = register_through_gate(make_run(frame, 3.0, 5), settings, holdout)  # v2, challenger
    assert (first.is_champion, second.is_champion) == (True, False)

    resume_before_training(settings)  # what `train`/`pipeline`/`retrain` of the model do first
    client = configure(settings)
    name = settings.registered_model
    assert waiting(settings) == []
    v3 = client.get_model_version(name, "3")
    assert v3.tags["training_id"] == "old-run"
    assert "there is no champion yet" not in v3.tags["gate"]
    assert "the champion's" in v3.tags["gate"]  # compared with v1, the champion of now
    assert str(client.get_model_version_by_alias(name, CHAMPION).version) == "1"
    assert str(client.get_model_version_by_alias(name, CHALLENGER).version) == "2"


FULL_DISK = textwrap.dedent("""
    import sys
    from pathlib import Path
    from cryptovol.errors import describe
    from cryptovol.settings import Settings
    from tests.training.test_promotion import TAGS, judged_alone
    from tests.training.test_registry import make_run, synthetic_frame
    from training.pending import register_kept
    frame = synthetic_frame()
    run, decision = judged_alone(make_run(frame, 0.3, 1), frame)
    try:
        register_kept(Settings(home=Path(sys.argv[1]), mlflow_tracking_uri=None), run, TAGS, decision)
    except Exception as exc:
        print(describe(exc) or repr(exc))
""")


def _on_a_full_disk(home: Path, full: Path) -> str:
    """Register a run with ``full`` a 64 kB file system (a private mount namespace)."""
    full.mkdir(parents=True, exist_ok=True)
    script = (f"mount -t tmpfs -o size=64k tmpfs {full} && "
              f"exec {sys.executable} -c '{FULL_DISK}' {home}")
    out = subprocess.run(["unshare", "-rm", "sh", "-c", script], cwd=REPO, capture_output=True,
                         text=True, timeout=300 * SLOW)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip().splitlines()[-1]


def test_a_full_disk_names_the_folder_and_keeps_the_run_when_it_can(tmp_path):
    """A full disk said `error: ?: no space left on the device` and lost the trained model."""
    settings = Settings(home=tmp_path, mlflow_tracking_uri=None)
    settings.ensure_dirs()
    line = _on_a_full_disk(tmp_path, settings.artifact_root)  # the model store fills up
    (kept,) = waiting(settings)
    assert line.startswith(f"{settings.artifact_root}/"), line  # a file in the store that filled
    assert ": no space left on the device" in line and "while registering" in line
    assert f"the trained model is kept in {kept}" in line and "cryptovol models resume" in line

    home = tmp_path / "second"
    line = _on_a_full_disk(home, home / "pending")  # no room even to keep it
    assert line.startswith(f"{home / 'pending'}/"), line
    assert "no space left on the device" in line and "could not be kept" in line
    assert "free space and train again" in line
