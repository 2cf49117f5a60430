"""One bounded TLS handshake with SNI: the version and the chain as sent, or why not.

Standard library only (socket, ssl, selectors, threads), so that a fleet's handshakes can run in a
small process of their own (:func:`serve`, started by certgate.hosts.probe) on another
core while the audit's process collects and runs items: at 1,000 addresses the handshakes'
Python side was about a second of the audit's one interpreter lock (bench/README.md).
certgate.hosts.probe turns what this module answers into facts, in the audit's process,
either way.

Two ways of asking, one answer: :func:`connect` blocks (the audit's own threads call it), and
:func:`serve`, the handshake process, makes ``PROCESS_IN_FLIGHT`` handshakes at a time in one
thread with a selector (a thread per handshake cost that process a third more CPU and 14 MiB
more). Both map what happened through the same functions (:func:`connect_failure`,
:func:`handshake_failure`, :func:`answer_of`). The process reads :data:`Job` values (pickled)
on its standard input until it is closed and writes ``(number, Answer | Failure | None)``
(pickled) on its standard output as each handshake ends.
"""

from __future__ import annotations

import contextlib
import errno
import os
import pickle
import queue
import selectors
import signal
import socket
import ssl
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

# Handshakes in flight at once in the audit's own threads (fewer than 200 addresses, or no
# handshake process). Each waits on the network most of its time (a 50 ms RTT makes a
# handshake about 100 ms), so many at once; each one's memory is freed when it closes.
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
    ``timeout`` seconds (blocking: the audit's own threads make these)."""
    try:
        return _connect(host, address, port, timeout, context)
    except Exception as exc:  # nothing the two ways of asking may answer differently
        return scan_failed(exc)


def _connect(
    host: str, address: str, port: int, timeout: float, context: ssl.SSLContext
) -> Outcome:
    if not sni_ok(host):
        return bad_sni(host)
    deadline = time.monotonic() + timeout
    try:
        sock = socket.create_connection((address, port), timeout=timeout)
    except OSError as exc:
        return connect_failure(exc, timeout)
    with sock:
        sock.settimeout(max(0.1, deadline - time.monotonic()))
        try:
            with context.wrap_socket(sock, server_hostname=host) as tls:
                return answer_of(tls)
        except OSError as exc:
            return handshake_failure(exc, timeout)


# --- what each way of asking answers: one mapping for both -------------------------------------


def sni_ok(host: str) -> bool:
    try:
        host.encode("idna")  # what ssl and sslyze do to the name they send
    except UnicodeError:
        return False
    return True


def bad_sni(host: str) -> Failure:
    return Failure("HANDSHAKE_FAILED", f"cannot send {host!r} as SNI: not a valid DNS name")


def scan_failed(exc: Exception) -> Failure:
    return Failure("SCAN_FAILED", f"the handshake failed: {exc!r}")


def connect_failure(exc: OSError, timeout: float) -> Failure:
    """Why the TCP connection was not made."""
    if isinstance(exc, ConnectionRefusedError):
        return Failure("REFUSED", "connection refused: nothing listens")
    if isinstance(exc, TimeoutError):
        return Failure("TIMED_OUT", f"no answer to the TCP connection in {timeout:g} s")
    return Failure("UNREACHABLE", f"cannot connect: {exc.strerror}")


def handshake_failure(exc: OSError, timeout: float) -> Outcome:
    """Why the handshake on a made connection did not finish; None: a TLS speaker with
    settings this client does not share (sslyze decides)."""
    if isinstance(exc, TimeoutError):
        reason = f"the port accepted the connection but sent no TLS answer within {timeout:g} s"
        return Failure("TIMED_OUT", reason)
    if isinstance(exc, ssl.SSLError):  # an unexpected end of the stream included
        if exc.reason in _NOT_TLS_REASONS:
            return Failure("NOT_TLS", "the port answers, but not with TLS (plain HTTP?)")
        return None
    if isinstance(exc, (ConnectionResetError, BrokenPipeError)):
        return Failure("RESET", "the server reset the connection during the handshake")
    return Failure("UNREACHABLE", f"connection failed: {exc.strerror}")


def answer_of(tls: ssl.SSLSocket) -> Answer:
    version = tls.version() or ""
    return Answer(VERSION_NAMES.get(version, version or "unknown"), received_chain(tls))


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

# Handshakes in flight at once in that process: one thread makes them all (a selector), so
# each costs its connection only (about 0.04 MiB), not a thread (bench/README.md).
PROCESS_IN_FLIGHT = 400
_IN_PROGRESS = {errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN}


class _Attempt:
    """One handshake under way: its socket (then its TLS socket) and its deadline."""

    __slots__ = ("connected", "deadline", "job", "sock")

    def __init__(self, job: Job, sock: socket.socket) -> None:
        self.job, self.sock = job, sock
        self.deadline = time.monotonic() + job.timeout
        self.connected = False


def serve(jobs: BinaryIO, answers: BinaryIO) -> None:
    """Every job read from ``jobs`` (until it ends) handshaken, ``PROCESS_IN_FLIGHT`` at a
    time by one thread with a selector; each answer written to ``answers`` as soon as it is
    known. The same answers as :func:`connect` (one mapping, above).

    ``jobs`` is read by a thread of its own that never writes: were the one that writes to
    wait on a full ``jobs`` pipe while the audit's process waits on a full ``answers`` pipe,
    both would wait for ever."""
    _Handshakes(answers).run(_JobReader(jobs))


class _JobReader:
    """Reads jobs in a thread of its own; the selector loop is woken when some arrive."""

    def __init__(self, jobs: BinaryIO) -> None:
        self.queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self.wake, self._waker = socket.socketpair()
        self.wake.setblocking(False)
        threading.Thread(target=self._read, args=(jobs,), daemon=True).start()

    def _read(self, jobs: BinaryIO) -> None:
        unpickler = pickle.Unpickler(jobs)
        while True:
            try:
                job: Job | None = unpickler.load()
            except (EOFError, OSError, pickle.UnpicklingError):
                job = None  # the audit closed its end: no more jobs
            self.queue.put(job)
            with contextlib.suppress(OSError):
                self._waker.send(b".")
            if job is None:
                return

    def arrived(self) -> Iterator[Job | None]:
        with contextlib.suppress(OSError):
            self.wake.recv(65536)
        while True:
            try:
                yield self.queue.get_nowait()
            except queue.Empty:
                return


class _Handshakes:
    """The selector loop of :func:`serve`."""

    def __init__(self, answers: BinaryIO) -> None:
        self.answers = answers
        self.contexts = {False: probe_context(), True: rsa_context()}
        self.selector = selectors.DefaultSelector()
        self.live: dict[int, _Attempt] = {}
        self._pending: list[bytes] = []  # answers made, not yet written

    def run(self, reader: _JobReader) -> None:
        self.selector.register(reader.wake, selectors.EVENT_READ, None)
        waiting: deque[Job] = deque()
        more = True
        while more or waiting or self.live:
            while waiting and len(self.live) < PROCESS_IN_FLIGHT:
                self._start(waiting.popleft())
            self._expire()
            if not self._flush():
                return  # the audit is gone: nobody to answer
            soonest = min((a.deadline for a in self.live.values()), default=time.monotonic() + 1)
            for key, _ in self.selector.select(max(0.0, soonest - time.monotonic())):
                if key.data is None:
                    for job in reader.arrived():
                        if job is None:
                            more = False
                        else:
                            waiting.append(job)
                else:
                    self._step(key.data)
        self._flush()

    def _start(self, job: Job) -> None:
        if not sni_ok(job.host):
            self._answer(job, bad_sni(job.host))
            return
        try:
            family = socket.AF_INET6 if ":" in job.address else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setblocking(False)
            code = sock.connect_ex((job.address, job.port))
        except OSError as exc:
            self._answer(job, connect_failure(exc, job.timeout))
            return
        attempt = _Attempt(job, sock)
        if code and code not in _IN_PROGRESS:
            self._finish(attempt, connect_failure(OSError(code, os.strerror(code)), job.timeout))
            return
        self.live[id(attempt)] = attempt
        self.selector.register(sock, selectors.EVENT_WRITE, attempt)

    def _step(self, attempt: _Attempt) -> None:
        job = attempt.job
        try:
            if not attempt.connected:
                code = attempt.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if code:
                    failure = connect_failure(OSError(code, os.strerror(code)), job.timeout)
                    self._finish(attempt, failure)
                    return
                self._wrap(attempt)
            tls = attempt.sock
            assert isinstance(tls, ssl.SSLSocket)
            try:
                tls.do_handshake()
            except ssl.SSLWantReadError:
                self.selector.modify(tls, selectors.EVENT_READ, attempt)
                return
            except ssl.SSLWantWriteError:
                self.selector.modify(tls, selectors.EVENT_WRITE, attempt)
                return
            except OSError as exc:
                self._finish(attempt, handshake_failure(exc, job.timeout))
                return
            self._finish(attempt, answer_of(tls))
        except Exception as exc:  # as connect() answers it
            self._finish(attempt, scan_failed(exc))

    def _wrap(self, attempt: _Attempt) -> None:
        """The connection is made: TLS on it, within what is left of the bound (at least
        0.1 s, as connect() gives)."""
        attempt.connected = True
        attempt.deadline = max(attempt.deadline, time.monotonic() + 0.1)
        self.selector.unregister(attempt.sock)
        context = self.contexts[attempt.job.rsa_only]
        attempt.sock = context.wrap_socket(
            attempt.sock, server_hostname=attempt.job.host, do_handshake_on_connect=False
        )
        self.selector.register(attempt.sock, selectors.EVENT_WRITE, attempt)

    def _expire(self) -> None:
        now = time.monotonic()
        for attempt in [a for a in self.live.values() if a.deadline <= now]:
            late = TimeoutError()
            timeout = attempt.job.timeout
            failure = (
                handshake_failure(late, timeout)
                if attempt.connected
                else connect_failure(late, timeout)
            )
            self._finish(attempt, failure)

    def _finish(self, attempt: _Attempt, outcome: Outcome) -> None:
        if self.live.pop(id(attempt), None) is not None:
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(attempt.sock)
        attempt.sock.close()
        self._answer(attempt.job, outcome)

    def _answer(self, job: Job, outcome: Outcome) -> None:
        self._pending.append(pickle.dumps((job.number, outcome), protocol=pickle.HIGHEST_PROTOCOL))

    def _flush(self) -> bool:
        """Write the answers made since the last time; False when the audit is gone."""
        pending, self._pending = self._pending, []
        if not pending:
            return True
        try:
            self.answers.write(b"".join(pending))
            self.answers.flush()
        except OSError:
            return False
        return True


def main() -> None:
    """The handshake process: jobs on standard input, answers on standard output. Ctrl-C is
    the audit's to handle (the terminal sends it to both processes): this one ends when the
    audit closes its input."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    serve(sys.stdin.buffer, sys.stdout.buffer)
