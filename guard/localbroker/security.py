"""A local broker with authenticated and encrypted listeners, for tests of the guard's security
settings against the real thing.

Besides the PLAINTEXT listener (inter-broker, readiness, test setup) it serves:
- SASL_PLAINTEXT with PLAIN and SCRAM-SHA-512 for the given users (SCRAM credentials are
  written into the storage at format time, `--add-scram`);
- SSL with a server certificate signed by a CA generated here (needs the `cryptography`
  package), the key in a password-protected PKCS#12 keystore.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guard.localbroker.broker import HOST, LocalKafka

SCRAM = "SCRAM-SHA-512"


@dataclass(frozen=True)
class TlsFiles:
    ca_pem: Path  # what clients trust (kafka.ssl_cafile); brokers requiring client certs too
    keystore: Path  # the broker's key and certificate chain (PKCS#12)
    keystore_password: str
    ca_key: Path  # the CA's private key (unencrypted: throw-away test material)


@dataclass(frozen=True)
class ClientCertificate:
    certfile: Path  # kafka.ssl_certfile
    keyfile: Path  # kafka.ssl_keyfile (unencrypted)


def _name(cn: str) -> Any:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _builder(subject: str, issuer: str, key: Any) -> Any:
    from cryptography import x509

    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
    )


def _pem_key(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def make_tls_files(
    directory: Path,
    hosts: tuple[str, ...] = (HOST, "localhost"),
    ca_name: str = "ingest-guard test CA",
) -> TlsFiles:
    """A throw-away CA and a server certificate for `hosts`, valid for a day."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs12

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        _builder(ca_name, ca_name, ca_key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = []
    for host in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    cert = (
        _builder(hosts[0], ca_name, key)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    ca_pem = directory / "ca.pem"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    ca_key_pem = directory / "ca-key.pem"
    ca_key_pem.write_bytes(_pem_key(ca_key))
    password = secrets.token_hex(12)
    keystore = directory / "broker.p12"
    keystore.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"broker",
            key,
            cert,
            [ca],
            serialization.BestAvailableEncryption(password.encode()),
        )
    )
    return TlsFiles(ca_pem, keystore, password, ca_key_pem)


def make_client_certificate(
    directory: Path, issuer: TlsFiles, subject: str = "guard"
) -> ClientCertificate:
    """A client certificate for `subject` signed by `issuer`'s CA, valid for a day (for
    mutual TLS: a broker that trusts that CA accepts it, any other rejects it)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    ca = x509.load_pem_x509_certificate(issuer.ca_pem.read_bytes())
    ca_key = serialization.load_pem_private_key(issuer.ca_key.read_bytes(), password=None)
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"unexpected CA key type {type(ca_key).__name__}")
    issuer_cn = ca.subject.rfc4514_string().removeprefix("CN=")
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _builder(subject, issuer_cn, key)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    certfile, keyfile = directory / f"{subject}.pem", directory / f"{subject}-key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(_pem_key(key))
    return ClientCertificate(certfile, keyfile)


def security_properties(
    users: Mapping[str, str],
    tls: TlsFiles | None,
    super_users: Sequence[str] | None = None,
    *,
    client_certificates: bool = False,
) -> dict[str, str]:
    """server.properties keys for the SASL_PLAINTEXT (and, with `tls`, SSL) listeners.

    With `super_users`, ACLs are enforced (StandardAuthorizer): those users and the
    anonymous PLAINTEXT/SSL/controller principal may do anything, every other user nothing.
    With `client_certificates` the SSL listener requires a client certificate signed by the
    test CA (mutual TLS).
    """
    plain_users = " ".join(f'user_{u}="{p}"' for u, p in users.items())
    props = {
        "sasl.enabled.mechanisms": f"PLAIN,{SCRAM}",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": (
            f"org.apache.kafka.common.security.plain.PlainLoginModule required {plain_users};"
        ),
        f"listener.name.sasl_plaintext.{SCRAM.lower()}.sasl.jaas.config": (
            "org.apache.kafka.common.security.scram.ScramLoginModule required;"
        ),
    }
    if super_users is not None:
        allowed = ";".join(f"User:{u}" for u in ("ANONYMOUS", *super_users))
        props["authorizer.class.name"] = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
        props["super.users"] = allowed
    if tls is not None:
        props.update(
            {
                "ssl.keystore.type": "PKCS12",
                "ssl.keystore.location": str(tls.keystore),
                "ssl.keystore.password": tls.keystore_password,
                "ssl.key.password": tls.keystore_password,
                "ssl.client.auth": "none",
            }
        )
        if client_certificates:
            props.update(
                {
                    "ssl.client.auth": "required",
                    "ssl.truststore.type": "PEM",
                    "ssl.truststore.location": str(tls.ca_pem),
                }
            )
    return props


def secure_local_kafka(
    directory: Path,
    users: Mapping[str, str],
    *,
    tls: bool = True,
    super_users: Sequence[str] | None = None,
    client_certificates: bool = False,
    **kwargs: Any,
) -> tuple[LocalKafka, TlsFiles | None]:
    """A (not yet started) LocalKafka with SASL_PLAINTEXT and, if `tls`, SSL listeners;
    ACLs enforced when `super_users` is given, client certificates required with
    `client_certificates` (see `security_properties`)."""
    files = make_tls_files(directory / "tls") if tls else None
    scram = [
        a for u, p in users.items() for a in ("--add-scram", f"{SCRAM}=[name={u},password={p}]")
    ]
    broker = LocalKafka(
        extra_properties=security_properties(
            users, files, super_users, client_certificates=client_certificates
        ),
        extra_listeners=("SASL_PLAINTEXT", "SSL") if tls else ("SASL_PLAINTEXT",),
        format_args=scram,
        **kwargs,
    )
    return broker, files
