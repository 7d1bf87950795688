"""Client of the Bento service's HTTP API."""

from __future__ import annotations

import httpx

DEFAULT_URL = "http://127.0.0.1:3000"


class PredictionError(RuntimeError):
    """The service answered with an error; the message is the service's."""


def predict(symbols: list[str], url: str = DEFAULT_URL, timeout: float = 30.0,
            horizon: int | None = None, api_key: str | None = None,
            explain: bool = False) -> list[dict]:
    body: dict = {"symbols": symbols, "explain": explain}
    if horizon is not None:
        body["horizon"] = horizon
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        response = httpx.post(f"{url.rstrip('/')}/predict", json=body, headers=headers,
                              timeout=timeout)
    except httpx.HTTPError as exc:
        raise PredictionError(f"cannot reach the service at {url}: {exc}") from exc
    if response.status_code != 200:
        raise PredictionError(f"{response.status_code} from {url}: {error_message(response)}")
    return response.json()["predictions"]


def error_message(response: httpx.Response) -> str:
    """The ``error`` text of a BentoML error body (an object, or a list of them)."""
    try:
        body = response.json()
    except ValueError:
        return response.text
    items = body if isinstance(body, list) else [body]
    messages = [str(i.get("error", i)) for i in items if isinstance(i, dict)]
    return "; ".join(messages) or response.text
