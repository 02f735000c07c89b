"""Tool calls small local models write as text: a fenced ```json block, a bare JSON object or
Qwen's <tool_call> tags instead of the API's `tool_calls`. Only names of offered tools count."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_FENCED = re.compile(r"```(?:json|tool_call|tool)?\s*\n?(.*?)```", re.DOTALL | re.IGNORECASE)
_TAGGED = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|\Z)", re.DOTALL)


@dataclass(frozen=True)
class TextToolCall:
    name: str
    args: dict[str, Any]


def _objects_in(text: str) -> list[Any]:
    """Top-level JSON objects inside prose, e.g. a call followed by an explanation."""
    decoder, found, at = json.JSONDecoder(), [], text.find("{")
    while at != -1:
        try:
            obj, end = decoder.raw_decode(text, at)
        except json.JSONDecodeError:
            at = text.find("{", at + 1)
            continue
        found.append(obj)
        at = text.find("{", end)
    return found


def _candidates(text: str) -> list[Any]:
    blocks = [m.group(1) for m in _TAGGED.finditer(text)] + [m.group(1) for m in _FENCED.finditer(text)]
    found = []
    for block in blocks:
        try:
            found.append(json.loads(block))
        except json.JSONDecodeError:
            continue
    return found or _objects_in(text)


def _as_call(obj: Any) -> tuple[str, Any] | None:
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("function"), dict):  # the API's own shape pasted as text
        obj = obj["function"]
    name = obj.get("name") or obj.get("tool") or obj.get("tool_name")
    if not isinstance(name, str):
        return None
    args = obj.get("arguments", obj.get("parameters", obj.get("args", {})))
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError:
            return name, {"_unparsed": args}
    return name, args


def tool_calls_in_text(text: str, tool_names: set[str], output_tool: str | None) -> list[TextToolCall]:
    """The tool calls written in `text`. A bare object that is no call but fits the output schema's
    shape becomes a call of the output tool, since that is what the model meant."""
    calls: list[TextToolCall] = []
    for obj in _candidates(text):
        items = obj.get("tool_calls") if isinstance(obj, dict) and isinstance(obj.get("tool_calls"), list) else obj
        for item in items if isinstance(items, list) else [items]:
            call = _as_call(item)
            if call and call[0] in tool_names:
                args = call[1] if isinstance(call[1], dict) else {"_unparsed": call[1]}
                calls.append(TextToolCall(call[0], args))
            elif call is None and output_tool and isinstance(item, dict) and "summary" in item:
                calls.append(TextToolCall(output_tool, item))
    return calls
