"""Every host name resolved once, and every address asked once, with one bounded TLS
handshake with SNI, concurrently (stdlib socket and ssl only): the chain it serves.

That one handshake is all the manual's host controls need (:class:`Served`: the version and
the certificates exactly as sent), so most endpoints are never handed to sslyze at all.
It also keeps the ports that cannot be audited out of sslyze: sslyze's own connectivity
test tries up to eleven handshakes (TLS 1.3 down to SSL 2.0, two cipher lists each) and each
waits the full network timeout on a port that accepts and never answers. Refused / timed
out / reset / not-TLS ports become facts within ``timeout``. A TLS speaker this client cannot
finish a handshake with (SSL 3.0 only, say) is left to sslyze, which speaks more.

The handshakes themselves are certgate/hosts/handshake.py's. At fleet size they run in a
process of their own, on another core, while this one collects the items and makes each
answer's facts (cryptography reads the certificates here either way): in one process, the
thousand handshakes' Python side shared the interpreter lock with everything else
(bench/README.md).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import queue
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from certgate.hosts import handshake
from certgate.hosts.facts import Endpoint, EndpointFacts, EndpointStatus
from certgate.hosts.handshake import MAX_IN_FLIGHT, Failure, Job

__all__ = ["Progress", "Served", "down", "probe_all", "probe_each", "resolve"]


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


# --- the handshakes -----------------------------------------------------------------------------

TRIM_EVERY = 128  # handshakes between two :func:`give_memory_back` calls
# From this many addresses on, the handshakes run in a process of their own (handshake.py):
# below it, the handshakes are over about as soon as the process would have started.
CHILD_FROM = 200
CHILD_MAIN = "from certgate.hosts.handshake import main; main()"

Outcome = EndpointFacts | Served | None
"""Why an endpoint cannot be audited, what it served, or None: a TLS speaker this client
could not finish a handshake with (sslyze decides)."""


def _outcome(endpoint: Endpoint, answer: handshake.Outcome) -> Outcome:
    """What a handshake answered, as facts (certificates read by cryptography)."""
    if isinstance(answer, Failure):
        return down(endpoint, EndpointStatus[answer.status], answer.reason)
    if answer is None or not answer.chain:
        return None  # no certificate sent (anonymous suites only, say): sslyze reports it
    try:
        chain = tuple(x509.load_der_x509_certificate(d) for d in answer.chain)
    except ValueError:
        return None  # a certificate cryptography cannot read: sslyze's path says why
    return Served(answer.version, chain)


def _needs_rsa_retry(outcome: Outcome) -> bool:
    """An ECDSA (or other non-RSA) leaf: is there an RSA one too? (the manual's key)."""
    return isinstance(outcome, Served) and bool(outcome.chain) and not _is_rsa(outcome.chain[0])


def _with_rsa_retry(first: Outcome, again: Outcome) -> Outcome:
    """The RSA certificate when the second handshake found one, else what the first got."""
    if isinstance(first, Served) and isinstance(again, Served) and _is_rsa(again.chain[0]):
        return Served(first.version, again.chain)
    return first


def _is_rsa(cert: x509.Certificate) -> bool:
    try:
        return isinstance(cert.public_key(), rsa.RSAPublicKey)
    except ValueError:  # a key cryptography cannot read: not RSA as far as the manual goes
        return False


def _probe(endpoint: Endpoint, timeout: float) -> Outcome:
    """The chain the endpoint serves with SNI, preferring its RSA certificate; else why not."""
    found = _connect(endpoint, timeout, rsa_only=False)
    if not _needs_rsa_retry(found):
        return found
    return _with_rsa_retry(found, _connect(endpoint, timeout, rsa_only=True))


_CONTEXTS: dict[bool, object] = {}


def _connect(endpoint: Endpoint, timeout: float, *, rsa_only: bool) -> Outcome:
    if rsa_only not in _CONTEXTS:
        _CONTEXTS[rsa_only] = handshake.rsa_context() if rsa_only else handshake.probe_context()
    context = _CONTEXTS[rsa_only]
    answer = handshake.connect(
        endpoint.host,
        endpoint.address,
        endpoint.port,
        timeout,
        context,  # type: ignore[arg-type]
    )
    return _outcome(endpoint, answer)


def probe_all(
    endpoints: Sequence[Endpoint], timeout: float, progress: Progress
) -> dict[Endpoint, Outcome]:
    """Every endpoint's :data:`Outcome`, in the order given (see :func:`probe_each`)."""
    found = dict(probe_each(endpoints, timeout, progress))
    return {e: found[e] for e in endpoints}


def probe_each(
    endpoints: Sequence[Endpoint], timeout: float, progress: Progress
) -> Iterator[tuple[Endpoint, Outcome]]:
    """Every endpoint's :data:`Outcome` as soon as it is known, all asked at once: the caller
    works on one while the others are in flight. From :data:`CHILD_FROM` endpoints on, the
    handshakes run in a process of their own (``handshake.PROCESS_IN_FLIGHT`` at a time),
    below it in threads of this one (``handshake.MAX_IN_FLIGHT``).

    ``progress(endpoint, True)`` when the endpoint is done with (it cannot be audited),
    ``progress(endpoint, False)`` when it answered TLS."""
    if not endpoints:
        return
    found = _from_child(endpoints, timeout) if use_child(len(endpoints)) else None
    for done, (endpoint, outcome) in enumerate(found or _from_threads(endpoints, timeout), 1):
        progress(endpoint, isinstance(outcome, EndpointFacts))
        yield endpoint, outcome
        if done % TRIM_EVERY == 0:
            give_memory_back()
    give_memory_back()


def use_child(count: int) -> bool:
    """Whether ``count`` handshakes run in a process of their own (``CERTGATE_HANDSHAKES``:
    ``child`` or ``threads`` decides instead; the self-tests use it)."""
    chosen = os.environ.get("CERTGATE_HANDSHAKES", "")
    if chosen in ("child", "threads"):
        return chosen == "child"
    return count >= CHILD_FROM


def _from_threads(
    endpoints: Sequence[Endpoint], timeout: float
) -> Iterator[tuple[Endpoint, Outcome]]:
    with ThreadPoolExecutor(max_workers=min(MAX_IN_FLIGHT, len(endpoints))) as pool:
        futures = {pool.submit(_probe, e, timeout): e for e in endpoints}
        for future in as_completed(futures):
            yield futures[future], future.result()


def _from_child(
    endpoints: Sequence[Endpoint], timeout: float
) -> Iterator[tuple[Endpoint, Outcome]] | None:
    """The handshakes made by a process of their own (:data:`CHILD_MAIN`); None if it cannot
    start. A second handshake (RSA only) goes to the same process when the first found a
    non-RSA leaf; the process ends when its input is closed and everything is answered."""
    package_root = str(Path(__file__).resolve().parents[2])  # where `certgate` is imported from
    path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
    try:
        child = subprocess.Popen(
            # -P: not the current folder first on its path (a folder of the admin's holding a
            # `certgate` or an `ssl.py` would be imported instead)
            [sys.executable, "-P", "-c", CHILD_MAIN],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,  # one that fails leaves its addresses to threads
            env={**os.environ, "PYTHONPATH": path},
        )
    except (OSError, ValueError):  # no interpreter to start (an embedded Python, say)
        return None
    _widen(child.stdout)
    return _answers(child, endpoints, timeout)


def _answers(
    child: subprocess.Popen[bytes], endpoints: Sequence[Endpoint], timeout: float
) -> Iterator[tuple[Endpoint, Outcome]]:
    """The child's answers as they come; a second job (number + len(endpoints)) for a
    non-RSA leaf. What a child that died never answered is asked again here, in threads."""
    assert child.stdin is not None
    assert child.stdout is not None
    jobs, answers = _JobWriter(child.stdin), child.stdout
    count = len(endpoints)
    first: dict[int, Outcome] = {}  # non-RSA leaves, asked again with RSA only
    waiting = set(range(count))
    ended = False  # the child's answers ended (all given, or it died)
    try:
        jobs.send([Job(n, e.host, e.address, e.port, timeout) for n, e in enumerate(endpoints)])
        while waiting:
            try:
                number, answer = pickle.load(answers)
            except (EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError):
                break  # the process ended (or died half-way through an answer)
            index = number % count
            endpoint, outcome = endpoints[index], _outcome(endpoints[index], answer)
            if number >= count:  # the RSA-only retry
                waiting.discard(index)
                yield endpoint, _with_rsa_retry(first.pop(index), outcome)
            elif _needs_rsa_retry(outcome):
                first[index] = outcome
                e = endpoint
                jobs.send([Job(number + count, e.host, e.address, e.port, timeout, True)])
            else:
                waiting.discard(index)
                yield endpoint, outcome
        ended = True
    finally:
        if not ended:  # the caller stopped early: the child's handshakes are not wanted
            child.kill()
        jobs.close()
        answers.close()
        child.wait()
    for index in sorted(i for i in waiting if i in first):  # its RSA retry was lost: here
        waiting.discard(index)
        again = _connect(endpoints[index], timeout, rsa_only=True)
        yield endpoints[index], _with_rsa_retry(first[index], again)
    if waiting:  # the process died: what it did not answer is asked here
        yield from _from_threads([endpoints[i] for i in sorted(waiting)], timeout)


class _JobWriter:
    """The jobs for the handshake process, written by a thread of their own: the thread that
    reads the answers never waits on a full jobs pipe (while the child, its answers pipe full,
    waits on it: neither would go on). Closing it closes the pipe once all is written."""

    def __init__(self, pipe: IO[bytes]) -> None:
        self._queue: queue.SimpleQueue[list[Job] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(
            target=self._write, args=(pipe,), name="certgate handshake jobs", daemon=True
        )
        self._thread.start()

    def send(self, batch: list[Job]) -> None:
        self._queue.put(batch)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _write(self, pipe: IO[bytes]) -> None:
        try:
            while (batch := self._queue.get()) is not None:
                pipe.write(
                    b"".join(pickle.dumps(j, protocol=pickle.HIGHEST_PROTOCOL) for j in batch)
                )
                pipe.flush()
        except OSError:  # the child died (BrokenPipeError): its answers end early
            pass
        finally:
            with contextlib.suppress(OSError):
                pipe.close()


PIPE_BYTES = 1 << 20  # Linux's default most for a pipe (/proc/sys/fs/pipe-max-size)


def _widen(pipe: IO[bytes] | None) -> None:
    """Room for hundreds of answers in the pipe from the handshake process: it never waits
    for this process (busy collecting) to read them, so its handshakes go on (Linux; the
    default 64 KiB elsewhere)."""
    setsize = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if pipe is None or setsize is None:
        return
    with contextlib.suppress(OSError):
        fcntl.fcntl(pipe.fileno(), setsize, PIPE_BYTES)


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
