"""sslyze's part of a scan: the hardening profile's scan commands, and the TLS speakers
certgate's own handshake (:mod:`certgate.hosts.probe`) could not finish with (sslyze speaks
more: SSL 3.0, other key exchanges). Imported only when a scan has such an endpoint, so an
audit of certificates alone never loads sslyze (about 7 MiB and 0.06 s, bench/README.md).

ONE sslyze ``Scanner`` runs over those endpoints, SNI = the host name, every server scanned at
once (no waiting in batches of ten), finished scans collected every 20 ms instead of sslyze's
200 (see :func:`_poll_quickly`); the results become the same facts as the handshake's.
"""

from __future__ import annotations

import math
import queue
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime
from traceback import TracebackException

from sslyze import (
    CertificateInfoExtraArgument,
    ScanCommand,
    ScanCommandAttemptStatusEnum,
    ScanCommandsExtraArguments,
    Scanner,
    ServerConnectivityStatusEnum,
    ServerNetworkConfiguration,
    ServerNetworkLocation,
    ServerScanRequest,
    ServerScanResult,
    errors,
)

# The one private name certgate uses: sslyze's scan loop sleeps 0.2 s between looks at its
# finished jobs and has no setting for it (see _poll_quickly; a self-test proves it works).
from sslyze.scanner import _mass_scanner

from certgate.hosts.aia import IssuerFetcher
from certgate.hosts.facts import Endpoint, EndpointFacts, EndpointStatus
from certgate.hosts.hardening_scan import enumerate_versions, sslyze_commands, with_hardening
from certgate.hosts.http import http_answer
from certgate.hosts.probe import Progress, down
from certgate.hosts.scan import deployment_facts
from certgate.hosts.sslyze_facts import attempt_fact, exception_text, main_deployment
from certgate.hosts.stores import PathCheck, Trust

MAX_CONCURRENT_SERVERS = 50  # threads: 1 connectivity + PER_SERVER_CONNECTIONS workers each
PER_SERVER_CONNECTIONS = 4  # certificate_info makes 4 handshakes per server: run them at once
# The hardening profile's sslyze commands (ROBOT's 3 jobs, the probes, and any version the fast
# enumeration left to sslyze's one-suite handshakes) side by side; certificate_info's 4 jobs
# are unaffected by a higher limit.
HARDENING_CONNECTIONS = 10
HTTP_WORKERS = 16  # the hardening profile's plain-HTTP GETs, alongside the sslyze scan
SSLYZE_POLL_SECONDS = 0.02  # how often finished scans are collected (sslyze: 0.2)


def sslyze_step(
    to_sslyze: Sequence[Endpoint],
    hardened: Mapping[Endpoint, int],
    facts: dict[Endpoint, EndpointFacts],
    trusts: Mapping[Endpoint, Trust],
    timeout: float,
    report: Progress,
    when: datetime,
    fetcher: IssuerFetcher | None,
) -> None:
    """sslyze over ``to_sslyze``; the hardening profile's facts (and plain-HTTP answers) for
    the ``hardened`` endpoints; ``facts`` completed in place."""
    with ThreadPoolExecutor(max_workers=HTTP_WORKERS) as pool:
        answers = {e: pool.submit(http_answer, e, p, timeout) for e, p in hardened.items()}
        suites = enumerate_versions(hardened, timeout)
        asked = {e: sslyze_commands(s) for e, s in suites.items()}
        results = run_sslyze(to_sslyze, trusts, timeout, report, asked)
        for endpoint, result in results.items():
            found = facts.get(endpoint)
            if found is None:
                found = from_result(endpoint, result, trusts[endpoint], when, fetcher)
            hard = suites.get(endpoint)
            facts[endpoint] = with_hardening(
                found, result, answers.get(endpoint), trusts[endpoint], hard
            )


def run_sslyze(
    endpoints: Sequence[Endpoint],
    trusts: Mapping[Endpoint, Trust],
    timeout: float,
    progress: Progress,
    hardened: Mapping[Endpoint, frozenset[ScanCommand]] | None = None,
) -> dict[Endpoint, ServerScanResult | None]:
    """One Scanner over all ``endpoints``; None for a result that never came (safety net).

    Endpoints in ``hardened`` are also asked the hardening profile's commands given there."""
    hardened = hardened or {}
    if not endpoints:
        return {}
    _poll_quickly()
    requests = [_request(e, trusts[e], timeout, hardened.get(e, frozenset())) for e in endpoints]
    by_uuid = {request.uuid: e for request, e in zip(requests, endpoints, strict=True)}
    concurrent = min(len(endpoints), MAX_CONCURRENT_SERVERS)
    scanner = Scanner(
        per_server_concurrent_connections_limit=(
            HARDENING_CONNECTIONS if hardened else PER_SERVER_CONNECTIONS
        ),
        concurrent_server_scans_limit=concurrent,
    )
    scanner.queue_scans(requests)
    results: queue.Queue[ServerScanResult | Exception] = queue.Queue()
    threading.Thread(target=lambda: _drain(scanner, results), daemon=True).start()
    # The probe screened out stuck ports, so this bound is only hit by a server that stalls
    # half-way; its sslyze threads are daemons and are left behind.
    waves = -(-len(endpoints) // concurrent)
    per_wave = max(30.0, 8 * timeout) * (4 if hardened else 1)  # a version left to sslyze
    deadline = time.monotonic() + waves * per_wave
    found: dict[Endpoint, ServerScanResult | None] = dict.fromkeys(endpoints)
    for _ in endpoints:
        try:
            result = results.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            break
        if isinstance(result, Exception):
            raise result  # a bug in sslyze or here: surface it, never a silent timeout
        found[by_uuid[result.uuid]] = result
        progress(by_uuid[result.uuid], True)
    return found


def _poll_quickly() -> None:
    """Make sslyze collect finished server scans every 20 ms instead of every 200 ms.

    sslyze's scanning thread sleeps 0.2 s between looks at its completed jobs, so a scan of
    one server that takes 10 ms returns after 0.2 s: most of a one-host audit's scan time
    (bench/bench_scan.py). certgate is the process's only sslyze user; the module's ``sleep``
    is replaced only while it is still ``time.sleep`` (sslyze 6.x), else left alone.
    """
    names = vars(_mass_scanner)
    if names.get("sleep") is time.sleep:
        names["sleep"] = _short_sleep


def _short_sleep(seconds: float) -> None:
    time.sleep(min(seconds, SSLYZE_POLL_SECONDS))


def _drain(scanner: Scanner, out: queue.Queue[ServerScanResult | Exception]) -> None:
    try:
        for result in scanner.get_results():
            out.put(result)
    except Exception as exc:  # handed to the caller's thread, where it raises
        out.put(exc)


def _request(
    endpoint: Endpoint,
    trust: Trust,
    timeout: float,
    hardening: frozenset[ScanCommand] = frozenset(),
) -> ServerScanRequest:
    location = ServerNetworkLocation(
        hostname=endpoint.host, port=endpoint.port, ip_address=endpoint.address
    )
    network = ServerNetworkConfiguration(
        tls_server_name_indication=location.hostname,
        # sslyze wants whole seconds; the probe already bounded the sub-second cases.
        network_timeout=max(1, math.ceil(timeout)),
        network_max_retries=2,
    )
    extra = ScanCommandsExtraArguments()
    if trust.custom_file is not None:
        extra = ScanCommandsExtraArguments(
            certificate_info=CertificateInfoExtraArgument(custom_ca_file=trust.custom_file)
        )
    return ServerScanRequest(
        server_location=location,
        network_configuration=network,
        scan_commands={ScanCommand.CERTIFICATE_INFO, *hardening},
        scan_commands_extra_arguments=extra,
    )


# --- results -> facts ------------------------------------------------------------------------


def from_result(
    endpoint: Endpoint,
    result: ServerScanResult | None,
    trust: Trust,
    now: datetime,
    fetcher: IssuerFetcher | None,
) -> EndpointFacts:
    if result is None:
        return down(endpoint, EndpointStatus.TIMED_OUT, "the certificate scan did not finish")
    if (
        result.connectivity_status is not ServerConnectivityStatusEnum.COMPLETED
        or result.scan_result is None
        or result.connectivity_result is None
    ):
        return _connectivity_error(endpoint, result.connectivity_error_trace)
    attempt = result.scan_result.certificate_info
    attempts = (attempt_fact("certificate_info", attempt),)
    if attempt.status is not ScanCommandAttemptStatusEnum.COMPLETED or attempt.result is None:
        reason = f"certificate scan failed: {attempts[0].error}"
        return replace(down(endpoint, EndpointStatus.SCAN_FAILED, reason), attempts=attempts)
    deployments = attempt.result.certificate_deployments
    if not deployments:
        return down(endpoint, EndpointStatus.SCAN_FAILED, "the server sent no certificate")
    version = result.connectivity_result.highest_tls_version_supported.name
    deployment = main_deployment(deployments)
    received = tuple(deployment.received_certificate_chain)
    checks = tuple(
        PathCheck(
            r.trust_store,
            tuple(r.verified_certificate_chain) if r.verified_certificate_chain else None,
            r.validation_error,
        )
        for r in deployment.path_validation_results
        if trust.counts(r.trust_store)
    )
    facts = deployment_facts(endpoint, received, checks, trust, now, version, fetcher)
    return replace(facts, attempts=attempts)


_CONNECTIVITY_STATUS: tuple[tuple[type[Exception], EndpointStatus], ...] = (
    (errors.ServerRejectedConnection, EndpointStatus.REFUSED),
    (errors.ConnectionToServerTimedOut, EndpointStatus.TIMED_OUT),
    (errors.TlsHandshakeTimedOut, EndpointStatus.TIMED_OUT),
    (errors.ServerRejectedTlsHandshake, EndpointStatus.HANDSHAKE_FAILED),
    (errors.ServerTlsConfigurationNotSupported, EndpointStatus.HANDSHAKE_FAILED),
)


def _connectivity_error(endpoint: Endpoint, trace: TracebackException | None) -> EndpointFacts:
    kind = getattr(trace, "exc_type", None)
    status = next(
        (
            s
            for error, s in _CONNECTIVITY_STATUS
            if isinstance(kind, type) and issubclass(kind, error)
        ),
        EndpointStatus.SCAN_FAILED,
    )
    return down(endpoint, status, f"{status.value}{exception_text(trace)}")
