from __future__ import annotations

from typing import Any

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, blackbox
from watchkeeper.scenarios.certs import self_signed
from watchkeeper.scenarios.world import World, alert_payload, free_port


class CertWrongName(BlindScenario):
    name = "blind_cert_wrong_name"
    description = "The API's TLS endpoint serves a certificate issued for another name (old-portal.example.com)."
    fault_class = "certificate"

    def setup(self, world: World) -> None:
        cert, key = self_signed(world.root, 60, "old-portal.example.com", age_days=30, for_loopback=False)
        self.port = free_port()
        world.spawn("tls", "api_tls", "--cert", str(cert), "--key", str(key), port=self.port)
        self.url = f"https://127.0.0.1:{self.port}/"

    def alert(self, world: World) -> dict[str, Any]:
        return alert_payload(
            {"alertname": "BlackboxSslCertificateInvalid", **blackbox(self.url), "severity": "critical"},
            {"summary": "SSL certificate verification failed"},
        )

    def truth(self, world: World) -> Truth:
        return Truth("certificate", "url", self.url, None, "manual")
