"""Run the fake exchange by hand: ``python -m tests.fake_exchange --pairs 10 --bar 1h``.

Then point a source at it (``cryptovol sources add binance --pairs BTC/USDT,ETH/USDT --bar 1h
--url http://127.0.0.1:PORT``) and move its clock with ``curl -XPOST .../_fake/advance``.
"""

from __future__ import annotations

import argparse
import time

from tests.fake_exchange.market import FakeMarket
from tests.fake_exchange.server import FakeExchange


def main() -> None:
    parser = argparse.ArgumentParser(description="A fake Binance (public REST + WebSocket market "
                                     "data) on 127.0.0.1, driven by simulated candles.")
    parser.add_argument("--port", type=int, default=0, help="0: a free port")
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--bar", default="1h")
    parser.add_argument("--history", type=int, default=2400, help="closed bars at the start")
    parser.add_argument("--page-cap", type=int, default=1000, help="most klines per page")
    parser.add_argument("--every", type=float, default=0.0,
                        help="close a bar every N seconds by itself (0: only on /_fake/advance)")
    args = parser.parse_args()
    market = FakeMarket.simulated(args.pairs, args.bar, args.history, page_cap=args.page_cap)
    exchange = FakeExchange(market, args.port).start()
    print(f"fake exchange on {exchange.url} ({len(market.pairs)} pairs, {args.bar} bars)", flush=True)
    try:
        while True:
            time.sleep(args.every or 3600)
            if args.every:
                exchange.advance_bars(1)
    except KeyboardInterrupt:
        exchange.stop()


if __name__ == "__main__":
    main()
