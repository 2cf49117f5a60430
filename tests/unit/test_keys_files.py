"""Private keys and PFX files (manual 5.7.1.1, 5.9, 5.10, 6.4): loading, key-match,
pfx-contents, and secrets that never leave the loaders."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from certgate.controls import CATALOGUE, Artifact
from certgate.errors import ArtifactError
from certgate.files.certificates import certificate_facts
from certgate.files.facts import KeyAlgorithm
from certgate.files.gather import Gatherer
from certgate.files.keys import PasswordSource, load_pfx, load_private_key
from certgate.inventory import Policy, Target
from certgate.items import ItemRef, item_refs, resolve
from certgate.lab import demo, files, pki
from tests.support.audit import demo_targets, project, run
from tests.support.checkfuncs import load_checks

SECRET = "s3cret-Pfx-Passw0rd"  # the password every protected file here uses
ENV = "CERTGATE_TEST_SECRET"
KEY_SOURCE = PasswordSource(ENV, "private_key_password_env")
PFX_SOURCE = PasswordSource(ENV, "pfx_password_env")


@pytest.fixture(autouse=True)
def _password(monkeypatch):
    monkeypatch.setenv(ENV, SECRET)


@pytest.fixture(scope="module")
def material() -> tuple[demo.Chains, pki.Issued]:
    chains = demo.make_chains()
    subject = pki.name(C="TW", ST="TAIWAN", L="TAIPEI", O="certgate Lab", CN="keys.lab")
    leaf = pki.make_leaf(subject, chains.uca, key=pki.pooled_key(), dns_names=["keys.lab"])
    return chains, leaf


@pytest.fixture(scope="module")
def checks(pytestconfig):
    """The real key-match and pfx-contents checks of checks/."""
    return (
        load_checks(pytestconfig, "test_key_match").test_key_match,
        load_checks(pytestconfig, "test_pfx").test_pfx_contents,
    )


def _secret_free(text: str, *keys: pki.PrivateKey) -> None:
    """No password, and no run of any private key's secret numbers, appears in ``text``
    (as hex, or as Base64 at any of the three byte alignments)."""
    assert SECRET not in text
    for key in keys:
        for secret in _private_runs(key):
            assert secret not in text


def _private_runs(key: pki.PrivateKey) -> list[str]:
    if isinstance(key, rsa.RSAPrivateKey):
        numbers = key.private_numbers()
        secrets = [numbers.d, numbers.p, numbers.q]
    else:
        secrets = [key.private_numbers().private_value]
    runs = []
    for value in secrets:
        raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
        runs.extend([raw.hex()[8:40], raw.hex().upper()[8:40]])
        runs.extend(base64.b64encode(raw[shift:]).decode()[4:28] for shift in range(3))
    return runs


# --- private keys -------------------------------------------------------------------------------


def _key_file(tmp_path: Path, data: bytes | str, name: str = "server.key") -> Path:
    return pki.write(tmp_path / name, data)


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda k: pki.key_pem(k), id="PKCS#8 PEM"),
        pytest.param(lambda k: pki.key_pem(k, SECRET.encode()), id="encrypted PKCS#8 PEM"),
        pytest.param(files.pkcs1_pem, id="PKCS#1 PEM"),
        pytest.param(files.pkcs8_der, id="PKCS#8 DER"),
        pytest.param(lambda k: files.pkcs8_der(k, SECRET.encode()), id="encrypted PKCS#8 DER"),
    ],
)
def test_private_key_formats_describe_the_public_half(tmp_path, material, encode):
    _, leaf = material
    facts = load_private_key(_key_file(tmp_path, encode(leaf.key)), KEY_SOURCE)
    assert (facts.algorithm, facts.bits) == (KeyAlgorithm.RSA, 2048)
    assert facts.spki_sha256 == certificate_facts(leaf.cert, "c").key.spki_sha256
    _secret_free(repr(facts), leaf.key)


def test_an_ec_key_is_described(tmp_path):
    facts = load_private_key(_key_file(tmp_path, pki.key_pem(pki.pooled_key("ec"))), KEY_SOURCE)
    assert facts.describe() == "EC secp256r1 (256 bits)"


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (PasswordSource(None, "private_key_password_env"), "the target has no private_key_p"),
        (PasswordSource("CERTGATE_TEST_UNSET", "private_key_password_env"), "is not set"),
        (PasswordSource("CERTGATE_TEST_WRONG", "private_key_password_env"), "does not open"),
    ],
)
def test_encrypted_key_without_the_right_password_is_an_error(
    tmp_path, material, monkeypatch, source, reason
):
    _, leaf = material
    monkeypatch.delenv("CERTGATE_TEST_UNSET", raising=False)
    monkeypatch.setenv("CERTGATE_TEST_WRONG", "not-" + SECRET)
    path = _key_file(tmp_path, pki.key_pem(leaf.key, SECRET.encode()))
    with pytest.raises(ArtifactError, match=reason) as error:
        load_private_key(path, source)
    _secret_free(str(error.value), leaf.key)
    assert "not-" not in str(error.value)
    assert error.value.__cause__ is None  # no cryptography exception travels along
    assert error.value.__context__ is None or error.value.__suppress_context__


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        pytest.param("cut", "cut short", id="truncated PEM"),
        pytest.param("cert", "holds a certificate, not a private key", id="certificate"),
        pytest.param("csr", "holds a certificate request", id="CSR"),
        pytest.param("noise", "neither PEM text nor DER", id="noise"),
        pytest.param("der-noise", "does not decode as a private key", id="bad DER"),
    ],
)
def test_unreadable_key_files_are_errors(tmp_path, material, content, reason):
    _, leaf = material
    pem = pki.key_pem(leaf.key)
    data = {
        "cut": pem[: len(pem) // 2],
        "cert": leaf.pem,
        "csr": pki.csr_pem(pki.make_csr(pki.name(CN="x"), leaf.key)).encode(),
        "noise": b"hello",
        "der-noise": b"\x30\x03\x02\x01\x00",
    }[content]
    with pytest.raises(ArtifactError, match=reason) as error:
        load_private_key(_key_file(tmp_path, data), KEY_SOURCE)
    _secret_free(str(error.value), leaf.key)


# --- PFX ------------------------------------------------------------------------------------------


def _pfx_file(tmp_path: Path, data: bytes) -> Path:
    return pki.write(tmp_path / "backup.pfx", data)


def _pfx(material, encryption: str = "aes256", *, key=True, cert=True, cas=True) -> bytes:
    chains, leaf = material
    return files.pfx_bytes(
        leaf.key if key else None,
        leaf.cert if cert else None,
        [chains.uca.cert, chains.root.cert] if cas else [],
        encryption,
        SECRET.encode(),
    )


@pytest.mark.parametrize("encryption", ["aes256", "3des"])
def test_a_complete_pfx_passes_pfx_contents(tmp_path, material, checks, encryption):
    _, leaf = material
    facts = load_pfx(_pfx_file(tmp_path, _pfx(material, encryption)), PFX_SOURCE)
    assert facts.key is not None
    assert facts.key_certificate is not None
    assert facts.server == facts.key_certificate
    assert facts.path is not None
    assert facts.path.reaches_root
    checks[1](facts)
    _secret_free(repr(facts), leaf.key)


def _contents_fails(checks, facts) -> str:
    with pytest.raises(AssertionError) as failure:
        checks[1](facts)
    return str(failure.value)


def test_a_pfx_without_the_key_fails(tmp_path, material, checks):
    data = files.pfx_bytes(
        None, None, [material[1].cert, material[0].uca.cert], "aes256", SECRET.encode()
    )
    message = _contents_fails(checks, load_pfx(_pfx_file(tmp_path, data), PFX_SOURCE))
    assert "no private key" in message
    assert "manual 5.9.4" in message


def test_a_pfx_whose_key_belongs_to_another_certificate_fails(tmp_path, material, checks):
    chains, leaf = material
    data = files.pfx_bytes(
        pki.pooled_key(slot=1), None, [leaf.cert, chains.uca.cert], "aes256", SECRET.encode()
    )
    facts = load_pfx(_pfx_file(tmp_path, data), PFX_SOURCE)
    assert facts.key_certificate is None
    assert facts.server is not None
    message = _contents_fails(checks, facts)
    assert "belongs to no certificate inside (it holds 2 certificates)" in message
    assert "manual 5.9.4" in message


def test_a_pfx_without_the_chain_fails(tmp_path, material, checks):
    facts = load_pfx(_pfx_file(tmp_path, _pfx(material, cas=False)), PFX_SOURCE)
    message = _contents_fails(checks, facts)
    assert "lacks the intermediate 'CN=certgate Lab Secure SSL CA" in message
    assert "manual 5.9.5" in message


def test_an_unencrypted_pfx_opens_without_a_password_variable(tmp_path, material):
    path = _pfx_file(tmp_path, _pfx(material, "none"))
    assert load_pfx(path, PasswordSource(None, "pfx_password_env")).key is not None


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (PasswordSource(None, "pfx_password_env"), "has no pfx_password_env"),
        (PasswordSource("CERTGATE_TEST_UNSET", "pfx_password_env"), "is not set"),
        (PasswordSource("CERTGATE_TEST_WRONG", "pfx_password_env"), "does not open it"),
    ],
)
def test_a_pfx_without_the_right_password_is_an_error(
    tmp_path, material, monkeypatch, source, reason
):
    monkeypatch.delenv("CERTGATE_TEST_UNSET", raising=False)
    monkeypatch.setenv("CERTGATE_TEST_WRONG", "not-" + SECRET)
    with pytest.raises(ArtifactError, match=reason) as error:
        load_pfx(_pfx_file(tmp_path, _pfx(material)), source)
    _secret_free(str(error.value), material[1].key)
    assert "not-" not in str(error.value)


@pytest.mark.skipif(not files.openssl_available(), reason="no openssl command")
def test_rc2_without_openssl_legacy_algorithms_is_an_error_that_says_so(tmp_path, material):
    chains, leaf = material
    data = files.rc2_pfx_bytes(leaf.key, leaf.cert, [chains.uca.cert], SECRET.encode())
    if data is None:
        pytest.skip("this openssl cannot write RC2-40")
    path = _pfx_file(tmp_path, data)
    assert load_pfx(path, PFX_SOURCE).key is not None  # with the legacy provider: opens
    script = (
        "import sys; from pathlib import Path\n"
        "from certgate.errors import ArtifactError\n"
        "from certgate.files.keys import PasswordSource, load_pfx\n"
        f"try: load_pfx(Path(sys.argv[1]), PasswordSource({ENV!r}, 'pfx_password_env'))\n"
        "except ArtifactError as e: print(e)\n"
    )
    env = {**os.environ, "CRYPTOGRAPHY_OPENSSL_NO_LEGACY": "1"}
    done = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    assert "pbeWithSHAAnd40BitRC2-CBC" in done.stdout
    assert "legacy" in done.stdout
    _secret_free(done.stdout + done.stderr, leaf.key)


def test_a_pfx_with_a_wrong_password_is_still_judged_by_pfx_encryption(tmp_path, material):
    target = Target(
        name="t",
        policy=Policy(),
        pfx=_pfx_file(tmp_path, _pfx(material)),
        pfx_password_env="CERTGATE_TEST_UNSET",
    )
    gatherer = Gatherer()
    assert gatherer.pfx_protection(target).parts[0].policy_name == "aes256"
    with pytest.raises(ArtifactError):
        gatherer.pfx(target)


# --- key-match ------------------------------------------------------------------------------------


def _target(tmp_path: Path, material, **given: object) -> Target:
    chains, leaf = material
    available = {
        "certificate": lambda: pki.write(tmp_path / "server.cer", leaf.pem),
        "bundle": lambda: pki.write(
            tmp_path / "cert.zip",
            files.zip_bytes(
                [
                    ("root.cer", chains.root.pem),
                    ("uca.cer", chains.uca.pem),
                    ("server.cer", leaf.pem),
                ]
            ),
        ),
        "pfx": lambda: _pfx_file(tmp_path, _pfx(material)),
    }
    values: dict[str, object] = {}
    for key, value in given.items():
        values[key] = available[key]() if value is True else value
    if "pfx" in values:
        values["pfx_password_env"] = ENV
    return Target(name="t", policy=Policy(), **values)  # type: ignore[arg-type]


def _pairing(target: Target, artifact: Artifact) -> object:
    return resolve(Gatherer(), ItemRef(target, artifact), "pairing")


def test_the_key_and_csr_of_the_certificate_pass(tmp_path, material, checks):
    _, leaf = material
    key = pki.write(tmp_path / "k.key", pki.key_pem(leaf.key))
    csr = pki.write(tmp_path / "r.csr", pki.csr_pem(pki.make_csr(pki.name(CN="k"), leaf.key)))
    target = _target(tmp_path, material, certificate=True, private_key=key, csr=csr)
    checks[0](_pairing(target, Artifact.PRIVATE_KEY))
    checks[0](_pairing(target, Artifact.CSR))


def test_another_key_fails_citing_5_7_1_1(tmp_path, material, checks):
    other = pki.pooled_key(slot=1)
    key = pki.write(tmp_path / "k.key", pki.key_pem(other))
    target = _target(tmp_path, material, certificate=True, private_key=key)
    with pytest.raises(AssertionError) as failure:
        checks[0](_pairing(target, Artifact.PRIVATE_KEY))
    message = str(failure.value)
    assert "manual 5.7.1.1" in message
    assert "k.key is RSA 2048 bits" in message
    _secret_free(message, other, material[1].key)


def test_a_csr_of_another_key_fails_citing_6_4(tmp_path, material, checks):
    csr_der = pki.make_csr(pki.name(CN="k"), pki.pooled_key(slot=1))
    csr = pki.write(tmp_path / "r.csr", pki.csr_pem(csr_der))
    target = _target(tmp_path, material, bundle=True, csr=csr)  # the bundle's server.cer
    with pytest.raises(AssertionError) as failure:
        checks[0](_pairing(target, Artifact.CSR))
    assert "manual 5.7.1.1, 6.4" in str(failure.value)
    assert "(6.4)" in str(failure.value)
    assert "'server.cer' in cert.zip" in str(failure.value)


def test_copies_of_the_certificate_must_be_the_same(tmp_path, material, checks):
    target = _target(tmp_path, material, certificate=True, bundle=True, pfx=True)
    checks[0](_pairing(target, Artifact.CERTIFICATE))
    chains, leaf = material
    renewed = pki.make_leaf(leaf.cert.subject, chains.uca, key=leaf.key)
    pki.write(tmp_path / "server.cer", renewed.pem)
    with pytest.raises(AssertionError) as failure:
        checks[0](_pairing(target, Artifact.CERTIFICATE))
    message = str(failure.value)
    assert "'server.cer' in cert.zip" in message
    assert "PFX " in message
    assert f"serial {format(renewed.cert.serial_number, 'X')}" in message
    assert "manual 5.7.1.1, 6.4" in message


def test_key_match_items_exist_only_where_there_is_something_to_pair(tmp_path, material):
    control = CATALOGUE["key-match"]
    key = pki.write(tmp_path / "k.key", pki.key_pem(material[1].key))
    targets = (
        _target(tmp_path, material, private_key=key),  # no certificate: nothing to pair
        Target(name="b", policy=Policy(), bundle=tmp_path / "x.zip", pfx=tmp_path / "x.pfx"),
        Target(name="c", policy=Policy(), certificate=tmp_path / "x.cer", private_key=key),
    )
    ids = [ref.id for ref in item_refs(control, targets, ["pairing"], lambda t: ())]
    assert ids == ["b:certificate", "c:private_key"]


def test_rsa_2048_covers_the_private_key_and_the_pfx(tmp_path, material):
    weak = pki.pooled_key("rsa", 1024)
    key = pki.write(tmp_path / "weak.key", pki.key_pem(weak))
    weak_leaf = pki.make_leaf(pki.name(CN="weak"), material[0].uca, key=weak)
    pfx = _pfx_file(tmp_path, files.pfx_bytes(weak, weak_leaf.cert, [], "aes256", SECRET.encode()))
    target = Target(name="t", policy=Policy(), private_key=key, pfx=pfx, pfx_password_env=ENV)
    gatherer = Gatherer()
    for artifact in (Artifact.PRIVATE_KEY, Artifact.PFX):
        facts = resolve(gatherer, ItemRef(target, artifact), "key")
        assert facts.describe() == "RSA 1024 bits"  # type: ignore[attr-defined]


# --- secrets never reach any output of an audit ------------------------------------------


def test_the_demo_audit_never_shows_a_password_or_a_private_key(demo_lab, tmp_path_factory):
    folder = project(tmp_path_factory.mktemp("secrets"), demo_targets(demo_lab))
    audit = run(folder, "-k", "files or pfx or key or bundle or chain or iis or uca")
    assert audit.status == 1, audit.stdout[-2000:]
    assert "Traceback" not in audit.stdout + audit.stderr
    outputs = [audit.stdout, audit.stderr]
    outputs.extend(p.read_text("utf-8") for p in audit.reports.iterdir() if p.is_file())
    for text in outputs:
        for password in files.LAB_PASSWORDS.values():
            assert password not in text
        assert "PRIVATE KEY-----" not in text
    key_pem = (demo_lab / "files" / "iis-3tier" / "server.key").read_text("ascii")
    body = [line for line in key_pem.splitlines() if not line.startswith("-----")]
    assert not any(line in text for line in body[1:-1] for text in outputs)


def test_an_unencrypted_pfx_opens_even_when_a_password_is_named(tmp_path, material):
    path = _pfx_file(tmp_path, _pfx(material, "none"))
    assert load_pfx(path, PFX_SOURCE).key_certificate is not None
