"""query_logql: log lines from Grafana Loki (`query_range`), newest first."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import Field

from watchkeeper.policy.risk import RiskClass
from watchkeeper.skills.base import Scope, SkillParams, skill
from watchkeeper.skills.context import SkillContext
from watchkeeper.skills.http_json import backend_url, get_json


class QueryLogqlParams(SkillParams):
    query: str = Field(..., min_length=1, description='LogQL query, e.g. {service="checkout"} |= "error".')
    since_minutes: float = Field(60, gt=0, le=30 * 24 * 60, description="How far back to look.")
    limit: int = Field(200, ge=1, le=5000, description="Most lines returned.")
    direction: Literal["backward", "forward"] = Field("backward", description="backward: newest first.")


@skill(
    key="query_logql",
    name="Query Loki",
    description="Run a LogQL query against the configured Grafana Loki over the last N minutes and return "
    "the matching lines with their stream labels (newest first by default), or metric results for metric "
    "queries.",
    risk=RiskClass.SAFE,
    scope=Scope.MANAGER,
    category="logs",
    idempotent=True,
    result_example={
        "query": '{service="checkout"} |= "error"',
        "type": "streams",
        "line_count": 1,
        "lines": [
            {
                "time": "2026-11-22T01:00:00.000+00:00",
                "labels": {"service": "checkout"},
                "line": "ERROR payment gateway timed out",
            }
        ],
    },
)
def query_logql(params: QueryLogqlParams, ctx: SkillContext) -> dict[str, Any]:
    base = backend_url(ctx, "loki")
    end = time.time_ns()
    start = end - int(params.since_minutes * 60 * 1e9)
    body = get_json(
        ctx,
        base,
        "/loki/api/v1/query_range",
        {"query": params.query, "start": start, "end": end, "limit": params.limit, "direction": params.direction},
        "Loki",
    )
    data = body.get("data", {})
    kind = data.get("resultType")
    if kind != "streams":
        return {"query": params.query, "type": kind, "result": data.get("result", [])[:50]}
    lines = [
        {
            "time": datetime.fromtimestamp(int(ts) / 1e9, UTC).isoformat(timespec="milliseconds"),
            "labels": stream.get("stream", {}),
            "line": line,
        }
        for stream in data.get("result", [])
        for ts, line in stream.get("values", [])
    ]
    lines.sort(key=lambda entry: entry["time"], reverse=params.direction == "backward")
    lines = lines[: params.limit]
    return {"query": params.query, "type": kind, "line_count": len(lines), "lines": lines}
