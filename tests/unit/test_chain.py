"""Certification paths (manual 5.4, 5.5, 5.7.1.2): the chain-links control."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from cryptography import x509

from certgate.errors import ArtifactError
from certgate.files.certificates import certificate_facts
from certgate.files.facts import CertificateFacts, PathFacts
from certgate.files.gather import Gatherer
from certgate.files.path import certification_path
from certgate.files.rules import path_problems
from certgate.inventory import Policy, Target
from certgate.lab import demo, files, pki
from certgate.report.evidence import evidence_of
from tests.support.checkfuncs import load_checks

NOW = pki.now()


@pytest.fixture(scope="module")
def check(pytestconfig):
    """The real chain-links check of checks/."""
    return load_checks(pytestconfig, "test_chain").test_chain_links


@pytest.fixture(scope="module")
def chains() -> demo.Chains:
    return demo.make_chains()


def facts(issued: pki.Issued, name: str = "test") -> CertificateFacts:
    return certificate_facts(issued.cert, name)


def leaf_under(issuer: pki.Issued, key: pki.PrivateKey | None = None) -> pki.Issued:
    subject = pki.name(C="TW", O="certgate Lab", CN="path.lab")
    return pki.make_leaf(subject, issuer, key=key or pki.pooled_key(), dns_names=["path.lab"])


def path_of(leaf: pki.Issued, *pool: pki.Issued) -> PathFacts:
    return certification_path(facts(leaf), [facts(p) for p in pool], "test files")


def _fails(check, path: PathFacts) -> str:
    with pytest.raises(AssertionError) as failure:
        check(path, NOW)
    message = str(failure.value)
    assert "manual 5.4, 5.5, 5.7.1.2" in message
    return message


# --- paths that pass --------------------------------------------------------------------------


def test_three_tier_passes(chains, check):
    path = path_of(leaf_under(chains.uca), chains.uca, chains.root)
    assert len(path.certificates) == 3
    assert path.reaches_root
    check(path, NOW)


def test_four_tier_passes_in_any_file_order(chains, check):
    pool = [chains.root4, chains.uca_2, chains.uca_1]
    random.Random(4).shuffle(pool)
    path = path_of(leaf_under(chains.uca_2), *pool)
    assert [c.subject.common_name for c in path.certificates[1:]] == [
        "certgate Lab Global SSL CA 2",
        "certgate Lab Global Sub CA 1",
        "certgate Lab Global Root CA",
    ]
    check(path, NOW)


def test_ec_signatures_and_a_sha1_self_signed_root_pass(check):
    root = files.sha1_root("certgate Lab Legacy Root CA")
    assert root.cert.signature_hash_algorithm is not None
    assert root.cert.signature_hash_algorithm.name == "sha1"
    uca = pki.make_intermediate("certgate Lab ECC CA", root, key=pki.pooled_key("ec"))
    leaf = leaf_under(uca, key=pki.pooled_key("ec"))
    path = path_of(leaf, uca, root)
    assert all(link.signature_valid for link in path.links)
    check(path, NOW)


def test_a_rekeyed_ca_with_the_same_name_is_told_apart_by_signature(chains, check):
    impostor = pki.make_intermediate("certgate Lab Secure SSL CA", chains.root)  # new key
    path = path_of(leaf_under(chains.uca), impostor, chains.uca, chains.root)
    assert path.links[0].issuer is not None
    assert path.links[0].issuer.sha256 == facts(chains.uca).sha256
    check(path, NOW)


# --- paths that fail, each naming the certificate and the broken link ------------------------


def test_a_missing_root_fails_naming_the_intermediate(chains, check):
    path = path_of(leaf_under(chains.uca), chains.uca)
    message = _fails(check, path)
    uca = facts(chains.uca)
    assert f"CN=certgate Lab Secure SSL CA (serial {uca.serial}, SHA-256 {uca.sha256[:16]}" in (
        message
    )
    assert "was issued by 'CN=certgate Lab Root CA,OU=Root CA" in message


def test_a_missing_intermediate_fails(chains, check):
    message = _fails(check, path_of(leaf_under(chains.uca), chains.root))
    assert "CN=path.lab" in message
    assert "'CN=certgate Lab Secure SSL CA,O=certgate Lab,C=TW', which none of the files is" in (
        message
    )


def test_a_look_alike_intermediate_fails_and_is_named(chains, check):
    g3 = pki.make_intermediate("certgate Lab Secure SSL CA - G3", chains.root)
    message = _fails(check, path_of(leaf_under(chains.uca), g3, chains.root))
    assert "the files hold instead C=TW, O=certgate Lab, CN=certgate Lab Secure SSL CA - G3" in (
        message
    )


def test_a_broken_signature_fails(chains, check):
    altered = pki.Issued(x509.load_pem_x509_certificate(files.tampered(chains.uca)), chains.uca.key)
    message = _fails(check, path_of(leaf_under(chains.uca), altered, chains.root))
    assert "the signature on C=TW, O=certgate Lab, CN=certgate Lab Secure SSL CA" in message
    assert "does not verify with the key of C=TW, O=certgate Lab, OU=Root CA" in message


def test_a_same_name_impostor_alone_fails_on_its_signature(chains, check):
    impostor = pki.make_intermediate("certgate Lab Secure SSL CA", chains.root)
    message = _fails(check, path_of(leaf_under(chains.uca), impostor, chains.root))
    assert "does not verify" in message


def test_an_expired_intermediate_fails(chains, check):
    old = pki.make_intermediate(
        "certgate Lab Old CA",
        chains.root,
        not_before=NOW - timedelta(days=900),
        not_after=NOW - timedelta(days=2),
    )
    message = _fails(check, path_of(leaf_under(old), old, chains.root))
    assert "CN=certgate Lab Old CA" in message
    assert f"expired on {(NOW - timedelta(days=2)):%Y-%m-%d}" in message


def test_an_issuer_that_is_not_a_ca_fails(chains, check):
    fake = pki.make_leaf(
        pki.name(C="TW", O="certgate Lab", CN="Not A CA"), chains.uca, key=pki.pooled_key(slot=2)
    )
    leaf = leaf_under(fake)
    message = _fails(check, path_of(leaf, fake, chains.uca, chains.root))
    assert "CN=Not A CA" in message
    assert "is not a CA" in message


def test_two_levels_fail(chains, check):
    message = _fails(check, path_of(leaf_under(chains.root), chains.root))
    assert "the path has 2 level(s)" in message


def test_five_levels_fail(chains, check):
    uca_3 = pki.make_intermediate("certgate Lab Deep CA 3", chains.uca_2)
    path = path_of(leaf_under(uca_3), uca_3, chains.uca_2, chains.uca_1, chains.root4)
    assert "the path has 5 level(s)" in _fails(check, path)


def test_problems_are_empty_for_a_good_path(chains):
    assert path_problems(path_of(leaf_under(chains.uca), chains.uca, chains.root), NOW) == ()


# --- certificate + chain files, as the gatherer reads them ------------------------------------


def test_chain_files_with_several_certificates_in_one_file(tmp_path, chains, check):
    leaf = leaf_under(chains.uca)
    pki.write(tmp_path / "server.cer", leaf.pem)
    pki.write(tmp_path / "chain.pem", chains.root.pem + chains.uca.pem)
    target = Target(
        name="t",
        policy=Policy(),
        certificate=tmp_path / "server.cer",
        chain=(tmp_path / "chain.pem",),
    )
    path = Gatherer().chain_path(target)
    assert len(path.certificates) == 3
    check(path, NOW)


def test_chain_files_without_a_certificate_start_from_their_leaf(tmp_path, chains):
    pki.write(tmp_path / "a.cer", pki.cert_der(leaf_under(chains.uca)))
    pki.write(tmp_path / "b.cer", chains.uca.pem)
    target = Target(name="t", policy=Policy(), chain=(tmp_path / "a.cer", tmp_path / "b.cer"))
    assert Gatherer().chain_path(target).leaf.subject.common_name == "path.lab"


def test_chain_files_holding_a_key_or_a_truncated_block_are_errors(tmp_path, chains):
    pki.write(tmp_path / "keyed.pem", chains.uca.pem + pki.key_pem(pki.pooled_key()))
    pki.write(tmp_path / "cut.pem", chains.uca.pem + chains.root.pem[:200])
    for name, reason in (("keyed.pem", "a private key"), ("cut.pem", "cut short")):
        target = Target(name="t", policy=Policy(), chain=(tmp_path / name,))
        with pytest.raises(ArtifactError, match=reason) as error:
            Gatherer().chain_files(target)
        assert "PRIVATE" not in str(error.value)


def test_the_report_evidence_shows_the_path_certificates(chains):
    path = path_of(leaf_under(chains.uca), chains.uca, chains.root)
    blocks = evidence_of([path])
    assert len(blocks) == 3
    assert "CN=certgate Lab Secure SSL CA" in blocks[1]


def test_a_file_several_targets_name_is_read_once(tmp_path, chains, monkeypatch):
    """One wildcard certificate and chain file for a fleet: each file is read once per run,
    whichever target asks first; a file only one target names is still its own."""
    from certgate.files import gather
    from certgate.files.certificates import load_certificate

    read: list[str] = []
    real = load_certificate

    def counting(path):
        read.append(path.name)
        return real(path)

    monkeypatch.setattr(gather, "load_certificate", counting)
    pki.write(tmp_path / "wildcard.cer", leaf_under(chains.uca).pem)
    pki.write(tmp_path / "other.cer", leaf_under(chains.uca).pem)
    targets = [
        Target(name=f"site-{i}", policy=Policy(), certificate=tmp_path / "wildcard.cer")
        for i in range(3)
    ] + [Target(name="other", policy=Policy(), certificate=tmp_path / "other.cer")]
    gatherer = Gatherer()
    found = [gatherer.certificate(t) for t in targets]
    assert read == ["wildcard.cer", "other.cer"]
    assert found[0] is found[1] is found[2]
    assert found[3].sha256 != found[0].sha256
