"""Corrections to the OpenAPI document BentoML generates for the service (``/docs.json``).

BentoML marks the request body optional, documents the 400 answer's ``detail`` as a string (it
is a list of validation errors), and knows none of the service's other answers. The schema is
what clients and the fuzz test generate requests from, so it has to say what the service does.
"""

from __future__ import annotations

from serving.schemas import ErrorResponse

ERRORS = {
    "401": "Missing or invalid API key (when the service requires keys).",
    "404": "Unknown symbol (named in `unknown_symbols`) or horizon not served.",
    "409": "Stale features and `refuse_stale`.",
    "413": "Request body too large.",
    "415": "Content type other than application/json.",
    "422": "A coin without enough history for its features.",
    "503": "The online feature store (Redis) does not answer; retry shortly.",
}
VALIDATION_ERROR = {
    "type": "object", "title": "ValidationErrorResponse", "required": ["error", "detail"],
    "properties": {
        "error": {"type": "string", "examples": ["1 validation error for Input"]},
        "detail": {"type": "array", "items": {
            "type": "object", "properties": {"type": {"type": "string"}, "loc": {"type": "array"},
                                             "msg": {"type": "string"}}}},
    },
}


def _json(ref: str, description: str) -> dict:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


DESCRIPTION = """Volatility forecasts of cryptocurrencies from cryptovol's `@champion` models.

`POST /predict` answers, per coin, the realized volatility forecast for the next `horizon` bars
(annualized, and per bar), its 80% and 95% intervals, the regime (Low / Medium / High) and
spike probabilities, how old the features are, and which registered model version answered.
Features come from the Redis online store; the model follows the registry's `@champion` alias.

`/livez` answers while the process runs; `/readyz` while the online store and a model answer;
`/metrics` is Prometheus text. Every answer carries `X-Request-ID`."""
EXAMPLES = {
    "two coins": {"summary": "Two coins, the shortest horizon served",
                  "value": {"symbols": ["BTC", "ETH"]}},
    "horizon and explanation": {
        "summary": "One coin, a given horizon, with the top SHAP contributions",
        "value": {"symbols": ["BTC"], "horizon": 7, "explain": True}},
    "refuse stale": {"summary": "Answer 409 rather than forecast from stale features",
                     "value": {"symbols": ["SOL"], "refuse_stale": True}},
}


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("cryptovol")
    except PackageNotFoundError:  # run from a source tree that was not installed
        return "0+unknown"


def corrected(spec: dict, api_keys: bool) -> dict:
    spec["info"] = {"title": "cryptovol", "version": version(), "description": DESCRIPTION,
                    "license": {"name": "MIT"}}
    operation = spec.get("paths", {}).get("/predict", {}).get("post")
    if operation is None:
        return spec
    operation["summary"] = "Volatility forecasts for coins"
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None:
        body["examples"] = EXAMPLES
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorResponse"] = ErrorResponse.model_json_schema()
    schemas["ValidationErrorResponse"] = VALIDATION_ERROR
    if "requestBody" in operation:
        operation["requestBody"]["required"] = True
    responses = operation.setdefault("responses", {})
    responses["400"] = _json("ValidationErrorResponse", "The body does not fit the schema.")
    responses.pop("500", None)  # not part of the contract: a 5xx is a bug
    for code, description in ERRORS.items():
        if code != "401" or api_keys:
            responses[code] = _json("ErrorResponse", description)
    if api_keys:
        spec["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        operation["security"] = [{"bearer": []}]
    return spec
