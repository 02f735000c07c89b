from __future__ import annotations

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario
from watchkeeper.scenarios.certs import self_signed
from watchkeeper.scenarios.world import World, free_port


class CertExpired(BlindScenario):
    name = "blind_cert_expired"
    description = "The admin console's certificate expired two days ago; browsers refuse it."
    fault_class = "certificate"

    def setup(self, world: World) -> None:
        cert, key = self_signed(world.root, days=-2, name="admin.internal", age_days=88)
        self.port = free_port()
        world.spawn("tls", "admin_console", "--cert", str(cert), "--key", str(key), port=self.port)
        self.url = f"https://127.0.0.1:{self.port}/"

    def question(self, world: World) -> str | None:
        return f"{self.url} 打不开了，浏览器提示证书错误"  # noqa: RUF001 (a Chinese question)

    def truth(self, world: World) -> Truth:
        return Truth("certificate", "url", self.url, None, "manual")
