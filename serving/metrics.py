"""The service's own Prometheus metrics, beside BentoML's request metrics on ``/metrics``."""

from __future__ import annotations

import warnings

import bentoml

# bentoml.metrics (deprecated for prometheus_client) is still what registers metrics in the
# multiprocess registry BentoML's /metrics reads; its deprecation notice is not for operators
warnings.filterwarnings("ignore", message="bentoml.metrics module is deprecated")

FORECASTS = bentoml.metrics.Counter(
    name="cryptovol_forecasts", documentation="Forecasts answered, by model version and horizon.",
    labelnames=["model", "version", "horizon"])
FEATURE_AGE = bentoml.metrics.Histogram(
    name="cryptovol_feature_age_bars", documentation="Age of the features behind each forecast, in bars.",
    labelnames=["bar"], buckets=(0.5, 1, 1.5, 2, 3, 5, 10, 30, 100, 1000, float("inf")))
ONLINE_ERRORS = bentoml.metrics.Counter(
    name="cryptovol_online_store_errors", documentation="Online-store (Redis) calls that failed.")
ONLINE_LATENCY = bentoml.metrics.Histogram(
    name="cryptovol_online_store_seconds", documentation="Latency of the online-store reads of a request.",
    buckets=(0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, float("inf")))
SHADOW = bentoml.metrics.Counter(
    name="cryptovol_shadow_forecasts", documentation="Challenger forecasts logged off the response path.",
    labelnames=["model", "version"])
ONLINE_AGE = bentoml.metrics.Gauge(
    name="cryptovol_online_feature_age_bars",
    documentation="Per coin: bars between the close of its newest online features and now.",
    labelnames=["symbol", "bar"], multiprocess_mode="livemax")
ONLINE_DELAY = bentoml.metrics.Gauge(
    name="cryptovol_online_write_delay_seconds",
    documentation="Per coin: seconds between its newest bar's close and its features reaching "
                  "the online store (how fresh the pipeline keeps it).",
    labelnames=["symbol", "bar"], multiprocess_mode="livemax")
