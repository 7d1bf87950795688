"""The service's request and answer, as typed models: they are the OpenAPI schema clients see."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

Symbol = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^\s*[A-Za-z0-9._-]+\s*$",
                              examples=["BTC"])]
Symbols = Annotated[list[Symbol], Field(min_length=1, max_length=500,
                                        description="Tickers as stored, e.g. BTC, ETH (case-insensitive).",
                                        examples=[["BTC", "ETH"]])]
# optional, never null: an absent field takes the default; ``null``, ``"yes"``, ``"7"`` are 400s
Horizon = Annotated[StrictInt, Field(
    ge=1, le=10_000, description="Forecast horizon in bars; default: the shortest one served.",
    examples=[7])]
Explain = Annotated[StrictBool, Field(description="Add the top SHAP contributions.")]
RefuseStale = Annotated[StrictBool, Field(
    description="Answer 409 rather than forecast from stale features; default: the service's "
                "CRYPTOVOL_REFUSE_STALE.")]


class Interval(BaseModel):
    level: float = Field(description="Nominal coverage, e.g. 0.8.", examples=[0.8])
    low: float = Field(description="Lower bound of the annualized vol.", examples=[0.41])
    high: float = Field(description="Upper bound of the annualized vol.", examples=[0.93])


class Regime(BaseModel):
    most_likely: str | None = Field(description="Low, Medium or High; null without cut points.",
                                    examples=["Medium"])
    probabilities: dict[str, float | None] = Field(
        description="Probability of each regime over the horizon.",
        examples=[{"Low": 0.2, "Medium": 0.5, "High": 0.3}])
    cut_points: list[float] | None = Field(
        description="The coin's Low|Medium and Medium|High boundaries (annualized vol), fitted "
                    "on the model's training window.", examples=[[0.45, 0.75]])


class Contribution(BaseModel):
    feature: str = Field(examples=["rv_7"])
    value: float | None = Field(description="The feature's value in this forecast.", examples=[0.031])
    contribution: float = Field(description="SHAP contribution to the log of the forecast.",
                                examples=[0.12])


class Forecast(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    symbol: str = Field(examples=["BTC"])
    as_of: datetime = Field(description="Event time of the features used (bar close, UTC).")
    feature_age_bars: float = Field(description="Bars between as_of and now.", examples=[0.4])
    stale: bool = Field(description="as_of is older than the service's staleness limit.")
    bar: str = Field(examples=["1d"])
    horizon_bars: int = Field(examples=[7])
    predicted_vol: float = Field(description="Annualized realized vol over the next horizon.",
                                 examples=[0.62])
    predicted_vol_per_bar: float = Field(examples=[0.032])
    vol_unit: str = "annualized (per-bar x sqrt(bars per year))"
    intervals: list[Interval] = Field(description="Prediction intervals (split-conformal).")
    regime: Regime | None = None
    spike_probability: float | None = Field(
        default=None, description="Probability that the horizon's vol is a spike.", examples=[0.07])
    spike: bool | None = Field(
        default=None, description="The spike decision: spike_probability >= spike_cut.")
    spike_cut: float | None = Field(
        default=None, description="The probability cut of the spike decision, chosen on the "
                                  "model's validation block to maximize F1.", examples=[0.21])
    spike_rule: str | None = None
    explanation: list[Contribution] | None = Field(
        default=None, description="Top SHAP contributions (only with \"explain\": true).")
    model_name: str = Field(examples=["crypto-vol-forecaster-1d-h7"])
    model_version: str = Field(examples=["3"])


class PredictResponse(BaseModel):
    request_id: str = Field(examples=["5f0c3d8e8b0a4c1e9d2f7a6b1c3e5d7f"])
    predictions: list[Forecast]


class ValidationDetail(BaseModel):
    type: str | None = Field(default=None, examples=["bool_type"])
    loc: list[str | int] | None = Field(default=None, examples=[["explain"]])
    msg: str | None = Field(default=None, examples=["Input should be a valid boolean"])


class ErrorResponse(BaseModel):
    error: str = Field(description="What went wrong, in one line (a 400 names each field).")
    request_id: str = Field(description="The request's id (X-Request-ID).")
    unknown_symbols: list[str] | None = Field(default=None, description="404: the unknown tickers.")
    symbols: list[str] | None = Field(
        default=None, description="422: the coins without enough history; 503: the coins whose "
                                  "online features are missing.")
    fields: list[str] | None = Field(default=None, description="400: the invalid request fields.")
    detail: list[ValidationDetail] | None = Field(
        default=None, description="400: each validation error (type, location, message).")
