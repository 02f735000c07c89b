"""Cap a result's size while keeping it valid, structured JSON with a visible cut marker."""

from __future__ import annotations

import json
from typing import Any

from watchkeeper.humanize import plural


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, default=str).encode())


def marker(dropped: int, unit: str, limit: int) -> str:
    return f"[... {plural(dropped, unit)} cut by watchkeeper: output cap {limit} bytes ...]"


def _largest(value: Any, path: tuple[Any, ...] = ()) -> tuple[int, tuple[Any, ...]]:
    """(size, path) of the largest string, or list of several items, inside `value`."""
    candidate = isinstance(value, str) or (isinstance(value, list) and len(value) > 1)
    best = (_size(value), path) if candidate else (0, path)
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else []
    for k, v in children:
        if isinstance(v, dict | list | str):
            best = max(best, _largest(v, (*path, k)), key=lambda t: t[0])
    return best


def cap_output(value: Any, limit: int) -> tuple[Any, bool]:
    """Return `value` cut to at most `limit` JSON bytes (halving its largest parts) and whether it was cut."""
    total = _size(value)
    if total <= limit:
        return value, False
    value = json.loads(json.dumps(value, default=str))  # a private copy we may edit
    for _ in range(200):
        if _size(value) <= limit:
            return value, True
        size, path = _largest(value)
        if size == 0:
            break
        parent, leaf = None, value
        for step in path:
            parent, leaf = leaf, leaf[step]
        keep = len(leaf) // 2
        cut: Any
        if isinstance(leaf, str):
            cut = leaf[:keep] + marker(len(leaf) - keep, "char", limit)
        else:
            cut = [*leaf[:keep], marker(len(leaf) - keep, "item", limit)]
        if parent is None:
            value = cut
        else:
            parent[path[-1]] = cut
    # Pathological shapes (deep nesting of tiny values): fall back to a note of what was cut.
    return {"truncated": marker(total, "byte", limit)}, True
