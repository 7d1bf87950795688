"""``cryptovol sources ...``, ``cryptovol pull`` and ``cryptovol stream``: bars that arrive by themselves."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from cryptovol.cli.console import console, err, fail
from cryptovol.cli.options import Bar, Home, Verbose

sources_app = typer.Typer(help="Exchanges the platform pulls candles from (public market data, "
                          "no key needed).\n\nExample: `cryptovol sources list`",
                          no_args_is_help=True)

Names = Annotated[list[str] | None, typer.Option(
    "--source", help="Only this source (repeat for several; default: every source of the bar).")]


def _ts(value) -> str:
    return "" if value is None or str(value) in ("NaT", "None") else str(value)[:16].replace("T", " ")


@sources_app.command("add")
def add(
    exchange: Annotated[str, typer.Argument(help="ccxt exchange id: binance, kraken, okx, bybit, ...")],
    pairs: Annotated[str, typer.Option(help="Comma-separated pairs, e.g. BTC/USDT,ETH/USDT.")],
    bar: Annotated[str, typer.Option(help="Bar size of the candles: 1m, 5m, 15m, 30m, 1h, 4h, 1d.")],
    name: Annotated[str | None, typer.Option(help="Name of the source (default: the exchange id).")] = None,
    url: Annotated[str | None, typer.Option(
        help="Send every request to this host instead (a proxy, or a local fake exchange).")] = None,
    backfill_days: Annotated[float, typer.Option(help="History fetched by the first pull.")] = 90,
    primary: Annotated[bool, typer.Option(
        help="Put it first: the primary source of its coins (their features use it).")] = False,
    replace: Annotated[bool, typer.Option(help="Replace a source of the same name.")] = False,
    check: Annotated[bool, typer.Option(
        help="Ask the exchange that the pairs and the bar exist (needs to reach it).")] = True,
    home: Home = None,
) -> None:
    """Add an exchange source to CRYPTOVOL_HOME/sources.yaml (or CRYPTOVOL_SOURCES_FILE).

    The schedules (`cryptovol schedule`) then pull its closed candles after every bar; `cryptovol
    pull` pulls now; `cryptovol stream` follows them in real time.

    Example: `cryptovol sources add binance --pairs BTC/USDT,ETH/USDT --bar 1h --backfill-days 30`
    """
    from pydantic import ValidationError

    from cryptovol.cli.runtime import bootstrap, configure_logging
    from feature_repo.connectors import sources as src

    settings = bootstrap(check_backends=False, home=home)
    configure_logging()
    try:
        source = src.Source(name=name or exchange.lower(), exchange=exchange.lower(), bar=bar,
                            pairs=pairs.split(","), url=url, backfill_days=backfill_days)
    except ValidationError as exc:
        e = exc.errors()[0]
        raise fail(f"--{'-'.join(str(p) for p in e['loc'][:1]) or 'source'}: {e['msg']}") from None
    if check:
        _check(source)
    saved = src.add(settings.sources_path, source, primary=primary, replace=replace)
    first = src.primaries(saved, bar)
    mine = [p for p in source.pairs if first.get(source.symbol(p)) == source.name]
    others = [f"{source.symbol(p)} (primary: {first[source.symbol(p)]})" for p in source.pairs
              if p not in mine]
    console.print(f"source {source.name}: {source.exchange} {', '.join(source.pairs)} on {bar} bars "
                  f"→ {settings.sources_path}", highlight=False)
    if others:
        console.print(f"kept apart, not used for features: {', '.join(others)}", highlight=False)
    console.print(f"next: `cryptovol pull --bar {bar}` (now), `cryptovol schedule --bar {bar}` "
                  f"(after every bar), `cryptovol stream --bar {bar}` (real time)", highlight=False)


def _check(source) -> None:
    import ccxt

    from feature_repo.connectors.exchange import open_exchange, retrying, timeframe
    from feature_repo.connectors.sources import SourceError

    exchange = open_exchange(source)
    try:
        retrying(exchange.load_markets, f"{source.name} markets", 2, exchange)
    except ccxt.BaseError as exc:
        reason = str(exc).splitlines()[0][:160]
        raise SourceError(f"could not reach {source.exchange} ({type(exc).__name__}: {reason}); "
                          "check the network and the name, or add it with --no-check") from None
    timeframe(exchange, source.bar, source)
    unknown = [p for p in source.pairs if p not in exchange.markets]
    if unknown:
        raise SourceError(f"{source.exchange} has no market {', '.join(unknown)} (e.g. "
                          f"{', '.join(sorted(exchange.markets)[:5])}); add with --no-check to keep it")


@sources_app.command("remove")
def remove(name: Annotated[str, typer.Argument(help="The source's name.")], home: Home = None) -> None:
    """Remove a source; its landed candles stay under CRYPTOVOL_HOME/sources/NAME.

    Example: `cryptovol sources remove binance`
    """
    from cryptovol.cli.runtime import bootstrap
    from feature_repo.connectors import sources as src

    settings = bootstrap(check_backends=False, home=home)
    left = src.remove(settings.sources_path, name)
    console.print(f"removed {name}; {len(left)} source(s) left in {settings.sources_path}", highlight=False)


@sources_app.command("list")
def list_sources(bar: Bar = None, home: Home = None) -> None:
    """Every source and pair: primary or not, newest landed bar, lag behind the exchange at the
    last pull (silent pairs in red).

    Example: `cryptovol sources list --bar 1h`
    """
    from cryptovol.cli.runtime import bootstrap
    from feature_repo.connectors import freshness, landing
    from feature_repo.connectors import sources as src

    settings = bootstrap(check_backends=False, home=home)
    sources = src.load(settings.sources_path)
    if bar:
        sources = [s for s in sources if s.bar == bar]
    if not sources:
        raise fail(f"no source in {settings.sources_path}: `cryptovol sources add EXCHANGE "
                   "--pairs BTC/USDT --bar 1h`")
    table = Table(title=f"sources ({settings.sources_path})")
    for column in ("source", "exchange", "bar", "pair", "coin", "features use", "newest bar",
                   "lag (bars)", "status"):
        table.add_column(column)
    bars = {s.bar for s in sources}
    first = {b: src.primaries(src.load(settings.sources_path), b) for b in bars}
    for s in sources:
        state = freshness.read_state(settings.home, s.name, s.bar)
        checked = {h["pair"]: h for h in state.get("pairs", [])}
        for pair in s.pairs:
            coin = s.symbol(pair)
            h = checked.get(pair, {})
            lag = h.get("lag_bars")
            status = ("[red]silent since " + _ts(state["silent"][pair]) + "[/]"
                      if pair in state.get("silent", {}) else "ok" if h else "not pulled yet")
            table.add_row(s.name, s.exchange, s.bar, pair, coin,
                          "yes" if first[s.bar].get(coin) == s.name else f"no ({first[s.bar][coin]})",
                          _ts(landing.newest(settings.home, s.name, s.bar, pair)),
                          "" if lag is None else f"{lag:g}", status)
    console.print(table)


def pull(names: Names = None, bar: Bar = None, home: Home = None, verbose: Verbose = False) -> None:
    """Pull every source of the bar now: closed candles since the newest stored bar (paginated,
    rate-limited, retried), then candle store → features → online store, like candle files.

    Runs in this process; with PREFECT_API_URL set, as a flow of that server.

    Example: `cryptovol pull --bar 1h --source binance`
    """
    from cryptovol.cli.runtime import bootstrap, configure_logging, online_services

    settings = bootstrap(home=home, bar=bar)
    configure_logging(verbose)
    from feature_repo.connectors.sources import for_bar, load

    if not for_bar(load(settings.sources_path), settings.bar, names):  # before any server starts
        raise fail(f"no {settings.bar} source in {settings.sources_path}: add one with `cryptovol "
                   f"sources add EXCHANGE --pairs BTC/USDT --bar {settings.bar}`")
    with online_services(settings) as redis_url:
        from flows.pull import pull_flow, pull_sources

        run = pull_flow if settings.prefect_api_url else pull_sources
        outcome = run(settings, redis_url, names)
    table = Table(title=f"pull ({settings.bar})")
    for column in ("source", "pair", "requests", "new bars", "restated", "retries", "newest bar",
                   "lag (bars)", "status"):
        table.add_column(column, justify="right" if column in ("requests", "new bars", "restated",
                                                               "retries", "lag (bars)") else "left")
    health = {(h.source, h.pair): h for h in outcome.health}
    for p in outcome.pulls:
        for r in p.pairs:
            h = health.get((p.source, r.pair))
            status = (f"[red]{escape(r.error)}[/]" if r.error else
                      "[red]silent[/]" if h is not None and h.silent else "ok")
            table.add_row(p.source, r.pair, str(r.pages), f"{r.new:,}", str(r.restated),
                          str(r.retries), _ts(r.newest),
                          "" if h is None or h.lag_bars is None else f"{h.lag_bars:g}", status)
    console.print(table)
    if outcome.refresh is not None:
        console.print(f"refresh ({settings.bar}): {outcome.refresh.describe()}", highlight=False)
    for alert in outcome.alerts:
        err.print(f"[yellow]alert sent:[/] {alert.title}", highlight=False)
    failed = [p for p in outcome.pulls if p.error or p.failed]
    if failed:
        raise typer.Exit(code=1)


def stream(
    names: Names = None,
    role: Annotated[str, typer.Option(
        help="both: streamers and the feature consumer; producer: only put closed bars on the "
             "bus; consumer: only bus → features → online store.")] = "both",
    bar: Bar = None, home: Home = None, verbose: Verbose = False,
) -> None:
    """Follow the sources' kline streams until Ctrl-C: each closed bar goes onto a Redis Stream
    and the feature consumer pushes its feature rows online within seconds of the close.

    Example: `cryptovol stream --bar 1h --role both`
    """
    import asyncio
    import threading

    from cryptovol.cli.runtime import bootstrap, configure_logging

    if role not in ("both", "producer", "consumer"):
        raise fail(f"--role {role!r}: use both, producer or consumer")
    settings = bootstrap(home=home, bar=bar)
    configure_logging(verbose)
    from cryptovol.redis_runtime import online_redis
    from feature_repo.connectors.sources import for_bar, load

    sources = [s for s in for_bar(load(settings.sources_path), settings.bar, names) if s.stream]
    if not sources and role != "consumer":
        raise fail(f"no {settings.bar} source to stream in {settings.sources_path}: `cryptovol "
                   f"sources add EXCHANGE --pairs BTC/USDT --bar {settings.bar}`")
    with online_redis(settings) as redis_url:
        stop = threading.Event()
        worker = None
        if role in ("both", "consumer"):
            from feature_repo.connectors.consumer import BarConsumer

            consumer = BarConsumer(settings, redis_url)
            worker = threading.Thread(target=consumer.run, args=(stop,), name="consumer", daemon=True)
            worker.start()
        console.print(f"streaming {settings.bar} bars ({role}) of "
                      f"{', '.join(s.name for s in sources) or 'the bus'}; Ctrl-C to stop",
                      highlight=False)
        try:
            if role == "consumer":
                while worker.is_alive():
                    worker.join(1.0)
            else:
                asyncio.run(_produce(settings, sources, redis_url, stop))
        finally:
            stop.set()
            if worker is not None:
                worker.join(30)


async def _produce(settings, sources, redis_url: str, stop_flag) -> None:
    import asyncio

    import redis.asyncio

    from feature_repo.connectors.stream import BarStreamer

    client = redis.asyncio.Redis.from_url(redis_url, socket_timeout=10, socket_connect_timeout=5)
    stop = asyncio.Event()

    async def watch() -> None:  # the consumer thread may stop first (it never does by itself)
        while not stop_flag.is_set():
            await asyncio.sleep(0.5)
        stop.set()

    watcher = asyncio.create_task(watch())
    try:
        await asyncio.gather(*(BarStreamer(settings, s, client).run(stop) for s in sources))
    finally:
        watcher.cancel()
        await client.aclose()
