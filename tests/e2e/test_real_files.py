"""End to end on files nobody on the team made with cryptography (issue 9, SPEC §2.1).

The ``openssl`` CLI writes them the way IIS, Windows and CAs do, certifi ships TWCA's real
roots, and a tiny DER encoder writes IIS's request attributes in IIS's order. One audit
(``pytest --targets``, as an administrator runs it) judges them all; each test names the
independent verdict it agrees with and asserts openssl's own output too.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import certifi
import pytest
from cryptography import x509

from certgate.files import certificates
from tests.support import openssl_made as made
from tests.support.audit import Audit, project, run

pytestmark = pytest.mark.slow

TWCA_ROOTS = {
    "twca-root": "TWCA Root Certification Authority",
    "twca-global": "TWCA Global Root CA",
}


@dataclass(frozen=True)
class Files:
    """The audit folder, the openssl-made files in it, and the one audit of them all."""

    folder: Path
    audit: Audit


def twca_root(label: str) -> bytes:
    """The PEM of the certifi root whose ``# Label:`` is ``label``."""
    text = Path(certifi.where()).read_text(encoding="ascii")
    after = text.split(f'# Label: "{label}"\n', 1)[1]
    block = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n", after, re.S)
    assert block is not None, label
    return block.group(0).encode()


def flip(data: bytes, old: bytes, new: bytes) -> bytes:
    assert data.count(old) == 1
    return data.replace(old, new)


def make_requests(f: Path) -> str:
    """Items 1, 2 and 4(d): IIS's own requests, altered ones, a certreq dump, two requests."""
    key, der = made.sha1_request(f)
    signed = der.read_bytes()
    bad_signature = signed[:-5] + bytes([signed[-5] ^ 1]) + signed[-4:]
    bad_subject = flip(signed, b"www.example.com.tw", b"wwx.example.com.tw")
    _, other = made.sha1_request(f, "other")
    attrs, _ = made.iis_attribute_request(f)
    public = made.openssl(f, "pkey", "-in", key.name, "-pubout")
    requests = {
        "iis-long": made.iis_pem(signed, one_line=True),
        "iis-cols": made.iis_pem(signed, one_line=False),
        "iis-sig": made.iis_pem(bad_signature, one_line=False),
        "iis-subject": made.iis_pem(bad_subject, one_line=True),
        "dump": public + made.iis_pem(signed, one_line=False),
        "two": made.iis_pem(signed, one_line=False)
        + made.iis_pem(other.read_bytes(), one_line=False),
        "iis-attrs": made.iis_pem(attrs.read_bytes(), one_line=False),
    }
    for name, pem in requests.items():
        (f / f"{name}.csr").write_bytes(pem)
    return "".join(f"  - name: {n}\n    csr: {n}.csr\n" for n in requests)


def make_sha1(f: Path) -> str:
    """Item 3: a SHA-1 chain as certificate + chain, cert.zip and two PFX encryptions."""
    chain = made.sha1_chain(f / "sha1")
    with zipfile.ZipFile(f / "sha1" / "cert.zip", "w") as z:
        for name, path in (
            ("root.cer", chain.root),
            ("uca.cer", chain.ucas[0]),
            ("server.cer", chain.server),
        ):
            z.write(path, name)
    made.pfx(chain, "legacy", "-legacy")
    made.pfx(chain, "aes")
    made.pfx(
        chain, "tdes", "-keypbe", "PBE-SHA1-3DES", "-certpbe", "PBE-SHA1-3DES", "-macalg", "sha1"
    )
    padded = (f / "sha1" / "aes.pfx").read_bytes() + bytes(37)
    (f / "sha1" / "padded.pfx").write_bytes(padded)
    made.openssl(
        chain.folder, "pkcs12", "-export", "-nocerts", "-inkey", chain.key.name,
        "-out", "nocerts.pfx", "-passout", "env:PFX_PASSWORD",
    )  # fmt: skip
    expired = made.expired_self_signed(chain.folder, "old.example.com.tw")
    made.pfx(chain, "extra", certfile=chain.pem(chain.ucas[0], chain.root, expired))
    pfx = "    pfx_password_env: CERTGATE_REAL_PFX\n"
    return (
        "  - name: sha1-files\n    certificate: sha1/server.cer\n"
        "    chain: [sha1/uca.cer, sha1/root.cer]\n"
        "  - name: sha1-zip\n    bundle: sha1/cert.zip\n"
        f"  - name: sha1-legacy\n    pfx: sha1/legacy.pfx\n{pfx}"
        f"  - name: sha1-aes\n    pfx: sha1/aes.pfx\n{pfx}"
        f"  - name: sha1-tdes\n    pfx: sha1/tdes.pfx\n{pfx}"
        "  - name: sha1-wrong-root\n    certificate: sha1/server.cer\n"
        "    chain: [sha1/uca.cer, odd/root.cer]\n"
        f"  - name: pfx-padded\n    pfx: sha1/padded.pfx\n{pfx}"
        f"  - name: pfx-nocerts\n    pfx: sha1/nocerts.pfx\n{pfx}"
        f"  - name: pfx-extra\n    pfx: sha1/extra.pfx\n{pfx}"
    )


def make_odd(f: Path) -> str:
    """Items 4(a), 4(b), 5 and 7: an SM2 key, an explicit basicConstraints FALSE, a Chinese O
    in a PFX, a certificate with an empty subject."""
    odd = f / "odd"
    odd.mkdir()
    root = made.ca_root(odd, "root", "Example Odd Root CA")
    uca = made.issue(odd, "uca", "/C=TW/O=Example Trust/CN=Example Odd SSL CA", "root")
    made.openssl(odd, "genpkey", "-algorithm", "SM2", "-out", "sm2-gen.key")
    made.issue(
        odd, "sm2", "/C=TW/O=Example/CN=sm2.example.com.tw", "uca", newkey="sm2-gen.key",
        extensions=made.leaf_ext("sm2.example.com.tw"), days=397,
    )  # fmt: skip
    explicit_false = "basicConstraints=critical,DER:30:03:01:01:00\nsubjectAltName=DNS:{h}\n"
    bc = made.issue(
        odd, "bc", "/C=TW/O=Example/CN=bc.example.com.tw", "uca",
        extensions=explicit_false.format(h="bc.example.com.tw"), days=397,
    )  # fmt: skip
    with zipfile.ZipFile(odd / "bc.zip", "w") as z:
        for name, path in (("root.cer", root), ("uca.cer", uca), ("server.cer", bc)):
            z.write(path, name)
    chinese = made.issue(
        odd, "chinese", "/C=TW/O=台灣/CN=tw.example.com.tw", "uca", utf8=True,
        extensions=made.leaf_ext("tw.example.com.tw"), days=397,
    )  # fmt: skip
    made.pfx(made.Chain(odd, root, (uca,), chinese, odd / "chinese.key"), "chinese")
    made.openssl(
        odd, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "empty.key",
        "-subj", "/", "-addext", "subjectAltName=DNS:empty.example.com.tw", "-out", "empty.cer",
    )  # fmt: skip
    pfx = "    pfx_password_env: CERTGATE_REAL_PFX\n"
    return (
        "  - name: sm2\n    certificate: odd/sm2.cer\n    chain: [odd/uca.cer, odd/root.cer]\n"
        "  - name: bc-false\n    certificate: odd/bc.cer\n    chain: [odd/uca.cer, odd/root.cer]\n"
        "  - name: bc-zip\n    bundle: odd/bc.zip\n"
        f"  - name: pfx-chinese\n    pfx: odd/chinese.pfx\n{pfx}"
        "  - name: empty-subject\n    certificate: odd/empty.cer\n"
    )


def make_twca(f: Path) -> str:
    """Item 8: TWCA's real roots, as certifi ships them."""
    for name, label in TWCA_ROOTS.items():
        (f / f"{name}.cer").write_bytes(twca_root(label))
    return "".join(f"  - name: {n}\n    certificate: {n}.cer\n" for n in TWCA_ROOTS)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Files:
    """Every file made once, then one audit of them all, as ``pytest --targets`` runs it."""
    f = tmp_path_factory.mktemp("real")
    targets = "targets:\n" + make_requests(f) + make_sha1(f) + make_odd(f) + make_twca(f)
    folder = project(f, targets)
    return Files(f, run(folder, env={"CERTGATE_REAL_PFX": made.PASSWORD}))


def outcome(files: Files, control: str, target: str, subject: str) -> str:
    return str(files.audit.row(control, target, subject)["outcome"])


def message(files: Files, control: str, target: str, subject: str) -> str:
    return str(files.audit.row(control, target, subject)["message"])


# --- 1. IIS's own request -----------------------------------------------------------------------


@pytest.mark.parametrize("target", ["iis-long", "iis-cols"])
def test_iis_sha1_request_passes_as_openssl_req_verifies_it(files, target):
    pem = (files.folder / f"{target}.csr").read_bytes()
    assert pem.startswith(b"-----BEGIN NEW CERTIFICATE REQUEST-----\r\n")
    assert pem.endswith(b"-----END NEW CERTIFICATE REQUEST-----\r\n")
    status, said = made.says(files.folder, "req", "-verify", "-noout", "-in", f"{target}.csr")
    assert (status, said.strip()) == (0, "Certificate request self-signature verify OK")
    for control in ("csr-format", "rsa-2048", "subject-english", "subject-fields"):
        assert outcome(files, control, target, "csr") == "passed", control


@pytest.mark.parametrize("target", ["iis-sig", "iis-subject"])
def test_altered_iis_request_fails_as_openssl_req_verify_does(files, target):
    # openssl 3.0's `req -verify` exits 0 either way: its words are the verdict
    _, said = made.says(files.folder, "req", "-verify", "-noout", "-in", f"{target}.csr")
    assert said.strip() == "Certificate request self-signature verify failure"
    assert outcome(files, "csr-format", target, "csr") == "failed"
    assert "manual 5.1.8" in message(files, "csr-format", target, "csr")
    assert "does not verify" in message(files, "csr-format", target, "csr")


# --- 2. a certreq-style dump ----------------------------------------------------------------


def test_public_key_block_before_the_request_does_not_hide_it(files):
    text = (files.folder / "dump.csr").read_text()
    assert text.startswith("-----BEGIN PUBLIC KEY-----")
    status, said = made.says(files.folder, "req", "-verify", "-noout", "-in", "dump.csr")
    assert (status, said.strip()) == (0, "Certificate request self-signature verify OK")
    assert outcome(files, "csr-format", "dump", "csr") == "passed"


def test_two_requests_in_one_file_fail(files):
    assert (files.folder / "two.csr").read_text().count("BEGIN NEW CERTIFICATE REQUEST") == 2
    assert outcome(files, "csr-format", "two", "csr") == "failed"
    said = message(files, "csr-format", "two", "csr")
    assert "2 requests" in said
    assert "manual 5.1.8" in said


# --- 3. SHA-1 chains --------------------------------------------------------------------------


def test_openssl_verifies_the_sha1_chain(files):
    sha1 = files.folder / "sha1"
    for cert in ("root.cer", "uca.cer", "server.cer"):
        _, text = made.says(sha1, "x509", "-noout", "-text", "-in", cert)
        assert "Signature Algorithm: sha1WithRSAEncryption" in text
    status, said = made.says(
        sha1, "verify", "-auth_level", "0", "-CAfile", "root.cer", "-untrusted", "uca.cer",
        "server.cer",
    )  # fmt: skip
    assert (status, said.strip()) == (0, "server.cer: OK")


@pytest.mark.parametrize(
    ("target", "subject"),
    [
        ("sha1-files", "chain"),
        ("sha1-zip", "bundle"),
        ("sha1-legacy", "pfx"),
        ("sha1-aes", "pfx"),
        ("sha1-tdes", "pfx"),
    ],
)
def test_sha1_links_are_links(files, target, subject):
    assert outcome(files, "chain-links", target, subject) == "passed"


def test_sha1_chain_under_another_root_fails_as_openssl_verify_does(files):
    sha1 = files.folder / "sha1"
    status, said = made.says(
        sha1, "verify", "-auth_level", "0", "-CAfile", "../odd/root.cer", "-untrusted",
        "uca.cer", "server.cer",
    )  # fmt: skip
    assert status != 0
    assert "unable to get local issuer certificate" in said
    assert outcome(files, "chain-links", "sha1-wrong-root", "chain") == "failed"
    assert "manual 5.4, 5.5, 5.7.1.2" in message(files, "chain-links", "sha1-wrong-root", "chain")


@pytest.mark.parametrize(
    ("target", "legacy", "encryption"),
    [
        ("sha1-aes", False, "passed"),
        ("sha1-tdes", False, "passed"),
        # -legacy writes RC2-40 for the certificates, which manual 5.9.6 does not accept
        ("sha1-legacy", True, "failed"),
    ],
)
def test_pfx_opens_as_openssl_pkcs12_info_opens_it(files, target, legacy, encryption):
    name = target.removeprefix("sha1-")
    status, said = made.says(
        files.folder / "sha1", "pkcs12", "-info", "-noout", *(["-legacy"] if legacy else []),
        "-in", f"{name}.pfx", "-passin", "env:PFX_PASSWORD",
    )  # fmt: skip
    assert status == 0, said
    assert outcome(files, "pfx-contents", target, "pfx") == "passed"
    assert outcome(files, "pfx-encryption", target, "pfx") == encryption
    if encryption == "failed":
        assert "40BitRC2" in said
        assert "rc2-40" in message(files, "pfx-encryption", target, "pfx")


# --- 4. partial decode ------------------------------------------------------------------------


def test_sm2_key_fails_rsa_2048_by_name_and_the_rest_is_judged(files):
    _, text = made.says(files.folder / "odd", "x509", "-noout", "-text", "-in", "sm2.cer")
    assert "ASN1 OID: SM2" in text
    said = message(files, "rsa-2048", "sm2", "certificate")
    assert outcome(files, "rsa-2048", "sm2", "certificate") == "failed"
    assert "SM2 (1.2.156.10197.1.301)" in said
    assert "manual 5.1.5" in said
    for control in ("subject-english", "cn-hostname", "validity", "renewal-window"):
        assert outcome(files, control, "sm2", "certificate") == "passed", control
    assert outcome(files, "chain-links", "sm2", "chain") == "passed"


def test_explicit_basic_constraints_false_is_read_as_openssl_reads_it(files):
    odd = files.folder / "odd"
    _, text = made.says(odd, "x509", "-noout", "-ext", "basicConstraints", "-in", "bc.cer")
    assert "CA:FALSE" in text
    with pytest.raises(ValueError, match="EncodedDefault"):
        _ = x509.load_pem_x509_certificate((odd / "bc.cer").read_bytes()).extensions
    for control in ("rsa-2048", "subject-english", "cn-hostname", "validity"):
        assert outcome(files, control, "bc-false", "certificate") == "passed", control
        assert outcome(files, control, "bc-zip", "bundle") == "passed", control
    assert outcome(files, "chain-links", "bc-false", "chain") == "passed"
    assert outcome(files, "chain-links", "bc-zip", "bundle") == "passed"
    assert outcome(files, "bundle-contents", "bc-zip", "bundle") == "passed"


def test_padded_pfx_is_read_as_openssl_pkcs12_reads_it(files):
    sha1 = files.folder / "sha1"
    padded = (sha1 / "padded.pfx").read_bytes()
    assert padded == (sha1 / "aes.pfx").read_bytes() + bytes(37)
    status, said = made.says(
        sha1, "pkcs12", "-info", "-noout", "-in", "padded.pfx", "-passin", "env:PFX_PASSWORD"
    )
    assert status == 0, said
    for control in ("pfx-contents", "pfx-encryption", "chain-links", "validity"):
        assert outcome(files, control, "pfx-padded", "pfx") == "passed", control


def test_iis_attributes_out_of_der_order_verify_as_openssl_says(files):
    der = made.pem_der((files.folder / "iis-attrs.csr").read_bytes())
    # the attributes as written are not in DER SET OF order: a re-encoder would sort them
    attributes = made.iis_attributes(made.seq(made.KEY_USAGE))
    assert b"".join(attributes) in der
    assert attributes != sorted(attributes)
    status, said = made.says(files.folder, "req", "-verify", "-noout", "-in", "iis-attrs.csr")
    assert (status, said.strip()) == (0, "Certificate request self-signature verify OK")
    assert outcome(files, "csr-format", "iis-attrs", "csr") == "passed"
    assert outcome(files, "rsa-2048", "iis-attrs", "csr") == "passed"


# --- 5. the server certificate from every source ---------------------------------------------


SERVER_CONTROLS = ("rsa-2048", "subject-english", "cn-hostname", "validity", "renewal-window")


@pytest.mark.parametrize(("target", "subject"), [("sha1-zip", "bundle"), ("sha1-aes", "pfx")])
def test_server_certificate_of_a_bundle_or_pfx_alone_is_audited(files, target, subject):
    for control in SERVER_CONTROLS:
        assert outcome(files, control, target, subject) == "passed", control


def test_chinese_organization_in_the_pfx_fails_subject_english(files):
    odd = files.folder / "odd"
    status, pem = made.says(
        odd, "pkcs12", "-in", "chinese.pfx", "-nokeys", "-clcerts", "-passin", "env:PFX_PASSWORD"
    )
    assert status == 0
    _, said = made.says(odd, "x509", "-noout", "-subject", "-nameopt", "utf8", stdin=pem.encode())
    assert "O=台灣" in said
    assert outcome(files, "subject-english", "pfx-chinese", "pfx") == "failed"
    found = message(files, "subject-english", "pfx-chinese", "pfx")
    assert "O='台灣'" in found
    assert "manual 5.1" in found


# --- 6. a PFX's extra certificates --------------------------------------------------------------


def test_expired_stranger_in_a_pfx_does_not_fail_validity(files):
    sha1 = files.folder / "sha1"
    status, said = made.says(
        sha1, "pkcs12", "-in", "extra.pfx", "-nokeys", "-passin", "env:PFX_PASSWORD"
    )
    assert status == 0
    assert "CN = old.example.com.tw" in said
    assert made.says(sha1, "x509", "-checkend", "0", "-noout", "-in", "expired.cer")[0] == 1
    assert outcome(files, "validity", "pfx-extra", "pfx") == "passed"
    assert outcome(files, "chain-links", "pfx-extra", "pfx") == "passed"


# --- 7. nothing judged is never a pass ------------------------------------------------------


@pytest.mark.parametrize(
    "control", ["validity", "renewal-window", "subject-english", "cn-hostname", "chain-links"]
)
def test_pfx_without_a_certificate_is_an_error(files, control):
    status, said = made.says(
        files.folder / "sha1", "pkcs12", "-in", "nocerts.pfx", "-nokeys",
        "-passin", "env:PFX_PASSWORD",
    )  # fmt: skip
    assert status == 0
    assert "BEGIN CERTIFICATE" not in said
    assert outcome(files, control, "pfx-nocerts", "pfx") == "error"
    assert "no server certificate" in message(files, control, "pfx-nocerts", "pfx")


def test_empty_subject_is_an_error_not_a_pass(files):
    _, said = made.says(files.folder / "odd", "x509", "-noout", "-subject", "-in", "empty.cer")
    assert said.strip() == "subject="
    assert outcome(files, "subject-english", "empty-subject", "certificate") == "error"
    assert "subject" in message(files, "subject-english", "empty-subject", "certificate")


# --- 8. real public certificates: TWCA's roots, as certifi ships them ----------------------------


NAMES = "sep_comma_plus_space,esc_2253,utf8"  # C=TW, O=..., CN=...: RFC 4514 items in order


def printed(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    assert found is not None, f"{pattern} not in {text}"
    return found.group(1).strip()


def openssl_facts(folder: Path, name: str) -> dict[str, str]:
    """What ``openssl x509 -noout -text`` prints about the key, subject and notAfter."""
    _, text = made.says(folder, "x509", "-noout", "-text", "-nameopt", NAMES, "-in", name)
    return {
        "bits": printed(r"Public-Key: \((\d+) bit\)", text),
        "algorithm": printed(r"Public Key Algorithm: (\S+)", text),
        "subject": printed(r"Subject: (.*)", text),
        "not_after": printed(r"Not After : (.*)", text),
        "signature": printed(r"Signature Algorithm: (\S+)", text),
    }


@pytest.mark.parametrize("target", sorted(TWCA_ROOTS))
def test_twca_root_facts_equal_what_openssl_prints(files, target):
    seen = openssl_facts(files.folder, f"{target}.cer")
    facts = certificates.load_certificate(files.folder / f"{target}.cer")
    assert seen["algorithm"] == "rsaEncryption"
    assert facts.key.algorithm.value == "RSA"
    assert str(facts.key.bits) == seen["bits"]
    assert facts.subject.rfc4514() == seen["subject"]
    assert facts.not_after.strftime("%b %e %H:%M:%S %Y GMT") == seen["not_after"]
    assert facts.signature_hash is not None
    assert seen["signature"].startswith(f"{facts.signature_hash}With")
    assert facts.self_issued


@pytest.mark.parametrize("target", sorted(TWCA_ROOTS))
def test_twca_root_passes_what_applies(files, target):
    facts = certificates.load_certificate(files.folder / f"{target}.cer")
    current = made.says(files.folder, "x509", "-checkend", "0", "-noout", "-in", f"{target}.cer")
    assert (current[0] == 0) == (facts.not_after > datetime.now(UTC))
    expected = "passed" if current[0] == 0 else "failed"
    assert outcome(files, "validity", target, "certificate") == expected
    assert outcome(files, "rsa-2048", target, "certificate") == "passed"
    assert outcome(files, "subject-english", target, "certificate") == "passed"
