"""Benchmark: bar close → features online, on the streaming path and on a pull tick.

    uv run python benchmarks/freshness.py                 # 10 hourly pairs, 10 bars
    uv run python benchmarks/freshness.py --pairs 20 --bars 20

Against the local fake Binance (tests/fake_exchange) and a private redis-server, in one run:

1. a first pull builds a home (2,400 bars a pair, features, Feast, Redis);
2. **floor**: on a copy of that home, the refresh of one new bar of every pair called directly
   (checks, store, recompute, offline parts, Feast push) — the work every path must do;
3. **stream**: the streamer and the consumer running (as `cryptovol stream` runs them); the fake
   closes a bar, and the time until every pair's new row is in Redis (online stamps) is taken;
4. **pull tick**: the work of one scheduled pull after a bar closed (pull + hand-off + refresh),
   in this warm process — a scheduled run adds its process start (see the README).

Prints medians and the ratio of the stream's latency to the floor. Goal: stream ≤ 5 s.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import statistics
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--bars", type=int, default=10, help="bars closed and measured per path")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # libraries' chatter

    import pandas as pd
    import redis
    import redis.asyncio

    from cryptovol.redis_runtime import RedisServer
    from cryptovol.settings import Settings
    from feature_repo import jobs, online_stamps
    from feature_repo.connectors import sources as src
    from feature_repo.connectors.consumer import BarConsumer
    from feature_repo.connectors.pull import handoff, pull_source
    from feature_repo.connectors.stream import BarStreamer
    from tests.fake_exchange.market import FakeMarket
    from tests.fake_exchange.server import FakeExchange

    work = Path(tempfile.mkdtemp(prefix="cryptovol-freshness-"))
    fake = FakeExchange(FakeMarket.simulated(args.pairs, "1h", 2400, future=3 * args.bars + 5)).start()
    server = RedisServer(work / "redis", persist=False).start()
    try:
        settings = Settings(home=work / "home", bar="1h", redis_url=None, mlflow_tracking_uri=None)
        settings.ensure_dirs()
        source = src.Source(name="binance", exchange="binance", bar="1h", url=fake.url,
                            pairs=[f"{p.removesuffix('USDT')}/USDT" for p in fake.market.pairs],
                            backfill_days=100)
        src.add(settings.sources_path, source)
        started = time.perf_counter()
        pull_source(settings, source)
        jobs.refresh(settings, server.url, incoming=handoff(settings, [source]))
        print(f"home: {args.pairs} pairs x 2,400 hourly bars pulled and built in "
              f"{time.perf_counter() - started:.1f} s")

        # 2. the floor: the refresh of one new bar per pair, called directly on a copy
        floor_settings = settings.model_copy(update={"home": work / "floor"})
        shutil.copytree(settings.home, floor_settings.home)
        floor_url = server.url.rsplit("/", 1)[0] + "/1"
        jobs.refresh(floor_settings, floor_url, rebuild=True)
        truth = {p: fake.market.values[p] for p in fake.market.pairs}
        floor = []
        for k in range(args.bars):
            i = fake.market.closed + k
            close = pd.Timestamp(int(fake.market.opens[i]) + 3_600_000, unit="ms", tz="UTC")
            frames = [(f"binance {p}", pd.DataFrame({
                "symbol": [p.removesuffix("USDT")], "ts": [close], "open": [truth[p][i][0]],
                "high": [truth[p][i][1]], "low": [truth[p][i][2]], "close": [truth[p][i][3]],
                "volume": [truth[p][i][4]], "quote_volume": [truth[p][i][5]],
                "market_cap": [float("nan")], "source": ["binance"]}).astype({"ts": "datetime64[us, UTC]"}))
                for p in fake.market.pairs]
            t = time.perf_counter()
            jobs.refresh(floor_settings, floor_url, incoming=frames)
            floor.append(time.perf_counter() - t)

        # 3. the stream: streamer + consumer, as `cryptovol stream` runs them
        stop_consumer, stop = threading.Event(), None
        consumer = BarConsumer(settings, server.url, name="bench", block_ms=200)
        threading.Thread(target=consumer.run, args=(stop_consumer,), daemon=True).start()
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def stream_main():
            nonlocal stop
            stop = asyncio.Event()
            client = redis.asyncio.Redis.from_url(server.url)
            streamer = BarStreamer(settings, source, client, catch_up_seconds=3600)
            runner = asyncio.create_task(streamer.run(stop))
            while not streamer.watermark:
                await asyncio.sleep(0.05)
            ready.set()
            await runner
            await client.aclose()

        thread = threading.Thread(target=loop.run_until_complete, args=(stream_main(),), daemon=True)
        thread.start()
        ready.wait(120)
        while sum(len(s) for s in fake._subs.values()) < args.pairs:
            time.sleep(0.05)
        time.sleep(2)
        client = redis.Redis.from_url(server.url)
        streamed = []
        for _ in range(args.bars):
            bar = pd.Timestamp(fake.advance_bars(1)[0], unit="ms", tz="UTC")
            t = time.perf_counter()
            while set(online_stamps.read(client, "1h")["as_of"]) != {bar}:
                time.sleep(0.01)
            streamed.append(time.perf_counter() - t)
            time.sleep(1.0)
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        stop_consumer.set()

        # 4. a pull tick's work, warm
        ticks = []
        for _ in range(args.bars):
            fake.advance_bars(1)
            t = time.perf_counter()
            pull_source(settings, source)
            jobs.refresh(settings, server.url, incoming=handoff(settings, [source]))
            ticks.append(time.perf_counter() - t)
    finally:
        fake.stop()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)

    def summary(values: list[float]) -> str:
        q = statistics.quantiles(values, n=10) if len(values) > 1 else values
        return f"median {statistics.median(values):.2f} s, p90 {q[-1]:.2f} s, max {max(values):.2f} s"

    ratio = statistics.median(streamed) / statistics.median(floor)
    print(f"floor  (refresh of 1 bar x {args.pairs} pairs, called directly): {summary(floor)}")
    print(f"stream (bar close -> {args.pairs} pairs online):              {summary(streamed)}")
    print(f"pull tick (pull + hand-off + refresh, warm process):        {summary(ticks)}")
    goal = "met" if statistics.median(streamed) <= 5 else "NOT met"
    print(f"stream / floor: {ratio:.2f}x; goal stream <= 5 s: {goal}")


if __name__ == "__main__":
    main()
