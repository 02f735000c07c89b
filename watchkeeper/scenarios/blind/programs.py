"""The blind set's programs: `python -m watchkeeper.scenarios.blind.programs MODE NAME [options]`.

Like `watchkeeper.scenarios.programs`, each sets its process name to NAME and logs with timestamps
to `--log` as a real service would; none says what is wrong with it in words a real one would not.
Programs that fork reap their children on SIGTERM (the World sends it first), so nothing is left.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import queue
import resource
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from watchkeeper.scenarios.programs import Log, serve, set_name

ME = "watchkeeper.scenarios.blind.programs"


def _reap_on_term(children: list[int]) -> None:
    def stop(*_: object) -> None:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            while True:
                os.waitpid(-1, 0)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)


def burn(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def forker(args: argparse.Namespace, log: Log) -> None:
    """A batch runner that keeps --concurrency short-lived children busy (each burns --hold s, then exits)."""
    children: list[int] = []
    _reap_on_term(children)
    log("INFO", "thumbnail batch started")
    n = 0
    while True:
        while len(children) < args.concurrency:
            pid = os.fork()
            if pid == 0:
                set_name(args.child)
                burn(args.hold)
                os._exit(0)
            children.append(pid)
            n += 1
        pid, _ = os.wait()
        children.remove(pid)
        if n % 50 == 0:
            log("INFO", f"thumbnails done: {n}")


def duty(args: argparse.Namespace, log: Log) -> None:
    """A worker busy --duty of the time, in 100 ms periods (many of them look alike)."""
    log("INFO", "worker ready")
    while True:
        burn(0.1 * args.duty)
        time.sleep(0.1 * (1 - args.duty))


def hold(args: argparse.Namespace, log: Log) -> None:
    """A process holding --limit-mb of resident memory, steady."""
    keep = bytearray(int(args.limit_mb * 2**20))
    keep[::4096] = b"x" * len(keep[::4096])
    log("INFO", f"cache loaded ({args.limit_mb:.0f} MiB)")
    while True:
        time.sleep(1)


def ghost(args: argparse.Namespace, log: Log) -> None:
    """Writes a spool file, which someone then deletes; the writer keeps it open and keeps writing."""
    target = Path(args.file)
    target.parent.mkdir(parents=True, exist_ok=True)
    fh = target.open("ab")
    chunk = b"\0" * 2**20
    for _ in range(int(args.limit_mb)):
        fh.write(chunk)
    fh.flush()
    target.unlink()  # logrotate without copytruncate, or an operator's rm
    log("INFO", "audit spool rotated")
    while True:
        with contextlib.suppress(OSError):
            fh.write(chunk[: int(args.rate_kb * 1024 / 10)])
            fh.flush()
        time.sleep(0.1)


def sessions(args: argparse.Namespace, log: Log) -> None:
    """Writes a small session file per request, never expiring them."""
    base = Path(args.file)
    base.mkdir(parents=True, exist_ok=True)
    n, failed = 0, 0
    while True:
        try:
            (base / f"sess_{os.getpid()}_{n:08d}").write_bytes(b"user=1;ttl=3600\n")
            n += 1
            if n % 200 == 0:
                time.sleep(0.05)
        except OSError as exc:
            failed += 1
            if failed % 20 == 1:
                log("ERROR", f"could not store {base.name} file: {exc}")
            time.sleep(0.1)


def fdleak(args: argparse.Namespace, log: Log) -> None:
    """A broker with RLIMIT_NOFILE --limit that opens a segment per message and forgets to close it."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (args.limit, args.limit))
    data = Path(args.file)
    data.mkdir(parents=True, exist_ok=True)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(64)
    log("INFO", f"broker listening on 127.0.0.1:{args.port}")
    leaked: list[object] = []

    def leak() -> None:
        n = 0
        while True:
            try:
                leaked.append((data / f"segment-{n % 8}.dat").open("ab"))
                n += 1
            except OSError as exc:
                log("ERROR", f"failed to open segment for topic orders: {exc}")
                time.sleep(0.5)
            time.sleep(0.01)

    threading.Thread(target=leak, daemon=True).start()
    while True:
        try:
            conn, _ = listener.accept()
        except OSError as exc:
            log("ERROR", f"accept() failed: {exc}")
            time.sleep(0.2)
            continue
        with conn:
            conn.recv(1024)
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")


def zombies(args: argparse.Namespace, log: Log) -> None:
    """A scheduler that forks a job every 20 ms and never waits for it."""
    children: list[int] = []
    _reap_on_term(children)
    log("INFO", "scheduler started")
    for i in range(args.concurrency):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        children.append(pid)
        if i % 50 == 0:
            log("INFO", f"dispatched job {i}")
        time.sleep(0.02)
    while True:
        time.sleep(1)


def threads(args: argparse.Namespace, log: Log) -> None:
    """A poller that starts a thread per feed and per retry, and none of them ever ends."""
    log("INFO", "feed poller started")
    for i in range(args.concurrency):
        threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
        if i % 100 == 0:
            log("WARN", f"feed fetch slow, retrying in a new thread (feeds in flight: {i})")
        time.sleep(0.002)
    while True:
        time.sleep(1)


def supervise(args: argparse.Namespace, log: Log) -> None:
    """A respawning shell loop (`while true; do prog; sleep 1; done`): runs --child-mode as --child."""
    children: list[int] = []
    _reap_on_term(children)
    while True:
        argv = [sys.executable, "-m", ME, args.child_mode, args.child, "--log", args.child_log, "--file", args.file]
        if args.port:
            argv += ["--port", str(args.port)]
        proc = subprocess.Popen(argv)
        children[:] = [proc.pid]
        proc.wait()
        time.sleep(args.hold)


def crasher(args: argparse.Namespace, log: Log) -> None:
    """Starts, reads its config, and dies on a missing key."""
    log("INFO", f"starting consumer (pid {os.getpid()}), config {args.file}")
    time.sleep(0.3)
    log("ERROR", "Traceback (most recent call last):")
    log("ERROR", '  File "consumer/main.py", line 41, in connect')
    log("ERROR", "KeyError: 'broker_url'")
    log("INFO", "consumer exited with status 1")
    sys.exit(1)


def bindfail(args: argparse.Namespace, log: Log) -> None:
    """Starts and tries to bind its port."""
    log("INFO", f"gateway starting (pid {os.getpid()})")
    try:
        with socket.socket() as s:
            s.bind(("127.0.0.1", args.port))
    except OSError as exc:
        log("ERROR", f"failed to bind 127.0.0.1:{args.port}: {exc}")
        log("ERROR", "gateway exited with status 1")
        sys.exit(1)
    time.sleep(3600)


def devserver(args: argparse.Namespace, log: Log) -> None:
    """Someone's `python3 -m http.server`: 404 for everything an app would serve."""
    serve(args.port, lambda path: (404, "File not found"))


def caller(args: argparse.Namespace, log: Log) -> None:
    """An API that calls --upstream for every request: 503 when it cannot connect, 504 when it is slow."""

    def behave(path: str) -> tuple[int, str]:
        target = f"{args.upstream}{path}"
        t0 = time.monotonic()
        try:
            with urllib.request.urlopen(target, timeout=args.timeout) as resp:
                log("INFO", f"GET {path} 200 {1000 * (time.monotonic() - t0):.0f}ms")
                return 200, resp.read().decode(errors="replace")
        except (TimeoutError, urllib.error.URLError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError) or "timed out" in str(reason):
                log("ERROR", f"GET {path} 504: request to {target} timed out after {args.timeout:.1f}s")
                return 504, "gateway timeout"
            log("ERROR", f"GET {path} 503: cannot connect to {target}: {reason}")
            return 503, "service unavailable"

    serve(args.port, behave)


def mailer(args: argparse.Namespace, log: Log) -> None:
    """A notifier sending mail through --upstream (host:port); serves /metrics on --port."""
    host, _, port = args.upstream.rpartition(":")

    def send() -> None:
        n = 0
        while True:
            n += 1
            try:
                socket.create_connection((host, int(port)), timeout=2).close()
                log("INFO", f"sent notification {n}")
            except OSError as exc:
                log("ERROR", f"sending notification {n} failed: could not connect to {host}:{port}: {exc}")
            time.sleep(0.3)

    threading.Thread(target=send, daemon=True).start()
    serve(args.port, lambda path: (200, "notifier_up 1\n"))


def configured(args: argparse.Namespace, log: Log) -> None:
    """An API that reloads its YAML config when it changes and parses request_timeout_ms as an int."""
    config = Path(args.file)
    state = {"mtime": 0.0, "timeout": "250"}

    def behave(path: str) -> tuple[int, str]:
        mtime = config.stat().st_mtime
        if mtime != state["mtime"]:
            state["mtime"] = mtime
            for line in config.read_text().splitlines():
                if line.startswith("request_timeout_ms:"):
                    state["timeout"] = line.split(":", 1)[1].strip()
            log("INFO", f"config reloaded from {config}")
        try:
            timeout = int(str(state["timeout"]))
        except ValueError as exc:
            log("ERROR", f"GET {path} 500: ValueError: {exc} (request_timeout_ms)")
            return 500, "internal error"
        log("INFO", f"GET {path} 200 {timeout // 10}ms")
        return 200, "ok"

    serve(args.port, behave)


def buggy(args: argparse.Namespace, log: Log) -> None:
    """A search API whose new release fails on queries with no results."""
    log("INFO", "starting search 2.8.0")
    n = [0]

    def behave(path: str) -> tuple[int, str]:
        n[0] += 1
        if n[0] % 2:
            log("ERROR", f"unhandled exception on GET {path}: IndexError: list index out of range in rank_results")
            return 500, "internal error"
        log("INFO", f"GET {path} 200 12ms")
        return 200, "[]"

    serve(args.port, behave)


def unprivileged(args: argparse.Namespace, log: Log) -> None:
    """A reporting API running as nobody that reads its config on every request."""
    import encodings.idna  # noqa: F401  (the interpreter's own files may be unreadable once unprivileged)

    socket.getfqdn("127.0.0.1")
    os.setgid(65534)
    os.setuid(65534)
    config = Path(args.file)

    def behave(path: str) -> tuple[int, str]:
        try:
            config.read_text()
        except OSError as exc:
            log("ERROR", f"GET {path} 500: cannot load report template config: {exc}")
            return 500, "internal error"
        log("INFO", f"GET {path} 200")
        return 200, "ok"

    serve(args.port, behave)


def holdlock(args: argparse.Namespace, log: Log) -> None:
    """A maintenance job that takes an exclusive lock on --file and then hangs on its work."""
    import fcntl

    with Path(args.file).open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        log("INFO", f"vacuum started, lock {args.file} taken")
        while True:
            time.sleep(1)


def locker(args: argparse.Namespace, log: Log) -> None:
    """A periodic job that needs the lock on --file and gives up when someone holds it."""
    import fcntl

    with Path(args.file).open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            log("ERROR", f"could not acquire lock {args.file}: {exc}; another run is in progress, giving up")
            sys.exit(75)
        log("INFO", "report generated")


def kvcache(args: argparse.Namespace, log: Log) -> None:
    """A Redis-like cache at maxmemory with noeviction: PING works, every write is refused."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(64)

    def client(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(4096):
                if b"PING" in data.upper():
                    conn.sendall(b"+PONG\r\n")
                else:
                    conn.sendall(b"-OOM command not allowed when used memory > 'maxmemory'.\r\n")

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=client, args=(conn,), daemon=True).start()


def cartapi(args: argparse.Namespace, log: Log) -> None:
    """A cart API that stores every cart in the cache at --upstream (host:port)."""
    host, _, port = args.upstream.rpartition(":")

    def behave(path: str) -> tuple[int, str]:
        try:
            with socket.create_connection((host, int(port)), timeout=1) as conn:
                conn.sendall(b"*3\r\n$3\r\nSET\r\n$4\r\ncart\r\n$2\r\n{}\r\n")
                reply = conn.recv(4096).decode(errors="replace").strip()
        except OSError as exc:
            reply = f"-ERR {exc}"
        if reply.startswith("-"):
            log("ERROR", f"GET {path} 500: cache write failed: {reply[1:]} ({host}:{port})")
            return 500, "internal error"
        log("INFO", f"GET {path} 200")
        return 200, "ok"

    serve(args.port, behave)


def syscalls(args: argparse.Namespace, log: Log) -> None:
    """A shipper that writes its buffer one byte per write(2): all system time."""
    log("INFO", "shipping to /dev/null sink")
    fd = os.open(os.devnull, os.O_WRONLY)
    while True:
        os.write(fd, b"x")


def pgdb(args: argparse.Namespace, log: Log) -> None:
    """A database speaking just enough: --limit connections at most, then 'too many clients'."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(128)
    live: set[socket.socket] = set()
    lock = threading.Lock()

    def session(conn: socket.socket) -> None:
        with contextlib.suppress(OSError):
            conn.sendall(b"R ready\n")
            while conn.recv(1024):
                conn.sendall(b"C SELECT 1\n")
        with lock:
            live.discard(conn)
        conn.close()

    while True:
        conn, _ = listener.accept()
        with lock:
            full = len(live) >= args.limit
            if not full:
                live.add(conn)
        if full:
            log("FATAL", "sorry, too many clients already")
            with contextlib.suppress(OSError):
                conn.sendall(b"E FATAL: sorry, too many clients already\n")
            conn.close()
            continue
        threading.Thread(target=session, args=(conn,), daemon=True).start()


def pool_hog(args: argparse.Namespace, log: Log) -> None:
    """A batch job that opens --concurrency connections to --upstream and leaves them idle."""
    host, _, port = args.upstream.rpartition(":")
    held = []
    for _ in range(args.concurrency):
        conn = socket.create_connection((host, int(port)))
        conn.recv(64)
        held.append(conn)
    log("INFO", f"opened {len(held)} connections, waiting for the export window")
    while True:
        time.sleep(1)


def dbapi(args: argparse.Namespace, log: Log) -> None:
    """An API that connects to the database at --upstream (host:port) for every request."""
    host, _, port = args.upstream.rpartition(":")

    def behave(path: str) -> tuple[int, str]:
        try:
            with socket.create_connection((host, int(port)), timeout=1) as conn:
                reply = conn.recv(1024).decode(errors="replace").strip()
        except OSError as exc:
            reply = f"E {exc}"
        if reply.startswith("E"):
            log(
                "ERROR",
                f'GET {path} 500: OperationalError: connection to server at "{host}", port {port} failed: {reply[2:]}',
            )
            return 500, "internal error"
        log("INFO", f"GET {path} 200")
        return 200, "ok"

    serve(args.port, behave)


def walsync(args: argparse.Namespace, log: Log) -> None:
    """A ledger that appends every entry to its write-ahead log at --file and fsyncs it before acking."""
    wal = Path(args.file)
    wal.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(wal, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    log("INFO", f"ledger ready, wal {wal}")
    entry = b"E" * 511 + b"\n"
    n = 0
    while True:
        t0 = time.monotonic()
        os.write(fd, entry)
        os.fsync(fd)
        took = time.monotonic() - t0
        n += 1
        if took > 0.1:
            log("WARN", f"wal: sync duration of {took:.3f}s, expected less than 100ms (entry {n})")
        if n % 100 == 0:
            log("INFO", f"committed {n} entries")


def quotefeed(args: argparse.Namespace, log: Log) -> None:
    """A quote feed on every address's --port: one request line in, one quote out, until the client hangs up."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("0.0.0.0", args.port))
    listener.listen(256)
    log("INFO", f"quote feed listening on 0.0.0.0:{args.port}")

    def client(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            while conn.recv(1024):
                conn.sendall(b"QUOTE EURUSD 1.08421 1.08424\n")

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=client, args=(conn,), daemon=True).start()


def quoter(args: argparse.Namespace, log: Log) -> None:
    """A price sync that opens a new connection to --upstream for every quote and closes it itself."""
    host, _, port = args.upstream.rpartition(":")
    n, failed = 0, 0
    while True:
        try:
            with socket.create_connection((host, int(port)), timeout=2) as conn:
                conn.sendall(b"GET EURUSD\n")
                conn.recv(1024)
            n += 1
            if n % 100 == 0:
                log("INFO", f"synced {n} quotes")
        except OSError as exc:
            failed += 1
            if failed % 100 == 1:
                log("ERROR", f"quote fetch from {host}:{port} failed: {exc} (failures so far: {failed})")
            time.sleep(0.01)


def subscriber(args: argparse.Namespace, log: Log) -> None:
    """A risk engine that keeps one connection to --upstream open and polls a quote on it every 0.5 s."""
    host, _, port = args.upstream.rpartition(":")
    conn = socket.create_connection((host, int(port)), timeout=5)
    log("INFO", f"connected to quote feed {host}:{port}")
    n = 0
    while True:
        conn.sendall(b"GET EURUSD\n")
        conn.recv(1024)
        n += 1
        if n % 20 == 0:
            log("INFO", f"risk snapshot {n} updated")
        time.sleep(0.5)


def pooled(args: argparse.Namespace, log: Log) -> None:
    """An invoicing API with a client-side pool of --limit connections to the database at --upstream
    (checkout waits --timeout s, no overflow); /export keeps its connection while it renders (--hold s)."""
    host, _, port = args.upstream.rpartition(":")
    pool: queue.Queue[socket.socket] = queue.Queue()
    for _ in range(args.limit):
        conn = socket.create_connection((host, int(port)), timeout=5)
        conn.recv(64)
        pool.put(conn)
    log("INFO", f"database pool ready: size={args.limit} max_overflow=0 pool_timeout={args.timeout:.0f}")

    def behave(path: str) -> tuple[int, str]:
        t0 = time.monotonic()
        try:
            conn = pool.get(timeout=args.timeout)
        except queue.Empty:
            log(
                "ERROR",
                f"GET {path} 500: sqlalchemy.exc.TimeoutError: QueuePool limit of size {args.limit} overflow 0 "
                f"reached, connection timed out, timeout {args.timeout:.2f} "
                "(Background on this error at: https://sqlalche.me/e/20/3o7r)",
            )
            return 500, "internal error"
        try:
            conn.sendall(b"Q SELECT * FROM invoices WHERE id = $1\n")
            conn.recv(1024)
            if path.startswith("/export"):
                log("INFO", f"GET {path}: streaming rows into the monthly report")
                time.sleep(args.hold)
            log("INFO", f"GET {path} 200 {1000 * (time.monotonic() - t0):.0f}ms")
            return 200, "ok"
        finally:
            pool.put(conn)

    serve(args.port, behave)


class _Consumer:
    def __init__(self, conn: socket.socket) -> None:
        self.conn, self.unacked = conn, 0


def minimq(args: argparse.Namespace, log: Log) -> None:
    """A message broker: queues of at most --limit ready messages (overflow reject-publish: a publish to a
    full queue is nacked), deliveries to consumers up to a prefetch of 10 unacked."""
    ready: dict[str, collections.deque[bytes]] = collections.defaultdict(collections.deque)
    consumers: dict[str, list[_Consumer]] = collections.defaultdict(list)
    cond = threading.Condition()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(64)
    log("INFO", f"started TCP listener on 127.0.0.1:{args.port}")

    def dispatch() -> None:
        tag = 0
        while True:
            with cond:
                cond.wait(0.2)
                for name, subs in consumers.items():
                    for sub in subs:
                        while ready[name] and sub.unacked < 10:
                            tag += 1
                            with contextlib.suppress(OSError):
                                sub.conn.sendall(b"DELIVER %d " % tag + ready[name].popleft() + b"\n")
                            sub.unacked += 1

    def session(conn: socket.socket, peer: tuple[str, int]) -> None:
        who = f"<0.{peer[1]}.0> ({peer[0]}:{peer[1]} -> 127.0.0.1:{args.port})"
        log("INFO", f"accepting AMQP connection {who}")
        log("INFO", f"connection {who}: user 'app' authenticated and granted access to vhost '/'")
        sub = _Consumer(conn)
        with conn, contextlib.suppress(OSError):
            for line in conn.makefile("rb"):
                verb, _, rest = line.strip().partition(b" ")
                with cond:
                    if verb == b"PUBLISH":
                        name, _, body = rest.partition(b" ")
                        full = len(ready[name.decode()]) >= args.limit
                        if not full:
                            ready[name.decode()].append(body)
                            cond.notify()
                        conn.sendall(b"NACK\n" if full else b"ACK\n")
                    elif verb == b"CONSUME":
                        consumers[rest.decode()].append(sub)
                        cond.notify()
                    elif verb == b"ACK":
                        sub.unacked -= 1
                        cond.notify()
        log("WARN", f"closing AMQP connection {who}: client unexpectedly closed TCP connection")

    threading.Thread(target=dispatch, daemon=True).start()
    while True:
        conn, peer = listener.accept()
        threading.Thread(target=session, args=(conn, peer), daemon=True).start()


def producer(args: argparse.Namespace, log: Log) -> None:
    """A signup API that publishes an audit event and a welcome mail per signup to the broker at --upstream."""
    host, _, port = args.upstream.rpartition(":")
    conn = socket.create_connection((host, int(port)), timeout=5)
    replies = conn.makefile("rb")
    lock = threading.Lock()
    log("INFO", f"connected to broker amqp://{host}:{port}/ (confirms on)")

    def publish(queue_name: str, body: str) -> bool:
        with lock:
            conn.sendall(f"PUBLISH {queue_name} {body}\n".encode())
            return replies.readline().strip() == b"ACK"

    def behave(path: str) -> tuple[int, str]:
        user = f"u{time.monotonic_ns() % 10**9}"
        publish("audit_events", f"signup:{user}")
        if not publish("welcome_mail", f"to:{user}"):
            log(
                "ERROR",
                f"GET {path} 503: publish to queue 'welcome_mail' failed: pika.exceptions.NackError: "
                f"1 message(s) NACKed (queue arguments: x-max-length={args.limit}, x-overflow=reject-publish)",
            )
            return 503, "service unavailable"
        log("INFO", f"GET {path} 201 user={user}")
        return 201, "created"

    serve(args.port, behave)


def consumer(args: argparse.Namespace, log: Log) -> None:
    """A mail sender consuming --file (a queue name) from the broker at --upstream; every --hold s
    (0: never) a second thread reloads the mail templates, taking the two locks in the other order."""
    host, _, port = args.upstream.rpartition(":")
    conn = socket.create_connection((host, int(port)), timeout=5)
    conn.sendall(f"CONSUME {args.file}\n".encode())
    conn.settimeout(None)
    log("INFO", f"consuming from queue '{args.file}' on amqp://{host}:{port}/ (prefetch 10)")
    transport, templates = threading.Lock(), threading.Lock()

    def reload_templates() -> None:
        while True:
            time.sleep(args.hold)
            with templates:
                log("INFO", "reloading mail templates")
                time.sleep(0.2)
                with transport:
                    pass

    if args.hold:
        threading.Thread(target=reload_templates, daemon=True).start()
    n = 0
    for line in conn.makefile("rb"):
        tag = line.split()[1]
        with transport, templates:
            n += 1
        conn.sendall(b"ACK " + tag + b"\n")
        if n % 200 == 0:
            log("INFO", f"delivered {n} messages from '{args.file}'")


def tailer(args: argparse.Namespace, log: Log) -> None:
    """A log shipper (LimitNOFILE=--limit) that reopens each file under --file on every scan and never
    closes the handle it had: its descriptors grow by the number of files every scan, up to --concurrency."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    limit = args.limit if hard == resource.RLIM_INFINITY else min(args.limit, hard)  # as high as allowed
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))
    files = sorted(Path(args.file).glob("*.log"))
    log("INFO", f"tailing {len(files)} files under {args.file}")
    held: list[int] = []
    scans = 0
    while True:
        for path in files:
            if len(held) < min(args.concurrency, limit - 64):
                held.append(os.open(path, os.O_RDONLY))
        scans += 1
        if scans % 200 == 0:
            log("INFO", f"shipped batch {scans // 200} ({len(files)} files)")
        time.sleep(args.hold)


def _resp(*words: str) -> bytes:
    """A command in Redis's wire protocol (RESP)."""
    out = [f"*{len(words)}\r\n".encode()]
    for word in words:
        data = word.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def sessionapi(args: argparse.Namespace, log: Log) -> None:
    """A login API keeping its sessions in the Redis at --upstream (host:port): a SET per login, a GET per page."""
    host, _, port = args.upstream.rpartition(":")
    log("INFO", f"session store redis://{host}:{port}/0, session ttl 3600s")

    def command(*words: str) -> str:
        with socket.create_connection((host, int(port)), timeout=2) as conn:
            conn.sendall(_resp(*words))
            return conn.recv(4096).decode(errors="replace").strip()

    def behave(path: str) -> tuple[int, str]:
        t0 = time.monotonic()
        sid = os.urandom(12).hex()
        try:
            if path.startswith("/login"):
                reply = command("SET", f"session:{sid}", '{"user_id": 4211, "roles": ["customer"]}', "EX", "3600")
            else:
                reply = command("GET", f"session:{sid}")
        except OSError as exc:
            log("ERROR", f"GET {path} 500: redis.exceptions.ConnectionError: Error connecting to {host}:{port}. {exc}.")
            return 500, "internal error"
        if reply.startswith("-"):
            log("ERROR", f"GET {path} 500: redis.exceptions.ResponseError: {reply[1:]}")
            return 500, "internal error"
        log("INFO", f"GET {path} 200 {1000 * (time.monotonic() - t0):.0f}ms")
        return 200, "ok"

    serve(args.port, behave)


def bookings(args: argparse.Namespace, log: Log) -> None:
    """A booking API on the SQLite database at --file: every booking is an INSERT in its own transaction
    (Python's default busy timeout of 5 s), every listing a SELECT."""
    import sqlite3

    log("INFO", f"database sqlite:///{args.file} (journal_mode=delete)")

    def behave(path: str) -> tuple[int, str]:
        t0 = time.monotonic()
        try:
            with contextlib.closing(sqlite3.connect(args.file, timeout=args.timeout)) as db, db:
                if path.startswith("/book"):
                    db.execute(
                        "INSERT INTO bookings (room, guest, price, created) VALUES (?, ?, ?, datetime('now'))",
                        (int(time.monotonic_ns() % 300), f"guest-{os.getpid()}", 129.0),
                    )
                else:
                    db.execute("SELECT count(*) FROM bookings WHERE created > datetime('now', '-1 day')").fetchone()
        except sqlite3.Error as exc:
            took = time.monotonic() - t0
            log("ERROR", f"GET {path} 500 {1000 * took:.0f}ms: sqlite3.{exc.__class__.__name__}: {exc}")
            return 500, "internal error"
        log("INFO", f"GET {path} 200 {1000 * (time.monotonic() - t0):.0f}ms")
        return 200, "ok"

    serve(args.port, behave)


def reprice(args: argparse.Namespace, log: Log) -> None:
    """A one-off repricing script: one transaction over every booking, a row at a time, each row priced by a
    slow rule engine (--hold s a row); its write lock on the database at --file is held until it commits."""
    import sqlite3

    db = sqlite3.connect(args.file, isolation_level=None)
    rows = [r[0] for r in db.execute("SELECT id FROM bookings ORDER BY id")]
    log("INFO", f"repricing {len(rows)} bookings for season 2026-12 (dry_run=False, batch=all)")
    db.execute("BEGIN IMMEDIATE")
    for i, row in enumerate(rows, 1):
        db.execute("UPDATE bookings SET price = round(price * 1.04, 2) WHERE id = ?", (row,))
        time.sleep(args.hold)
        if i % 25 == 0:
            log("INFO", f"repriced {i}/{len(rows)} bookings")
    db.execute("COMMIT")
    log("INFO", "repricing done")
    while True:
        time.sleep(3600)


def sqlstats(args: argparse.Namespace, log: Log) -> None:
    """A metrics exporter that keeps a read connection to the SQLite database at --file and counts rows
    every --hold s."""
    import sqlite3

    db = sqlite3.connect(f"file:{args.file}?mode=ro", uri=True, timeout=1)
    while True:
        with contextlib.suppress(sqlite3.Error):
            db.execute("SELECT count(*) FROM bookings").fetchone()
        time.sleep(args.hold)


INVENTORY_JAVA = """\
package com.example.inventory;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.FileWriter;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/** The inventory service: stock levels over HTTP, logging like a Spring Boot application. */
public class InventoryApplication {
    static final DateTimeFormatter TS =
        DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSXXX").withZone(ZoneOffset.UTC);
    static final long PID = ProcessHandle.current().pid();
    static PrintWriter out;

    static synchronized void log(String level, String logger, String message, Throwable error) {
        String thread = Thread.currentThread().getName();
        out.printf("%s %5s %d --- [inventory] [%15.15s] %-40.40s : %s%n", TS.format(Instant.now()), level, PID,
            thread, logger, message);
        if (error != null) {
            error.printStackTrace(out);
        }
        out.flush();
    }

    /** Every request's snapshot, kept for the /debug/requests page; nothing ever trims it. */
    static final class RequestHistory {
        static final List<byte[]> RECENT = new ArrayList<>();

        static synchronized void record(String path) {
            byte[] snapshot = new byte[256 * 1024];
            byte[] raw = path.getBytes(StandardCharsets.UTF_8);
            System.arraycopy(raw, 0, snapshot, 0, Math.min(raw.length, snapshot.length));
            RECENT.add(snapshot);
        }
    }

    static final class StockController {
        static String stock(String path) {
            RequestHistory.record(path);
            String sku = path.substring(path.lastIndexOf('/') + 1);
            return "{\\"sku\\":\\"" + sku + "\\",\\"available\\":" + (sku.hashCode() & 0x3f) + "}";
        }
    }

    static void handle(HttpExchange exchange) throws IOException {
        String path = exchange.getRequestURI().getPath();
        int status = 200;
        String body;
        try {
            if (path.startsWith("/actuator/health")) {
                body = "{\\"status\\":\\"UP\\"}";
            } else {
                body = StockController.stock(path);
            }
        } catch (OutOfMemoryError error) {
            log("ERROR", "c.e.inventory.web.ErrorHandler",
                "Request processing failed for GET " + path + ": Handler dispatch failed: " + error, error);
            status = 500;
            body = "{\\"status\\":500,\\"error\\":\\"Internal Server Error\\",\\"path\\":\\"" + path + "\\"}";
        }
        byte[] data = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, data.length);
        try (OutputStream stream = exchange.getResponseBody()) {
            stream.write(data);
        }
    }

    public static void main(String[] args) throws IOException {
        int port = 8080;
        String logFile = "inventory.log";
        for (String arg : args) {
            if (arg.startsWith("--server.port=")) {
                port = Integer.parseInt(arg.substring(arg.indexOf('=') + 1));
            } else if (arg.startsWith("--logging.file.name=")) {
                logFile = arg.substring(arg.indexOf('=') + 1);
            }
        }
        out = new PrintWriter(new FileWriter(logFile, true));
        long t0 = System.nanoTime();
        log("INFO", "c.e.inventory.InventoryApplication",
            "Starting InventoryApplication v4.2.1 using Java " + System.getProperty("java.version")
            + " with PID " + PID, null);
        log("INFO", "c.e.inventory.InventoryApplication",
            "Max heap " + Runtime.getRuntime().maxMemory() / (1024 * 1024) + " MB", null);
        AtomicInteger threads = new AtomicInteger();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 128);
        server.setExecutor(Executors.newFixedThreadPool(8, task -> {
            Thread thread = new Thread(task, "http-exec-" + threads.incrementAndGet());
            thread.setDaemon(true);
            return thread;
        }));
        server.createContext("/", InventoryApplication::handle);
        server.start();
        log("INFO", "c.e.inventory.InventoryApplication", String.format(
            "Started InventoryApplication in %.3f seconds, listening on 127.0.0.1:%d", (System.nanoTime() - t0) / 1e9,
            port), null);
    }
}
"""


def compile_inventory(directory: Path) -> Path:
    """Write the inventory service's Java source under `directory` and compile it; returns its classes."""
    source = directory / "src" / "com" / "example" / "inventory" / "InventoryApplication.java"
    source.parent.mkdir(parents=True)
    source.write_text(INVENTORY_JAVA)
    classes = directory / "classes"
    done = subprocess.run(["javac", "-d", str(classes), str(source)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"javac failed: {done.stderr.strip()}")
    return classes


def tlsapi(args: argparse.Namespace, log: Log) -> None:
    """An HTTPS API serving the certificate file --cert (and whatever chain it holds) with --key; a failed
    handshake is logged as nginx logs it, at info level."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(64)
    log("INFO", f"listening on 127.0.0.1:{args.port} ssl, certificate {args.cert}")

    def client(raw: socket.socket, peer: tuple[str, int]) -> None:
        raw.settimeout(5)
        try:
            conn = ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            where = f"client: {peer[0]}, server: 127.0.0.1:{args.port}"
            log("INFO", f"SSL_do_handshake() failed ({exc}) while SSL handshaking, {where}")
            raw.close()
            return
        with conn, contextlib.suppress(OSError):
            request = conn.recv(4096).decode(errors="replace").split("\r\n", 1)[0]
            body = b'{"status":"ok"}'
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
                b"Connection: close\r\n\r\n%s" % (len(body), body)
            )
            log("INFO", f'{peer[0]} "{request}" 200 {len(body)}')

    while True:
        raw, peer = listener.accept()
        threading.Thread(target=client, args=(raw, peer), daemon=True).start()


def storefront(args: argparse.Namespace, log: Log) -> None:
    """A shop's checkout: each order asks the tax service at --upstream2, then charges through the payment
    gateway at --upstream, both internal HTTPS verified against the company's root CA (--cafile)."""
    ctx = ssl.create_default_context(cafile=args.cafile)

    def call(base: str, path: str) -> None:
        with urllib.request.urlopen(f"{base}{path}", timeout=args.timeout, context=ctx) as resp:
            resp.read()

    def behave(path: str) -> tuple[int, str]:
        t0 = time.monotonic()
        for base, endpoint in ((args.upstream2, "/v1/tax?country=DE"), (args.upstream, "/v1/charges")):
            host, _, port = base.removeprefix("https://").partition(":")
            try:
                call(base, endpoint)
            except (OSError, urllib.error.URLError) as exc:
                reason = getattr(exc, "reason", exc)
                log(
                    "ERROR",
                    f"GET {path} 502: requests.exceptions.SSLError: HTTPSConnectionPool(host='{host}', port={port}): "
                    f"Max retries exceeded with url: {endpoint} (Caused by SSLError({reason!r}))"
                    if isinstance(reason, ssl.SSLError)
                    else f"GET {path} 502: requests.exceptions.ConnectionError: {base}{endpoint}: {reason}",
                )
                return 502, "bad gateway"
        log("INFO", f"GET {path} 200 {1000 * (time.monotonic() - t0):.0f}ms order placed")
        return 200, "ok"

    serve(args.port, behave)


def jobrunner(args: argparse.Namespace, log: Log) -> None:
    """A report runner: renders each queued job in a child (--child) it watches from a thread, with no time
    limit; one template in three makes the renderer hang for good."""
    children: list[int] = []
    _reap_on_term(children)
    log("INFO", "report runner started, queue reports/pending")

    def watch(pid: int, job: str, t0: float) -> None:
        _, status = os.waitpid(pid, 0)
        with contextlib.suppress(ValueError):
            children.remove(pid)
        log("INFO", f"{job} rendered in {time.monotonic() - t0:.1f}s (exit {os.waitstatus_to_exitcode(status)})")

    n, failed = 0, 0
    unwatched: list[int] = []
    while True:
        for pid in list(unwatched):
            with contextlib.suppress(ChildProcessError):
                if os.waitpid(pid, os.WNOHANG)[0]:
                    unwatched.remove(pid)
                    children.remove(pid)
        n += 1
        job = f"job {830000 + n} (statement-{n % 97:02d}.html)"
        try:
            pid = os.fork()
        except OSError as exc:
            failed += 1
            if failed % 5 == 1:
                log("ERROR", f"{job} failed to start renderer: {exc.__class__.__name__}: {exc}; requeued")
            time.sleep(0.5)
            continue
        if pid == 0:
            set_name(args.child)
            time.sleep(0.3)
            while n % 3 == 0:  # a font this template uses makes the renderer wait on itself
                time.sleep(3600)
            os._exit(0)
        children.append(pid)
        try:
            threading.Thread(target=watch, args=(pid, job, time.monotonic()), daemon=True).start()
        except RuntimeError as exc:
            failed += 1
            unwatched.append(pid)
            if failed % 5 == 1:
                log("ERROR", f"{job}: cannot watch renderer pid {pid}: RuntimeError: {exc}")
        time.sleep(args.hold)


def prefork(args: argparse.Namespace, log: Log) -> None:
    """An application server's master with --concurrency idle pre-forked workers (--child), steady."""
    children: list[int] = []
    _reap_on_term(children)
    for _ in range(args.concurrency):
        pid = os.fork()
        if pid == 0:
            set_name(args.child)
            while True:
                time.sleep(3600)
        children.append(pid)
    log("INFO", f"pool www: {len(children)} children, pm = static")
    while True:
        time.sleep(1)


def _resize_worker(listener: socket.socket, log: Log, limit: int) -> None:
    """One worker: accepts on the master's socket; decoding an image bigger than `limit` bytes crashes it."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    while True:
        conn, peer = listener.accept()
        with conn:
            reader = conn.makefile("rb")
            request = reader.readline().decode(errors="replace").strip()
            if not request:  # a health check's bare connect
                continue
            length = 0
            while (line := reader.readline()) not in (b"\r\n", b"\n", b""):
                key, _, value = line.decode(errors="replace").partition(":")
                if key.strip().lower() == "content-length":
                    length = int(value)
            if length > limit:
                reader.read(65536)  # the image's header: the decoder sizes its buffers from it
                os.kill(os.getpid(), signal.SIGSEGV)  # libvips' JPEG path, on this release
            reader.read(length)
            body = b'{"sizes":["64x64","256x256","1024x1024"]}' if length else b'{"status":"ok"}'
            conn.sendall(
                b"HTTP/1.0 201 Created\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                % (len(body), body)
            )
            log("INFO", f'{peer[0]} "{request}" 201 {len(body)} {length}')


def resizer(args: argparse.Namespace, log: Log) -> None:
    """An image resizer run like gunicorn: a master forks --concurrency workers that accept on its socket and
    boots a new one whenever one dies."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(64)
    children: list[int] = []
    _reap_on_term(children)
    log("INFO", "Starting imgscale 3.4.0 (libvips 8.15.1)")
    log("INFO", f"Listening at: http://127.0.0.1:{args.port} ({os.getpid()})")

    def boot() -> None:
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            _resize_worker(listener, log, args.limit)
            os._exit(0)
        children.append(pid)
        log("INFO", f"Booting worker with pid: {pid}")

    for _ in range(args.concurrency):
        boot()
    while True:
        pid, status = os.wait()
        with contextlib.suppress(ValueError):
            children.remove(pid)
        if os.WIFSIGNALED(status):
            log("ERROR", f"Worker (pid:{pid}) was sent {signal.Signals(os.WTERMSIG(status)).name}!")
        else:
            log("ERROR", f"Worker (pid:{pid}) exited with code {os.WEXITSTATUS(status)}")
        boot()


def edge(args: argparse.Namespace, log: Log) -> None:
    """A reverse proxy: /upload to --upstream, the rest to --upstream2; error lines as nginx writes them."""
    import http.client
    import http.server

    counter = iter(range(1, 10**9))

    class Proxy(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.forward("GET")

        def do_POST(self) -> None:
            self.forward("POST")

        def forward(self, method: str) -> None:
            n = next(counter)
            t0 = time.monotonic()
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            upstream = args.upstream if self.path.startswith("/upload") else args.upstream2
            host, _, port = upstream.removeprefix("http://").partition(":")
            where = (
                f'client: {self.client_address[0]}, server: media.example.internal, request: "{method} {self.path} '
                f'HTTP/1.1", upstream: "{upstream}{self.path}", host: "media.example.internal"'
            )
            stage = "sending request to"
            try:
                conn = http.client.HTTPConnection(host, int(port), timeout=30)
                conn.request(method, self.path, body=body, headers={"Content-Type": "application/octet-stream"})
                stage = "reading response header from"
                resp = conn.getresponse()
                status, data = resp.status, resp.read()
                conn.close()
            except http.client.RemoteDisconnected:
                log(
                    "ERROR",
                    f"{os.getpid()}#0: *{n} upstream prematurely closed connection while {stage} upstream, {where}",
                )
                status, data = 502, b"<html><center><h1>502 Bad Gateway</h1></center></html>"
            except OSError as exc:
                call = "writev()" if stage.startswith("sending") else "recv()"
                detail = f"{call} failed ({exc.errno}: {os.strerror(exc.errno)})" if exc.errno else str(exc)
                log("ERROR", f"{os.getpid()}#0: *{n} {detail} while {stage} upstream, {where}")
                status, data = 502, b"<html><center><h1>502 Bad Gateway</h1></center></html>"
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            log(
                "INFO",
                f'{self.client_address[0]} "{method} {self.path} HTTP/1.1" {status} {len(data)} '
                f"rt={time.monotonic() - t0:.3f} request_length={length}",
            )

        def log_message(self, *args: object) -> None:
            pass

    http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Proxy).serve_forever()


def uploads(args: argparse.Namespace, log: Log) -> None:
    """Clients of the site at --upstream: photo uploads (one in four a full-size 3 MiB photo, the rest 40 KiB
    avatars) and catalogue pages, one request at a time, --hold s apart."""
    photo, avatar = os.urandom(3 * 2**20), os.urandom(40 * 2**10)
    n = 0
    while True:
        n += 1
        if n % 2:
            request = urllib.request.Request(f"{args.upstream}/catalog/items/{n % 500}")
        else:
            data = photo if n % 8 == 0 else avatar
            request = urllib.request.Request(f"{args.upstream}/upload/u{n % 977}.jpg", data=data, method="POST")
        with contextlib.suppress(OSError), urllib.request.urlopen(request, timeout=30) as resp:
            resp.read()
        time.sleep(args.hold)


def _http_server(address: str, port: int, answer: Any, log: Log) -> None:
    """A small HTTP/1.0 server on (address, port): `answer(path)` gives the status and body; each request is
    logged as an access log line with the client's address."""
    import http.server

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = answer(self.path)
            data = body.encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            log("INFO", f'{self.client_address[0]} "GET {self.path} HTTP/1.1" {status} {len(data)}')

        def log_message(self, *args: object) -> None:
            pass

    http.server.ThreadingHTTPServer((address, port), Handler).serve_forever()


def bound(args: argparse.Namespace, log: Log) -> None:
    """A quota API that listens on the address its config (--file) names under `listen:`."""
    address = "0.0.0.0"
    for line in Path(args.file).read_text().splitlines():
        if line.startswith("listen:"):
            address = line.split(":", 1)[1].strip()
    log("INFO", f"quota service 1.9.2 starting (pid {os.getpid()}), config {args.file}")
    log("INFO", f"listening on {address}:{args.port}")
    _http_server(address, args.port, lambda path: (200, '{"status":"ok"}'), log)


def checker(args: argparse.Namespace, log: Log) -> None:
    """A local health-check agent: GET --upstream every --hold s, a line per failure."""
    while True:
        try:
            with urllib.request.urlopen(args.upstream, timeout=2) as resp:
                resp.read()
        except (OSError, urllib.error.URLError) as exc:
            log("WARN", f"check {args.upstream} failed: {exc}")
        time.sleep(args.hold)


def keepalive(args: argparse.Namespace, log: Log) -> None:
    """A rates API speaking HTTP/1.1 keep-alive: it closes a connection idle for --timeout s."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(512)
    log("INFO", f"rates api listening on 127.0.0.1:{args.port} (keepalive_timeout {args.timeout:.0f}s)")
    body = b'{"EURUSD":1.0842,"GBPUSD":1.2631}'
    served = [0]
    lock = threading.Lock()

    def client(conn: socket.socket) -> None:
        conn.settimeout(args.timeout)
        with conn, conn.makefile("rb") as reader, contextlib.suppress(OSError):
            while True:
                line = reader.readline()
                if not line:
                    return
                while reader.readline() not in (b"\r\n", b"\n", b""):
                    pass
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: keep-alive\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                )
                with lock:
                    served[0] += 1
                    if served[0] % 500 == 0:
                        log("INFO", f"served {served[0]} requests")

    while True:
        conn, _ = listener.accept()
        threading.Thread(target=client, args=(conn,), daemon=True).start()


def _http_get(conn: socket.socket, path: str) -> bytes:
    """One HTTP/1.1 GET on an open connection; returns the body (read by its Content-Length)."""
    conn.sendall(f"GET {path} HTTP/1.1\r\nHost: rates.internal\r\nConnection: keep-alive\r\n\r\n".encode())
    reader = conn.makefile("rb")
    length = 0
    reader.readline()
    while (line := reader.readline()) not in (b"\r\n", b"\n", b""):
        key, _, value = line.decode(errors="replace").partition(":")
        if key.strip().lower() == "content-length":
            length = int(value)
    return reader.read(length)


def ratesync(args: argparse.Namespace, log: Log) -> None:
    """A rate synchroniser with a hand-rolled connection 'pool': it opens a new connection for every fetch
    (--hold s apart) and appends it to the pool, which nothing ever takes from or closes."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 8192 if hard == resource.RLIM_INFINITY else min(8192, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    host, _, port = args.upstream.rpartition(":")
    pool: list[socket.socket] = []
    log("INFO", f"syncing rates from http://{host}:{port}/v1/rates every {args.hold:.2f}s")
    n = 0
    while True:
        try:
            conn = socket.create_connection((host, int(port)), timeout=2)
            _http_get(conn, "/v1/rates")
            if len(pool) < args.limit:
                pool.append(conn)
            else:
                conn.close()
            n += 1
            if n % 250 == 0:
                log("INFO", f"rates synced ({n} updates)")
        except OSError as exc:
            log("ERROR", f"rates fetch failed: {exc}")
            time.sleep(0.5)
        time.sleep(args.hold)


def streams(args: argparse.Namespace, log: Log) -> None:
    """A dashboard gateway keeping --concurrency connections open to --upstream, each polled every --hold s."""
    host, _, port = args.upstream.rpartition(":")
    conns = [socket.create_connection((host, int(port)), timeout=5) for _ in range(args.concurrency)]
    log("INFO", f"{len(conns)} upstream streams open to {host}:{port}")
    while True:
        for conn in conns:
            with contextlib.suppress(OSError):
                _http_get(conn, "/v1/rates?stream=1")
        time.sleep(args.hold)


def exportcron(args: argparse.Namespace, log: Log) -> None:
    """A cron-like scheduler: every --hold s it runs an export job (--child) that writes its CSV to a temporary
    file under --file (--limit-mb MiB), then uploads it; the upload keeps failing and the job exits without
    removing its temporary file."""
    children: list[int] = []
    _reap_on_term(children)
    tmp = Path(args.file)
    run = 0
    while True:
        run += 1
        pid = os.fork()
        if pid == 0:
            set_name(args.child)
            job = Log(args.child_log)
            stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
            path = tmp / f"orders-{stamp}-{os.getpid()}.csv.tmp"
            try:
                with path.open("wb") as fh:
                    row = b"2026-12-01,ORD-%08d,EUR,129.00,shipped\n" % os.getpid()
                    for _ in range(int(args.limit_mb * 2**20 / len(row))):
                        fh.write(row)
            except OSError as exc:
                job("ERROR", f"export failed writing {path}: {exc}")
                os._exit(1)
            job("INFO", f"export written ({args.limit_mb:.0f} MiB), uploading to sftp://partner.example.net/in/")
            time.sleep(0.2)
            job("ERROR", "upload failed: [Errno 110] Connection timed out; will retry on the next run")
            os._exit(2)
        children.append(pid)
        log("INFO", f"({args.child}) CMD run {run}, pid {pid}")
        os.waitpid(pid, 0)
        children.remove(pid)
        time.sleep(args.hold)


def routed(args: argparse.Namespace, log: Log) -> None:
    """An order API that calls the tax service named by `tax_url:` in its config (--file), reloaded when the
    file changes: 503 when it cannot connect."""
    config = Path(args.file)
    state: dict[str, Any] = {"mtime": 0.0, "url": ""}

    def behave(path: str) -> tuple[int, str]:
        mtime = config.stat().st_mtime
        if mtime != state["mtime"]:
            state["mtime"] = mtime
            for line in config.read_text().splitlines():
                if line.startswith("tax_url:"):
                    state["url"] = line.split(":", 1)[1].strip()
            log("INFO", f"config reloaded from {config}")
        target = f"{state['url']}/v1/tax?country=DE"
        t0 = time.monotonic()
        try:
            with urllib.request.urlopen(target, timeout=args.timeout) as resp:
                resp.read()
        except (OSError, urllib.error.URLError) as exc:
            reason = getattr(exc, "reason", exc)
            log("ERROR", f"GET {path} 503: tax lookup failed: {target}: {reason}")
            return 503, "service unavailable"
        log("INFO", f"GET {path} 201 {1000 * (time.monotonic() - t0):.0f}ms")
        return 201, "created"

    serve(args.port, behave)


def pidfile(args: argparse.Namespace, log: Log) -> None:
    """A chat gateway that runs as nobody, writes its pid file into its runtime directory (--file), then
    serves on --port."""
    import encodings.idna  # noqa: F401  (the interpreter's own files may be unreadable once unprivileged)

    log("INFO", f"chat gateway 2.3.1 starting (pid {os.getpid()})")
    os.setgid(65534)
    os.setuid(65534)
    path = Path(args.file) / f"{args.name}.pid"
    try:
        path.write_text(f"{os.getpid()}\n")
    except OSError as exc:
        log("ERROR", f"cannot write pid file {path}: {exc.__class__.__name__}: {exc}")
        log("ERROR", "chat gateway exited with status 1")
        sys.exit(1)
    log("INFO", f"listening on 127.0.0.1:{args.port}")
    serve(args.port, lambda p: (200, "ok"))


MODES = {
    f.__name__: f
    for f in (
        forker,
        duty,
        hold,
        ghost,
        sessions,
        fdleak,
        zombies,
        threads,
        supervise,
        crasher,
        bindfail,
        devserver,
        caller,
        mailer,
        configured,
        buggy,
        unprivileged,
        holdlock,
        locker,
        kvcache,
        cartapi,
        syscalls,
        pgdb,
        pool_hog,
        dbapi,
        walsync,
        quotefeed,
        quoter,
        subscriber,
        pooled,
        minimq,
        producer,
        consumer,
        tailer,
        sessionapi,
        bookings,
        reprice,
        sqlstats,
        tlsapi,
        storefront,
        jobrunner,
        prefork,
        resizer,
        edge,
        uploads,
        bound,
        checker,
        keepalive,
        ratesync,
        streams,
        exportcron,
        routed,
        pidfile,
    )
}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="blind-programs")
    parser.add_argument("mode", choices=sorted(MODES))
    parser.add_argument("name")
    parser.add_argument("--log")
    parser.add_argument("--port", type=int)
    parser.add_argument("--upstream")
    parser.add_argument("--upstream2")
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--cafile")
    parser.add_argument("--file", default="")
    parser.add_argument("--child", default="worker")
    parser.add_argument("--child-mode", default="crasher")
    parser.add_argument("--child-log", default="")
    parser.add_argument("--timeout", type=float, default=1.0)
    parser.add_argument("--hold", type=float, default=1.0)
    parser.add_argument("--duty", type=float, default=0.5)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--limit", type=int, default=256)
    parser.add_argument("--limit-mb", type=float, default=100.0)
    parser.add_argument("--rate-kb", type=float, default=256.0)
    args = parser.parse_args(argv)
    set_name(args.name)
    MODES[args.mode](args, Log(args.log))


if __name__ == "__main__":
    main(sys.argv[1:])
