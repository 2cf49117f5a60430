"""One bounded TLS handshake with SNI: the version and the chain as sent, or why not.

Standard library only (socket, ssl, threads), so that a fleet's handshakes can run in a
small process of their own (:func:`serve`, started by certgate.hosts.probe) on another
core while the audit's process collects and runs items: at 1,000 addresses the handshakes'
Python side was about a second of the audit's one interpreter lock (bench/README.md).
certgate.hosts.probe turns what this module answers into facts, in the audit's process,
either way.

The child reads :data:`Job` values (pickled) on its standard input until it is closed and
writes ``(number, Answer | Failure | None)`` (pickled) on its standard output as each
handshake ends, ``MAX_IN_FLIGHT`` at a time.
"""

from __future__ import annotations

import contextlib
import pickle
import signal
import socket
import ssl
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO

# Handshakes in flight at once. Each waits on the network most of its time (a 50 ms RTT makes
# a handshake about 100 ms), so many at once; each one's memory is freed when it closes.
MAX_IN_FLIGHT = 192

# ssl's version names -> the names sslyze gives the same versions (results.json, messages).
VERSION_NAMES = {
    "TLSv1.3": "TLS_1_3",
    "TLSv1.2": "TLS_1_2",
    "TLSv1.1": "TLS_1_1",
    "TLSv1": "TLS_1_0",
    "SSLv3": "SSL_3_0",
}

# OpenSSL's reasons when the bytes that came back are not a TLS record at all.
_NOT_TLS_REASONS = {
    "WRONG_VERSION_NUMBER",
    "HTTP_REQUEST",
    "PACKET_LENGTH_TOO_LONG",
    "RECORD_LAYER_FAILURE",
    "UNKNOWN_PROTOCOL",
}


@dataclass(frozen=True)
class Answer:
    """The handshake finished: the version (sslyze's names: ``TLS_1_3``) and the
    certificates exactly as the server sent them, DER, leaf first (none: it sent none)."""

    version: str
    chain: tuple[bytes, ...]


@dataclass(frozen=True)
class Failure:
    """Why the endpoint cannot be audited: an :class:`certgate.hosts.facts.EndpointStatus`
    member's name and the reason in words."""

    status: str
    reason: str


Outcome = Answer | Failure | None
"""None: a TLS speaker this client could not finish a handshake with (sslyze decides)."""


@dataclass(frozen=True)
class Job:
    """One handshake to make: ``number`` names it in the answer; ``rsa_only``: offer only RSA
    authentication, up to TLS 1.2 (the certificate a server with an RSA and an ECDSA key
    sends to clients that take RSA: the manual's certificate)."""

    number: int
    host: str
    address: str
    port: int
    timeout: float
    rsa_only: bool = False


def probe_context() -> ssl.SSLContext:
    # Only "does it speak TLS at all": accept any certificate, old versions and ciphers, so
    # a server that merely fails policy still reaches sslyze and gets judged there.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    context.set_ciphers("ALL:@SECLEVEL=0")
    return context


def rsa_context() -> ssl.SSLContext:
    context = probe_context()
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers("aRSA:@SECLEVEL=0")
    return context


def connect(host: str, address: str, port: int, timeout: float, context: ssl.SSLContext) -> Outcome:
    """One handshake with ``host`` as SNI at ``address``:``port``, every step within
    ``timeout`` seconds."""
    try:
        return _connect(host, address, port, timeout, context)
    except Exception as exc:  # nothing the two ways of asking may answer differently
        return Failure("SCAN_FAILED", f"the handshake failed: {exc!r}")


def _connect(
    host: str, address: str, port: int, timeout: float, context: ssl.SSLContext
) -> Outcome:
    if not sni_ok(host):
        return Failure("HANDSHAKE_FAILED", f"cannot send {host!r} as SNI: not a valid DNS name")
    deadline = time.monotonic() + timeout
    try:
        sock = socket.create_connection((address, port), timeout=timeout)
    except ConnectionRefusedError:
        return Failure("REFUSED", "connection refused: nothing listens")
    except TimeoutError:
        return Failure("TIMED_OUT", f"no answer to the TCP connection in {timeout:g} s")
    except OSError as exc:
        return Failure("UNREACHABLE", f"cannot connect: {exc.strerror}")
    with sock:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        return _handshake(host, sock, context, timeout)


def sni_ok(host: str) -> bool:
    try:
        host.encode("idna")  # what ssl and sslyze do to the name they send
    except UnicodeError:
        return False
    return True


def _handshake(host: str, sock: socket.socket, context: ssl.SSLContext, timeout: float) -> Outcome:
    try:
        with context.wrap_socket(sock, server_hostname=host) as tls:
            version = tls.version() or ""
            return Answer(VERSION_NAMES.get(version, version or "unknown"), received_chain(tls))
    except TimeoutError:
        reason = f"the port accepted the connection but sent no TLS answer within {timeout:g} s"
        return Failure("TIMED_OUT", reason)
    except ssl.SSLError as exc:
        if exc.reason in _NOT_TLS_REASONS:
            return Failure("NOT_TLS", "the port answers, but not with TLS (plain HTTP?)")
        return None  # a TLS speaker with settings this probe does not share: sslyze decides
    except (ConnectionResetError, ssl.SSLEOFError, BrokenPipeError):
        return Failure("RESET", "the server reset the connection during the handshake")
    except OSError as exc:
        return Failure("UNREACHABLE", f"connection failed: {exc.strerror}")


def received_chain(tls: ssl.SSLSocket) -> tuple[bytes, ...]:
    """The certificates the server sent, DER, leaf first.

    Python 3.13 has ``SSLSocket.get_unverified_chain()``; 3.11 and 3.12 have the same
    method on the socket's ``_sslobj`` only (the C object both call). A self-test
    (tests/unit/test_probe_chain.py) proves it on the running interpreter.
    """
    getter = getattr(tls, "get_unverified_chain", None)
    if getter is None:
        getter = tls._sslobj.get_unverified_chain  # type: ignore[attr-defined]
    der = ssl_der()
    return tuple(c if isinstance(c, bytes) else c.public_bytes(der) for c in getter() or [])


def ssl_der() -> int:
    """The encoding constant of ``_ssl.Certificate.public_bytes`` for DER."""
    import _ssl

    return int(_ssl.ENCODING_DER)


# --- the handshakes' own process --------------------------------------------------------------


def serve(jobs: BinaryIO, answers: BinaryIO) -> None:
    """Every job read from ``jobs`` (until it ends) handshaken, ``MAX_IN_FLIGHT`` at a time;
    each answer written to ``answers`` as soon as it is known, by the thread that made it.

    The thread that reads ``jobs`` never writes: were it to wait on a full ``answers`` pipe
    while the audit's process waits on a full ``jobs`` pipe, both would wait for ever."""
    contexts = {False: probe_context(), True: rsa_context()}
    lock = threading.Lock()

    def handshake_and_answer(job: Job) -> None:
        outcome = connect(job.host, job.address, job.port, job.timeout, contexts[job.rsa_only])
        message = pickle.dumps((job.number, outcome), protocol=pickle.HIGHEST_PROTOCOL)
        with lock, contextlib.suppress(OSError):  # the audit is gone: nobody to answer
            answers.write(message)
            answers.flush()

    unpickler = pickle.Unpickler(jobs)
    with ThreadPoolExecutor(max_workers=MAX_IN_FLIGHT) as pool:
        while True:
            try:
                job: Job = unpickler.load()
            except EOFError:
                break
            pool.submit(handshake_and_answer, job)


def main() -> None:
    """The handshake process: jobs on standard input, answers on standard output. Ctrl-C is
    the audit's to handle (the terminal sends it to both processes): this one ends when the
    audit closes its input."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    serve(sys.stdin.buffer, sys.stdout.buffer)
