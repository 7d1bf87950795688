"""The command line as a first-time user meets it: grouped help, an example on every command,
no type labels on switches, every file format listed, and an answer without heavy imports."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cryptovol.cli.app import command
from cryptovol.cli.reference import cli_commands
from feature_repo.loaders.formats import FORMATS


def _help(capsys, *args: str) -> str:
    with pytest.raises(SystemExit) as done:
        from cryptovol.cli.app import main

        main([*args, "--help"])
    assert done.value.code == 0
    return capsys.readouterr().out


def test_the_commands_are_grouped_as_a_user_meets_them(capsys):
    text = _help(capsys)
    panels = ["Start here", "Candles in", "Models and the registry", "The living loop", "Operate"]
    positions = [text.index(p) for p in panels]
    assert positions == sorted(positions)
    rows = [text.index(f"│ {name} ") for name in ("pipeline", "serve", "predict", "ingest", "train",
                                                    "monitor", "drift", "retrain", "ui")]
    assert rows == sorted(rows)  # drift sits beside monitor


@pytest.mark.parametrize("name", cli_commands())
def test_every_command_has_an_example_and_no_bool_label(capsys, name):
    text = " ".join(_help(capsys, *name.split()).replace("│", " ").split())
    assert "Example: " in text and f"cryptovol {name.split()[0]}" in text.split("Example: ", 1)[1]
    assert "<bool>" not in text


def test_every_group_has_an_example(capsys):
    groups = [name for name, cmd in command().commands.items() if hasattr(cmd, "commands")]
    assert sorted(groups) == ["alerts", "data", "models", "sources", "stack"]
    for group in groups:
        assert "Example: " in _help(capsys, group), group


def test_ingest_lists_every_format(capsys):
    text = " ".join(_help(capsys, "ingest").split())
    for fmt in FORMATS:
        assert fmt in text
    assert "coingecko-history" in text and "bybit" in text


def test_help_imports_no_data_or_model_library():
    """`cryptovol --help` answers in well under two seconds because it loads no pandas, MLflow,
    Feast or Prefect (the timing itself: benchmarks/cli.py)."""
    probe = ("import sys\nfrom cryptovol.cli.app import main\ntry:\n    main(['--help'])\n"
             "except SystemExit:\n    pass\n"
             "heavy = [m for m in ('pandas', 'mlflow', 'feast', 'prefect', 'lightgbm', 'bentoml') "
             "if m in sys.modules]\nprint('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert "HEAVY []" in out.stdout, out.stdout[-500:] + out.stderr[-2000:]
