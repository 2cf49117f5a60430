"""Before the scan: every host name resolved once, and every address probed with one bounded
TLS handshake, concurrently (stdlib socket and ssl only).

sslyze's own connectivity test tries up to eleven handshakes (TLS 1.3 down to SSL 2.0, two
cipher lists each) and each waits the full network timeout on a port that accepts and never
answers: about a minute for one stuck endpoint, and the Scanner yields nothing until every
connectivity test is done. The probe turns refused / timed out / reset / not-TLS ports into
facts within ``timeout`` and keeps them out of the scan.
"""

from __future__ import annotations

import queue
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed

from certgate.hosts.facts import Endpoint, EndpointFacts, EndpointStatus

__all__ = ["Progress", "down", "probe_all", "resolve"]


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


def _probe(endpoint: Endpoint, timeout: float, context: ssl.SSLContext) -> EndpointFacts | None:
    """None when the endpoint answers TLS (or at least speaks it); else why it cannot be audited."""
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
) -> EndpointFacts | None:
    try:
        with context.wrap_socket(sock, server_hostname=endpoint.host):
            return None
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


def probe_all(
    endpoints: Sequence[Endpoint], timeout: float, progress: Progress
) -> dict[Endpoint, EndpointFacts]:
    """The endpoints that cannot be scanned, with why; all probed at once."""
    if not endpoints:
        return {}
    context = _probe_context()
    down: dict[Endpoint, EndpointFacts] = {}
    with ThreadPoolExecutor(max_workers=min(64, len(endpoints))) as pool:
        futures = {pool.submit(_probe, e, timeout, context): e for e in endpoints}
        for future in as_completed(futures):
            endpoint, facts = futures[future], future.result()
            progress(endpoint, facts is not None)  # a failed probe is the endpoint's verdict
            if facts is not None:
                down[endpoint] = facts
    return {e: down[e] for e in endpoints if e in down}


def down(endpoint: Endpoint, status: EndpointStatus, reason: str) -> EndpointFacts:
    return EndpointFacts(endpoint, status, error=reason)


Progress = Callable[[Endpoint, bool], None]
"""(endpoint, finished): the endpoint answered the probe (False) or its facts are known (True)."""
