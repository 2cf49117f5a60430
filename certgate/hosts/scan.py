"""One sslyze scan of every selected host address -> :class:`EndpointFacts`. The only sslyze user.

The flow, for all endpoints at once:

1. A bounded TLS probe of each endpoint, concurrently (:mod:`certgate.hosts.probe`), which
   keeps refused / timed out / reset / not-TLS ports out of sslyze's slow connectivity test.
2. ONE sslyze ``Scanner`` run over the endpoints that answered, with only CERTIFICATE_INFO,
   SNI = the host name, every server scanned at once (no waiting in batches of ten), and
   finished scans collected every 20 ms instead of sslyze's 200 (see :func:`_poll_quickly`).
3. The results become plain facts: one attempt per scan command with its status (as sslyze's
   ``ScanCommandAttempt``), the chain as served, its order, and whether it validates against
   the policy's trust stores -- and if not, why (:mod:`certgate.hosts.trust`, pure).
"""

from __future__ import annotations

import math
import queue
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from traceback import TracebackException

from cryptography import x509
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

from certgate import x509 as core
from certgate.files.certificates import certificate_facts
from certgate.files.facts import CertificateFacts
from certgate.hosts import trust as trust_rules
from certgate.hosts.aia import IssuerFetcher
from certgate.hosts.facts import (
    AttemptStatus,
    CommandAttempt,
    Endpoint,
    EndpointFacts,
    EndpointStatus,
)
from certgate.hosts.hardening_scan import enumerate_versions, sslyze_commands, with_hardening
from certgate.hosts.http import http_answer
from certgate.hosts.probe import Progress, Served, down, probe_each, resolve
from certgate.hosts.sslyze_facts import attempt_fact, exception_text, main_deployment
from certgate.hosts.stores import (
    DEFAULT_TRUST,
    PathCheck,
    ScanConfigError,
    Trust,
    check_trust,
    prepare_trust,
    quiet_store_warnings,
    validate,
)

__all__ = ["Endpoint", "EndpointFacts", "ScanConfigError", "check_trust", "resolve", "scan"]

MAX_CONCURRENT_SERVERS = 50  # threads: 1 connectivity + PER_SERVER_CONNECTIONS workers each
PER_SERVER_CONNECTIONS = 4  # certificate_info makes 4 handshakes per server: run them at once
# The hardening profile's sslyze commands (ROBOT's 3 jobs, the probes, and any version the fast
# enumeration left to sslyze's one-suite handshakes) side by side; certificate_info's 4 jobs
# are unaffected by a higher limit.
HARDENING_CONNECTIONS = 10
HTTP_WORKERS = 16  # the hardening profile's plain-HTTP GETs, alongside the sslyze scan
HANDSHAKE = "tls_handshake"  # the attempt of certgate's own handshake (probe.py)
SSLYZE_POLL_SECONDS = 0.02  # how often finished scans are collected (sslyze: 0.2)


# --- names ------------------------------------------------------------------------------------


# --- the scan ---------------------------------------------------------------------------------


def scan(
    endpoints: Sequence[Endpoint],
    *,
    trust: Sequence[str | Path] = DEFAULT_TRUST,
    trust_for: Mapping[Endpoint, Sequence[str | Path]] | None = None,
    timeout: float = 5.0,
    now: datetime | None = None,
    progress: Progress | None = None,
    fetcher: IssuerFetcher | None = None,
    hardening: Mapping[Endpoint, int] | None = None,
) -> dict[Endpoint, EndpointFacts]:
    """Facts for every endpoint, from one concurrent sslyze scan. Orchestration.

    ``trust`` holds bundled store names (:data:`certgate.inventory.TRUST_STORES`) and/or
    PEM/DER root files;
    ``trust_for`` overrides it per endpoint (a target's own policy). ``timeout`` bounds each
    network step; an endpoint that cannot be audited comes back with an error status, never
    an exception. ``now`` (UTC) dates the expiry verdicts; default: the current time.
    Raises ScanConfigError only for a bad trust policy, before any connection.
    ``fetcher`` looks up a missing issuer by its URL (None: never, as with ``--offline``).
    ``progress(endpoint, finished)`` is called when an endpoint answers the probe (False)
    and when its facts are known (True).
    ``hardening`` maps the endpoints audited with the hardening profile to their plain-HTTP
    port: only those are asked the profile's scan commands (SPEC §2.2) and sent a GET there.
    """
    report = progress or (lambda endpoint, finished: None)
    unique = list(dict.fromkeys(endpoints))
    trust_for = trust_for or {}
    when = now or datetime.now(UTC)
    quiet_store_warnings()  # before sslyze parses its stores in a thread (see there)
    with tempfile.TemporaryDirectory(prefix="certgate-trust-") as workdir:
        prepared: dict[tuple[str | Path, ...], Trust] = {}
        trusts = {}
        for endpoint in unique:
            spec = tuple(trust_for.get(endpoint, trust))
            if spec not in prepared:
                prepared[spec] = prepare_trust(spec, Path(workdir))
            trusts[endpoint] = prepared[spec]
        facts: dict[Endpoint, EndpointFacts] = {}
        unreachable: set[Endpoint] = set()
        # each answer's facts while the other handshakes are still in flight
        for endpoint, outcome in probe_each(unique, timeout, report):
            if isinstance(outcome, EndpointFacts):
                facts[endpoint] = outcome
                unreachable.add(endpoint)
            elif isinstance(outcome, Served):
                facts[endpoint] = _served_facts(endpoint, outcome, trusts[endpoint], when, fetcher)
                if endpoint not in (hardening or {}):
                    report(endpoint, True)
        hardened = {
            e: p for e, p in (hardening or {}).items() if e in unique and e not in unreachable
        }
        # sslyze: the hardening profile's commands, and the TLS speakers the handshake above
        # could not finish with (sslyze speaks more: SSL 3.0, other key exchanges).
        unshared = [e for e in unique if e not in facts]
        to_sslyze = unshared + [e for e in hardened if e not in unshared]
        with ThreadPoolExecutor(max_workers=HTTP_WORKERS) as pool:
            answers = {e: pool.submit(http_answer, e, p, timeout) for e, p in hardened.items()}
            suites = enumerate_versions(hardened, timeout)
            asked = {e: sslyze_commands(s) for e, s in suites.items()}
            results = _run_sslyze(to_sslyze, trusts, timeout, report, asked)
            for endpoint, result in results.items():
                found = facts.get(endpoint)
                if found is None:
                    found = _from_result(endpoint, result, trusts[endpoint], when, fetcher)
                hard = suites.get(endpoint)
                facts[endpoint] = with_hardening(
                    found, result, answers.get(endpoint), trusts[endpoint], hard
                )
    return {e: facts[e] for e in unique}


def _run_sslyze(
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


# --- results -> facts -------------------------------------------------------------------------


def _from_result(
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
    facts = _deployment_facts(endpoint, received, checks, trust, now, version, fetcher)
    return replace(facts, attempts=attempts)


def _served_facts(
    endpoint: Endpoint, served: Served, trust: Trust, now: datetime, fetcher: IssuerFetcher | None
) -> EndpointFacts:
    """The facts of the one handshake's chain, validated here as sslyze would."""
    checks = validate(served.chain, endpoint.host, endpoint.address, trust)
    facts = _deployment_facts(endpoint, served.chain, checks, trust, now, served.version, fetcher)
    return replace(facts, attempts=(CommandAttempt(HANDSHAKE, AttemptStatus.COMPLETED),))


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


def _deployment_facts(
    endpoint: Endpoint,
    received: Sequence[x509.Certificate],
    checks: Sequence[PathCheck],
    trust: Trust,
    now: datetime,
    version: str,
    fetcher: IssuerFetcher | None,
) -> EndpointFacts:
    """What one endpoint served (``received``, leaf first), its path validations against the
    stores the policy counts, and the trust verdict as of ``now``. Orchestration."""
    anchors = trust.anchors([c.store for c in checks])
    walk = core.issuer_walk(received[0], received[1:], anchors)
    success = next((c for c in checks if c.ok), None)
    errors = [c.error for c in checks if c.error]
    complete = trust_rules.complete(walk, success is not None)
    missing = None
    if not complete and len(walk.path) > 1 and fetcher is not None:
        missing = fetcher.lookup(walk.top, anchors)
    validated = trust_rules.validated(walk, success is not None, errors)
    diagnosis = trust_rules.diagnose(walk, endpoint.host, now, validated, errors, missing)
    return EndpointFacts(
        endpoint=endpoint,
        status=EndpointStatus.OK,
        tls_version=version,
        served_chain=_facts_of(received, f"{endpoint.label} sent"),
        chain_order_ok=core.in_issuer_order(received),
        sends_root=any(core.self_issued(c) for c in received[1:]),
        chain_complete=complete,
        missing_issuer=None if complete else walk.top.issuer.rfc4514_string(),
        missing_from=None if complete else trust_rules.cn(walk.top),
        issuer_lookup=missing.note if missing is not None else None,
        missing_is_root=None if missing is None or missing.found is None else not missing.anchored,
        name_matches=trust_rules.name_matches(received[0], endpoint.host),
        trusted=diagnosis is None,
        trusted_by=_trusted_by(diagnosis, success, walk, trust),
        trust_problems=diagnosis.problems if diagnosis else (),
        trust_reason=f"{diagnosis.reason} (trust: {trust.describe()})" if diagnosis else None,
        verified_chain=_facts_of(
            (success.verified or ()) if success else (),
            f"{endpoint.label} validated path",
        ),
    )


def _trusted_by(
    diagnosis: trust_rules.Diagnosis | None,
    success: PathCheck | None,
    walk: core.Walk,
    trust: Trust,
) -> str | None:
    if diagnosis is not None:
        return None
    if success is not None:
        return trust.label(success.store)
    return trust.describe() if walk.anchor is not None else None


def _facts_of(chain: Iterable[x509.Certificate], what: str) -> tuple[CertificateFacts, ...]:
    return tuple(certificate_facts(c, f"{what} #{i}") for i, c in enumerate(chain, 1))
