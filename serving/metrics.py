"""The service's own Prometheus metrics, beside BentoML's request metrics on ``/metrics``.

Every label set is bounded by construction: models and horizons (a handful per service), bar
sizes, and the online store's own coins (``serving.freshness`` caps them). Model *versions*
grow with every retrain, so they are gauge values (``cryptovol_served_version``), never labels;
request paths are bounded by ``serving.http.metric_path``.
"""

from __future__ import annotations

import warnings

import bentoml

# bentoml.metrics (deprecated for prometheus_client) is still what registers metrics in the
# multiprocess registry BentoML's /metrics reads; its deprecation notice is not for operators
warnings.filterwarnings("ignore", message="bentoml.metrics module is deprecated")

FORECASTS = bentoml.metrics.Counter(
    name="cryptovol_forecasts", documentation="Forecasts answered, by registered model and horizon.",
    labelnames=["model", "horizon"])
SERVED_VERSION = bentoml.metrics.Gauge(
    name="cryptovol_served_version",
    documentation="The registered version each worker answers with (@champion), per model.",
    labelnames=["model", "horizon"], multiprocess_mode="livemax")
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
    labelnames=["model"])
ONLINE_AGE = bentoml.metrics.Gauge(
    name="cryptovol_online_feature_age_bars",
    documentation="Per coin: bars between the close of its newest online features and now.",
    labelnames=["symbol", "bar"], multiprocess_mode="livemax")
ONLINE_DELAY = bentoml.metrics.Gauge(
    name="cryptovol_online_write_delay_seconds",
    documentation="Per coin: seconds between its newest bar's close and its features reaching "
                  "the online store (how fresh the pipeline keeps it).",
    labelnames=["symbol", "bar"], multiprocess_mode="livemax")
OUTAGE_503 = bentoml.metrics.Counter(
    name="cryptovol_online_store_unavailable_answers",
    documentation="Requests answered 503 because the online store was down or missing features.",
    labelnames=["reason"])
