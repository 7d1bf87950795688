"""Benchmark: the forecast service against a do-nothing BentoML echo service, in one run.

    uv run python benchmarks/serve.py --home .cryptovol     # a home with a @champion (make run)
    uv run python benchmarks/serve.py --requests 300 --seconds 5

Starts `cryptovol serve` on the home (its embedded Redis) and `bentoml serve` of
``benchmarks/echo_service.py``, warms both, then measures for 1 and 20 symbols: sequential
p50/p99 latency over ``--requests`` calls, and throughput and p99 of 8 concurrent clients for
``--seconds``. Prints each figure with its ratio to the echo floor measured in the same run —
the better of the echo's sync and async APIs (both shown).
Goals: 1-symbol p50 <= 1.5x echo; 8-client throughput >= 70% of echo with p99 <= 25 ms; 0 errors.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def start(cmd: list[str], env: dict, url: str, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{cmd[0]} exited:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(1)
    proc.kill()
    sys.exit(f"not ready in 300 s:\n{log.read_text()[-2000:]}")


def sequential(url: str, body: dict, n: int) -> tuple[list[float], int]:
    times, errors = [], 0
    with httpx.Client(timeout=30) as client:
        for _ in range(n):
            t0 = time.perf_counter()
            status = client.post(url, json=body).status_code
            times.append(time.perf_counter() - t0)
            errors += status != 200
    return times, errors


def concurrent(url: str, body: dict, clients: int, seconds: float) -> tuple[float, list[float], int]:
    times: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def worker() -> None:
        local, bad = [], 0
        with httpx.Client(timeout=30) as client:
            while time.monotonic() < stop:
                t0 = time.perf_counter()
                bad += client.post(url, json=body).status_code != 200
                local.append(time.perf_counter() - t0)
        with lock:
            times.extend(local)
            errors[0] += bad

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(times) / (time.monotonic() - t0), times, errors[0]


def pct(times: list[float], q: float) -> float:
    return statistics.quantiles(times, n=100)[q - 1] * 1000 if len(times) > 1 else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--home", type=Path, default=Path(".cryptovol"))
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()

    from cryptovol.redis_runtime import free_port

    env = {k: v for k, v in os.environ.items() if k not in {"CRYPTOVOL_API_KEYS", "REDIS_URL"}}
    env.update(CRYPTOVOL_HOME=str(args.home.resolve()), BENTOML_DO_NOT_TRACK="true")
    cli = str(Path(sys.executable).parent / "cryptovol")
    ports = free_port(), free_port()
    urls = [f"http://127.0.0.1:{p}" for p in ports]
    logs = args.home / "bench_serve.log", args.home / "bench_echo.log"
    procs = [start([cli, "serve", "--port", str(ports[0])], env, urls[0], logs[0]),
             start([sys.executable, "-m", "bentoml", "serve", "benchmarks.echo_service:Echo",
                    "--port", str(ports[1]), "--working-dir", str(ROOT)], env, urls[1], logs[1])]
    try:
        with httpx.Client(timeout=30) as client:
            known = client.post(f"{urls[0]}/predict", json={"symbols": ["BTC"]})
            if known.status_code != 200:
                sys.exit(f"the service answered {known.status_code}: {known.text[:300]}")
        from feature_repo.store import online_features  # noqa: F401 (import cost not timed)

        symbols = _symbols(urls[0])
        # the floor: the faster of the echo's sync and async APIs, measured in this run
        ours_url, echo_urls = f"{urls[0]}/predict", [f"{urls[1]}/predict", f"{urls[1]}/predict_async"]
        print(f"{'case':<30}{'cryptovol':>12}{'echo':>12}{'ratio':>8}   echo sync / async")
        for count in (1, 20):
            body = {"symbols": symbols[:count]}
            for url in (ours_url, *echo_urls):  # warm: first forecasts, connection pools
                sequential(url, body, 50)
            ours, e1 = sequential(ours_url, body, args.requests)
            floors = [sequential(u, body, args.requests) for u in echo_urls]
            for q in (50, 99):
                echo = [pct(t, q) for t, _ in floors]
                _row(f"{count} symbol(s) sequential p{q}", pct(ours, q), min(echo), "ms", echo)
            rps, ctimes, e3 = concurrent(ours_url, body, args.clients, args.seconds)
            runs = [concurrent(u, body, args.clients, args.seconds) for u in echo_urls]
            best = max(runs, key=lambda r: r[0])
            _row(f"{count} symbol(s) {args.clients} clients req/s", rps, best[0], "",
                 [r[0] for r in runs])
            _row(f"{count} symbol(s) {args.clients} clients p99", pct(ctimes, 99), pct(best[1], 99),
                 "ms", [pct(r[1], 99) for r in runs])
            errors = sum(e for _, e in floors) + sum(r[2] for r in runs)
            print(f"{'errors':<30}{e1 + e3:>12}{errors:>12}")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=60)


def _symbols(url: str) -> list[str]:
    """Twenty coins the service knows (the demo's 23 hold them)."""
    candidates = ["BTC", "ETH", "LTC", "XRP", "DOGE", "XMR", "LINK", "ADA", "BNB", "EOS", "TRX",
                  "XLM", "XEM", "MIOTA", "USDT", "ATOM", "CRO", "WBTC", "USDC", "SOL", "DOT",
                  "UNI", "AAVE"]
    known = []
    with httpx.Client(timeout=30) as client:
        for s in candidates:
            if client.post(f"{url}/predict", json={"symbols": [s]}).status_code == 200:
                known.append(s)
    return (known * 20)[:20] if known else ["BTC"] * 20


def _row(name: str, ours: float, floor: float, unit: str, both: list[float]) -> None:
    print(f"{name:<30}{ours:>10.2f}{unit:>2}{floor:>10.2f}{unit:>2}{ours / floor:>8.2f}   "
          + " / ".join(f"{v:.2f}" for v in both))


if __name__ == "__main__":
    main()
