"""A small server that speaks Grafana Loki's HTTP API (`/loki/api/v1/query_range`, `/labels`) and JSON.

No Loki can be installed here (Debian's `loki` is an unrelated program; no registry ships
Grafana Loki), so the LogQL client is tested against this. It understands stream selectors
with `=`, `!=` and `=~` matchers and line filters `|=` / `!=`; anything else is answered the way
Loki answers a query it cannot parse: HTTP 400 with a plain-text parse error.
"""

from __future__ import annotations

import http.server
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

SELECTOR = re.compile(r"^\{(?P<matchers>[^}]*)\}(?P<pipeline>.*)$")
MATCHER = re.compile(r'\s*(\w+)\s*(=~|!=|=)\s*"([^"]*)"\s*')
FILTER = re.compile(r'\s*(\|=|!=)\s*"([^"]*)"')


class Store:
    def __init__(self) -> None:
        self.streams: list[tuple[dict[str, str], list[tuple[int, str]]]] = []
        self.headers: list[dict[str, str]] = []  # of every request, to check what clients send

    def push(self, labels: dict[str, str], entries: list[tuple[int, str]]) -> None:
        self.streams.append((labels, entries))


def parse(query: str) -> tuple[list[tuple[str, str, str]], list[tuple[str, str]]]:
    m = SELECTOR.match(query.strip())
    if not m:
        raise ValueError("parse error at line 1, col 1: syntax error: unexpected IDENTIFIER, expecting {")
    matchers = []
    for part in filter(None, (p.strip() for p in m.group("matchers").split(","))):
        mm = MATCHER.fullmatch(part)
        if not mm:
            raise ValueError(f"parse error : syntax error: unexpected {part!r}")
        matchers.append((mm.group(1), mm.group(2), mm.group(3)))
    pipeline = m.group("pipeline").strip()
    filters = FILTER.findall(pipeline)
    if pipeline and "".join(f'{op}"{text}"' for op, text in filters).replace(" ", "") != pipeline.replace(" ", ""):
        raise ValueError(f"parse error : syntax error: unexpected {pipeline!r}")
    return matchers, filters


def run_query(store: Store, params: dict[str, str]) -> dict[str, object]:
    matchers, filters = parse(params["query"])
    start, end = int(params.get("start", 0)), int(params.get("end", 2**63))
    limit, backward = int(params.get("limit", 100)), params.get("direction", "backward") == "backward"
    picked: list[tuple[int, str, dict[str, str]]] = []
    for labels, entries in store.streams:
        ok = all(
            (labels.get(k) == v)
            if op == "="
            else (labels.get(k) != v)
            if op == "!="
            else bool(re.fullmatch(v, labels.get(k, "")))
            for k, op, v in matchers
        )
        if not ok:
            continue
        picked += [
            (ts, line, labels)
            for ts, line in entries
            if start <= ts <= end and all((text in line) if op == "|=" else (text not in line) for op, text in filters)
        ]
    # Like Loki, the limit counts entries across all streams, taken from the requested end.
    picked = sorted(picked, key=lambda e: e[0], reverse=backward)[:limit]
    streams: dict[str, dict[str, object]] = {}
    for ts, line, labels in picked:
        entry = streams.setdefault(json.dumps(labels, sort_keys=True), {"stream": labels, "values": []})
        entry["values"].append([str(ts), line])  # type: ignore[attr-defined]
    result = list(streams.values())
    return {
        "status": "success",
        "data": {
            "resultType": "streams",
            "result": result,
            "stats": {"summary": {"totalEntriesReturned": len(picked)}},
        },
    }


@contextmanager
def fake_loki(store: Store) -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            params = {k: v[0] for k, v in parse_qs(url.query).items()}
            store.headers.append(dict(self.headers))
            if url.path == "/loki/api/v1/labels":
                names = sorted({name for labels, _ in store.streams for name in labels})
                self._send(200, json.dumps({"status": "success", "data": names}).encode(), "application/json")
                return
            if url.path != "/loki/api/v1/query_range" or "query" not in params:
                self._send(404, b"404 page not found\n", "text/plain")
                return
            try:
                body = json.dumps(run_query(store, params)).encode()
            except ValueError as exc:
                self._send(400, f"{exc}\n".encode(), "text/plain; charset=utf-8")
                return
            self._send(200, body, "application/json")

        def _send(self, status: int, body: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
