"""TLS for the LAN agent: a self-signed certificate for the office network, made once.

The agent's bearer token must not cross the LAN in clear. Most offices have no CA of their own,
so `make_self_signed_cert` writes a certificate and key for the names and addresses the pipeline
uses to reach the agent (the PC's name and its LAN IP). The agent serves it
(`TALLY_AGENT_CERT` / `TALLY_AGENT_KEY`); the pipeline trusts exactly that file
(`TALLY_CA_CERT`, given to `TallyClient(ca_cert=...)`), so no public CA is involved and a
machine presenting any other certificate is refused. The SHA-256 fingerprint printed by the
helper lets the person installing it compare both ends by eye.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_DAYS = 825  # the longest validity clients accept for a server certificate


@dataclass(frozen=True)
class CertFiles:
    cert: Path
    key: Path
    fingerprint: str  # SHA-256 of the certificate, hex pairs joined by ':'


def make_self_signed_cert(cert_path: str | Path, key_path: str | Path, hosts: Sequence[str], *,
                          days: int = DEFAULT_DAYS, now: datetime | None = None) -> CertFiles:
    """Write a self-signed P-256 server certificate for `hosts` (names or IPs) and its key (mode 0600)."""
    if not hosts:
        raise ValueError("name at least one host name or IP address the pipeline uses to reach the agent")
    key = ec.generate_private_key(ec.SECP256R1())
    start = (now or datetime.now(UTC)) - timedelta(minutes=5)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hosts[0][:64]),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ml-connector Tally agent")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start)
            .not_valid_after(start + timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName([_general_name(h) for h in hosts]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, content_commitment=False,
                                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = Path(cert_path), Path(key_path)
    _write_private(key_file, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return CertFiles(cert_file, key_file, fingerprint(cert))


def make_cert_files(directory: str | Path, hosts: Sequence[str], *, days: int = DEFAULT_DAYS) -> list[str]:
    """`ml-connector agent --make-cert`: write `agent.pem` and `agent.key` under `directory` and return
    what to tell the person installing it (the settings for each side and the fingerprint to compare)."""
    folder = Path(directory)
    files = make_self_signed_cert(folder / "agent.pem", folder / "agent.key", hosts, days=days)
    return [f"Certificate for {', '.join(hosts)} (valid {days} days): {files.cert}",
            f"Private key (keep it on this PC only): {files.key}",
            f"SHA-256 fingerprint: {files.fingerprint}",
            "On this PC, before `ml-connector agent`:",
            f"  TALLY_AGENT_CERT={files.cert}",
            f"  TALLY_AGENT_KEY={files.key}",
            "Where the pipeline runs: copy the certificate (not the key) there and set",
            "  TALLY_CA_CERT=<path of the copied agent.pem>",
            f"  TALLY_URL=https://{hosts[0]}:<agent port>"]


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def _general_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)  # an existing file keeps its old mode through O_CREAT
