"""Values and counts as people read them: every terminal, Markdown and chat text goes through here,
so no Python repr (`{'unit': 'x'}`, `None`, `['a']`) or "1 findings" reaches a person."""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
from collections.abc import Mapping
from typing import Any

_ES_ENDINGS = ("s", "x", "z", "ch", "sh")
_NEEDS_QUOTES = re.compile(r"\s")


def plural(count: int, noun: str, many: str | None = None) -> str:
    """'1 finding', '2 findings', '1 error line', '3 entries'; `many` for irregular nouns."""
    if count == 1:
        return f"{count} {noun}"
    if many is None:
        head, _, last = noun.rpartition(" ")
        if last.endswith("y") and last[-2:-1] not in ("a", "e", "i", "o", "u"):
            last = last[:-1] + "ies"
        elif last.endswith(_ES_ENDINGS):
            last += "es"
        else:
            last += "s"
        many = f"{head} {last}" if head else last
    return f"{count} {many}"


def value(v: Any) -> str:
    """One value for a person: None as '-', booleans as the CLI takes them, lists joined."""
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, list | tuple | set | frozenset):
        return ", ".join(value(x) for x in v) or "-"
    if isinstance(v, Mapping):
        return pairs(v) or "-"
    return str(v)


def _arg(v: Any) -> str:
    if isinstance(v, Mapping):  # nested: compact JSON, unambiguous inside k=v
        text = json.dumps(v, ensure_ascii=False, separators=(",", ":"), default=str)
    else:
        text = ",".join(value(x) for x in v) if isinstance(v, list | tuple) else value(v)
    return shlex.quote(text) if not text or _NEEDS_QUOTES.search(text) else text


def pairs(params: Mapping[str, Any]) -> str:
    """Params as `unit=redis-server pid=42`, the way `wk skills run -p` takes them; unset (None) ones left out."""
    return " ".join(f"{k}={_arg(v)}" for k, v in params.items() if v is not None)


def host_port(host: str, port: int) -> str:
    """`0.0.0.0:22`, `[::]:22`: an IPv6 address in brackets, as in a URL."""
    try:
        is_v6 = ipaddress.ip_address(host).version == 6
    except ValueError:
        is_v6 = False
    return f"[{host}]:{port}" if is_v6 else f"{host}:{port}"
