from __future__ import annotations

from typing import Any

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, spawn
from watchkeeper.scenarios.world import World, alert_payload, free_port


class UpstreamReset(BlindScenario):
    name = "blind_upstream_reset"
    description = (
        "The image resizer's workers die of SIGSEGV decoding any upload over 1 MiB (its master boots new ones): "
        "the edge proxy's connection is reset mid-request and it answers 502 to full-size photo uploads, one "
        "request in eight; small uploads and the catalogue behind the same proxy are fine."
    )
    fault_class = "dependency"

    def setup(self, world: World) -> None:
        self.img_port, self.cat_port, self.port = free_port(), free_port(), free_port()
        spawn(world, "resizer", "imgscale", "--limit", str(2**20), "--concurrency", "2", port=self.img_port)
        world.spawn("slow", "catalog_api", "--hold", "0.01", port=self.cat_port)
        lines = [
            f'INFO 10.0.3.{i % 200} "POST /upload/u{i}.jpg HTTP/1.1" 201 43 rt=0.{i % 90 + 10:03d}'
            if i % 2
            else f'INFO 10.0.3.{i % 200} "GET /catalog/items/{i} HTTP/1.1" 200 5 rt=0.012'
            for i in range(90)
        ]
        world.backfill("media_edge", lines)
        upstreams = (
            "--upstream",
            f"http://127.0.0.1:{self.img_port}",
            "--upstream2",
            f"http://127.0.0.1:{self.cat_port}",
        )
        spawn(world, "edge", "media_edge", *upstreams, port=self.port)
        spawn(world, "uploads", "loadgen", "--upstream", f"http://127.0.0.1:{self.port}", "--hold", "0.1", log=False)
        log = world.log_path("media_edge")
        world.wait_until(lambda: "while" in log.read_text(), 30, "no upload reached a crashing worker")

    def alert(self, world: World) -> dict[str, Any]:
        return alert_payload(
            {
                "alertname": "HighHttp5xxRate",
                "job": "media_edge",
                "service": "media_edge",
                "instance": f"127.0.0.1:{self.port}",
                "severity": "warning",
            },
            {"summary": "more than 5 % of requests answer 5xx"},
            age_s=180,
        )

    def truth(self, world: World) -> Truth:
        return Truth("dependency", "service", "imgscale", None, "manual")
