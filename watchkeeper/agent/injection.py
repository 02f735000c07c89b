"""Untrusted content that talks to the agent. The gate already stops execution; the risk left is an
injected instruction becoming a proposed action a tired person approves. So every line the model
saw from logs, alerts, files or HTTP bodies is scanned, the report lists the suspicious ones, and a
proposal that echoes one of them is marked."""

from __future__ import annotations

import json
import re
from typing import Any

from watchkeeper.evidence.report import Action, Suspicious

_RULES: list[tuple[str, re.Pattern[str]]] = [
    (
        "asks to ignore instructions",
        re.compile(
            r"\b(ignore|disregard|forget|override|bypass)\b.{0,40}\b(instructions?|prompts?|rules|guidelines|"
            r"directives|context|policy|policies)\b",
            re.I,
        ),
    ),
    ("claims a new role", re.compile(r"\byou are now\b|\bact as\b|\bdeveloper mode\b|\bjailbreak\b", re.I)),
    (
        "fake system or assistant message",
        re.compile(
            r"(^|[\s\"'>])(system|assistant|developer)\s*(message|prompt)?\s*[:\uff1a]|<\|?(im_start|im_end|system|"
            r"assistant)\|?>|\[/?INST\]|<</?SYS>>|\bBEGIN (SYSTEM|ADMIN)\b|\bnew instructions?\b|系统(提示|消息|指令)",
            re.I,
        ),
    ),
    (
        "addresses the agent",
        re.compile(
            r"\b(ai|assistant|agent|model|llm|bot|watchkeeper|chatgpt)\b.{0,30}\b(must|should|shall|needs? to|"
            r"has to|is instructed to|please)\b.{0,40}\b(run|restart|kill|execute|call|delete|stop|approve|propose)",
            re.I,
        ),
    ),
    (
        "urges an action",
        re.compile(
            r"\b(immediately|urgently|right now|without (asking|approval|confirmation))\b.{0,40}"
            r"\b(run|restart|kill|execute|delete|rm -rf|drop)\b|\b(run|restart|kill|execute)\b.{0,40}"
            r"\bwithout (asking|approval|confirmation)\b",
            re.I,
        ),
    ),
    (
        "fake tool call",
        re.compile(
            r"\"?(tool_calls?|function_call)\"?\s*[:=]|\"name\"\s*:\s*\"\w+\".{0,80}\"(arguments|parameters)\"", re.I
        ),
    ),
    (
        "Chinese instruction to the agent",
        re.compile(
            r"(忽略|无视|忘记|忘掉).{0,12}(指令|指示|说明|提示|规则|要求)|你现在是|立即(执行|重启|删除|杀掉|终止|停止)|"
            r"请(马上|立刻|立即)?(执行|重启|杀掉|删除)",
        ),
    ),
]


class Scanner:
    """The rules plus one pattern for the agent's own tool names, compiled once per conversation:
    it runs on every line of every tool result."""

    def __init__(self, skill_keys: set[str]) -> None:
        keys = "|".join(sorted(map(re.escape, skill_keys))) or "(?!)"
        # Quoted or called like code; not `backticked`, which is how runbooks mention tools.
        self._named_tool = re.compile(rf"[\"']\s*({keys})\s*[\"']|\b({keys})\s*\(", re.I)

    def scan(self, source: str, text: str) -> list[Suspicious]:
        """Lines of `text` that read like instructions to the agent, or name one of its tools as a call."""
        found: list[Suspicious] = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line:
                continue
            why = next((name for name, rule in _RULES if rule.search(line)), None)
            if why is None and self._named_tool.search(line):
                why = "names an agent tool as a call"
            if why:
                found.append(Suspicious(source=source, line=line[:300], why=why))
        return found


def strings(value: Any) -> list[str]:
    """Every string inside a JSON-like value, unescaped, so a line quoted inside JSON scans as written."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list | tuple):
        return [s for v in value for s in strings(v)]
    return []


def _values(params: dict[str, Any]) -> list[str]:
    out = []
    for v in params.values():
        if isinstance(v, bool) or v is None:
            continue
        if isinstance(v, str | int | float) and len(str(v)) >= 2:
            out.append(str(v))
        elif isinstance(v, list | dict):
            out.append(json.dumps(v))
    return out


_VERBS = {
    "restart": ("restart", "重启"),
    "kill": ("kill", "terminate", "杀", "终止"),
    "stop": ("stop", "停止"),
    "delete": ("delete", "remove", "rm ", "删除"),
}


def trace(action: Action, suspicious: list[Suspicious]) -> str | None:
    """The suspicious line this proposal echoes (its skill, a verb of it, or one of its values), if any."""
    if action.skill is None:
        return None
    words = [action.skill, *_values(action.params)]
    words += [v for stem, verbs in _VERBS.items() if stem in action.skill for v in verbs]
    for s in suspicious:
        low = s.line.lower()
        if any(w.lower() in low for w in words):
            return f"{s.source}: {s.line}"
    return None
