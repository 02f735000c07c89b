from __future__ import annotations

import contextlib
import sqlite3
from typing import Any

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, spawn
from watchkeeper.scenarios.world import World, alert_payload, free_port


class SqliteLocked(BlindScenario):
    name = "blind_sqlite_locked"
    description = (
        "A one-off repricing script holds a write transaction open on the booking API's SQLite database (it "
        "updates 3000 rows one at a time, slowly, in one transaction): every booking waits 5 s for the lock and "
        "fails with 'database is locked'. A metrics exporter keeps a read connection to the same file."
    )
    fault_class = "process"

    def setup(self, world: World) -> None:
        self.port = free_port()
        db = world.root / "var" / "lib" / "booking" / "booking.db"
        db.parent.mkdir(parents=True)
        with contextlib.closing(sqlite3.connect(db)) as conn, conn:
            conn.execute(
                "CREATE TABLE bookings (id INTEGER PRIMARY KEY, room INTEGER, guest TEXT, price REAL, created TEXT)"
            )
            conn.executemany(
                "INSERT INTO bookings (room, guest, price, created) VALUES (?, ?, ?, datetime('now', ?))",
                [(i % 300, f"guest-{i}", 99.0 + i % 80, f"-{i} minutes") for i in range(3000)],
            )
        world.backfill("booking_api", [f"INFO GET /book?room={i} 200 {i % 7 + 3}ms" for i in range(90)])
        spawn(world, "bookings", "booking_api", "--file", str(db), "--timeout", "5", port=self.port)
        spawn(world, "sqlstats", "stats_exporter", "--file", str(db), "--hold", "2", log=False)  # decoy: a reader
        spawn(world, "reprice", "reprice_job", "--file", str(db), "--hold", "0.5")
        url = f"http://127.0.0.1:{self.port}/book?room=12"
        world.spawn("load", "loadgen", "--url", url, "--concurrency", "2", log=False)
        log = world.log_path("booking_api")
        world.wait_until(lambda: "database is locked" in log.read_text(), 20, "the bookings did not wait on the lock")

    def alert(self, world: World) -> dict[str, Any]:
        return alert_payload(
            {
                "alertname": "HighRequestLatency",
                "job": "booking_api",
                "service": "booking_api",
                "instance": f"127.0.0.1:{self.port}",
                "severity": "warning",
            },
            {"summary": "p99 request latency above 2s for 5 minutes"},
            age_s=120,
        )

    def truth(self, world: World) -> Truth:
        return Truth("process", "process", "reprice_job", "kill_process", "mutating")
