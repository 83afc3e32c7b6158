"""TLS through the guarded transport: the certificate is checked for the name in the
URL, every time. A connection opened (and checked) for one name is never lent to a
request for another name that resolves to the same address.

A certificate authority made here signs a certificate for ``a.test`` only; a TLS
server on 127.0.0.1 presents it, keeping connections alive so that one could be
reused; the test's resolver sends both ``a.test`` and ``b.test`` to it."""

from __future__ import annotations

import datetime as dt
import ssl
import tempfile
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.infra.serving import serving
from yirong.infra.outbound import guarded_client


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def authority_and_certificate(directory: Path, host: str) -> tuple[Path, Path, Path]:
    """A CA certificate, and a certificate for ``host`` (with its key) that it signed."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("test authority"))
        .issuer_name(_name("test authority"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name(host))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "leaf.pem", directory / "leaf.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(_pem(key))
    return paths


class KeepAlive(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # connections stay open for the next request
    connections: ClassVar[set[int]] = set()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        KeepAlive.connections.add(id(self.connection))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def tls_server() -> Iterator[tuple[int, ssl.SSLContext]]:
    """A TLS server on 127.0.0.1 with a certificate for a.test; and a client context
    trusting only the authority that signed it."""
    with tempfile.TemporaryDirectory() as directory:
        ca, leaf, key = authority_and_certificate(Path(directory), "a.test")
        server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_context.load_cert_chain(leaf, key)
        client_context = ssl.create_default_context(cafile=str(ca))
    KeepAlive.connections = set()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), KeepAlive)
    httpd.socket = server_context.wrap_socket(httpd.socket, server_side=True)
    with serving(httpd) as port:
        yield port, client_context


def both_here(host: str, port: int) -> Sequence[str]:
    return ["127.0.0.1"] if host in ("a.test", "b.test") else []


def test_the_certificate_is_checked_for_the_name_in_the_url(
    tls_server: tuple[int, ssl.SSLContext],
) -> None:
    port, trust = tls_server
    with guarded_client(2, both_here, verify=trust) as client:
        assert client.post(f"https://a.test:{port}/e", content=b"{}").status_code == 200
        assert client.post(f"https://a.test:{port}/e", content=b"{}").status_code == 200
        # The same address under another name: a new connection, whose certificate
        # (for a.test only) does not fit b.test. Reusing a.test's would have passed.
        with pytest.raises(httpx.ConnectError, match=r"certificate|hostname"):
            client.post(f"https://b.test:{port}/e", content=b"{}")
    assert len(KeepAlive.connections) == 1  # a.test's two requests shared one connection
