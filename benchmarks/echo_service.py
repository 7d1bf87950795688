"""A do-nothing BentoML service: the framework's latency floor for `benchmarks/serve.py`.

It parses the same request shape as the real service and returns it. ``/predict`` is a plain
(sync) API, as in BentoML's quickstart: BentoML runs it in a worker thread. ``/predict_async``
is an ``async def`` API, run on the event loop — the real service's style, and the lower floor.
"""

from __future__ import annotations

import bentoml


@bentoml.service(name="echo", traffic={"timeout": 30}, threads=4)
class Echo:
    @bentoml.api(route="/predict")
    def predict(self, symbols: list[str]) -> dict:
        return {"symbols": symbols}

    @bentoml.api(route="/predict_async")
    async def predict_async(self, symbols: list[str]) -> dict:
        return {"symbols": symbols}
