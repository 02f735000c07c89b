"""query_knowledge: the same retrieval for the triage, the LLM agent and people."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from watchkeeper.policy.risk import RiskClass
from watchkeeper.skills.base import Scope, SkillParams, skill
from watchkeeper.skills.context import SkillContext


class QueryKnowledgeParams(SkillParams):
    query: str = Field(..., min_length=1, description="What to look for: a symptom, an alert, a log line.")
    service: str | None = Field(None, description="Only entries about this service.")
    type: Literal["runbook", "case", "note"] | None = Field(None, description="Only this kind of entry.")
    alert: str | None = Field(None, description="Only entries written for this alert name.")
    limit: int = Field(5, ge=1, le=50, description="How many entries.")


@skill(
    key="query_knowledge",
    name="Search the knowledge base",
    description="Runbooks, notes and past incidents (cases) that match a symptom, alert or log line, best "
    "first, each with its id, title, type, rank, relevance (0-1) and the matching passage, in any language. "
    "Cases whose fix worked rank higher.",
    risk=RiskClass.SAFE,
    scope=Scope.MANAGER,
    category="knowledge",
    idempotent=True,
    result_example={
        "hits": [
            {
                "id": "rb-1a2b3c4d5e",
                "title": "Disk full",
                "source": "starter:disk-full.md",
                "type": "runbook",
                "score": 7.1,
                "heading": "Disk full > Fix",
                "passage": "Stop the writer of the flood ...",
                "rank": 1,
                "relevance": 0.92,
            }
        ]
    },
)
def query_knowledge(params: QueryKnowledgeParams, ctx: SkillContext) -> dict[str, Any]:
    hits = ctx.knowledge().search(params.query, params.service, params.type, params.alert, params.limit)
    return {"query": params.query, "hits": [h.as_dict() for h in hits]}
