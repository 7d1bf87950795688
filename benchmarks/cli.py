"""How long the commands that do little take, each in a fresh process as a user runs them, next
to the floor of starting Python itself, measured in the same run.

    uv run python benchmarks/cli.py --home .cryptovol      # a home with a trained model (make run)

Goals (issue 21): `cryptovol --help` <= 2 s, the registry commands (models list / promote /
rollback) <= 5 s, a refresh with nothing new without a Prefect API. The home's registry is
changed and put back: `promote` moves @champion to the previous version, `rollback` returns it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

CLI = str(Path(sys.executable).parent / "cryptovol")


def timed(args: list[str], env: dict[str, str], repeat: int) -> tuple[float, str]:
    times, out = [], ""
    for _ in range(repeat):
        started = time.perf_counter()
        done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(args[1:])} failed:\n{done.stdout[-1500:]}\n{done.stderr[-1500:]}")
        out = done.stdout
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=Path(".cryptovol"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    home = args.home.resolve()
    env = {k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "MLFLOW_TRACKING_URI", "PREFECT_API_URL")}
    env.update(CRYPTOVOL_HOME=str(home), COLUMNS="200")
    floor, _ = timed([sys.executable, "-c", "pass"], env, args.repeat)
    rows = [("python -c pass (floor)", floor, None)]
    rows.append(("cryptovol --help", *timed([CLI, "--help"], env, args.repeat)[:1], 2.0))
    listed, out = timed([CLI, "models", "list"], env, args.repeat)
    rows.append(("cryptovol models list", listed, 5.0))
    # a version that is not @champion: promoted, then rolled back (the registry as it was)
    cells = [[c.strip() for c in line.split("│")[1:3]] for line in out.splitlines()
             if line.startswith("│ ")]
    others = [int(version) for version, aliases in cells
              if version.isdigit() and "champion" not in aliases]
    if others:
        rows.append(("cryptovol models promote N", timed(
            [CLI, "models", "promote", str(max(others))], env, 1)[0], 5.0))
        rows.append(("cryptovol models rollback", timed([CLI, "models", "rollback"], env, 1)[0], 5.0))
    else:
        print(f"(promote/rollback skipped: {home} has no version besides @champion; train again)")
    rows.append(("cryptovol refresh (nothing new)", timed([CLI, "refresh"], env, args.repeat)[0], None))
    print(f"{'command':34} {'median s':>9} {'x floor':>8} {'goal s':>7}")
    for name, seconds, goal in rows:
        verdict = "" if goal is None else f"{goal:>6.1f} {'met' if seconds <= goal else 'NOT MET'}"
        print(f"{name:34} {seconds:>9.2f} {seconds / floor:>8.1f} {verdict}")


if __name__ == "__main__":
    main()
