"""Health checks of the stack's components: each returns None when healthy, else why not."""

from __future__ import annotations

import httpx


def http_ok(url: str, timeout: float = 5.0) -> str | None:
    try:
        response = httpx.get(url, timeout=timeout)
    except httpx.HTTPError as exc:
        return f"{url} does not answer ({type(exc).__name__})"
    return None if response.status_code == 200 else f"{url} answers HTTP {response.status_code}"


def redis_ok(url: str, timeout: float = 2.0) -> str | None:
    from cryptovol.backends import mask
    from cryptovol.redis_runtime import ping

    return None if ping(url, timeout=timeout) else f"{mask(url)} does not answer PING"


def deployments_ok(api: str, bar: str, pull: bool = False, timeout: float = 5.0) -> str | None:
    """The schedule runner has registered the loop's deployments of ``bar`` (and the exchange
    pull when ``pull``: sources of the bar exist)."""
    wanted = {f"{kind}-{bar}" for kind in ("refresh", "monitor", "retrain", *(["pull"] if pull else []))}
    try:
        response = httpx.post(f"{api}/deployments/filter", json={}, timeout=timeout)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        return f"the Prefect API at {api} does not answer ({type(exc).__name__})"
    missing = wanted - {d["name"] for d in response.json()}
    return f"deployments not registered yet: {', '.join(sorted(missing))}" if missing else None


def stream_ok(url: str, bar: str, timeout: float = 2.0) -> str | None:
    """The feature consumer of ``cryptovol stream`` has joined the bar bus (its group exists)."""
    import redis

    from cryptovol.backends import mask

    key = f"cryptovol:bars:{bar}"
    try:
        groups = redis.Redis.from_url(url, socket_timeout=timeout).xinfo_groups(key)
    except redis.ResponseError:
        return f"no stream {key} yet"
    except redis.RedisError as exc:
        return f"{mask(url)} does not answer ({type(exc).__name__})"
    return None if any(g["name"] in (b"features", "features") for g in groups) else \
        f"the feature consumer has not joined {key} yet"
