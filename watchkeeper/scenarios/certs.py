"""Certificates for faults and tests: self-signed, for a name and 127.0.0.1, expiring when asked."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed(
    directory: Path, days: int, name: str = "localhost", age_days: float = 0, for_loopback: bool = True
) -> tuple[Path, Path]:
    """(certificate, key) files valid until `days` from now, issued `age_days` ago, for `name` (and
    127.0.0.1 unless `for_loopback` is False: a certificate for another host)."""
    addresses = [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))] if for_loopback else []
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=age_days, hours=1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name), *addresses]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / f"{name}-{days}.crt", directory / f"{name}-{days}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Corp"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


class InternalCa:
    """A company's private PKI: a root CA (what clients trust) and an intermediate CA that issues
    the servers' certificates, as an internal ACME or Vault PKI does."""

    def __init__(self, directory: Path, name: str = "Example Corp") -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        now = datetime.now(UTC)
        self.root_key = ec.generate_private_key(ec.SECP384R1())
        self.root = self._ca(_name(f"{name} Root CA"), self.root_key, self.root_key, None, now, 3650, path_length=1)
        self.issuing_key = ec.generate_private_key(ec.SECP256R1())
        issuing_name = _name(f"{name} Issuing CA 2")
        self.issuing = self._ca(issuing_name, self.issuing_key, self.root_key, self.root, now, 1825, path_length=0)
        self.root_path = directory / "root-ca.crt"  # the bundle clients are configured with
        self.root_path.write_bytes(_pem(self.root))

    @staticmethod
    def _ca(
        subject: x509.Name,
        key: ec.EllipticCurvePrivateKey,
        signer: ec.EllipticCurvePrivateKey,
        issuer: x509.Certificate | None,
        now: datetime,
        days: int,
        path_length: int,
    ) -> x509.Certificate:
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer.subject if issuer else subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=400))
            .not_valid_after(now + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .sign(signer, hashes.SHA256())
        )

    def issue(self, name: str, days: int, age_days: float = 0, full_chain: bool = True) -> tuple[Path, Path]:
        """(certificate file, key file) for `name` and 127.0.0.1, issued by the intermediate; the
        certificate file holds the leaf and the intermediate (a fullchain.pem), or the leaf alone."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(self.issuing.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=age_days, hours=1))
            .not_valid_after(now + timedelta(days=days))
            .add_extension(
                x509.SubjectAlternativeName([x509.DNSName(name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(self.issuing_key, hashes.SHA256())
        )
        folder = self.directory / name
        folder.mkdir(parents=True, exist_ok=True)
        cert_path, key_path = folder / ("fullchain.pem" if full_chain else "cert.pem"), folder / "privkey.pem"
        cert_path.write_bytes(_pem(cert) + (_pem(self.issuing) if full_chain else b""))
        key_path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        return cert_path, key_path
