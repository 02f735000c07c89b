from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from watchkeeper.scenarios.base import Truth
from watchkeeper.scenarios.blind import BlindScenario, blackbox
from watchkeeper.scenarios.world import World, alert_payload, free_port


def cert_for(directory: Path, name: str) -> tuple[Path, Path]:
    """A valid (60 more days) self-signed certificate for `name` only."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=30))
        .not_valid_after(now + timedelta(days=60))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class CertWrongName(BlindScenario):
    name = "blind_cert_wrong_name"
    description = "The API's TLS endpoint serves a certificate issued for another name (old-portal.example.com)."
    fault_class = "certificate"

    def setup(self, world: World) -> None:
        cert, key = cert_for(world.root, "old-portal.example.com")
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
