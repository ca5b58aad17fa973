"""A trivial FastAPI app, the floor bench_api.py measures the riskwatch API against.

Served by bench_api.py with `python -m uvicorn trivial_app:app --app-dir benchmarks`, with the
same uvicorn settings as `riskwatch serve` (one worker, no access log).
"""

from __future__ import annotations

from fastapi import FastAPI, Request

app = FastAPI()


@app.get("/health")
async def health() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@app.post("/echo")
async def echo(request: Request) -> dict[str, bool]:
    """Read the body (as /prediction does) and answer a fixed document."""
    await request.body()
    return {"ok": True}
