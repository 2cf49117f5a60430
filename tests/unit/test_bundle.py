"""cert.zip (manual 5.3): the loader's defences and the bundle-contents control."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from certgate.errors import ArtifactError
from certgate.files.bundle import MAX_MEMBER_BYTES, load_bundle, unsafe_name
from certgate.files.facts import BundleFacts, BundleRole
from certgate.files.gather import Gatherer
from certgate.files.rules import bundle_problems
from certgate.inventory import Policy, Target
from certgate.lab import demo, files, pki
from tests.support.checkfuncs import load_checks


@pytest.fixture(scope="module")
def check(pytestconfig):
    """The real bundle-contents check of checks/."""
    return load_checks(pytestconfig, "test_bundle").test_bundle_contents


@pytest.fixture(scope="module")
def lab() -> tuple[demo.Chains, pki.Issued, pki.Issued]:
    """Lab CAs, a server certificate under the 3-tier path and one under the 4-tier path."""
    chains = demo.make_chains()
    subject = pki.name(C="TW", O="certgate Lab", CN="zip.lab")
    three = pki.make_leaf(subject, chains.uca, key=pki.pooled_key(), dns_names=["zip.lab"])
    four = pki.make_leaf(subject, chains.uca_2, key=pki.pooled_key(), dns_names=["zip.lab"])
    return chains, three, four


def _three(lab) -> list[files.Member]:
    chains, leaf, _ = lab
    return [("root.cer", chains.root.pem), ("uca.cer", chains.uca.pem), ("server.cer", leaf.pem)]


def _four(lab, one: str = "uca_1.cer", two: str = "uca_2.cer") -> list[files.Member]:
    chains, _, leaf = lab
    return [
        ("root.cer", chains.root4.pem),
        (one, chains.uca_1.pem),
        (two, chains.uca_2.pem),
        ("server.cer", leaf.pem),
    ]


def _load(tmp_path: Path, data: bytes) -> BundleFacts:
    path = tmp_path / "cert.zip"
    path.write_bytes(data)
    return load_bundle(path)


def _fails(check, bundle: BundleFacts) -> str:
    with pytest.raises(AssertionError) as failure:
        check(bundle)
    message = str(failure.value)
    assert "manual 5.3" in message
    return message


# --- the manual's layouts pass ----------------------------------------------------------------


@pytest.mark.parametrize(
    "layout",
    [
        pytest.param(_three, id="3 files"),
        pytest.param(_four, id="4 files uca_1/uca_2"),
        pytest.param(lambda lab: _four(lab, "uca1.cer", "uca2.cer"), id="4 files uca1/uca2"),
    ],
)
def test_manual_layouts_pass(tmp_path, lab, layout, check):
    bundle = _load(tmp_path, files.zip_bytes(layout(lab)))
    assert bundle_problems(bundle) == ()
    check(bundle)


def test_der_members_in_any_order_and_upper_case_names_pass(tmp_path, lab):
    chains, leaf, _ = lab
    members = [
        ("SERVER.CER", pki.cert_der(leaf)),
        ("Root.cer", pki.cert_der(chains.root)),
        ("uca.cer", pki.cert_der(chains.uca)),
    ]
    bundle = _load(tmp_path, files.zip_bytes(members))
    assert bundle_problems(bundle) == ()
    assert bundle.with_role(BundleRole.SERVER)[0].certificate is not None


def test_the_zip_is_read_in_memory_and_never_extracted(tmp_path, lab):
    _load(tmp_path, files.zip_bytes(_three(lab)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cert.zip"]


# --- non-compliant bundles fail ---------------------------------------------------------------


def test_missing_intermediate_fails(check, tmp_path, lab):
    members = [m for m in _three(lab) if m[0] != "uca.cer"]
    message = _fails(check, _load(tmp_path, files.zip_bytes(members)))
    assert "intermediate certificate (uca.cer, or uca_1.cer and uca_2.cer) is missing" in message


def test_half_a_four_file_layout_fails(check, tmp_path, lab):
    members = [m for m in _four(lab) if m[0] != "uca_2.cer"]
    assert "uca_2.cer is missing" in _fails(check, _load(tmp_path, files.zip_bytes(members)))


def test_mixed_layouts_fail(tmp_path, lab, check):
    chains, _, _ = lab
    members = [*_three(lab), ("uca_1.cer", chains.uca_1.pem)]
    assert "mixes uca.cer" in _fails(check, _load(tmp_path, files.zip_bytes(members)))


def test_both_spellings_of_one_role_fail(tmp_path, lab, check):
    chains, _, _ = lab
    members = [*_four(lab), ("uca1.cer", chains.uca_1.pem)]
    message = _fails(check, _load(tmp_path, files.zip_bytes(members)))
    assert "'uca_1.cer' and 'uca1.cer' are both uca_1.cer" in message


@pytest.mark.parametrize(
    "name", ["../root.cer", "/etc/root.cer", "C:\\Windows\\root.cer", "a/../../root.cer"]
)
def test_member_names_leaving_the_folder_fail_and_are_never_read(tmp_path, lab, name, check):
    chains, leaf, _ = lab
    members = [(name, chains.root.pem), ("uca.cer", chains.uca.pem), ("server.cer", leaf.pem)]
    bundle = _load(tmp_path, files.zip_bytes(members))
    assert len(bundle.unsafe_names) == 1
    assert all(m.name != repr(name) for m in bundle.members)
    message = _fails(check, bundle)
    assert "zip slip" in message
    assert "root.cer is missing" in message


@pytest.mark.parametrize(
    ("name", "unsafe"),
    [("root.cer", False), ("cert/root.cer", False), ("..\\root.cer", True), ("x/..", True)],
)
def test_unsafe_name(name, unsafe):
    assert unsafe_name(name) is unsafe


def test_a_csr_named_server_cer_fails_and_the_server_items_error(tmp_path, lab, check):
    chains, _, _ = lab
    csr = pki.csr_pem(pki.make_csr(pki.name(CN="zip.lab"), pki.pooled_key())).encode()
    members = [("root.cer", chains.root.pem), ("uca.cer", chains.uca.pem), ("server.cer", csr)]
    bundle = _load(tmp_path, files.zip_bytes(members))
    assert "holds a certificate request (CSR), not a certificate" in _fails(check, bundle)
    target = Target(name="t", policy=Policy(), bundle=tmp_path / "cert.zip")
    with pytest.raises(ArtifactError, match="no server certificate to audit"):
        Gatherer().bundle_server(target)


def test_a_der_csr_named_server_cer_fails(check, tmp_path, lab):
    chains, _, _ = lab
    csr = pki.make_csr(pki.name(CN="zip.lab"), pki.pooled_key())
    members = [("root.cer", chains.root.pem), ("uca.cer", chains.uca.pem), ("server.cer", csr)]
    assert "certificate request (CSR)" in _fails(check, _load(tmp_path, files.zip_bytes(members)))


def test_files_in_the_wrong_role_fail(tmp_path, lab, check):
    chains, leaf, _ = lab
    members = [
        ("root.cer", chains.uca.pem),
        ("uca.cer", leaf.pem),
        ("server.cer", chains.root.pem),
    ]
    message = _fails(check, _load(tmp_path, files.zip_bytes(members)))
    assert "'root.cer' holds" in message
    assert "not a self-signed root CA" in message
    assert "'uca.cer' holds" in message
    assert "not a CA certificate" in message
    assert "'server.cer' holds the CA certificate" in message


def test_two_certificates_in_one_file_and_a_stray_file_fail(tmp_path, lab, check):
    chains, leaf, _ = lab
    members = [
        ("root.cer", chains.root.pem),
        ("uca.cer", chains.uca.pem + chains.root.pem),
        ("server.cer", leaf.pem),
        ("readme.txt", b"Thank you for choosing us."),
    ]
    message = _fails(check, _load(tmp_path, files.zip_bytes(members)))
    assert "'uca.cer': holds 2 certificates, not one" in message
    assert "'readme.txt'" in message


def test_a_private_key_in_the_zip_is_named_never_shown(tmp_path, lab, check):
    _chains, leaf, _ = lab
    key_pem = pki.key_pem(pki.pooled_key())
    members = [*_three(lab)[:2], ("server.cer", leaf.pem + key_pem)]
    message = _fails(check, _load(tmp_path, files.zip_bytes(members)))
    assert "a private key" in message
    body_line = key_pem.decode().splitlines()[3]
    assert body_line not in message


def test_truncated_pem_member_fails_with_one_line(tmp_path, lab, check):
    _chains, leaf, _ = lab
    pem = leaf.pem.decode()
    members = [*_three(lab)[:2], ("server.cer", pem[: len(pem) // 2].encode())]
    message = _fails(check, _load(tmp_path, files.zip_bytes(members)))
    assert "'server.cer':" in message


# --- zips that cannot be audited are errors ---------------------------------------------------


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        pytest.param(b"-----BEGIN CERTIFICATE-----\nMIIB\n", "not a zip archive", id="pem"),
        pytest.param(bytes(range(256)) * 4, "not a zip archive", id="noise"),
        pytest.param(files.zip_bytes([]), "the zip is empty", id="empty"),
        pytest.param(b"", "the file is empty", id="empty file"),
    ],
)
def test_not_a_usable_zip_is_an_error(tmp_path, data, reason):
    with pytest.raises(ArtifactError, match=reason):
        _load(tmp_path, data)


def test_a_truncated_zip_is_an_error(tmp_path, lab):
    data = files.zip_bytes(_three(lab))
    with pytest.raises(ArtifactError, match="not a zip archive"):
        _load(tmp_path, data[: len(data) // 2])


def test_a_damaged_member_is_an_error(tmp_path, lab):
    data = bytearray(files.zip_bytes(_three(lab)))
    data[60] ^= 0xFF  # inside the first member's compressed data
    with pytest.raises(ArtifactError, match=r"damaged|not a zip"):
        _load(tmp_path, bytes(data))


@pytest.mark.parametrize("second", ["server.cer", "SERVER.CER", "Server.Cer"])
def test_duplicated_members_are_an_error(tmp_path, lab, second):
    chains, _, _ = lab
    data = files.zip_bytes([*_three(lab), (second, chains.uca.pem)])
    with pytest.raises(ArtifactError, match="more than once"):
        _load(tmp_path, data)


def test_a_zip_bomb_is_refused_before_inflating(tmp_path):
    with pytest.raises(ArtifactError, match=r"refused to unzip.*zip bomb"):
        _load(tmp_path, files.zip_bomb(8 * 1024 * 1024))


def test_sizes_that_lie_never_inflate_past_the_cap(tmp_path):
    big = b"-----BEGIN CERTIFICATE-----\n" + b"A" * (MAX_MEMBER_BYTES * 4)
    (tmp_path / "cert.zip").write_bytes(files.lying_zip([("server.cer", big)]))
    assert zipfile.ZipFile(tmp_path / "cert.zip").infolist()[0].file_size == 100
    with pytest.raises(ArtifactError, match=r"damaged|more than"):
        load_bundle(tmp_path / "cert.zip")


def test_too_many_members_is_refused(tmp_path):
    data = files.zip_bytes([(f"f{i}.cer", b"x") for i in range(40)])
    with pytest.raises(ArtifactError, match="holds 40 files"):
        _load(tmp_path, data)


def test_an_oversized_file_is_refused(tmp_path):
    (tmp_path / "cert.zip").write_bytes(b"PK" + bytes(2 * 1024 * 1024))
    with pytest.raises(ArtifactError, match="larger than"):
        load_bundle(tmp_path / "cert.zip")


def test_a_missing_file_is_an_error(tmp_path):
    with pytest.raises(ArtifactError, match="no such file"):
        load_bundle(tmp_path / "absent.zip")


# --- what the bundle brings to validity and renewal-window -----------------------------------


def test_the_bundle_gives_its_certificates_and_server_leaf(tmp_path, lab):
    _, leaf, _ = lab
    _load(tmp_path, files.zip_bytes(_three(lab)))
    target = Target(name="t", policy=Policy(), bundle=tmp_path / "cert.zip")
    gatherer = Gatherer()
    assert len(gatherer.bundle(target).certificates()) == 3
    assert gatherer.bundle_server(target).serial == format(leaf.cert.serial_number, "X")
