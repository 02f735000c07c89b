"""query_promql: a PromQL query, instant or over a range, summarised per series."""

from __future__ import annotations

import time
from typing import Any

from pydantic import Field

from watchkeeper.policy.risk import RiskClass
from watchkeeper.series import series_summary
from watchkeeper.skills.base import Scope, SkillParams, skill
from watchkeeper.skills.context import SkillContext
from watchkeeper.skills.http_json import backend_url, get_json


class QueryPromqlParams(SkillParams):
    query: str = Field(..., min_length=1, description="PromQL expression.")
    range_minutes: float | None = Field(
        None, gt=0, le=7 * 24 * 60, description="Query the last N minutes as a range; default: an instant query."
    )
    step_s: float | None = Field(None, gt=0, description="Range step in seconds; default: about 60 points.")
    raw: bool = Field(False, description="Also return the raw points of each series.")
    max_series: int = Field(20, ge=1, le=500, description="Most series returned (the rest are counted).")


@skill(
    key="query_promql",
    name="Query Prometheus",
    description="Run a PromQL query against the configured Prometheus, instant or over the last N minutes; "
    "returns per series its labels and a compact summary (min, max, avg, last, trend per second), and the raw "
    "points only when asked.",
    risk=RiskClass.SAFE,
    scope=Scope.MANAGER,
    category="observability",
    idempotent=True,
    result_example={
        "query": "node_load1",
        "type": "matrix",
        "series_count": 1,
        "truncated": False,
        "series": [
            {
                "labels": {"instance": "web-1:9100"},
                "min": 0.2,
                "max": 3.9,
                "avg": 1.1,
                "last": 3.9,
                "trend_per_s": 0.004,
                "points": 61,
            }
        ],
    },
)
def query_promql(params: QueryPromqlParams, ctx: SkillContext) -> dict[str, Any]:
    base = backend_url(ctx, "prometheus")
    if params.range_minutes is None:
        body = get_json(ctx, base, "/api/v1/query", {"query": params.query}, "Prometheus")
    else:
        end = time.time()
        start = end - params.range_minutes * 60
        step = params.step_s or max(1.0, round(params.range_minutes * 60 / 60, 3))
        body = get_json(
            ctx,
            base,
            "/api/v1/query_range",
            {"query": params.query, "start": start, "end": end, "step": step},
            "Prometheus",
        )
    data = body.get("data", {})
    kind = data.get("resultType")
    result = data.get("result", [])
    if kind == "scalar" or kind == "string":
        return {
            "query": params.query,
            "type": kind,
            "value": result[1] if len(result) > 1 else None,
            "series_count": 0,
            "series": [],
            "truncated": False,
        }
    series = []
    for item in result[: params.max_series]:
        points = item.get("values") or ([item["value"]] if "value" in item else [])
        times = [float(t) for t, _ in points]
        values = [float(v) for _, v in points]
        entry = {"labels": item.get("metric", {}), **series_summary(times, values)}
        if params.raw:
            entry["values"] = [[t, v] for t, v in zip(times, values, strict=True)]
        series.append(entry)
    return {
        "query": params.query,
        "type": kind,
        "series_count": len(result),
        "series": series,
        "truncated": len(result) > params.max_series,
        "warnings": body.get("warnings", []),
    }
