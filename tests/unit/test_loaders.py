"""CSR and certificate files -> facts, for good files and for every way users break them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from certgate.errors import ArtifactError
from certgate.files.certificates import load_certificate
from certgate.files.facts import CsrFraming, KeyAlgorithm
from certgate.files.requests import load_csr
from certgate.lab import pki

GOOD = {"C": "TW", "ST": "TAIWAN", "L": "TAIPEI", "O": "TWCA", "OU": "SYSTEM", "CN": "www.a.tw"}


@pytest.fixture
def csr_der():
    return pki.make_csr(pki.name(**GOOD), pki.pooled_key(), ["www.a.tw"])


@pytest.mark.parametrize("label", ["NEW CERTIFICATE REQUEST", "CERTIFICATE REQUEST"])
def test_both_csr_header_spellings_are_intact_pem(tmp_path, csr_der, label):
    path = pki.write(tmp_path / "a.csr", pki.csr_pem(csr_der, label))
    facts = load_csr(path)
    assert facts.intact_pem
    assert facts.signature_valid is True
    assert facts.key is not None
    assert facts.key.algorithm is KeyAlgorithm.RSA
    assert facts.key.bits == 2048
    assert facts.subject is not None
    assert facts.subject.values("O") == ("TWCA",)
    assert facts.subject.dns_names == ("www.a.tw",)


def test_windows_line_endings_are_fine(tmp_path, csr_der):
    path = pki.write(tmp_path / "a.csr", pki.csr_pem(csr_der).replace("\n", "\r\n"))
    assert load_csr(path).intact_pem


def test_manual_sample_paste_error_is_mangled_but_still_decodes(tmp_path, csr_der):
    facts = load_csr(pki.write(tmp_path / "a.csr", pki.mangled_csr_pem(csr_der)))
    assert facts.framing is CsrFraming.MANGLED_PEM
    assert any("not on a line of its own" in p for p in facts.framing_problems)
    assert any("END line does not have exactly five dashes" in p for p in facts.framing_problems)
    assert facts.subject is not None  # the other controls can still judge it


def test_missing_footer_is_a_framing_problem(tmp_path, csr_der):
    text = pki.csr_pem(csr_der).replace("-----END NEW CERTIFICATE REQUEST-----\n", "")
    facts = load_csr(pki.write(tmp_path / "a.csr", text))
    assert "the END line is missing (the request was cut short)" in facts.framing_problems


def test_der_csr_decodes_but_is_not_the_manuals_text(tmp_path, csr_der):
    facts = load_csr(pki.write(tmp_path / "a.csr", csr_der))
    assert facts.framing is CsrFraming.DER
    assert facts.signature_valid is True


def test_broken_signature_is_detected(tmp_path, csr_der):
    facts = load_csr(pki.write(tmp_path / "a.csr", pki.csr_pem(pki.break_signature(csr_der))))
    assert facts.signature_valid is False


def test_truncated_csr_does_not_decode(tmp_path, csr_der):
    text = pki.csr_pem(csr_der)
    facts = load_csr(pki.write(tmp_path / "a.csr", text[: len(text) // 2]))
    assert facts.subject is None
    assert facts.decode_error is not None


def test_certificate_given_as_csr_says_so(tmp_path, chains):
    facts = load_csr(pki.write(tmp_path / "a.csr", chains.root.pem))
    assert facts.framing is CsrFraming.NOT_A_CSR
    assert facts.decode_error == "the file holds a certificate, not a CSR"


def test_private_key_given_as_csr_is_named_never_shown(tmp_path):
    key_pem = pki.key_pem(pki.pooled_key())
    facts = load_csr(pki.write(tmp_path / "a.csr", key_pem))
    assert facts.decode_error == "the file holds a private key, not a CSR"
    body = key_pem.decode().splitlines()[1]
    assert body not in repr(facts)


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"", "the file is empty"), (b"   \n", "the file is empty"), (b"x" * (2 << 20), "larger")],
)
def test_unreadable_files_raise_one_line(tmp_path, content, expected):
    path = pki.write(tmp_path / "a.csr", content)
    with pytest.raises(ArtifactError, match=expected):
        load_csr(path)


def test_missing_file_raises(tmp_path):
    with pytest.raises(ArtifactError, match="no such file"):
        load_certificate(tmp_path / "gone.cer")


def test_certificate_pem_and_der_give_the_same_facts(tmp_path, chains):
    pem = load_certificate(pki.write(tmp_path / "a.cer", chains.uca.pem))
    der = load_certificate(pki.write(tmp_path / "b.cer", pki.cert_der(chains.uca)))
    assert pem.sha256 == der.sha256
    assert pem.is_ca
    assert not pem.self_issued
    assert pem.not_after.tzinfo is not None


def test_csr_given_as_certificate_is_an_error(tmp_path, csr_der):
    path = pki.write(tmp_path / "server.cer", pki.csr_pem(csr_der))
    with pytest.raises(ArtifactError, match=r"holds a certificate request \(CSR\), not a cert"):
        load_certificate(path)


def test_truncated_certificate_is_an_error(tmp_path, chains):
    pem = chains.root.pem.decode()
    path = pki.write(tmp_path / "server.cer", pem[: len(pem) // 2])
    with pytest.raises(ArtifactError, match="truncated"):
        load_certificate(path)


def test_garbage_certificate_is_an_error(tmp_path):
    path = pki.write(tmp_path / "server.cer", b"\x30\x82garbage")
    with pytest.raises(ArtifactError, match=r"does not decode as an X\.509 certificate"):
        load_certificate(path)


def test_non_ascii_and_non_iso_subjects_load_without_warnings(tmp_path, chains):
    subject = pki.name(C="TWN", O="台灣網路認證", L="ＴＡＩＰＥＩ", CN="x.tw")
    leaf = pki.make_leaf(
        subject, chains.uca, key=pki.pooled_key(), not_after=pki.now() + timedelta(days=30)
    )
    facts = load_certificate(pki.write(tmp_path / "a.cer", leaf.pem))  # filterwarnings=error
    assert facts.subject.values("O") == ("台灣網路認證",)
    assert facts.subject.values("C") == ("TWN",)


def test_ec_key_facts(tmp_path):
    der = pki.make_csr(pki.name(**GOOD), pki.pooled_key("ec"))
    facts = load_csr(pki.write(tmp_path / "a.csr", pki.csr_pem(der)))
    assert facts.key is not None
    assert facts.key.describe() == "EC secp256r1 (256 bits)"


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: b"\xef\xbb\xbf" + text.encode("ascii"),  # Notepad, UTF-8 with BOM
        lambda text: text.encode("utf-16"),  # Notepad, "Unicode"
    ],
    ids=["utf8-bom", "utf16"],
)
def test_notepad_encodings_are_read_as_intact_pem(tmp_path, csr_der, encode):
    path = pki.write(tmp_path / "a.csr", encode(pki.csr_pem(csr_der).replace("\n", "\r\n")))
    facts = load_csr(path)
    assert facts.intact_pem, facts.problems()


def test_text_before_the_certificate_is_tolerated(tmp_path, chains):
    text = "Bag Attributes\n    friendlyName: www\n" + chains.uca.pem.decode()
    facts = load_certificate(pki.write(tmp_path / "a.cer", text))
    assert facts.subject.common_name == "certgate Lab Secure SSL CA"


def test_pkcs7_given_as_certificate_is_named(tmp_path):
    text = "-----BEGIN PKCS7-----\nMIIB\n-----END PKCS7-----\n"
    with pytest.raises(ArtifactError, match="PKCS#7 bundle, not a certificate"):
        load_certificate(pki.write(tmp_path / "a.p7b", text))


def test_two_requests_in_one_file_is_a_framing_problem(tmp_path, csr_der):
    text = pki.csr_pem(csr_der) + pki.csr_pem(csr_der)
    facts = load_csr(pki.write(tmp_path / "a.csr", text))
    assert not facts.intact_pem
    assert "the file holds 2 requests; submit exactly one" in facts.framing_problems
