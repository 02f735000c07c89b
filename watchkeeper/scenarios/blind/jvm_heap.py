from __future__ import annotations

from typing import Any

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, spawn
from watchkeeper.scenarios.blind.programs import compile_inventory
from watchkeeper.scenarios.world import World, alert_payload, free_port


class JvmHeap(BlindScenario):
    name = "blind_jvm_heap"
    description = (
        "A real JVM (-Xmx64m): the inventory service keeps a snapshot of every request and never trims it; its "
        "heap is full, every stock request fails with java.lang.OutOfMemoryError: Java heap space (500) while "
        "its health endpoint still says UP. A search node holding more memory, steadily, runs beside it."
    )
    fault_class = "memory"

    def setup(self, world: World) -> None:
        self.port = free_port()
        home = world.root / "opt" / "inventory"
        classes = compile_inventory(home)
        (home / "dumps").mkdir()
        spawn(world, "hold", "search_node", "--limit-mb", "300", log=False)  # decoy: bigger, steady
        log = world.log_path("inventory")
        log.parent.mkdir(parents=True)
        jvm = [
            "java",
            "-Xms64m",
            "-Xmx64m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-XX:+HeapDumpOnOutOfMemoryError",
            f"-XX:HeapDumpPath={home / 'dumps'}",
            "-cp",
            str(classes),
            "com.example.inventory.InventoryApplication",
            f"--server.port={self.port}",
            f"--logging.file.name={log}",
        ]
        world.spawn_command(jvm, "java", port=self.port)
        url = f"http://127.0.0.1:{self.port}/stock/sku-20931"
        world.spawn("load", "loadgen", "--url", url, "--concurrency", "1", log=False)
        world.wait_until(lambda: "OutOfMemoryError" in log.read_text(), 60, "the heap did not fill")

    def alert(self, world: World) -> dict[str, Any]:
        return alert_payload(
            {
                "alertname": "HighHttp5xxRate",
                "job": "inventory",
                "service": "inventory",
                "instance": f"127.0.0.1:{self.port}",
                "severity": "critical",
            },
            {"summary": "more than 5 % of requests answer 5xx"},
            age_s=120,
        )

    def truth(self, world: World) -> Truth:
        return Truth("memory", "service", "inventory", "restart_service", "mutating")
