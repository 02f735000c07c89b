"""The small programs fault scenarios run: `python -m watchkeeper.scenarios.programs MODE NAME [options]`.

Each sets its process name (what `top` and psutil show) to NAME and logs, with timestamps, to
`--log` like a real service would. None of them says what is wrong with it in a way a real
service would not.
"""

from __future__ import annotations

import argparse
import ctypes
import http.server
import os
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def set_name(name: str) -> None:
    # PR_SET_NAME: the kernel's process name (15 chars), what ps/top/psutil show.
    ctypes.CDLL(None).prctl(15, name.encode()[:15], 0, 0, 0)


class Log:
    def __init__(self, path: str | None) -> None:
        self.path = Path(path) if path else None
        self.lock = threading.Lock()
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def __call__(self, level: str, message: str) -> None:
        if not self.path:
            return
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        with self.lock, self.path.open("a") as fh:
            fh.write(f"{stamp} {level} {message}\n")


def hog(args: argparse.Namespace, log: Log) -> None:
    log("INFO", "resizing batch started")
    while True:
        pass


def leak(args: argparse.Namespace, log: Log) -> None:
    keep = [bytearray(os.urandom(1)) * (50 * 2**20)]
    log("INFO", "report cache warming")
    for _ in range(int(args.limit_mb / args.rate_mb * 10)):
        chunk = bytearray(int(args.rate_mb * 2**20 / 10))
        chunk[::4096] = b"x" * len(chunk[::4096])  # touch every page so it counts as RSS
        keep.append(chunk)
        time.sleep(0.1)
    time.sleep(3600)


def writer(args: argparse.Namespace, log: Log) -> None:
    target = Path(args.file)
    target.parent.mkdir(parents=True, exist_ok=True)
    line = ("DEBUG export row payload=" + "x" * 200 + "\n").encode()
    with target.open("ab") as fh:
        while True:
            try:
                fh.write(line * int(args.rate_kb * 1024 / len(line) / 10))
                fh.flush()
            except OSError:
                time.sleep(0.5)  # the disk is full: keep holding the file, like a real writer
            time.sleep(0.1)


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "svc/1.0"
    behave: Any = None

    def do_GET(self) -> None:
        status, body = self.behave(self.path)
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def serve(port: int, behave: Any, tls: tuple[str, str] | None = None) -> None:
    handler = type("H", (Handler,), {"behave": staticmethod(behave)})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*tls)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


def api(args: argparse.Namespace, log: Log) -> None:
    """An API that turns into an error burst once its config changes (after --break-after seconds)."""
    started = time.monotonic()
    announced = [False]

    def behave(path: str) -> tuple[int, str]:
        broken = args.break_after is not None and time.monotonic() - started > args.break_after
        if broken and not announced[0]:
            announced[0] = True
            log("INFO", f"config reloaded from /etc/{args.name}/{args.name}.yaml (revision 42)")
        if broken:
            log(
                "ERROR",
                f"KeyError: 'currency' while handling GET {path}: Traceback (most recent call last) in charge_handler",
            )
            return 500, "internal error"
        log("INFO", f"GET {path} 200 {int((time.monotonic() * 1000) % 40) + 3}ms")
        return 200, "ok"

    serve(args.port, behave)


def app(args: argparse.Namespace, log: Log) -> None:
    """An app server with a fixed worker pool; each request holds a worker for --hold seconds."""
    pool = threading.BoundedSemaphore(args.workers)

    def behave(path: str) -> tuple[int, str]:
        if not pool.acquire(blocking=False):
            log("ERROR", f"worker pool exhausted ({args.workers}/{args.workers} busy), rejecting GET {path}")
            return 503, "busy"
        try:
            time.sleep(args.hold)
            log("INFO", f"GET {path} 200")
            return 200, "ok"
        finally:
            pool.release()

    serve(args.port, behave)


def proxy(args: argparse.Namespace, log: Log) -> None:
    """A web tier: forwards to --upstream and answers 502/504 when the upstream fails, logging like nginx."""

    def behave(path: str) -> tuple[int, str]:
        target = f"{args.upstream}{path}"
        t0 = time.monotonic()
        try:
            with urllib.request.urlopen(target, timeout=args.timeout) as resp:
                log("INFO", f'"GET {path}" {resp.status} upstream_time={time.monotonic() - t0:.3f}')
                return int(resp.status), resp.read().decode(errors="replace")
        except urllib.error.HTTPError as exc:
            log(
                "ERROR",
                f"upstream returned {exc.code} while reading response header from upstream, request: "
                f'"GET {path}", upstream: "{target}"',
            )
            return 502, "bad gateway"
        except (TimeoutError, urllib.error.URLError) as exc:
            log(
                "ERROR",
                f'upstream timed out ({exc}) while calling upstream, request: "GET {path}", upstream: "{target}"',
            )
            return 504, "gateway timeout"

    serve(args.port, behave)


def slow(args: argparse.Namespace, log: Log) -> None:
    def behave(path: str) -> tuple[int, str]:
        time.sleep(args.hold)
        log("INFO", f"GET {path} 200")
        return 200, "42.00"

    serve(args.port, behave)


def tls(args: argparse.Namespace, log: Log) -> None:
    def behave(path: str) -> tuple[int, str]:
        log("INFO", f"GET {path} 200")
        return 200, "portal"

    serve(args.port, behave, (args.cert, args.key))


def load(args: argparse.Namespace, log: Log) -> None:
    """Clients: --concurrency threads requesting --url in a loop (errors are the point, not failures)."""

    def client() -> None:
        while True:
            try:
                with urllib.request.urlopen(args.url, timeout=10) as resp:
                    resp.read()
            except (OSError, urllib.error.URLError):
                time.sleep(0.05)

    for _ in range(args.concurrency):
        threading.Thread(target=client, daemon=True).start()
    time.sleep(3600)


MODES = {f.__name__: f for f in (hog, leak, writer, api, app, proxy, slow, tls, load)}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="programs")
    parser.add_argument("mode", choices=sorted(MODES))
    parser.add_argument("name")
    parser.add_argument("--log")
    parser.add_argument("--port", type=int)
    parser.add_argument("--upstream")
    parser.add_argument("--url")
    parser.add_argument("--file")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--hold", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--rate-mb", type=float, default=20.0)
    parser.add_argument("--limit-mb", type=float, default=1500.0)
    parser.add_argument("--rate-kb", type=float, default=2048.0)
    parser.add_argument("--break-after", type=float)
    args = parser.parse_args(argv)
    set_name(args.name)
    MODES[args.mode](args, Log(args.log))


if __name__ == "__main__":
    main(sys.argv[1:])
