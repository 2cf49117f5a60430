"""A certificate seen in many places (a fleet's shared intermediates, a leaf both sent and
validated) is decoded once and named by each place it was found in."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from certgate import x509 as core
from certgate.files import certificates
from certgate.files.certificates import certificate_facts
from certgate.lab import demo, pki
from tests.support import openssl_made


def test_the_same_certificate_from_two_sources_differs_only_in_its_source(
    chains: demo.Chains,
):
    der = chains.root.cert.public_bytes(serialization.Encoding.DER)
    one = certificate_facts(x509.load_der_x509_certificate(der), "127.0.0.1:443 sent #2")
    other = certificate_facts(x509.load_der_x509_certificate(der), "chain.p7b #1")
    assert (one.source, one.subject.source, one.key.source) == ("127.0.0.1:443 sent #2",) * 3
    assert (other.source, other.subject.source, other.key.source) == ("chain.p7b #1",) * 3
    assert one.sha256 == other.sha256
    assert one.subject.attributes == other.subject.attributes
    assert one.pem == other.pem


def test_a_certificate_is_decoded_once_however_many_places_send_it(chains: demo.Chains):
    certificates._decoded.cache_clear()
    for n in range(50):
        certificate_facts(chains.uca.cert, f"127.0.0.{n}:443 sent #2")
    info = certificates._decoded.cache_info()
    assert (info.misses, info.hits) == (1, 49)


def test_a_signature_is_checked_once_per_pair_and_a_look_alike_stays_apart(chains: demo.Chains):
    """cert_signature is remembered per (certificate, issuer), both compared by DER: the
    real intermediate and a look-alike with the same name and another key never share."""
    look_alike = pki.make_intermediate("certgate Lab Secure SSL CA", chains.root)
    leaf = pki.make_leaf(pki.name(CN="www.example.com.tw"), chains.uca, key=pki.pooled_key())
    assert look_alike.cert.subject == chains.uca.cert.subject
    core.cert_signature.cache_clear()
    for _ in range(20):
        assert core.cert_signature(leaf.cert, chains.uca.cert).valid is True
        assert core.cert_signature(leaf.cert, look_alike.cert).valid is False
    info = core.cert_signature.cache_info()
    assert (info.misses, info.hits) == (2, 38)


def test_remembered_signatures_agree_with_openssl_on_openssl_made_look_alikes(tmp_path: Path):
    """Two roots made by the openssl CLI under one name, each with its own key, and a
    leaf signed by the first (SHA-1, as old CAs sign). `openssl verify` accepts the leaf
    under the first root only; the remembered verdicts say the same, asked in either order
    and again."""
    first = openssl_made.ca_root(tmp_path, "first", "Example Look-alike Root")
    second = openssl_made.ca_root(tmp_path, "second", "Example Look-alike Root")
    leaf = openssl_made.issue(
        tmp_path,
        "leaf",
        f"/C=TW/O=Example/CN={openssl_made.HOST}",
        "first",
        digest="sha1",
        extensions=openssl_made.leaf_ext(),
    )
    says_first = openssl_made.says(tmp_path, "verify", "-CAfile", str(first), str(leaf))
    says_second = openssl_made.says(tmp_path, "verify", "-CAfile", str(second), str(leaf))
    assert says_first[0] == 0
    assert says_second[0] != 0  # openssl: "certificate signature failure"

    def cert(path: Path) -> x509.Certificate:
        return x509.load_pem_x509_certificate(path.read_bytes())

    core.cert_signature.cache_clear()
    for roots in ((first, second), (second, first), (first, second)):
        verdicts = {root: core.cert_signature(cert(leaf), cert(root)).valid for root in roots}
        assert verdicts == {first: True, second: False}
