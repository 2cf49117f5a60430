"""Loopback servers for the demo lab and the self-tests: good and broken HTTPS endpoints.

Every server binds its socket when it is constructed (so the port is known, and taken, before
any thread runs; port 0 picks a free one) and accepts in a daemon thread between ``start()``
and ``stop()``. Any 127.0.0.x address works on Linux loopback without configuration.

- :class:`TlsServer` serves a certificate chain exactly as given (leaf first, then the other
  certificates in the order given: leaf only, wrong order, root included) and answers GET/HEAD
  with pages from a dict.
- :class:`PlainHttpServer` speaks HTTP without TLS (someone bound http to port 443).
- :class:`HangingServer` accepts connections and never answers (a stuck middlebox).
- :class:`ResettingServer` reads the client's first bytes and resets the connection.
- :class:`ClosedPort` holds a port bound but not listening: connections are refused.
"""

from __future__ import annotations

import contextlib
import http
import selectors
import socket
import ssl
import struct
import tempfile
import threading
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certgate.hosts.facts import Endpoint
from certgate.lab import pki

IO_TIMEOUT = 10.0  # a lab client that stalls longer than this is dropped
MAX_REQUEST_BYTES = 64 * 1024


@dataclass(frozen=True)
class Page:
    """One HTTP response: status, extra headers and body (Content-Length is added).

    An ``endless`` page sends its body without a length, then keeps sending a line every
    0.1 s until the client hangs up or the server stops: a page that never finishes.
    """

    body: bytes = b"<!doctype html><title>certgate lab</title><p>ok</p>\n"
    status: int = 200
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "text/html; charset=utf-8"),)
    endless: bool = False


DEFAULT_PAGES: Mapping[str, Page] = {"/": Page()}


@dataclass(frozen=True)
class TlsOffer:
    """What a :class:`TlsServer` offers: protocol versions from ``minimum`` to ``maximum`` and
    the TLS 1.2-and-below suites of ``ciphers`` (an OpenSSL cipher string; TLS 1.3 keeps
    OpenSSL's suites), the ECDHE group ``curve``. The default is the lab's usual server."""

    minimum: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2
    maximum: ssl.TLSVersion = ssl.TLSVersion.MAXIMUM_SUPPORTED
    # The lab also serves what real servers still send (SHA-1 leaves, 1024-bit keys), which
    # OpenSSL's default security level refuses to load: judging them is the client's job.
    ciphers: str = "DEFAULT:@SECLEVEL=0"
    # The one ECDHE group offered (Python's ssl sets no list); None: OpenSSL's defaults,
    # which include X448, outside the hardening profile's groups.
    curve: str | None = None


LAB_OFFER = TlsOffer()
NOT_FOUND = Page(b"not found\n", 404, (("Content-Type", "text/plain"),))


class LabServer:
    """A socket bound at construction; ``start()`` serves it in a thread, ``stop()`` ends it."""

    def __init__(self, address: str = "127.0.0.1", port: int = 0) -> None:
        self._sock = self._bind(address, port)
        bound = self._sock.getsockname()
        self.address: str = bound[0]
        self.port: int = bound[1]
        self._stopping = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._thread = threading.Thread(
            target=self._accept_loop, name=f"lab {self.address}:{self.port}", daemon=True
        )

    def _bind(self, address: str, port: int) -> socket.socket:
        return socket.create_server((address, port), family=_family(address), backlog=128)

    def endpoint(self, host: str) -> Endpoint:
        """This server as an endpoint of ``host``."""
        return Endpoint(host, self.address, self.port)

    def start(self) -> LabServer:
        """Accept connections in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, release held connections and the port."""
        self._stopping.set()
        if self._thread.is_alive():
            self._wake_w.send(b"x")
            self._thread.join()
        for sock in (self._sock, self._wake_r, self._wake_w):
            sock.close()

    def __enter__(self) -> LabServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        # A selector on the listener and a wake-up socket: stop() returns at once, with no
        # polling interval (the benchmark starts and stops fifty of these).
        with selectors.DefaultSelector() as selector:
            selector.register(self._sock, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while not self._stopping.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self._sock:
                        self._accept()

    def _accept(self) -> None:
        try:
            conn, _ = self._sock.accept()
        except OSError:
            return
        threading.Thread(target=self._serve_and_close, args=(conn,), daemon=True).start()

    def _serve_and_close(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(IO_TIMEOUT)
            # Clients hang up mid-handshake all the time (sslyze probes cipher suites that
            # the lab does not offer): a lab server shrugs, it is not what is under test.
            with contextlib.suppress(OSError):
                self.handle(conn)

    def handle(self, conn: socket.socket) -> None:
        """Serve one accepted connection; the caller closes it."""
        raise NotImplementedError


class TlsServer(LabServer):
    """HTTPS with the given chain (``chain[0]`` is the leaf, matching ``key``), sent as given."""

    def __init__(
        self,
        chain: Sequence[x509.Certificate],
        key: pki.PrivateKey,
        *,
        address: str = "127.0.0.1",
        port: int = 0,
        pages: Mapping[str, Page] = DEFAULT_PAGES,
        offer: TlsOffer = LAB_OFFER,
        also: Sequence[tuple[Sequence[x509.Certificate], pki.PrivateKey]] = (),
    ) -> None:
        """``offer``: what it offers (:class:`TlsOffer`); ``also``: more (chain, key) pairs of
        other key types, as a server with an RSA and an ECDSA certificate has; OpenSSL sends
        the one the client's offer fits."""
        self._context = _server_context(chain, key, offer)
        for other_chain, other_key in also:
            _load_chain(self._context, other_chain, other_key)
        self.pages = pages
        super().__init__(address, port)

    def handle(self, conn: socket.socket) -> None:
        with self._context.wrap_socket(conn, server_side=True) as tls:
            _answer_http(tls, self.pages, self._stopping)


class PlainHttpServer(LabServer):
    """HTTP without TLS: a TLS client gets a 400 answer in clear text, as from IIS or nginx."""

    def __init__(
        self, address: str = "127.0.0.1", port: int = 0, pages: Mapping[str, Page] = DEFAULT_PAGES
    ) -> None:
        self.pages = pages
        super().__init__(address, port)

    def handle(self, conn: socket.socket) -> None:
        _answer_http(conn, self.pages)


class HangingServer(LabServer):
    """Accepts every connection, reads nothing, answers nothing, until stopped."""

    def handle(self, conn: socket.socket) -> None:
        self._stopping.wait()


class ResettingServer(LabServer):
    """Reads the client's first bytes (its ClientHello), then resets the connection."""

    def handle(self, conn: socket.socket) -> None:
        conn.recv(4096)
        # SO_LINGER with a zero timeout turns close() into a TCP RST.
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


class ClosedPort(LabServer):
    """A port bound but not listening: the kernel refuses connections, and no one else can
    take the port while this object holds it."""

    def _bind(self, address: str, port: int) -> socket.socket:
        sock = socket.socket(_family(address))
        sock.bind((address, port))
        return sock

    def start(self) -> LabServer:
        return self

    def stop(self) -> None:
        for sock in (self._sock, self._wake_r, self._wake_w):
            sock.close()


@contextlib.contextmanager
def serving(*servers: LabServer) -> Iterator[tuple[LabServer, ...]]:
    """Start ``servers``; stop every one that was started on the way out, even on error."""
    started: list[LabServer] = []
    try:
        for server in servers:
            started.append(server.start())
        yield servers
    finally:
        for server in started:
            server.stop()
        for server in servers[len(started) :]:
            server.stop()  # bound but never started: release the port


# --- helpers ----------------------------------------------------------------------------------


def _family(address: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def _server_context(
    chain: Sequence[x509.Certificate], key: pki.PrivateKey, offer: TlsOffer
) -> ssl.SSLContext:
    """A server context sending ``chain`` as given; the PEM files live only while loading."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.set_ciphers(offer.ciphers)
    if offer.curve is not None:
        context.set_ecdh_curve(offer.curve)
    with warnings.catch_warnings():  # TLS 1.0 is deprecated: a legacy lab host offers it
        warnings.simplefilter("ignore", DeprecationWarning)
        context.minimum_version, context.maximum_version = offer.minimum, offer.maximum
    _load_chain(context, chain, key)
    return context


def _load_chain(
    context: ssl.SSLContext, chain: Sequence[x509.Certificate], key: pki.PrivateKey
) -> None:
    pem = b"".join(cert.public_bytes(serialization.Encoding.PEM) for cert in chain)
    with tempfile.TemporaryDirectory(prefix="certgate-lab-") as folder:
        chain_file = Path(folder, "chain.pem")
        key_file = Path(folder, "key.pem")
        chain_file.write_bytes(pem)
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        key_file.chmod(0o600)
        context.load_cert_chain(chain_file, key_file)


def _read_request(conn: socket.socket) -> bytes:
    """The request head (up to the blank line), or what arrived before the client stopped."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < MAX_REQUEST_BYTES:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
        if not data[:1].isalpha():
            break  # not HTTP (a TLS ClientHello): answer at once, as a real server does
    return data


def _answer_http(
    conn: socket.socket, pages: Mapping[str, Page], stopping: threading.Event | None = None
) -> None:
    head = _read_request(conn)
    if not head:
        return
    parts = head.split(b"\r\n", 1)[0].split()
    if len(parts) != 3 or parts[0] not in (b"GET", b"HEAD"):
        conn.sendall(_response(Page(b"bad request\n", 400, ()), head_only=False))
        return
    path = parts[1].decode("latin-1").split("?", 1)[0]
    page = pages.get(path, NOT_FOUND)
    if page.endless and stopping is not None and parts[0] == b"GET":
        _trickle(conn, page, stopping)
        return
    conn.sendall(_response(page, head_only=parts[0] == b"HEAD"))


def _trickle(conn: socket.socket, page: Page, stopping: threading.Event) -> None:
    """The head and body with no length, then a line every 0.1 s, until stopped (the
    client hanging up makes sendall raise, which ends the connection)."""
    lines = [f"HTTP/1.1 {page.status} Lab", *(f"{n}: {v}" for n, v in page.headers)]
    conn.sendall("\r\n".join([*lines, "Connection: close", "", ""]).encode("latin-1") + page.body)
    while not stopping.wait(0.1):
        conn.sendall(b"<!-- still loading -->\n")


def _response(page: Page, *, head_only: bool) -> bytes:
    try:
        reason = http.HTTPStatus(page.status).phrase
    except ValueError:
        reason = "Lab"
    lines = [f"HTTP/1.1 {page.status} {reason}"]
    lines += [f"{name}: {value}" for name, value in page.headers]
    lines += [f"Content-Length: {len(page.body)}", "Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1") + (b"" if head_only else page.body)
