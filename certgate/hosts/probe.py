"""Every host name resolved once, and every address asked once, with one bounded TLS
handshake with SNI, concurrently (stdlib socket and ssl only): the chain it serves.

That one handshake is all the manual's host controls need (:class:`Served`: the version and
the certificates exactly as sent), so most endpoints are never handed to sslyze at all.
It also keeps the ports that cannot be audited out of sslyze: sslyze's own connectivity
test tries up to eleven handshakes (TLS 1.3 down to SSL 2.0, two cipher lists each) and each
waits the full network timeout on a port that accepts and never answers. Refused / timed
out / reset / not-TLS ports become facts within ``timeout``. A TLS speaker this client cannot
finish a handshake with (SSL 3.0 only, say) is left to sslyze, which speaks more.
"""

from __future__ import annotations

import ctypes
import queue
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from certgate.hosts.facts import Endpoint, EndpointFacts, EndpointStatus

__all__ = ["Progress", "Served", "down", "probe_all", "probe_each", "resolve"]

# Handshakes in flight at once. Each waits on the network most of its time (a 50 ms RTT makes
# a handshake about 100 ms), so many at once; each one's memory is freed when it closes.
MAX_IN_FLIGHT = 192
TRIM_EVERY = 128

# ssl's version names -> the names sslyze gives the same versions (results.json, messages).
_VERSION_NAMES = {
    "TLSv1.3": "TLS_1_3",
    "TLSv1.2": "TLS_1_2",
    "TLSv1.1": "TLS_1_1",
    "TLSv1": "TLS_1_0",
    "SSLv3": "SSL_3_0",
}


@dataclass(frozen=True)
class Served:
    """What one handshake with SNI got: the version (sslyze's names: ``TLS_1_3``) and the
    certificates exactly as the server sent them, leaf first."""

    version: str
    chain: tuple[x509.Certificate, ...]


def resolve(
    host: str, port: int = 443, addresses: Sequence[str] = (), *, timeout: float = 5.0
) -> tuple[list[Endpoint], str | None]:
    """The endpoints of ``host``: at ``addresses`` when given, else at every address DNS gives.

    Returns ``([], reason)`` when the name does not resolve ("no such name"), or when the
    lookup takes longer than ``timeout`` seconds (getaddrinfo itself cannot be bounded).
    """
    if addresses:
        return [Endpoint(host, a, port) for a in dict.fromkeys(addresses)], None
    answer: queue.Queue[list[str] | str] = queue.Queue()
    # A daemon thread, not an executor: a stuck resolver must not hold up interpreter exit.
    threading.Thread(target=_lookup, args=(host, port, answer), daemon=True).start()
    try:
        found = answer.get(timeout=timeout)
    except queue.Empty:
        return [], f"no answer from DNS for {host} within {timeout:g} s"
    if isinstance(found, str):
        return [], found
    return [Endpoint(host, a, port) for a in found], None


def _lookup(host: str, port: int, answer: queue.Queue[list[str] | str]) -> None:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        if exc.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", None)):
            answer.put(f"no such name: {host} does not resolve")
        else:
            answer.put(f"cannot resolve {host}: {exc.strerror}")
        return
    except (UnicodeError, OSError) as exc:
        answer.put(f"cannot resolve {host}: {exc}")
        return
    answer.put(list(dict.fromkeys(str(info[4][0]) for info in infos)))


# --- trust ------------------------------------------------------------------------------------


# OpenSSL's reasons when the bytes that came back are not a TLS record at all.
_NOT_TLS_REASONS = {
    "WRONG_VERSION_NUMBER",
    "HTTP_REQUEST",
    "PACKET_LENGTH_TOO_LONG",
    "RECORD_LAYER_FAILURE",
    "UNKNOWN_PROTOCOL",
}


def _probe_context() -> ssl.SSLContext:
    # Only "does it speak TLS at all": accept any certificate, old versions and ciphers, so
    # a server that merely fails policy still reaches sslyze and gets judged there.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    context.set_ciphers("ALL:@SECLEVEL=0")
    return context


def _rsa_context() -> ssl.SSLContext:
    # Up to TLS 1.2 with RSA authentication only: the certificate a server with both an RSA
    # and an ECDSA key sends to clients that take RSA (the manual's certificate).
    context = _probe_context()
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers("aRSA:@SECLEVEL=0")
    return context


Outcome = EndpointFacts | Served | None
"""Why an endpoint cannot be audited, what it served, or None: a TLS speaker this client
could not finish a handshake with (sslyze decides)."""


def _probe(
    endpoint: Endpoint, timeout: float, context: ssl.SSLContext, rsa_only: ssl.SSLContext
) -> Outcome:
    """The chain the endpoint serves with SNI, preferring its RSA certificate; else why not."""
    found = _connect(endpoint, timeout, context)
    if not isinstance(found, Served) or not found.chain or _is_rsa(found.chain[0]):
        return found
    again = _connect(endpoint, timeout, rsa_only)  # an ECDSA leaf: is there an RSA one too?
    if isinstance(again, Served) and again.chain and _is_rsa(again.chain[0]):
        return Served(found.version, again.chain)
    return found


def _is_rsa(cert: x509.Certificate) -> bool:
    try:
        return isinstance(cert.public_key(), rsa.RSAPublicKey)
    except ValueError:  # a key cryptography cannot read: not RSA as far as the manual goes
        return False


def _connect(endpoint: Endpoint, timeout: float, context: ssl.SSLContext) -> Outcome:
    if not _sni_ok(endpoint.host):
        reason = f"cannot send {endpoint.host!r} as SNI: not a valid DNS name"
        return down(endpoint, EndpointStatus.HANDSHAKE_FAILED, reason)
    deadline = time.monotonic() + timeout
    try:
        sock = socket.create_connection((endpoint.address, endpoint.port), timeout=timeout)
    except ConnectionRefusedError:
        return down(endpoint, EndpointStatus.REFUSED, "connection refused: nothing listens")
    except TimeoutError:
        return down(
            endpoint, EndpointStatus.TIMED_OUT, f"no answer to the TCP connection in {timeout:g} s"
        )
    except OSError as exc:
        return down(endpoint, EndpointStatus.UNREACHABLE, f"cannot connect: {exc.strerror}")
    with sock:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        return _handshake(endpoint, sock, context, timeout)


def _sni_ok(host: str) -> bool:
    try:
        host.encode("idna")  # what ssl and sslyze do to the name they send
    except UnicodeError:
        return False
    return True


def _handshake(
    endpoint: Endpoint, sock: socket.socket, context: ssl.SSLContext, timeout: float
) -> Outcome:
    try:
        with context.wrap_socket(sock, server_hostname=endpoint.host) as tls:
            return _served(tls)
    except TimeoutError:
        return down(
            endpoint,
            EndpointStatus.TIMED_OUT,
            f"the port accepted the connection but sent no TLS answer within {timeout:g} s",
        )
    except ssl.SSLError as exc:
        if exc.reason in _NOT_TLS_REASONS:
            return down(
                endpoint, EndpointStatus.NOT_TLS, "the port answers, but not with TLS (plain HTTP?)"
            )
        return None  # a TLS speaker with settings this probe does not share: sslyze decides
    except (ConnectionResetError, ssl.SSLEOFError, BrokenPipeError):
        return down(
            endpoint, EndpointStatus.RESET, "the server reset the connection during the handshake"
        )
    except OSError as exc:
        return down(endpoint, EndpointStatus.UNREACHABLE, f"connection failed: {exc.strerror}")


def _served(tls: ssl.SSLSocket) -> Served | None:
    """The version and the chain as sent; None when the server sent no certificate."""
    der = _received_chain(tls)
    if not der:
        return None  # anonymous suites only, say: sslyze reports it
    try:
        chain = tuple(x509.load_der_x509_certificate(d) for d in der)
    except ValueError:
        return None  # a certificate cryptography cannot read: sslyze's path says why
    return Served(_VERSION_NAMES.get(tls.version() or "", tls.version() or "unknown"), chain)


def _received_chain(tls: ssl.SSLSocket) -> list[bytes]:
    """The certificates the server sent, DER, leaf first.

    Python 3.13 has ``SSLSocket.get_unverified_chain()``; 3.11 and 3.12 have the same
    method on the socket's ``_sslobj`` only (the C object both call). A self-test
    (tests/unit/test_probe_chain.py) proves it on the running interpreter.
    """
    getter = getattr(tls, "get_unverified_chain", None)
    if getter is None:
        getter = tls._sslobj.get_unverified_chain  # type: ignore[attr-defined]
    return [c if isinstance(c, bytes) else c.public_bytes(ssl_der()) for c in getter() or []]


def ssl_der() -> int:
    """The encoding constant of ``_ssl.Certificate.public_bytes`` for DER."""
    import _ssl

    return int(_ssl.ENCODING_DER)


def probe_all(
    endpoints: Sequence[Endpoint], timeout: float, progress: Progress
) -> dict[Endpoint, Outcome]:
    """Every endpoint's :data:`Outcome`, in the order given (see :func:`probe_each`)."""
    found = dict(probe_each(endpoints, timeout, progress))
    return {e: found[e] for e in endpoints}


def probe_each(
    endpoints: Sequence[Endpoint], timeout: float, progress: Progress
) -> Iterator[tuple[Endpoint, Outcome]]:
    """Every endpoint's :data:`Outcome` as soon as it is known, all asked at once
    (``MAX_IN_FLIGHT`` at a time): the caller works on one while the others are in flight.

    ``progress(endpoint, True)`` when the endpoint is done with (it cannot be audited),
    ``progress(endpoint, False)`` when it answered TLS."""
    if not endpoints:
        return
    context, rsa_only = _probe_context(), _rsa_context()
    with ThreadPoolExecutor(max_workers=min(MAX_IN_FLIGHT, len(endpoints))) as pool:
        futures = {pool.submit(_probe, e, timeout, context, rsa_only): e for e in endpoints}
        for done, future in enumerate(as_completed(futures), 1):
            endpoint, outcome = futures[future], future.result()
            progress(endpoint, isinstance(outcome, EndpointFacts))
            yield endpoint, outcome
            if done % TRIM_EVERY == 0:
                give_memory_back()
    give_memory_back()


def give_memory_back() -> None:
    """Hand the memory the handshakes freed back to the system.

    glibc keeps what the pool's threads freed (their connections, buffers and certificates)
    for reuse; after a thousand handshakes that was about 20 MiB the rest of the audit never
    reused (bench/README.md). Linux with glibc only; elsewhere nothing happens."""
    if not sys.platform.startswith("linux"):
        return
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return
    trim(0)


def down(endpoint: Endpoint, status: EndpointStatus, reason: str) -> EndpointFacts:
    return EndpointFacts(endpoint, status, error=reason)


Progress = Callable[[Endpoint, bool], None]
"""(endpoint, finished): the endpoint answered the probe (False) or its facts are known (True)."""
