"""Log lines -> a few dozen templates with counts, ranked by severity and novelty (drain3).

Numbers, ids, IPs, hex, paths and timestamps are masked before mining, so "timeout after 30s
from 10.0.0.7" and "timeout after 31s from 10.0.0.9" are one template.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from drain3 import TemplateMiner
from drain3.masking import MaskingInstruction
from drain3.template_miner_config import TemplateMinerConfig

# Order matters: wider patterns (timestamps, URLs) before the numbers inside them.
MASKS: list[tuple[str, str]] = [
    (r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?", "TIME"),
    (r"\d{1,2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2}(?: [+-]\d{4})?", "TIME"),
    (r"\b[A-Z][a-z]{2} +\d{1,2} \d{2}:\d{2}:\d{2}\b", "TIME"),
    (r"\b\d{2}:\d{2}:\d{2}(?:[.,]\d+)?\b", "TIME"),
    (r"[a-z][a-z0-9+.-]*://[^\s\"']+", "URL"),
    (r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b", "UUID"),
    (r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?(?![\w.])", "IP"),
    (r"(?<![\w.-])[a-zA-Z][\w-]*(?:\.[\w-]+)+:\d+(?![\w.])", "ADDR"),
    (r"(?<![\w/])(?:/[\w.@%+-]+){2,}/?", "PATH"),
    (r"\b0x[0-9a-fA-F]+\b", "HEX"),
    (r"\b[0-9a-fA-F]{12,}\b", "HEX"),
    (r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:ms|s|m|h|[kKMG]i?B|%)?(?![\w.])", "NUM"),
]
SEVERE = re.compile(
    r"(?i)\b(fatal|panic|emerg|crit(?:ical)?|oom|out of memory|killed process|segfault|exception|traceback|"
    r"error|err|fail(?:ed|ure)?|refused|timed? ?out|exhausted|denied|unavailable|502|503|504)\b"
)
WARNY = re.compile(r"(?i)\b(warn(?:ing)?|retry(?:ing)?|slow|degraded|deprecated)\b")


@dataclass
class Template:
    template: str
    count: int
    first_line: int
    last_line: int
    example: str
    severity: int  # 2 error-like words, 1 warning-like, 0 neither
    novel: bool = False
    baseline_count: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rank(self) -> tuple[int, int, int]:
        return (self.severity, int(self.novel), self.count)

    def as_dict(self) -> dict[str, Any]:
        return {
            "template": self.template,
            "count": self.count,
            "severity": ["info", "warn", "error"][self.severity],
            "novel": self.novel,
            "baseline_count": self.baseline_count,
            "first_line": self.first_line,
            "last_line": self.last_line,
            "example": self.example,
        }


def _miner() -> TemplateMiner:
    config = TemplateMinerConfig()
    config.masking_instructions = [MaskingInstruction(pattern, mask) for pattern, mask in MASKS]
    config.drain_sim_th = 0.5
    config.drain_depth = 4
    config.profiling_enabled = False
    return TemplateMiner(config=config)


def severity_of(line: str) -> int:
    return 2 if SEVERE.search(line) else 1 if WARNY.search(line) else 0


def mine(lines: list[str], baseline: list[str] | None = None) -> list[Template]:
    """Templates of `lines`, most severe, novel and frequent first.

    With `baseline` (older lines of the same source), a template that never appears in it is
    marked novel: the signature of a new failure mode after a change.
    """
    miner = _miner()
    seen_in_baseline: dict[int, int] = {}
    for line in baseline or []:
        result = miner.add_log_message(line.strip())
        cid = int(result["cluster_id"])
        seen_in_baseline[cid] = seen_in_baseline.get(cid, 0) + 1
    templates: dict[int, Template] = {}
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        cid = int(miner.add_log_message(line)["cluster_id"])
        tpl = templates.get(cid)
        if tpl is None:
            templates[cid] = Template("", 1, number, number, line[:500], severity_of(line))
        else:
            tpl.count += 1
            tpl.last_line = number
            tpl.severity = max(tpl.severity, severity_of(line))
    clusters = {c.cluster_id: c for c in miner.drain.clusters}
    for cid, tpl in templates.items():
        tpl.template = clusters[cid].get_template()
        tpl.baseline_count = seen_in_baseline.get(cid, 0)
        tpl.novel = baseline is not None and tpl.baseline_count == 0
    return sorted(templates.values(), key=lambda t: t.rank, reverse=True)


def cluster_ids(lines: list[str]) -> list[int]:
    """The template (cluster) each line falls in: Drain never merges clusters, so ids are final."""
    miner = _miner()
    return [int(miner.add_log_message(line.strip())["cluster_id"]) for line in lines]
