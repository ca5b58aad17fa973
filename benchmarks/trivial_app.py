"""A trivial FastAPI app, the floor bench_api.py measures the riskwatch API against.

Served by bench_api.py with `python -m uvicorn trivial_app:app --app-dir benchmarks`, with the
same uvicorn settings as `riskwatch serve` (one worker, no access log). POST /predict has
/prediction's request and answer shapes without a model: the body parsed into riskwatch's
pydantic request document, one small dict answered per client, the same Server-Timing header.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from riskwatch.api.app import ServerTiming
from riskwatch.api.schemas import PredictionRequest

app = FastAPI()
app.add_middleware(ServerTiming)


@app.get("/health")
async def health() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@app.post("/predict")
async def predict(request: Request) -> JSONResponse:
    """Parse the clients as /prediction does and answer each with a fixed prediction."""
    document = PredictionRequest.model_validate_json(await request.body())
    clients: list[dict[str, Any]] = [
        {
            "position": position,
            "corporation": client.corporation,
            "probability": 0.5,
            "label": 0,
            "risk_band": "low",
        }
        for position, client in enumerate(document.clients or [])
    ]
    answer = {"version": "trivial", "threshold": 0.5, "dataset": None, "clients": clients}
    return JSONResponse(answer)
