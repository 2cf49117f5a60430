"""The PKCS#12 structure reader and the pfx-encryption control (manual 5.9.6)."""

from __future__ import annotations

import pytest

from certgate.files.facts import PfxEncryptionFacts, Pkcs12Protection
from certgate.files.keys import load_pfx_protection
from certgate.files.pkcs12 import Pkcs12Error, read_structure
from certgate.files.rules import pfx_encryption_problems
from certgate.inventory import Policy
from certgate.lab import demo, files, pki
from tests.support.checkfuncs import load_checks

AES = "AES-256-CBC with PBKDF2/HMAC-SHA256, 2000 iterations"
TRIPLE_DES = "pbeWithSHAAnd3-KeyTripleDES-CBC, 2000 iterations"


@pytest.fixture(scope="module")
def check(pytestconfig):
    """The real pfx-encryption check of checks/."""
    return load_checks(pytestconfig, "test_pfx").test_pfx_encryption


@pytest.fixture(scope="module")
def issued() -> tuple[pki.Issued, demo.Chains]:
    chains = demo.make_chains()
    leaf = pki.make_leaf(pki.name(CN="pfx.lab"), chains.uca, key=pki.pooled_key())
    return leaf, chains


def _pfx(issued, encryption: str) -> bytes:
    leaf, chains = issued
    return files.pfx_bytes(leaf.key, leaf.cert, [chains.uca.cert, chains.root.cert], encryption)


def _protection(tmp_path, data: bytes) -> PfxEncryptionFacts:
    path = tmp_path / "backup.pfx"
    path.write_bytes(data)
    return load_pfx_protection(path)


# --- the structure, as IIS and OpenSSL write it -----------------------------------------------


def test_aes256_as_iis_exports_by_default(issued):
    structure = read_structure(_pfx(issued, "aes256"))
    assert (structure.mac_algorithm, structure.mac_iterations) == ("HMAC-SHA256", 2048)
    assert structure.parts == (
        Pkcs12Protection("encrypted safe", AES, "aes256"),
        Pkcs12Protection("private key", AES, "aes256"),
    )


def test_triple_des_sha1_as_iis_exports_for_older_systems(issued):
    structure = read_structure(_pfx(issued, "3des"))
    assert structure.mac_algorithm == "HMAC-SHA1"
    assert {p.algorithm for p in structure.parts} == {TRIPLE_DES}
    assert {p.policy_name for p in structure.parts} == {"3des"}


def test_unencrypted(issued):
    structure = read_structure(_pfx(issued, "none"))
    assert structure.parts == (
        Pkcs12Protection("private key", "not encrypted", "none"),
        Pkcs12Protection("certificates", "not encrypted", "none"),
    )


def test_without_a_key_only_the_certificates_are_listed(issued):
    leaf, chains = issued
    data = files.pfx_bytes(None, None, [leaf.cert, chains.uca.cert])
    assert [p.part for p in read_structure(data).parts] == ["encrypted safe"]


@pytest.mark.skipif(not files.openssl_available(), reason="no openssl command")
def test_rc2_40_made_by_openssl_legacy(issued):
    leaf, chains = issued
    data = files.rc2_pfx_bytes(leaf.key, leaf.cert, [chains.uca.cert])
    if data is None:
        pytest.skip("this openssl cannot write RC2-40 (no legacy provider)")
    structure = read_structure(data)
    assert structure.parts[0] == Pkcs12Protection(
        "encrypted safe", "pbeWithSHAAnd40BitRC2-CBC, 2048 iterations", "rc2-40"
    )
    assert structure.parts[1].policy_name == "3des"


def test_ber_indefinite_lengths_and_constructed_octet_strings_are_read(issued):
    data = _pfx(issued, "aes256")
    ber, der = read_structure(to_ber(data)), read_structure(data)
    assert (ber.mac_algorithm, ber.mac_iterations, ber.parts) == (
        der.mac_algorithm,
        der.mac_iterations,
        der.parts,
    )
    assert ber.length == len(to_ber(data))


def to_ber(der: bytes) -> bytes:
    """Re-encode DER as BER: indefinite lengths, OCTET STRINGs cut into constructed pieces."""
    out, pos = bytearray(), 0
    while pos < len(der):
        tag, length, start = _header(der, pos)
        content = der[start : start + length]
        if tag & 0x20:
            out += bytes([tag, 0x80]) + to_ber(content) + b"\x00\x00"
        elif tag == 0x04 and length > 64:
            pieces = [content[i : i + 64] for i in range(0, length, 64)]
            out += b"\x24\x80" + b"".join(_der(0x04, p) for p in pieces) + b"\x00\x00"
        else:
            out += der[pos : start + length]
        pos = start + length
    return bytes(out)


def _header(der: bytes, pos: int) -> tuple[int, int, int]:
    tag, first = der[pos], der[pos + 1]
    if first < 0x80:
        return tag, first, pos + 2
    size = first & 0x7F
    return tag, int.from_bytes(der[pos + 2 : pos + 2 + size], "big"), pos + 2 + size


def _der(tag: int, content: bytes) -> bytes:
    return bytes([tag, len(content)]) + content  # pieces are short


# --- what is not PKCS#12 is refused with one line ---------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "not binary DER"),
        (b"-----BEGIN CERTIFICATE-----", "not binary DER"),
        (b"\x30\x03\x02\x01\x03", "not a PKCS#12 PFX"),
        (b"\x30\x84\xff\xff\xff\xff", "truncated"),
        (b"\x30\x89" + bytes(9), "length is malformed"),
        (b"\x30\x80" * 5000, "nested too deeply"),
        (b"\x30\x02\x05\x00\x00", "not a PKCS#12 PFX"),
    ],
)
def test_malformed_input_is_a_pkcs12_error(data, reason):
    with pytest.raises(Pkcs12Error, match=reason):
        read_structure(data)


def test_padding_after_the_structure_is_not_part_of_it(issued):
    """Windows and some tools pad a PFX after its structure; `openssl pkcs12` reads it."""
    data = _pfx(issued, "aes256")
    padded = read_structure(data + bytes(37))
    assert padded.length == len(data)
    assert padded.parts == read_structure(data).parts


def test_a_truncated_pfx_is_an_error(issued):
    data = _pfx(issued, "aes256")
    with pytest.raises(Pkcs12Error, match="truncated"):
        read_structure(data[: len(data) // 2])


def test_wrong_version_and_public_key_integrity_are_refused():
    version_2 = bytes.fromhex("300e020102300906072a864886f70d0107")[:-2]
    with pytest.raises(Pkcs12Error):
        read_structure(version_2)
    signed = bytes.fromhex("3010020103300b06092a864886f70d010702")
    with pytest.raises(Pkcs12Error, match="public-key integrity mode"):
        read_structure(signed)


def test_a_certificate_given_as_pfx_is_an_error(tmp_path, issued):
    leaf, _ = issued
    from certgate.errors import ArtifactError

    with pytest.raises(ArtifactError, match=r"not a PKCS#12 \(.pfx/.p12\) file"):
        _protection(tmp_path, pki.cert_der(leaf))


# --- the pfx-encryption control ----------------------------------------------------------------


@pytest.mark.parametrize("encryption", ["aes256", "3des"])
def test_aes256_and_triple_des_pass_by_default(tmp_path, issued, check, encryption):
    facts = _protection(tmp_path, _pfx(issued, encryption))
    assert facts.opens_without_password is False
    check(facts, Policy())


def test_an_unencrypted_pfx_fails_naming_what_it_found(tmp_path, issued, check):
    facts = _protection(tmp_path, _pfx(issued, "none"))
    assert facts.opens_without_password is True
    with pytest.raises(AssertionError) as failure:
        check(facts, Policy())
    message = str(failure.value)
    assert "manual 5.9.6" in message
    assert "MAC HMAC-SHA256 (2048 iterations); private key: not encrypted" in message
    assert "it opens without a password" in message


def test_rc2_40_fails_by_default(check):
    facts = PfxEncryptionFacts(
        "PFX old.pfx",
        "HMAC-SHA1",
        2048,
        (
            Pkcs12Protection("encrypted safe", "pbeWithSHAAnd40BitRC2-CBC", "rc2-40"),
            Pkcs12Protection("private key", TRIPLE_DES, "3des"),
        ),
        False,
    )
    with pytest.raises(AssertionError) as failure:
        check(facts, Policy())
    assert "encrypted safe: pbeWithSHAAnd40BitRC2-CBC" in str(failure.value)
    assert "not accepted: encrypted safe (rc2-40)" in str(failure.value)
    assert "manual 5.9.6" in str(failure.value)


def test_the_policy_decides_what_is_accepted(tmp_path, issued):
    facts = _protection(tmp_path, _pfx(issued, "3des"))
    assert pfx_encryption_problems(facts, ("aes256",)) == (
        "encrypted safe (3des)",
        "private key (3des)",
    )
    unencrypted = _protection(tmp_path, _pfx(issued, "none"))
    assert pfx_encryption_problems(unencrypted, ("aes256", "none")) == ()


def test_the_labs_rc2_stand_in_reads_as_rc2_40(issued):
    leaf, chains = issued
    data = files._rc2_stand_in(leaf, [chains.uca.cert])
    assert read_structure(data).parts[0].policy_name == "rc2-40"


@pytest.mark.parametrize("shape", ["padded", "ber"])
def test_a_padded_or_ber_pfx_opens_without_cryptographys_fallback_warning(issued, shape):
    """Windows exports BER and pads; openssl reads both. The self-tests turn warnings into
    errors, so cryptography's 'falling back to BER' warning would fail this test."""
    from certgate.files.keys import PasswordSource, pfx_facts, pfx_protection

    data = _pfx(issued, "aes256")
    data = data + bytes(37) if shape == "padded" else to_ber(data)
    password = PasswordSource("CERTGATE_TEST_PFX", "pfx_password_env")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CERTGATE_TEST_PFX", files.LAB_PASSWORDS[files.PFX_PASSWORD_ENV])
        facts = pfx_facts(data, "PFX odd.pfx", password)
    assert facts.key is not None
    assert facts.key_certificate is not None
    assert pfx_protection(data, "PFX odd.pfx").parts
