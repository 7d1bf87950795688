"""A fake Binance on 127.0.0.1: its public REST and WebSocket market data, wire format included.

What ccxt's ``binance`` (and ``ccxt.pro``'s) public market-data calls use, answered from a
:class:`~tests.fake_exchange.market.FakeMarket`:

- ``GET /api/v3/ping``, ``/api/v3/time``, ``/api/v3/exchangeInfo`` (and the futures
  ``/fapi/v1/exchangeInfo``, ``/dapi/v1/exchangeInfo`` ccxt loads by default: no symbols);
- ``GET /api/v3/klines?symbol=&interval=&startTime=&endTime=&limit=`` — arrays of 12 fields,
  strings for decimals, the still-open bar last, ``limit`` 1..1000 (and the market's page cap);
  ``x-mbx-used-weight-1m`` headers; HTTP 429 with ``Retry-After`` past the weight limit;
- WebSocket ``/ws`` (and ``/ws/<n>``): ``{"method": "SUBSCRIBE", "params": ["btcusdt@kline_1h"],
  "id": 1}`` → ``{"result": null, "id": 1}``, then ``kline`` events: the open bar every
  ``ws_update_seconds``, and each bar's final event (``"x": true``) as it closes.

Every path may carry the real host as its first segment (``/api.binance.com/api/v3/klines``):
cryptovol's URL override keeps it, so one fake answers for every Binance host.

Test control (not Binance): ``/_fake/state``, ``/_fake/advance``, ``/_fake/fail``,
``/_fake/restate``, ``/_fake/halt``, ``/_fake/disconnect``, ``/_fake/ws_down``, ``/_fake/requests``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time

from aiohttp import WSMsgType, web

from tests.fake_exchange.market import QUOTE, FakeMarket

KLINE_WEIGHT = 2
TOO_MANY = {"code": -1003, "msg": "Too many requests; current limit of IP(127.0.0.1) is 6000 "
            "requests per minute. Please use WebSocket Streams for live updates to avoid bans."}


def _error(status: int, code: int, msg: str, headers: dict | None = None) -> web.Response:
    return web.json_response({"code": code, "msg": msg}, status=status, headers=headers)


def _symbol_info(pair: str) -> dict:
    return {
        "symbol": pair, "status": "TRADING", "baseAsset": pair.removesuffix(QUOTE),
        "baseAssetPrecision": 8, "quoteAsset": QUOTE, "quotePrecision": 8, "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"],
        "icebergAllowed": True, "ocoAllowed": True, "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True, "allowTrailingStop": True, "cancelReplaceAllowed": True,
        "isSpotTradingAllowed": True, "isMarginTradingAllowed": False,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": "0.00000001", "maxPrice": "1000000.00000000",
             "tickSize": "0.00000001"},
            {"filterType": "LOT_SIZE", "minQty": "0.00001000", "maxQty": "9000000.00000000",
             "stepSize": "0.00001000"},
            {"filterType": "NOTIONAL", "minNotional": "5.00000000", "applyMinToMarket": True,
             "maxNotional": "9000000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5}],
        "permissions": [], "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


class FakeExchange:
    """The HTTP + WebSocket server, in a thread of its own (``start`` / ``stop``)."""

    def __init__(self, market: FakeMarket, port: int = 0, ws_update_seconds: float = 1.0) -> None:
        self.market = market
        self.port = port
        self.ws_update_seconds = ws_update_seconds
        self._subs: dict[web.WebSocketResponse, set[str]] = {}
        self._ws_down_until = 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ----- REST -----------------------------------------------------------------------------
    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = _strip_host(request.path)
        if path.startswith("/_fake/"):
            return await self._control(path, request)
        if path.endswith("/ws") or "/ws/" in path or path == "/stream":
            return await self._websocket(request)
        market = self.market
        if market.delay_seconds:
            await asyncio.sleep(market.delay_seconds)
        failure = market.take_failure(path)
        if failure is not None:
            market.charge(path, 0)
            if failure.status == 429:
                return web.json_response(TOO_MANY, status=429,
                                         headers={"Retry-After": f"{failure.retry_after:g}"})
            return _error(failure.status, -1001, "Internal error; unable to process your request. "
                          "Please try again.")
        weight = KLINE_WEIGHT if path == "/api/v3/klines" else 1
        wait = market.charge(path, weight)
        headers = {"x-mbx-used-weight": str(market.used_weight()),
                   "x-mbx-used-weight-1m": str(market.used_weight())}
        if wait is not None:
            return web.json_response(TOO_MANY, status=429,
                                     headers={**headers, "Retry-After": str(max(1, round(wait)))})
        if path == "/api/v3/ping":
            return web.json_response({}, headers=headers)
        if path == "/api/v3/time":
            return web.json_response({"serverTime": market.server_time()}, headers=headers)
        if path == "/api/v3/exchangeInfo":
            return web.json_response({
                "timezone": "UTC", "serverTime": market.server_time(),
                "rateLimits": [{"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE",
                                "intervalNum": 1, "limit": market.weight_per_minute}],
                "exchangeFilters": [], "symbols": [_symbol_info(p) for p in market.pairs]},
                headers=headers)
        if path in ("/fapi/v1/exchangeInfo", "/dapi/v1/exchangeInfo"):
            return web.json_response({"timezone": "UTC", "serverTime": market.server_time(),
                                      "rateLimits": [], "exchangeFilters": [], "assets": [],
                                      "symbols": []}, headers=headers)
        if path == "/api/v3/klines":
            return self._klines(request, headers)
        return _error(404, -1, f"unknown endpoint {path}")

    def _klines(self, request: web.Request, headers: dict) -> web.Response:
        q, market = request.query, self.market
        pair = q.get("symbol", "")
        if pair not in market.pairs:
            return _error(400, -1121, "Invalid symbol.")
        if q.get("interval") != market.bar:
            return _error(400, -1120, "Invalid interval.")
        try:
            limit = int(q.get("limit", 500))
            start = int(q["startTime"]) if "startTime" in q else None
            end = int(q["endTime"]) if "endTime" in q else None
        except ValueError:
            return _error(400, -1100, "Illegal characters found in a parameter.")
        if not 1 <= limit <= 1000:
            return _error(400, -1100, "Illegal characters found in parameter 'limit'; legal range "
                          "is '1' to '1000'.")
        return web.json_response(market.klines(pair, start, end, limit), headers=headers)

    # ----- WebSocket ------------------------------------------------------------------------
    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        if time.time() < self._ws_down_until:
            return web.Response(status=503, text="Service Unavailable")
        ws = web.WebSocketResponse(heartbeat=20)
        await ws.prepare(request)
        self._subs[ws] = set()
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                try:
                    body = json.loads(msg.data)
                    method, params, rid = body["method"], body.get("params", []), body["id"]
                except (ValueError, KeyError, TypeError):
                    await ws.send_json({"error": {"code": 2, "msg": "Invalid request"}})
                    continue
                if method == "SUBSCRIBE":
                    self._subs[ws].update(params)
                    await ws.send_json({"result": None, "id": rid})
                    await self._send_open_bars(ws, params)
                elif method == "UNSUBSCRIBE":
                    self._subs[ws].difference_update(params)
                    await ws.send_json({"result": None, "id": rid})
                elif method == "LIST_SUBSCRIPTIONS":
                    await ws.send_json({"result": sorted(self._subs[ws]), "id": rid})
                else:
                    await ws.send_json({"error": {"code": 1, "msg": f"Unknown method {method}"},
                                        "id": rid})
        finally:
            self._subs.pop(ws, None)
        return ws

    def _event(self, stream: str, i: int) -> dict | None:
        market = self.market
        pair = stream.split("@")[0].upper()
        if pair not in market.pairs or not market._exists(pair, i):
            return None
        k = market.kline(pair, i)
        return {"e": "kline", "E": market.server_time(), "s": pair,
                "k": {"t": k[0], "T": k[6], "s": pair, "i": market.bar, "f": 100, "L": 100 + k[8],
                      "o": k[1], "c": k[4], "h": k[2], "l": k[3], "v": k[5], "n": k[8],
                      "x": i < market.closed, "q": k[7], "V": k[9], "Q": k[10], "B": "0"}}

    async def _send_open_bars(self, ws: web.WebSocketResponse, streams) -> None:
        for stream in streams:
            event = self._event(stream, self.market.closed)
            if event is not None:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await ws.send_json(event)

    async def _broadcast(self, bars: list[int]) -> None:
        """Each subscriber: the final event of every bar in ``bars``, then the open bar."""
        for ws, streams in list(self._subs.items()):
            for stream in streams:
                for i in [*bars, self.market.closed]:
                    event = self._event(stream, i)
                    if event is not None:
                        with contextlib.suppress(ConnectionError, RuntimeError):
                            await ws.send_json(event)

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(self.ws_update_seconds)
            await self._broadcast([])

    # ----- test control ---------------------------------------------------------------------
    async def _control(self, path: str, request: web.Request) -> web.Response:
        body = await request.json() if request.can_read_body else {}
        market, verb = self.market, path.removeprefix("/_fake/")
        if verb == "state":
            return web.json_response({"bar": market.bar, "pairs": market.pairs, "closed": market.closed,
                                      "server_time": market.server_time(),
                                      "open_time": int(market.opens[market.closed])})
        if verb == "advance":
            return web.json_response({"closes": await self.advance(int(body.get("bars", 1)))})
        if verb == "fail":
            market.fail_next(int(body.get("count", 1)), int(body.get("status", 429)),
                             float(body.get("retry_after", 1)), body.get("path"))
        elif verb == "restate":
            market.restate(body["pair"], int(body.get("bars_ago", 1)), float(body.get("factor", 1.01)))
        elif verb == "halt":
            market.halt(body["pair"])
        elif verb == "disconnect":
            await self._disconnect()
        elif verb == "ws_down":
            self._ws_down_until = time.time() + float(body.get("seconds", 5))
            await self._disconnect()
        elif verb == "requests":
            return web.json_response(market.requests)
        else:
            return web.json_response({"error": f"unknown control {verb}"}, status=404)
        return web.json_response({"ok": True})

    async def advance(self, bars: int = 1) -> list[int]:
        first = self.market.closed
        closes = self.market.advance(bars)
        await self._broadcast(list(range(first, first + bars)))
        return closes

    async def _disconnect(self) -> None:
        for ws in list(self._subs):
            with contextlib.suppress(Exception):
                await ws.close(code=1006, message=b"going away")

    # ----- the thread -----------------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> FakeExchange:
        self._thread = threading.Thread(target=self._run, name="fake-exchange", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("the fake exchange did not start")
        return self

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._rest)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        self._stop = asyncio.Event()
        ticker = asyncio.create_task(self._ticker())
        self._ready.set()
        await self._stop.wait()
        ticker.cancel()
        await self._disconnect()
        await runner.cleanup()

    def call(self, coroutine):
        """Run a coroutine of the server (``advance``, ...) from another thread; its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=30)

    def advance_bars(self, bars: int = 1) -> list[int]:
        return self.call(self.advance(bars))

    def disconnect(self, down_seconds: float = 0.0) -> None:
        self._ws_down_until = time.time() + down_seconds
        self.call(self._disconnect())

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=10)


def _strip_host(path: str) -> str:
    """``/api.binance.com/api/v3/x`` → ``/api/v3/x``: a first segment that is a host name."""
    parts = path.split("/", 2)
    if len(parts) > 1 and "." in parts[1]:
        return "/" + (parts[2] if len(parts) > 2 else "")
    return path
