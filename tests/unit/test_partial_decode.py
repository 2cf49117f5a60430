"""A certificate whose key type certgate cannot use (GOST, issue 9.3) is judged in part: its
subject, dates and path still get verdicts; rsa-2048 fails naming the algorithm by OID, as
`openssl x509 -text` names it."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from certgate.files import der
from certgate.files.certificates import certificate_from_der
from certgate.files.facts import KeyAlgorithm
from certgate.files.path import certification_path
from certgate.files.rules import key_meets, path_problems, validity_problem
from certgate.lab import pki
from certgate.lab.demo import Chains

GOST_2012_256 = "1.2.643.7.1.1.1.1"


def gost_leaf(chains: Chains) -> bytes:
    """A server certificate under the lab's intermediate whose key is GOST R 34.10-2012."""
    leaf = pki.make_leaf(
        pki.name(CN="gost.example.com.tw"), chains.uca, key=pki.pooled_key(), dns_names=[]
    )
    spki = leaf.cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    params = der.encode_oid("1.2.643.7.1.2.1.1.1") + der.encode_oid("1.2.643.7.1.1.2.2")
    algorithm = der.encode(
        der.SEQUENCE, der.encode_oid(GOST_2012_256) + der.encode(der.SEQUENCE, params)
    )
    key = der.encode(der.BIT_STRING, b"\x00" + der.encode(der.OCTETS, bytes(64)))
    gost_spki = der.encode(der.SEQUENCE, algorithm + key)
    reader = der.Reader()
    fields = reader.children(reader.one(leaf.cert.tbs_certificate_bytes))
    tbs = der.encode(
        der.SEQUENCE, b"".join(gost_spki if f.encoding == spki else f.encoding for f in fields)
    )
    issuer_key = chains.uca.key
    assert isinstance(issuer_key, rsa.RSAPrivateKey)
    signature = issuer_key.sign(tbs, padding.PKCS1v15(), hashes.SHA256())
    outer = reader.children(reader.one(leaf.cert.public_bytes(serialization.Encoding.DER)))
    signed = der.encode(der.BIT_STRING, b"\x00" + signature)
    return der.encode(der.SEQUENCE, tbs + outer[1].encoding + signed)


@pytest.fixture(scope="module")
def gost(chains: Chains, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gost") / "server.der"
    path.write_bytes(gost_leaf(chains))
    return path


def test_openssl_names_the_key_type_certgate_names(gost: Path):
    text = subprocess.run(
        ["openssl", "x509", "-inform", "DER", "-in", str(gost), "-noout", "-text"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert "GOST R 34.10-2012 with 256 bit modulus" in text
    facts = certificate_from_der(gost.read_bytes(), "certificate server.der")
    assert facts.key.unsupported == f"GOST R 34.10-2012 256-bit ({GOST_2012_256})"
    assert "GOST R 34.10-2012 256-bit (1.2.643.7.1.1.1.1)" in facts.key.describe()


def test_an_unknown_key_fails_rsa_2048_and_the_rest_is_judged(gost: Path, chains: Chains):
    facts = certificate_from_der(gost.read_bytes(), "certificate server.der")
    assert facts.key.algorithm is KeyAlgorithm.OTHER
    assert not key_meets(facts.key, 2048, exact=False)
    assert facts.subject.common_name == "gost.example.com.tw"
    assert validity_problem(facts, datetime.now(UTC)) is None
    pool = [
        certificate_from_der(pki.cert_der(c), f"chain {n}")
        for n, c in (("uca", chains.uca), ("root", chains.root))
    ]
    path = certification_path(facts, pool, "certificate + chain")
    assert path.reaches_root
    assert path_problems(path, datetime.now(UTC)) == ()  # its issuer's signature verifies
