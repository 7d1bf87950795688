"""Corrections to the OpenAPI document BentoML generates for the service (``/docs.json``).

BentoML marks the request body optional, shows ``null`` defaults of fields that are never null,
and knows none of the service's error answers (``serving.http`` gives them all one shape). The
schema is what clients and the fuzz test generate requests from: it says what the service does.
"""

from __future__ import annotations

from serving.schemas import ErrorResponse

ERRORS = {
    "400": "The body does not fit the schema: `error` names each field, `fields` and `detail` list them.",
    "401": "Missing or invalid API key (when the service requires keys).",
    "404": "Unknown symbol (named in `unknown_symbols`) or horizon not served.",
    "409": "Stale features and `refuse_stale`.",
    "413": "Request body too large.",
    "415": "Content type other than application/json.",
    "422": "A coin without enough history for its features.",
    "503": "The online feature store (Redis) does not answer, or lacks the features of a coin "
           "the model knows (named in `symbols`); retry shortly.",
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


def _no_null_defaults(spec: dict, body: dict) -> None:
    """Optional fields whose type is not nullable: absent means the default, ``null`` is a 400;
    BentoML writes their Python default (None) into the schema, which reads as "null is fine"."""
    schema = body.get("content", {}).get("application/json", {}).get("schema", {})
    ref = schema.get("$ref", "")
    if ref.startswith("#/components/schemas/"):
        schema = spec["components"]["schemas"].get(ref.rsplit("/", 1)[1], {})
    for prop in schema.get("properties", {}).values():
        if prop.get("default", 0) is None and "anyOf" not in prop:
            del prop["default"]


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
    error = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(error.pop("$defs", {}))
    schemas["ErrorResponse"] = error
    if "requestBody" in operation:
        operation["requestBody"]["required"] = True
        _no_null_defaults(spec, operation["requestBody"])
    responses = operation.setdefault("responses", {})
    responses.pop("500", None)  # not part of the contract: a 5xx is a bug
    for code, description in ERRORS.items():
        if code != "401" or api_keys:
            responses[code] = _json("ErrorResponse", description)
    if api_keys:
        spec["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        operation["security"] = [{"bearer": []}]
    return spec
