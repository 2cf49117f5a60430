"""Per-finding levels (HARDENING.md §A): a fail control that warns on some findings, a warning
control that fails on one -- through the real checks on recorded facts, and through the
plugin's outcome hook. The three controls added last (kex-groups, ocsp-stapled,
non-sni-cert-valid) pass on clean facts and fail or warn on flawed ones, citing their source.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from certgate import ComplianceWarning
from certgate.controls import CATALOGUE, Finding, Severity, cite, fail_unless, warn_unless
from certgate.files.certificates import certificate_facts
from certgate.hosts.facts import (
    AcceptedSuite,
    AttemptStatus,
    CommandAttempt,
    Endpoint,
    EndpointFacts,
    EndpointStatus,
    GroupScan,
    HardeningFacts,
    HttpAnswer,
    NonSniFacts,
    Observed,
    OcspFacts,
    OcspStaple,
    Renegotiation,
    RobotResult,
)
from certgate.lab import demo, pki
from certgate.plugin import pytest_pyfunc_call
from certgate.stash import ITEM_CONTROL, WARNED
from tests.support.checkfuncs import load_checks
from tests.support.hardening import observed, scanned

NOW = datetime(2026, 11, 30, tzinfo=UTC)
SERVED = EndpointFacts(Endpoint("shop.example", "192.0.2.7", 443), EndpointStatus.OK)
DONE = CommandAttempt("done", AttemptStatus.COMPLETED)
ECDHE = AcceptedSuite(
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS 1.2", 128, False, "ECDH", "X25519", 253
)
RESPONDER = ("http://ocsp.example/",)
GOOD = OcspStaple("successful", "good", NOW, NOW, NOW + timedelta(days=7), True)


def seen(value: Any) -> Observed[Any]:
    return observed(value, DONE)


@pytest.fixture(scope="module")
def checks(pytestconfig: pytest.Config) -> ModuleType:
    return load_checks(pytestconfig, "test_hardening")


@pytest.fixture(scope="module")
def clean(chains: demo.Chains) -> HardeningFacts:
    """Facts every hardening check of this file passes on."""
    made = pki.make_leaf(
        pki.name(CN="shop.example"), chains.uca, key=pki.pooled_key(), dns_names=["shop.example"]
    )
    leaf = certificate_facts(made.cert, "192.0.2.7:443 sent without SNI #1")
    return scanned(
        ECDHE,
        attempt=DONE,
        http=HttpAnswer("http://shop.example/", "curl", refused=True),
        robot=seen(RobotResult.NOT_VULNERABLE_RSA_NOT_SUPPORTED),
        renegotiation=seen(Renegotiation(secure=True, client_dos=False)),
        groups=seen((GroupScan("TLS 1.2", ("X25519", "secp256r1")),)),
        ocsp=seen(OcspFacts(RESPONDER, must_staple=True, staple=GOOD)),
        non_sni=seen(NonSniFacts(leaf, ("shop.example",), True, True, None, True)),
    )


def call(checks: ModuleType, name: str, hardening: HardeningFacts) -> None:
    check = getattr(checks, name)
    extra = {"now": NOW} if name == "test_ocsp_stapled" else {}
    check(served=SERVED, hardening=hardening, **extra)


def stale_default_binding(h: HardeningFacts) -> HardeningFacts:
    """Clients without SNI get another certificate, valid for no name of the host."""
    assert h.non_sni.value is not None
    other = replace(h.non_sni.value, matches_host=False, validates=False, same_as_sni=False)
    return replace(h, non_sni=seen(other))


Flaw = Callable[[HardeningFacts], HardeningFacts]
# control -> (check, the flaw, the level the finding has, words the message holds)
FLAWS: dict[str, tuple[str, Flaw, Severity, str]] = {
    "kex-groups": (
        "test_kex_groups",
        lambda h: replace(h, groups=seen((GroupScan("TLS 1.2", ("secp224r1",)),))),
        Severity.FAIL,
        "secp224r1 (TLS 1.2)",
    ),
    "ocsp-stapled": (
        "test_ocsp_stapled",
        lambda h: replace(h, ocsp=seen(OcspFacts(RESPONDER, must_staple=False, staple=None))),
        Severity.WARNING,
        "no OCSP response is stapled",
    ),
    "non-sni-cert-valid": (
        "test_non_sni_cert_valid",
        stale_default_binding,
        Severity.WARNING,
        "clients without SNI get",
    ),
    "vuln-robot": (
        "test_vuln_robot",
        lambda h: replace(h, robot=seen(RobotResult.VULNERABLE_WEAK_ORACLE)),
        Severity.WARNING,
        "ROBOT weak oracle",
    ),
    "renegotiation-secure": (
        "test_renegotiation_secure",
        lambda h: replace(h, renegotiation=seen(Renegotiation(secure=True, client_dos=True))),
        Severity.WARNING,
        "client-initiated renegotiation is unlimited",
    ),
}


def level_of(failure: AssertionError, control: str) -> Severity:
    """What the plugin makes of a check's AssertionError: its own level, or the control's."""
    return failure.severity if isinstance(failure, Finding) else CATALOGUE[control].severity


@pytest.mark.parametrize("control", sorted(FLAWS))
def test_each_flaw_is_found_at_its_level_citing_the_source(
    checks: ModuleType, clean: HardeningFacts, control: str
):
    name, flaw, level, words = FLAWS[control]
    call(checks, name, clean)  # the clean side passes
    with pytest.raises(AssertionError) as failure:
        call(checks, name, flaw(clean))
    assert level_of(failure.value, control) is level
    message = str(failure.value)
    assert words in message
    assert cite(control) in message
    assert CATALOGUE[control].source in message


def test_a_strong_robot_oracle_and_insecure_renegotiation_still_fail(
    checks: ModuleType, clean: HardeningFacts
):
    strong = replace(clean, robot=seen(RobotResult.VULNERABLE_STRONG_ORACLE))
    with pytest.raises(AssertionError) as failure:
        call(checks, "test_vuln_robot", strong)
    assert level_of(failure.value, "vuln-robot") is Severity.FAIL
    unsafe = replace(clean, renegotiation=seen(Renegotiation(secure=False, client_dos=True)))
    with pytest.raises(AssertionError) as failure:
        call(checks, "test_renegotiation_secure", unsafe)
    assert level_of(failure.value, "renegotiation-secure") is Severity.FAIL
    assert "also unlimited" in str(failure.value)


def test_a_must_staple_leaf_without_a_staple_fails_the_warning_control(
    checks: ModuleType, clean: HardeningFacts
):
    unstapled = replace(clean, ocsp=seen(OcspFacts(RESPONDER, must_staple=True)))
    with pytest.raises(Finding) as failure:
        call(checks, "test_ocsp_stapled", unstapled)
    assert failure.value.severity is Severity.FAIL
    assert CATALOGUE["ocsp-stapled"].severity is Severity.WARNING
    assert "must-staple" in str(failure.value)
    assert cite("ocsp-stapled") in str(failure.value)


def test_a_leaf_without_an_ocsp_url_passes_as_not_applicable(
    checks: ModuleType, clean: HardeningFacts
):
    call(checks, "test_ocsp_stapled", replace(clean, ocsp=seen(OcspFacts())))


def test_dhe_is_noted_when_a_group_fails(checks: ModuleType, clean: HardeningFacts):
    dhe = AcceptedSuite(
        "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256", "TLS 1.2", 128, False, "DH", None, 1024
    )
    versions = tuple(
        replace(v, accepted=(*v.accepted, dhe)) if v.version == "TLS 1.2" else v
        for v in clean.versions
    )
    with pytest.raises(AssertionError) as failure:
        call(checks, "test_kex_groups", replace(clean, versions=versions))
    message = str(failure.value)
    assert "DH 1024 bits (TLS 1.2: TLS_DHE_RSA_WITH_AES_128_GCM_SHA256)" in message
    assert "DHE is offered" in message


# --- the plugin's outcome hook --------------------------------------------------------------


def outcome(control: str, raised: AssertionError) -> tuple[object, str | None]:
    """Drive the plugin's pytest_pyfunc_call wrapper around a check that raised ``raised``:
    what the wrapper returns (True: passed with a warning) and the warning it stashed."""
    item = SimpleNamespace(stash=pytest.Stash())
    item.stash[ITEM_CONTROL] = CATALOGUE[control]
    wrapper = pytest_pyfunc_call(item)  # type: ignore[arg-type]
    next(wrapper)
    try:
        wrapper.throw(raised)
    except StopIteration as done:
        return done.value, item.stash.get(WARNED, None)
    raise AssertionError("the wrapper neither passed nor re-raised")


def test_a_warning_finding_of_a_fail_control_passes_with_a_compliance_warning():
    finding = Finding("ROBOT weak oracle", Severity.WARNING)
    assert outcome("vuln-robot", finding) == (True, "ROBOT weak oracle")
    with warnings.catch_warnings():  # the strict gate: -W error::certgate.ComplianceWarning
        warnings.simplefilter("error", ComplianceWarning)
        with pytest.raises(ComplianceWarning, match="ROBOT weak oracle"):
            outcome("vuln-robot", finding)


def test_a_fail_finding_of_a_warning_control_fails():
    with pytest.raises(Finding, match="must-staple"):
        outcome("ocsp-stapled", Finding("must-staple, nothing stapled", Severity.FAIL))


def test_a_plain_assertion_keeps_the_controls_severity():
    with pytest.raises(AssertionError, match="strong oracle"):
        outcome("vuln-robot", AssertionError("strong oracle"))
    assert outcome("ocsp-stapled", AssertionError("no staple")) == (True, "no staple")


def test_the_helpers_raise_only_when_the_finding_holds():
    warn_unless(True, "never")
    fail_unless(True, "never")
    with pytest.raises(Finding) as warned:
        warn_unless(False, "seen")
    assert (str(warned.value), warned.value.severity) == ("seen", Severity.WARNING)
    with pytest.raises(Finding) as failed:
        fail_unless(False, "seen")
    assert failed.value.severity is Severity.FAIL
