from __future__ import annotations

from typing import Any

from watchkeeper.scenarios.base import Scenario, Truth
from watchkeeper.scenarios.certs import self_signed
from watchkeeper.scenarios.world import World, alert_payload, free_port


class CertExpiry(Scenario):
    name = "cert_expiry"
    description = "The customer portal serves a certificate that expires in 5 days."

    def setup(self, world: World) -> None:
        cert_path, key_path = self_signed(world.root, days=5, name="portal.internal", age_days=85)
        self.port = free_port()
        world.spawn("tls", "portal", "--cert", str(cert_path), "--key", str(key_path), port=self.port)

    def alert(self, world: World) -> dict[str, Any]:
        return alert_payload(
            {"alertname": "SSLCertExpiringSoon", "job": "blackbox", "instance": f"https://127.0.0.1:{self.port}/"}
        )

    def truth(self, world: World) -> Truth:
        return Truth("certificate", "url", f"https://127.0.0.1:{self.port}/", None, "manual")
