"""The hardening profile's rules on recorded facts, its policy keys, and where it applies.

3DES cannot be served by Debian's OpenSSL 3.0, so cipher-no-weak's 3DES side is judged here
on the facts a default Windows Server 2016/2019 IIS gives (HARDENING.md §C).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from certgate.controls import CATALOGUE, cite
from certgate.errors import ArtifactError
from certgate.files.certificates import certificate_facts
from certgate.hosts.commands import sslyze_command
from certgate.hosts.facts import (
    AcceptedSuite,
    AttemptStatus,
    CommandAttempt,
    Endpoint,
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
from certgate.hosts.hardening import (
    accepted_versions,
    cbc_sha1_suites,
    client_renegotiation_unlimited,
    compresses,
    dhe_note,
    eku_problem,
    fallback_problem,
    groups_probed,
    hsts_long_enough,
    kex_problems,
    lifetime_ceiling,
    lifetime_days,
    must_staple_unstapled,
    non_sni_problem,
    ocsp_problem,
    openssl_bugs,
    redirect_problem,
    renegotiation_problem,
    robot_strong,
    robot_suspect,
    robot_verdict,
    static_rsa_suites,
    weak_suites,
)
from certgate.inventory import Inventory, InventoryError, load_inventory
from certgate.items import hardening_applies
from certgate.lab import demo, pki
from tests.support.hardening import HTTP_REFUSED, SCANNED, T, observed, scanned, suite

DONE = SCANNED
HTTP = HTTP_REFUSED


def facts(*suites: AcceptedSuite, failed: str | None = None) -> HardeningFacts:
    return scanned(*suites, failed=failed, leaf_eku=("1.3.6.1.5.5.7.3.1",))


def test_3des_of_a_default_iis_2019_is_weak():
    seen = facts(suite("TLS_RSA_WITH_3DES_EDE_CBC_SHA"), suite("TLS_AES_128_GCM_SHA256", "TLS 1.3"))
    assert [s.name for s in weak_suites(seen)] == ["TLS_RSA_WITH_3DES_EDE_CBC_SHA"]


def test_rc4_null_and_export_are_weak_and_gcm_is_not():
    names = [
        "TLS_RSA_WITH_RC4_128_SHA",
        "TLS_RSA_WITH_NULL_SHA256",
        "TLS_RSA_EXPORT_WITH_RC4_40_MD5",
    ]
    seen = facts(*(suite(n) for n in names), suite("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"))
    assert [s.name for s in weak_suites(seen)] == names


def test_cbc_sha1_and_static_rsa_are_told_apart():
    seen = facts(
        suite("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", kx="ECDH prime256v1 (256 bits)"),
        suite("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", kx="ECDH prime256v1 (256 bits)"),
        suite("TLS_RSA_WITH_AES_128_GCM_SHA256"),
    )
    assert [s.name for s in cbc_sha1_suites(seen)] == ["TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"]
    assert [s.name for s in static_rsa_suites(seen)] == ["TLS_RSA_WITH_AES_128_GCM_SHA256"]


def test_a_failed_enumeration_is_an_error_only_for_what_needs_it():
    seen = facts(suite("TLS_AES_128_GCM_SHA256", "TLS 1.3"), failed="TLS 1.0")
    with pytest.raises(ArtifactError, match=r"TLS 1\.0: connection reset"):
        accepted_versions(seen, ("TLS 1.0", "TLS 1.1"))
    assert accepted_versions(seen, ("TLS 1.3",)) == ("TLS 1.3",)
    assert cbc_sha1_suites(seen) == []


@pytest.mark.parametrize(
    ("issued", "ceiling"),
    [("2025-09-01", 398), ("2026-03-15", 200), ("2027-06-01", 100), ("2029-03-15", 47)],
)
def test_lifetime_ceiling_follows_the_cab_schedule(chains: demo.Chains, issued: str, ceiling: int):
    start = datetime.fromisoformat(issued).replace(tzinfo=UTC)
    made = pki.make_leaf(
        pki.name(CN="shop.example"),
        chains.uca,
        key=pki.pooled_key(),
        not_before=start,
        not_after=start + timedelta(days=ceiling),
    )
    leaf = certificate_facts(made.cert, "leaf")
    assert lifetime_ceiling(leaf) == ceiling
    assert lifetime_days(leaf) > ceiling  # both ends inclusive: one second over


def test_eku_without_server_auth_or_unfit_key_usage():
    seen = facts()
    assert eku_problem(seen) is None
    client = replace(seen, leaf_eku=("1.3.6.1.5.5.7.3.2",))
    assert "without serverAuth" in (eku_problem(client) or "")
    signing = replace(seen, leaf_key_usage=("key_cert_sign",))
    assert "neither digitalSignature" in (eku_problem(signing) or "")
    assert "no Extended Key Usage" in (eku_problem(replace(seen, leaf_eku=None)) or "")


def test_hsts_needs_a_year_and_readable_headers():
    seen = facts()
    assert not hsts_long_enough(seen)
    assert not hsts_long_enough(replace(seen, hsts="max-age=15552000", hsts_max_age=15552000))
    assert hsts_long_enough(replace(seen, hsts="max-age=31536000", hsts_max_age=31536000))
    broken = replace(seen, headers=CommandAttempt("http_headers", AttemptStatus.ERROR, "reset"))
    with pytest.raises(ArtifactError, match="reset"):
        hsts_long_enough(broken)


@pytest.mark.parametrize(
    ("status", "location", "problem"),
    [
        (301, "https://shop.example/", None),
        (308, "https://SHOP.example./a?b", None),
        (200, None, "answers 200 without a redirect"),
        (302, "http://shop.example/", "not to https"),
        (301, "https://login.example/", "to another host"),
    ],
)
def test_http_redirects(status: int, location: str | None, problem: str | None):
    answer = HttpAnswer("http://shop.example/", "curl", status, location)
    found = redirect_problem(answer, "shop.example")
    assert (found is None) if problem is None else (problem in (found or ""))


def test_a_closed_http_port_passes_and_no_answer_cannot_be_judged():
    assert redirect_problem(HTTP, "shop.example") is None
    silent = HttpAnswer("http://shop.example/", "curl", error="timed out")
    with pytest.raises(ArtifactError, match="no HTTP answer"):
        redirect_problem(silent, "shop.example")


# --- HARDENING.md §A #16-20: recorded answers (Debian's nginx can build none of the flaws) ---


def seen(command: str, value: T) -> Observed[T]:
    return observed(value, CommandAttempt(command, AttemptStatus.COMPLETED))


def test_tls_compression_fails_when_accepted():
    assert not compresses(replace(facts(), compression=seen("tls_compression", False)))
    assert compresses(replace(facts(), compression=seen("tls_compression", True)))


def test_heartbleed_and_ccs_are_each_named():
    clean = replace(facts(), heartbleed=seen("heartbleed", False), ccs_injection=seen("ccs", False))
    assert openssl_bugs(clean) == []
    both = replace(clean, heartbleed=seen("heartbleed", True), ccs_injection=seen("ccs", True))
    assert openssl_bugs(both) == [
        "Heartbleed (CVE-2014-0160)",
        "OpenSSL CCS injection (CVE-2014-0224)",
    ]


@pytest.mark.parametrize(
    ("verdict", "fails", "warns"),
    [
        (RobotResult.VULNERABLE_STRONG_ORACLE, True, False),
        (RobotResult.VULNERABLE_WEAK_ORACLE, False, True),  # a warning in §A #17
        (RobotResult.UNKNOWN_INCONSISTENT_RESULTS, False, True),
        (RobotResult.NOT_VULNERABLE_NO_ORACLE, False, False),
        (RobotResult.NOT_VULNERABLE_RSA_NOT_SUPPORTED, False, False),
    ],
)
def test_a_strong_robot_oracle_fails_and_a_weak_one_warns(
    verdict: RobotResult, fails: bool, warns: bool
):
    recorded = replace(facts(), robot=seen("robot", verdict))
    assert robot_strong(recorded) is fails
    assert robot_suspect(recorded) is warns
    assert robot_verdict(recorded) is verdict


def test_insecure_renegotiation_fails_and_names_the_dos():
    safe = Renegotiation(secure=True, client_dos=True)  # DoS alone: a warning in §A #18
    assert renegotiation_problem(replace(facts(), renegotiation=seen("reneg", safe))) is None
    assert client_renegotiation_unlimited(replace(facts(), renegotiation=seen("reneg", safe)))
    limited = Renegotiation(secure=True, client_dos=False)
    assert not client_renegotiation_unlimited(replace(facts(), renegotiation=seen("r", limited)))
    unsafe = Renegotiation(secure=False, client_dos=True)
    problem = renegotiation_problem(replace(facts(), renegotiation=seen("reneg", unsafe)))
    assert "RFC 5746" in (problem or "")
    assert "unlimited" in (problem or "")


def test_fallback_scsv_is_judged_only_while_tls_1_0_or_1_1_is_accepted():
    legacy = facts(suite("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS 1.0", "ECDH"))
    no_scsv = replace(legacy, fallback_scsv=seen("tls_fallback_scsv", False))
    assert "accepts TLS 1.0" in (fallback_problem(no_scsv) or "")
    assert fallback_problem(replace(no_scsv, fallback_scsv=seen("fallback", True))) is None
    modern = facts(suite("TLS_AES_128_GCM_SHA256", "TLS 1.3"))
    assert fallback_problem(modern) is None  # n/a: not even asked (the command did not run)


def test_a_probe_that_did_not_complete_is_an_error_never_a_pass():
    failed = Observed[bool](CommandAttempt("heartbleed", AttemptStatus.ERROR, "timed out"))
    with pytest.raises(ArtifactError, match="heartbleed: timed out"):
        openssl_bugs(replace(facts(), heartbleed=failed, ccs_injection=seen("ccs", False)))
    with pytest.raises(ArtifactError, match="tls_compression: not scheduled"):
        compresses(facts())
    legacy = facts(suite("TLS_RSA_WITH_AES_128_CBC_SHA", "TLS 1.1"))
    with pytest.raises(ArtifactError, match="TLS_FALLBACK_SCSV"):
        fallback_problem(legacy)


# --- kex-groups (HARDENING.md §A #8) ------------------------------------------------------------

ECDHE = "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
DHE = "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256"


def grouped(*scans: GroupScan, suites: tuple[AcceptedSuite, ...] = ()) -> HardeningFacts:
    return replace(facts(*suites), groups=seen("elliptic_curves", scans))


def test_mozillas_groups_and_p521_pass():
    schannel = GroupScan("TLS 1.3", ("X25519", "secp256r1", "secp384r1", "secp521r1"))
    ok = grouped(schannel, suites=(suite(ECDHE, curve="X25519", bits=253),))
    assert kex_problems(ok) == []
    assert groups_probed(ok) == "TLS 1.3"
    assert kex_problems(grouped(GroupScan("TLS 1.2", ("prime256v1",)))) == []  # nginx's name


def test_groups_outside_the_list_fail_at_the_version_seen():
    weak = grouped(GroupScan("TLS 1.2", ("secp224r1", "secp521r1", "X448", "brainpoolP256r1")))
    assert kex_problems(weak) == [
        "secp224r1 (TLS 1.2)",
        "X448 (TLS 1.2)",
        "brainpoolP256r1 (TLS 1.2)",
    ]


def test_a_group_only_tls_1_2_negotiates_is_caught_from_its_suites():
    """HARDENING.md §A.3: curves probed at TLS 1.3 only; TLS 1.2 negotiated secp224r1."""
    probed = GroupScan("TLS 1.3", ("X25519",))
    trap = grouped(probed, suites=(suite(ECDHE, curve="secp224r1", bits=224),))
    assert kex_problems(trap) == ["secp224r1 (TLS 1.2)"]


def test_dhe_under_2048_bits_fails_and_any_dhe_is_noted():
    small = grouped(suites=(suite(DHE, bits=1024), suite(ECDHE, curve="X25519", bits=253)))
    assert kex_problems(small) == [f"DH 1024 bits (TLS 1.2: {DHE})"]
    enough = grouped(suites=(suite(DHE, bits=2048),))
    assert kex_problems(enough) == []
    assert "FFDHE-2048 insufficient" in dhe_note(enough)  # NCSC: a note, not a verdict
    assert dhe_note(grouped(suites=(suite(ECDHE, curve="X25519", bits=253),))) == ""
    assert groups_probed(enough) == "none: no ECDHE key exchange"


def test_groups_not_probed_are_an_error_never_a_pass():
    with pytest.raises(ArtifactError, match="elliptic_curves: not scheduled"):
        kex_problems(facts())


# --- ocsp-stapled (HARDENING.md §A #12) ---------------------------------------------------------

NOW = datetime(2026, 11, 30, tzinfo=UTC)
RESPONDER = ("http://ocsp.example/",)
GOOD = OcspStaple(
    "successful",
    "good",
    NOW - timedelta(hours=1),
    NOW - timedelta(hours=1),
    NOW + timedelta(7),
    True,
)


def stapling(ocsp: OcspFacts) -> HardeningFacts:
    return replace(facts(), ocsp=seen("certificate_info", ocsp))


def test_a_good_trusted_current_staple_passes():
    assert ocsp_problem(stapling(OcspFacts(RESPONDER, staple=GOOD)), NOW) is None
    assert not must_staple_unstapled(stapling(OcspFacts(RESPONDER, True, GOOD)))


def test_no_ocsp_url_is_not_applicable():
    nothing = stapling(OcspFacts())
    assert ocsp_problem(nothing, NOW) is None
    assert not must_staple_unstapled(nothing)


@pytest.mark.parametrize(
    ("staple", "words"),
    [
        (None, "no OCSP response is stapled (the leaf's responder: http://ocsp.example/)"),
        (OcspStaple("unauthorized"), "'unauthorized', not successful"),
        (replace(GOOD, cert_status="revoked"), "the certificate is revoked"),
        (replace(GOOD, next_update=NOW - timedelta(days=2)), "expired on 2026-11-28"),
        (replace(GOOD, trusted=False), "does not verify"),
        (replace(GOOD, trusted=None), "could not be verified"),
    ],
)
def test_a_missing_or_unusable_staple_is_named(staple: OcspStaple | None, words: str):
    assert words in (ocsp_problem(stapling(OcspFacts(RESPONDER, staple=staple)), NOW) or "")


def test_must_staple_without_a_staple_is_the_failing_case():
    assert must_staple_unstapled(stapling(OcspFacts(RESPONDER, must_staple=True)))
    assert must_staple_unstapled(stapling(OcspFacts((), must_staple=True)))  # even without URL
    assert not must_staple_unstapled(stapling(OcspFacts(RESPONDER, must_staple=False)))


def test_ocsp_facts_missing_are_an_error():
    with pytest.raises(ArtifactError, match="certificate_info: not scheduled"):
        ocsp_problem(facts(), NOW)


# --- non-sni-cert-valid (HARDENING.md §A #15) ---------------------------------------------------


def without_sni(chains: demo.Chains, host: str, **kw: object) -> HardeningFacts:
    made = pki.make_leaf(pki.name(CN=host), chains.uca, key=pki.pooled_key(), dns_names=[host])
    leaf = certificate_facts(made.cert, "192.0.2.7:443 sent without SNI #1")
    answer = NonSniFacts(leaf, (host,), **kw)  # type: ignore[arg-type]
    return replace(facts(), non_sni=seen("certificate_info", answer))


def test_no_handshake_without_sni_or_the_right_certificate_passes(chains: demo.Chains):
    refused = replace(facts(), non_sni=seen("certificate_info", NonSniFacts()))
    assert non_sni_problem(refused, "shop.example") is None
    right = without_sni(chains, "shop.example", matches_host=True, validates=True)
    assert non_sni_problem(right, "shop.example") is None
    # the SNI leaf again: judged by chain-trusted, not a stale default binding
    same = without_sni(chains, "shop.example", matches_host=True, same_as_sni=True)
    assert non_sni_problem(same, "shop.example") is None


def test_another_certificate_without_sni_is_named(chains: demo.Chains):
    wrong = without_sni(chains, "old.example", validation_error="no matching subjectAltName")
    problem = non_sni_problem(wrong, "shop.example") or ""
    assert "clients without SNI get CN=old.example" in problem
    assert "not valid for shop.example: it names old.example" in problem
    assert "it does not validate: no matching subjectAltName" in problem
    with pytest.raises(ArtifactError, match="handshake without SNI"):
        non_sni_problem(facts(), "shop.example")


def test_the_reproduce_command_is_sslyzes_own():
    endpoint = Endpoint("shop.example", "2001:db8::1", 8443)
    assert sslyze_command(endpoint, "robot") == "sslyze --robot shop.example:8443{2001:db8::1}"


def test_hardening_controls_cite_their_source_never_a_manual_section():
    hardening = [c for c in CATALOGUE.values() if c.hardening]
    assert len(hardening) >= 17
    for control in hardening:
        assert control.citation == "hardening"
        assert control.source in cite(control.id)
        assert control.remediation_en
        assert control.remediation_zh
    with pytest.raises(ValueError, match="cites no manual"):
        cite("hsts", "5.8")


def _inventory(tmp_path: Path, text: str) -> Inventory:
    path = tmp_path / "targets.yaml"
    path.write_text(text, encoding="utf-8")
    return load_inventory(path)


def test_the_profile_is_opt_in_per_target_and_tls13_is_na_on_2019(tmp_path: Path):
    inventory = _inventory(
        tmp_path,
        "policy: {hardening: true, windows_server: 2019}\n"
        "targets:\n"
        "  - {name: a, host: a.example, http_port: 8080}\n"
        "  - {name: b, host: b.example, policy: {hardening: false}}\n"
        "  - {name: c, host: c.example, policy: {windows_server: 2022}}\n",
    )
    a, b, c = inventory.targets
    assert (a.http_port, b.http_port) == (8080, 80)
    assert hardening_applies(CATALOGUE["hsts"], a)
    assert not hardening_applies(CATALOGUE["hsts"], b)
    assert not hardening_applies(CATALOGUE["tls13-offered"], a)
    assert hardening_applies(CATALOGUE["tls13-offered"], c)


def test_bad_hardening_keys_are_refused_before_any_scan(tmp_path: Path):
    with pytest.raises(InventoryError) as info:
        _inventory(
            tmp_path,
            "policy: {hardening: yes please, windows_server: 2012}\n"
            "targets:\n  - {name: a, certificate: x.cer, http_port: 80}\n",
        )
    text = "\n".join(info.value.problems)
    assert "key 'hardening'" in text
    assert "2016, 2019, 2022, 2025" in text
    assert "http_port" in text


@pytest.fixture(scope="module")
def hardening_checks(pytestconfig: pytest.Config):
    """The real checks of checks/test_hardening.py."""
    from tests.support.checkfuncs import load_checks

    return load_checks(pytestconfig, "test_hardening")


def _served() -> object:
    from certgate.hosts.facts import EndpointFacts, EndpointStatus

    return EndpointFacts(Endpoint("shop.example", "192.0.2.7", 443), EndpointStatus.OK)


FLAWED: dict[str, tuple[str, dict[str, object]]] = {
    # the failing side of the controls Debian's nginx cannot build, through the real checks
    "tls-compression-off": ("test_tls_compression_off", {"compression": True}),
    "vuln-heartbleed-ccs": ("test_vuln_heartbleed_ccs", {"heartbleed": True}),
    "vuln-robot": ("test_vuln_robot", {"robot": RobotResult.VULNERABLE_STRONG_ORACLE}),
    "renegotiation-secure": (
        "test_renegotiation_secure",
        {"renegotiation": Renegotiation(secure=False, client_dos=False)},
    ),
    "fallback-scsv": ("test_fallback_scsv", {"fallback_scsv": False}),
}


@pytest.mark.parametrize("control", sorted(FLAWED))
def test_the_recorded_flaw_fails_its_check_citing_the_source(hardening_checks, control):
    name, flaw = FLAWED[control]
    recorded = replace(
        facts(suite("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "TLS 1.0", "ECDH")),
        compression=seen("tls_compression", False),
        heartbleed=seen("heartbleed", False),
        ccs_injection=seen("ccs", False),
        robot=seen("robot", RobotResult.NOT_VULNERABLE_NO_ORACLE),
        renegotiation=seen("reneg", Renegotiation(secure=True, client_dos=False)),
        fallback_scsv=seen("tls_fallback_scsv", True),
    )
    check = getattr(hardening_checks, name)
    check(served=_served(), hardening=recorded)  # the clean side passes
    flawed = replace(recorded, **{k: seen(k, v) for k, v in flaw.items()})  # type: ignore[arg-type]
    with pytest.raises(AssertionError) as failure:
        check(served=_served(), hardening=flawed)
    assert cite(control) in str(failure.value)
    assert CATALOGUE[control].source in str(failure.value)
