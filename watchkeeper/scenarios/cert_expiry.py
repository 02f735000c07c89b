from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from watchkeeper.scenarios.base import Scenario, Truth
from watchkeeper.scenarios.world import World, alert_payload, free_port


class CertExpiry(Scenario):
    name = "cert_expiry"
    description = "The customer portal serves a certificate that expires in 5 days."

    def setup(self, world: World) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "portal.internal")])
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=85))
            .not_valid_after(now + timedelta(days=5))
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        cert_path, key_path = world.root / "portal.crt", world.root / "portal.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        self.port = free_port()
        world.spawn("tls", "portal", "--cert", str(cert_path), "--key", str(key_path), port=self.port)

    def alert(self, world: World) -> dict[str, Any]:
        return alert_payload(
            {"alertname": "SSLCertExpiringSoon", "job": "blackbox", "instance": f"https://127.0.0.1:{self.port}/"}
        )

    def truth(self, world: World) -> Truth:
        return Truth("cert_expiry", "url", f"https://127.0.0.1:{self.port}/", None, "manual")
