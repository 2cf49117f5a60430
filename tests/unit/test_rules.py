"""The pure judgements the checks assert on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from certgate.files.facts import KeyAlgorithm, KeyFacts, NameAttribute, SubjectFacts
from certgate.files.rules import (
    abbreviated_fields,
    country_problem,
    hostname_problem,
    key_meets,
    missing_fields,
    non_english,
)
from certgate.x509 import name_covers


def subject(**fields: str) -> SubjectFacts:
    return SubjectFacts("CSR t", tuple(NameAttribute(k, v) for k, v in fields.items()), ())


def test_non_english_names_field_and_characters():
    (found,) = non_english(subject(CN="a.tw", O="台灣ＴＷ", L="TAIPEI"))
    text = found.describe()
    assert found.field == "O"
    assert "'台' (U+53F0)" in text
    assert "'Ｔ' (U+FF34 full-width)" in text


def test_control_characters_are_not_english():
    (found,) = non_english(subject(OU="SYS\tTEM"))
    assert "control character U+0009" in found.describe()


def test_plain_ascii_is_english():
    assert non_english(subject(CN="www.a.tw", O="T.W.C.A. (Taiwan), Inc.")) == ()


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("https://www.a.tw", "scheme"),
        ("www.a.tw:443", "port"),
        ("www.a.tw/shop", "path"),
        ("www a.tw", "spaces"),
        ("www.a.tw.", "ends with a dot"),
        ("203.0.113.5", "IP address"),
        ("www_a.tw", "DNS labels"),
        ("-a.tw", "DNS labels"),
    ],
)
def test_hostname_problems(name, reason):
    problem = hostname_problem(name)
    assert problem is not None
    assert reason in problem


@pytest.mark.parametrize("name", ["www.a.com.tw", "*.a.com.tw", "intranet", "xn--fiq.tw"])
def test_bare_host_names(name):
    assert hostname_problem(name) is None


@pytest.mark.parametrize(
    ("pattern", "host", "covers"),
    [
        ("*.a.tw", "www.a.tw", True),
        ("*.a.tw", "a.tw", False),
        ("*.a.tw", "x.www.a.tw", False),
        ("WWW.A.TW", "www.a.tw", True),
        ("www.a.tw", "shop.a.tw", False),
    ],
)
def test_name_covers(pattern, host, covers):
    assert name_covers(pattern, host) is covers


def test_missing_and_blank_fields():
    assert missing_fields(subject(CN="a.tw", O=" ", C="TW"), ("CN", "O", "L", "C")) == ("O", "L")


@pytest.mark.parametrize(
    ("country", "hint"),
    [("TWN", "three-letter"), ("tw", "capitals: TW"), ("XX", "not an ISO 3166-1")],
)
def test_country_problems(country, hint):
    problem = country_problem(subject(C=country))
    assert problem is not None
    assert hint in problem


def test_country_ok():
    assert country_problem(subject(C="TW")) is None


def test_abbreviated_locality_and_state():
    assert abbreviated_fields(subject(L="TP", ST="TAIWAN")) == ("L='TP'",)


def key(algorithm: KeyAlgorithm, bits: int) -> KeyFacts:
    return KeyFacts("CSR t", algorithm, bits, None, "00")


@pytest.mark.parametrize(
    ("algorithm", "bits", "exact", "ok"),
    [
        (KeyAlgorithm.RSA, 2048, False, True),
        (KeyAlgorithm.RSA, 4096, False, True),
        (KeyAlgorithm.RSA, 4096, True, False),
        (KeyAlgorithm.RSA, 1024, False, False),
        (KeyAlgorithm.EC, 384, False, False),
    ],
)
def test_key_meets(algorithm, bits, exact, ok):
    assert key_meets(key(algorithm, bits), 2048, exact) is ok


def test_expiry_phrases(chains):
    from certgate.files.certificates import certificate_facts
    from certgate.files.rules import expiry_phrase, validity_problem

    cert = certificate_facts(chains.uca.cert, "uca.cer")
    later = cert.not_after + timedelta(days=3)
    assert expiry_phrase(cert, later).endswith("3 days ago")
    assert validity_problem(cert, later) == f"expired on {cert.not_after:%Y-%m-%d}"
    assert validity_problem(cert, datetime(2000, 1, 1, tzinfo=UTC)) is not None


def test_two_cjk_characters_are_not_an_abbreviation():
    assert abbreviated_fields(subject(L="臺北", ST="TW")) == ("ST='TW'",)


def test_subject_field_problems_are_all_reported_at_once():
    from certgate.files.rules import subject_field_problems

    found = subject_field_problems(subject(CN="a.tw", C="tw", ST="TW", L="TP"), ("CN", "O"))
    assert len(found) == 3
    assert found[0] == "lacks O (5.1.4)"
    assert "capitals: TW" in found[1]
    assert "L='TP'" in found[2]
