"""The fast cipher-suite enumeration finds exactly what sslyze's per-suite scan finds.

On every server of the hardening lab (tests/integration/test_hardening_lab.py: its sites,
however many there are), the independent verdict is sslyze's own per-version commands (one
handshake per candidate suite), read by the same reader certgate used before the fast way.
The fast way (certgate/hosts/suites.py) must give equal facts: the same accepted suite
names per version, the same key sizes, and the same key-exchange text.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sslyze import (
    RobotScanResultEnum,
    ScanCommand,
    Scanner,
    ServerNetworkLocation,
    ServerScanRequest,
)

from certgate.hosts import suites
from certgate.hosts.facts import Endpoint, EndpointFacts, HardeningFacts, VersionScan
from certgate.hosts.hardening_scan import VERSION_COMMANDS, sslyze_version_scan
from certgate.hosts.scan import scan
from certgate.lab import demo, pki
from tests.integration import test_hardening_lab
from tests.integration.test_hardening_lab import HTTP_PORT, lab_sites

lab = test_hardening_lab.lab  # the lab's nginx servers, started for this module too
Versions = dict[Endpoint, tuple[VersionScan, ...]]


@pytest.fixture(scope="module")
def endpoints(chains: demo.Chains, tmp_path_factory: pytest.TempPathFactory) -> list[Endpoint]:
    """Every site of the hardening lab (names and addresses only: the lab serves them)."""
    sites = lab_sites(chains, tmp_path_factory.mktemp("speed-sites"))
    return list(dict.fromkeys(Endpoint(s.host, s.address, s.port) for s in sites))


@pytest.fixture(scope="module")
def sslyze_scan(lab: Path, endpoints: list[Endpoint]) -> dict[Endpoint, object]:
    """sslyze's own scan: its six per-suite commands, ROBOT and ELLIPTIC_CURVES, at every lab
    server."""
    commands = {c for _, c in VERSION_COMMANDS} | {ScanCommand.ROBOT, ScanCommand.ELLIPTIC_CURVES}
    scanner = Scanner()
    scanner.queue_scans(
        [
            ServerScanRequest(
                server_location=ServerNetworkLocation(e.host, e.port, e.address),
                scan_commands=commands,
            )
            for e in endpoints
        ]
    )
    return {
        Endpoint(
            r.server_location.hostname, str(r.server_location.ip_address), r.server_location.port
        ): r
        for r in scanner.get_results()
    }


@pytest.fixture(scope="module")
def slow(sslyze_scan: dict[Endpoint, object]) -> Versions:
    return {
        e: tuple(sslyze_version_scan(label, c, r.scan_result) for label, c in VERSION_COMMANDS)  # type: ignore[attr-defined]
        for e, r in sslyze_scan.items()
    }


@pytest.fixture(scope="module")
def fast(lab: Path, endpoints: list[Endpoint]) -> dict[Endpoint, suites.Enumeration]:
    return suites.enumerate_all(endpoints, timeout=5.0)


@pytest.fixture(scope="module")
def audited(
    lab: Path, endpoints: list[Endpoint], chains: demo.Chains
) -> dict[Endpoint, EndpointFacts]:
    """certgate's whole scan of the lab with the hardening profile (fast way + sslyze)."""
    root = pki.write(lab / "speed" / "root.cer", chains.root.pem)
    return scan(endpoints, trust=[root], hardening=dict.fromkeys(endpoints, HTTP_PORT))


def _differences(left: Versions, right: Versions) -> list[str]:
    """Each version whose facts differ, both sides written out."""
    return [
        f"{e.label} {a.version}: fast {a.accepted} / sslyze {b.accepted}"
        for e in right
        for a, b in zip(left.get(e, ()), right[e], strict=False)
        if a != b
    ] + [f"{e.label}: missing" for e in right if len(left.get(e, ())) != len(right[e])]


def test_the_comparison_covers_every_lab_server_and_every_kind_of_suite(slow: Versions):
    """Not vacuous: static RSA, ECDHE, DHE, anonymous and TLS 1.3 suites, refused versions."""
    assert len(slow) >= 3
    found = [s for versions in slow.values() for v in versions for s in v.accepted]
    assert any(s.key_exchange is None for s in found)
    assert any((s.key_exchange or "").startswith("ECDH secp256r1") for s in found)
    assert any(s.anonymous for s in found)
    assert any(s.dhe and (s.key_exchange or "").startswith("DH ") for s in found)
    assert any(s.version == "TLS 1.3" and s.key_exchange for s in found)
    assert any(not v.accepted for versions in slow.values() for v in versions)
    assert all(v.attempt.ok for versions in slow.values() for v in versions)


def test_the_fast_way_settles_every_version_of_every_lab_server(
    fast: dict[Endpoint, suites.Enumeration],
):
    unsettled = {e.label: f.unsettled for e, f in fast.items() if f.unsettled}
    assert not unsettled, unsettled


def test_the_fast_way_finds_what_sslyzes_per_suite_scan_finds(
    fast: dict[Endpoint, suites.Enumeration], slow: Versions
):
    """Same accepted suite names per version, same key sizes, same key-exchange text."""
    differences = _differences({e: f.settled for e, f in fast.items()}, slow)
    assert not differences, "\n".join(differences)


def test_the_groups_by_removal_are_sslyzes_at_the_version_it_probes(
    fast: dict[Endpoint, suites.Enumeration], sslyze_scan: dict[Endpoint, Any]
):
    """sslyze's ELLIPTIC_CURVES offers one group per handshake, at the highest version only:
    the groups found by removal at that version must be the same, named the same."""
    ours, theirs = {}, {}
    for endpoint, result in sslyze_scan.items():
        curves = result.scan_result.elliptic_curves.result
        theirs[endpoint.label] = sorted(c.name for c in curves.supported_curves or ())
        highest = result.connectivity_result.highest_tls_version_supported.name
        label = highest.replace("TLS_", "TLS ").replace("_", ".")
        groups = fast[endpoint].groups
        assert groups is not None, endpoint
        ours[endpoint.label] = sorted(next((g.accepted for g in groups if g.version == label), ()))
    assert ours == theirs, (ours, theirs)
    assert any("secp224r1" in names for names in theirs.values())  # the curves site


def test_the_audit_scan_gives_sslyzes_versions_and_robot_verdict(
    audited: dict[Endpoint, EndpointFacts],
    slow: Versions,
    sslyze_scan: dict[Endpoint, object],
):
    """Through scan(): the facts checks read; ROBOT skipped where no RSA suite was found
    must equal sslyze's own verdict (NOT_VULNERABLE_RSA_NOT_SUPPORTED)."""
    hardening = {e: _hardening(f) for e, f in audited.items()}
    differences = _differences({e: h.versions for e, h in hardening.items()}, slow)
    assert not differences, "\n".join(differences)
    robot = {e: h.robot.value.name if h.robot.value else None for e, h in hardening.items()}
    expected = {e: r.scan_result.robot.result.robot_result.name for e, r in sslyze_scan.items()}  # type: ignore[attr-defined]
    assert robot == expected, (robot, expected)
    assert RobotScanResultEnum.NOT_VULNERABLE_RSA_NOT_SUPPORTED.name in robot.values()


def test_fallback_scsv_is_asked_only_where_tls_1_0_or_1_1_is_accepted(
    audited: dict[Endpoint, EndpointFacts],
):
    asked = {e.label: _hardening(f).fallback_scsv.attempt.ok for e, f in audited.items()}
    legacy = {e.label: _accepts(_hardening(f), ("TLS 1.0", "TLS 1.1")) for e, f in audited.items()}
    assert asked == legacy, (asked, legacy)
    assert any(legacy.values())
    assert not all(legacy.values())


def test_the_fast_way_needs_a_few_handshakes_per_server(
    lab: Path, endpoints: list[Endpoint], monkeypatch: pytest.MonkeyPatch
):
    """sslyze's per-suite commands make 533 handshakes per server (one per candidate)."""
    counted: list[Endpoint] = []
    real: Callable[..., suites.Accepted | suites.Refused] = suites.handshake

    def counting(endpoint: Endpoint, *rest: object) -> suites.Accepted | suites.Refused:
        counted.append(endpoint)
        return real(endpoint, *rest)

    monkeypatch.setattr(suites, "handshake", counting)
    for endpoint in endpoints:
        found = suites.enumerate_endpoint(endpoint, 5.0)
        accepted = sum(len(v.accepted) for v in found.settled)
        # at most a pre-check and three bundle refusals per version beyond the accepted
        assert counted.count(endpoint) <= accepted + 4 * len(suites.VERSIONS), endpoint


def _hardening(facts: EndpointFacts) -> HardeningFacts:
    assert facts.hardening is not None, facts.error
    return facts.hardening


def _accepts(hardening: HardeningFacts, versions: tuple[str, ...]) -> bool:
    return any(v.accepted for v in hardening.versions if v.version in versions)
