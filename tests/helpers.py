"""Real things for tests to run against: certificates, HTTP(S) servers, busy processes."""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import Engine, event


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = 503 if self.path.startswith("/down") else 200
        body = b'{"status":"ok"}' if status == 200 else b"service unavailable"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve(handler: type[http.server.BaseHTTPRequestHandler], cert: tuple[Path, Path] | None = None) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 with `handler` (HTTPS with `cert`); yields its base URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    scheme = "http"
    if cert is not None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert[0]), str(cert[1]))
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def http_server(cert: tuple[Path, Path] | None = None) -> contextlib.AbstractContextManager[str]:
    """The standard test server: 200 JSON, and 503 under /down."""
    return serve(_Handler, cert)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Listener:
    port: int
    connections: int = 0
    closed: int = 0  # connections the peer closed (all they sent has been read)
    received: bytearray = field(default_factory=bytearray)


@contextlib.contextmanager
def silent_listener() -> Iterator[Listener]:
    """A TCP port on 127.0.0.1 that accepts connections, keeps what they send and never answers:
    a backend that hangs, or a target that must receive nothing."""
    server = socket.create_server(("127.0.0.1", 0))
    state = Listener(server.getsockname()[1])
    conns: list[socket.socket] = []

    def read(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while chunk := conn.recv(65536):
                state.received += chunk
            state.closed += 1

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = server.accept()
                conns.append(conn)
                state.connections += 1
                threading.Thread(target=read, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield state
    finally:
        for sock in (server, *conns):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes the threads blocked on it
            sock.close()


@contextlib.contextmanager
def unroutable_port() -> Iterator[int]:
    """A port on 127.0.0.1 where connecting hangs, like an address that does not route (every
    outside address answers here through the sandbox's proxy): its accept queue is full, so the
    kernel drops new SYNs and the client waits for its own timeout."""
    server = socket.create_server(("127.0.0.1", 0), backlog=0)
    port = int(server.getsockname()[1])
    fillers = [socket.socket() for _ in range(3)]
    for sock in fillers:
        sock.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            sock.connect(("127.0.0.1", port))
    try:
        yield port
    finally:
        for sock in (*fillers, server):
            sock.close()


@contextlib.contextmanager
def cpu_burner() -> Iterator[subprocess.Popen[bytes]]:
    """A real child process spinning one core until stopped.

    On a busy 2-core host a plain spinner gets well under a core and a test that needs "a process
    pinning a core" turns into a coin toss. As root it runs at high priority in a session of its
    own: with the kernel's autogroup scheduling, CPU is shared between sessions first, so the
    session's own nice value is the one that counts.
    """
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
    with contextlib.suppress(OSError):
        Path(f"/proc/{proc.pid}/autogroup").write_text("-15")
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, proc.pid, -15)
    try:
        # On a core and spinning before anyone samples: it has used CPU time of its own.
        spun = wait_for(lambda: sum(psutil.Process(proc.pid).cpu_times()[:2]) > 0.3, timeout=30, interval=0.05)
        assert spun, "the CPU burner never got a core"
        yield proc
    finally:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def ready_process(argv: list[str], executable: str | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """A real process started with `argv` that prints 'ready' when set up, then idles until killed."""
    proc = subprocess.Popen(argv, executable=executable, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        yield proc
    finally:
        proc.kill()
        proc.wait()


def stop_manager(proc: subprocess.Popen[str]) -> None:
    """SIGTERM a `wk serve` still running (a kill -9 would leave its worker process finishing its work
    alone), and SIGKILL it if it has not stopped within 30 s."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(30)


def python_child(setup: str, *args: str) -> contextlib.AbstractContextManager[subprocess.Popen[bytes]]:
    """A Python child that runs `setup`, says it is ready, then idles until killed; `args` follow `-c CODE`."""
    code = f"{setup}\nimport time\nprint('ready', flush=True)\ntime.sleep(120)"
    return ready_process([sys.executable, "-c", code, *args])


LEDGER_COLUMNS = {
    "id", "session_id", "tool_name", "args_json", "result_json", "error", "status", "edge_id",
    "started_at", "finished_at", "duration_ms", "caller_user_id", "caller_role", "approved_by", "proposed_by",
}  # fmt: skip


def wait_for(predicate: object, timeout: float = 10.0, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return True
        time.sleep(interval)
    return False


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def full_disk(engine: Engine) -> dict[str, int]:
    """SQLite's own 'database or disk is full' (SQLITE_FULL), by capping the page count where it stands.

    Raise `limit["pages"]` and dispose the engine to give the space back.
    """
    with engine.connect() as conn:
        pages = int(conn.exec_driver_sql("PRAGMA page_count").scalar() or 0)
    limit = {"pages": pages}

    @event.listens_for(engine, "connect")
    def _cap(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute(f"PRAGMA max_page_count = {limit['pages']}")

    engine.dispose()
    return limit


WK = str(Path(sys.executable).with_name("wk"))


class Wk:
    """Runs the real `wk` binary with its own data directory and config file."""

    def __init__(self, tmp_path: Path, log_dir: Path, extra_config: str = "") -> None:
        self.data = tmp_path / "cli-data"
        self.config = tmp_path / "config.toml"
        self.config.write_text(f'[policy]\nread_allowlist = ["{log_dir}"]\n{extra_config}')
        self.env = {**os.environ, "WK_DATA_DIR": str(self.data), "WK_CONFIG": str(self.config)}

    def __call__(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [WK, *args], env=self.env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )

    def json(self, *args: str) -> Any:
        done = self(*args, "--json")
        return json.loads(done.stdout)
