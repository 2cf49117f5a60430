"""The lab's loopback servers: good HTTPS with the chain as given, and the broken endpoints."""

from __future__ import annotations

import re
import shutil
import socket
import ssl
import subprocess
import time

import pytest
from cryptography import x509

from certgate.lab import pki, servers
from certgate.lab.demo import Chains


def leaf_for(host: str, issuer: pki.Issued) -> pki.Issued:
    return pki.make_leaf(pki.name(CN=host), issuer, key=pki.pooled_key(), dns_names=[host])


def https_get(server: servers.LabServer, request: bytes) -> bytes:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection((server.address, server.port), timeout=5) as sock,
        context.wrap_socket(sock, server_hostname="www.good.lab") as tls,
    ):
        tls.sendall(request)
        return _read_all(tls)


def _read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def sent_chain(server: servers.LabServer) -> list[x509.Certificate]:
    """The certificates the server sends, in order, as openssl s_client shows them."""
    out = subprocess.run(
        ["openssl", "s_client", "-connect", f"{server.address}:{server.port}", "-showcerts"],
        input=b"",
        capture_output=True,
        timeout=10,
        check=False,
    ).stdout
    blocks = re.findall(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", out, re.S)
    return [x509.load_pem_x509_certificate(b) for b in blocks]


needs_openssl = pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl binary")


@needs_openssl
@pytest.mark.parametrize("order", ["leaf", "leaf uca_2 uca_1", "leaf uca_1 uca_2", "leaf root4"])
def test_tls_server_sends_the_chain_as_given(chains: Chains, order: str) -> None:
    leaf = leaf_for("www.good.lab", chains.uca_2)
    by_name = {"leaf": leaf, "uca_1": chains.uca_1, "uca_2": chains.uca_2, "root4": chains.root4}
    chain = [by_name[n].cert for n in order.split()]
    with servers.TlsServer(chain, leaf.key) as server:
        assert sent_chain(server) == chain


def test_tls_server_answers_pages(chains: Chains) -> None:
    leaf = leaf_for("www.good.lab", chains.uca)
    pages = {
        "/": servers.Page(b"<p>home</p>"),
        "/moved": servers.Page(b"", 302, (("Location", "/"),)),
    }
    with servers.TlsServer([leaf.cert, chains.uca.cert], leaf.key, pages=pages) as server:
        home = https_get(server, b"GET /?q=1 HTTP/1.1\r\nHost: www.good.lab\r\n\r\n")
        moved = https_get(server, b"GET /moved HTTP/1.1\r\nHost: x\r\n\r\n")
        missing = https_get(server, b"GET /nope HTTP/1.1\r\nHost: x\r\n\r\n")
        head = https_get(server, b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert home.startswith(b"HTTP/1.1 200 OK\r\n")
    assert home.endswith(b"\r\n\r\n<p>home</p>")
    assert b"\r\nLocation: /\r\n" in moved
    assert missing.startswith(b"HTTP/1.1 404 ")
    assert b"Content-Length: 11\r\n" in head
    assert head.endswith(b"\r\n\r\n")


def test_port_zero_is_bound_before_start_on_any_loopback_address(chains: Chains) -> None:
    leaf = leaf_for("www.good.lab", chains.uca)
    server = servers.TlsServer([leaf.cert], leaf.key, address="127.0.0.3")
    try:
        assert server.address == "127.0.0.3"
        assert server.port > 0
        assert server.endpoint("www.good.lab").where == f"127.0.0.3:{server.port}"
        server.start()
        assert https_get(server, b"GET / HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 200")
    finally:
        server.stop()


def test_plain_http_server_answers_clear_text() -> None:
    with servers.PlainHttpServer() as server:
        with socket.create_connection((server.address, server.port), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            assert _read_all(sock).startswith(b"HTTP/1.1 200 OK")
        with socket.create_connection((server.address, server.port), timeout=5) as sock:
            sock.sendall(b"\x16\x03\x01\x00\x05hello")  # the start of a TLS ClientHello
            assert _read_all(sock).startswith(b"HTTP/1.1 400 Bad Request")


def test_hanging_server_accepts_and_never_answers() -> None:
    with (
        servers.HangingServer() as server,
        socket.create_connection((server.address, server.port), timeout=0.3) as sock,
    ):
        sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
        with pytest.raises(TimeoutError):
            sock.recv(1)


def test_resetting_server_resets() -> None:
    with (
        servers.ResettingServer() as server,
        socket.create_connection((server.address, server.port), timeout=5) as sock,
    ):
        sock.sendall(b"\x16\x03\x01 hello")
        with pytest.raises(ConnectionResetError):
            sock.recv(1)


def test_closed_port_refuses() -> None:
    with servers.ClosedPort() as port, pytest.raises(ConnectionRefusedError):
        socket.create_connection((port.address, port.port), timeout=5)


def test_serving_starts_and_stops_every_server_quickly() -> None:
    group = [servers.HangingServer(address=f"127.0.0.{i}") for i in range(2, 12)]
    with servers.serving(*group) as started:
        held = [socket.create_connection((s.address, s.port), timeout=5) for s in started]
        began = time.monotonic()
    assert time.monotonic() - began < 1.0
    for server, sock in zip(group, held, strict=True):
        assert sock.recv(1) == b""  # the held connection was closed
        sock.close()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((server.address, server.port), timeout=5)
