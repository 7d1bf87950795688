"""Candle files into the candle store: ``ingest`` (and the demo seed), callable without Prefect.

Kept apart from the feature stages so that loading candles does not import Feast or arch.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from cryptovol import files
from cryptovol.bars import bar_delta, infer_bar
from cryptovol.settings import Settings
from feature_repo import candle_store
from feature_repo.loaders.candles import LoadReport, finalize
from feature_repo.loaders.reader import read_paths
from feature_repo.loaders.resample import resample

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestResult:
    bar: str
    report: LoadReport
    stored: candle_store.UpsertResult
    resampled: dict[str, int] | None = None
    saved: Path | None = None

    @property
    def symbols(self) -> int:
        return int(self.report.per_symbol["symbol"].nunique())


def ingest(settings: Settings, paths: list[str], fmt: str | None = None,
           symbol: str | None = None, bar: str | None = None, progress=None,
           on_error=None) -> IngestResult:
    """Read candle files into the candle store (upsert), resampled to ``bar`` if it is coarser.

    ``on_error(path, exc)``: skip files that cannot be read instead of failing (see read_paths).
    """
    candles, report, _ = read_paths(paths, fmt, symbol, progress, on_error, bar)
    native = report.bar or infer_bar(candles["ts"], candles["symbol"])
    target = bar or native
    resampled = None
    if target != native:
        candles, resampled = resample(candles, native, target)
    stored = candle_store.store(settings.home, target, candles, report.quarantine)
    try:
        saved = save_load_report(settings, report, stored, resampled, target)
    except OSError as exc:  # e.g. a read-only home: the store needed no change, say so
        saved = None
        report.notes.append(f"load report not saved: {files.describe_os_error(exc)}")
    totals = report.totals()
    log.info("ingest: read %d, kept %d, quarantined %d -> %s bars: %d new, %d updated, %d unchanged",
             totals["read"], totals["kept"], totals["quarantined"], target, stored.inserted,
             stored.updated, stored.unchanged)
    return IngestResult(bar=target, report=report, stored=stored, resampled=resampled, saved=saved)


def ingest_frames(settings: Settings, frames: list[tuple[str, pd.DataFrame]], bar: str,
                  save_report: bool = True) -> IngestResult:
    """Canonical candles from a connector — ``(origin, frame)``, e.g. ``("binance BTC/USDT",
    ...)`` — through the checks every file gets (``loaders.candles.finalize``: quarantine with
    a reason, zero volume → missing and counted) into the candle store of ``bar``."""
    step = pd.Timedelta(bar_delta(bar))
    kept, reports = [], []
    for origin, frame in frames:
        zero_volume = frame["volume"].eq(0)
        frame = frame.assign(volume=frame["volume"].mask(zero_volume),
                             quote_volume=frame["quote_volume"].mask(zero_volume))
        candles, report = finalize(frame, {"zero_volume": zero_volume}, bar=step, origin=origin)
        kept.append(candles)
        reports.append(report)
    report = LoadReport.combine(reports)
    report.bar = bar
    stored = candle_store.store(settings.home, bar, pd.concat(kept, ignore_index=True),
                                report.quarantine)
    saved = None
    if save_report and (stored.inserted or stored.updated or len(report.quarantine)):
        saved = save_load_report(settings, report, stored, None, bar)
    totals = report.totals()
    log.info("ingest (%s): read %d, kept %d, quarantined %d -> %s bars: %d new, %d updated",
             ", ".join(origin for origin, _ in frames[:3]) + (" ..." if len(frames) > 3 else ""),
             totals["read"], totals["kept"], totals["quarantined"], bar, stored.inserted, stored.updated)
    return IngestResult(bar=bar, report=report, stored=stored, saved=saved)


def save_load_report(settings: Settings, report: LoadReport, stored, resampled, bar: str) -> Path:
    """The load report as JSON under ``reports/`` (per symbol, notes, gaps, store changes)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = settings.reports_dir / f"ingest_{bar}_{stamp}.json"
    body = {
        "bar": bar, "bar_read": report.bar, "balanced": report.balanced, "totals": report.totals(),
        "per_symbol": json.loads(report.per_symbol.to_json(orient="records", date_format="iso")),
        "gaps": json.loads(report.gaps.to_json(orient="records", date_format="iso")),
        "notes": report.notes, "stored": asdict(stored), "resampled": resampled,
    }
    return files.write_json(path, body)


def seed_demo(settings: Settings) -> IngestResult | None:
    """Load the bundled demo candles when the store holds no daily candles yet."""
    if settings.bar != "1d" or len(candle_store.read_candles(settings.home, "1d")):
        return None
    return ingest(settings, [str(settings.demo_data)])
