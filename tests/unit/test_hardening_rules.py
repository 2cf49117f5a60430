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
from certgate.hosts.facts import (
    AcceptedSuite,
    AttemptStatus,
    CommandAttempt,
    HardeningFacts,
    HttpAnswer,
    VersionScan,
)
from certgate.hosts.hardening import (
    accepted_versions,
    cbc_sha1_suites,
    eku_problem,
    hsts_long_enough,
    lifetime_ceiling,
    lifetime_days,
    redirect_problem,
    static_rsa_suites,
    weak_suites,
)
from certgate.inventory import Inventory, InventoryError, load_inventory
from certgate.items import hardening_applies
from certgate.lab import demo, pki

DONE = CommandAttempt("tls_1_2_cipher_suites", AttemptStatus.COMPLETED)
HTTP = HttpAnswer("http://shop.example/", "curl -sI http://shop.example/", refused=True)


def facts(*suites: AcceptedSuite, failed: str | None = None) -> HardeningFacts:
    labels = ("SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3")
    versions = []
    for label in labels:
        if label == failed:
            attempt = CommandAttempt(label, AttemptStatus.ERROR, "connection reset")
            versions.append(VersionScan(label, attempt))
            continue
        versions.append(VersionScan(label, DONE, tuple(s for s in suites if s.version == label)))
    return HardeningFacts(tuple(versions), DONE, HTTP, leaf_eku=("1.3.6.1.5.5.7.3.1",))


def suite(name: str, version: str = "TLS 1.2", kx: str | None = None) -> AcceptedSuite:
    return AcceptedSuite(name, version, 112 if "3DES" in name else 128, False, kx)


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


def test_hardening_controls_cite_their_source_never_a_manual_section():
    hardening = [c for c in CATALOGUE.values() if c.hardening]
    assert len(hardening) >= 12
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
