"""The scan of every selected host address -> :class:`EndpointFacts`. Orchestration.

The flow, for all endpoints at once:

1. One bounded TLS handshake with each endpoint, concurrently (:mod:`certgate.hosts.probe`):
   the chain as served. Refused / timed out / reset / not-TLS ports become facts here.
2. Each answer's facts while the other handshakes are in flight: the chain validated against
   the policy's stores with the verifier sslyze uses (:mod:`certgate.hosts.stores`), its order,
   and if it does not validate, why (:mod:`certgate.hosts.trust`, pure).
3. sslyze (:mod:`certgate.hosts.sslyze_scan`, imported only then) for the hardening profile's
   scan commands and for the TLS speakers the handshake could not finish with.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509

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
from certgate.hosts.probe import Progress, Served, probe_each, resolve
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

HANDSHAKE = "tls_handshake"  # the attempt of certgate's own handshake (probe.py)


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
    """Facts for every endpoint: one handshake each, sslyze where needed. Orchestration.

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
        if to_sslyze:  # sslyze is imported only when a target needs it
            from certgate.hosts.sslyze_scan import sslyze_step

            sslyze_step(to_sslyze, hardened, facts, trusts, timeout, report, when, fetcher)
    return {e: facts[e] for e in unique}


# --- results -> facts -------------------------------------------------------------------------


def _served_facts(
    endpoint: Endpoint, served: Served, trust: Trust, now: datetime, fetcher: IssuerFetcher | None
) -> EndpointFacts:
    """The facts of the one handshake's chain, validated here as sslyze would."""
    checks = validate(served.chain, endpoint.host, endpoint.address, trust)
    facts = deployment_facts(endpoint, served.chain, checks, trust, now, served.version, fetcher)
    return replace(facts, attempts=(CommandAttempt(HANDSHAKE, AttemptStatus.COMPLETED),))


def deployment_facts(
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
