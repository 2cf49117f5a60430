"""Certificate files of the demo lab: cert.zip bundles, PFX backups, keys, chains.

Good files are laid out as the manual says (cert.zip per 5.3, PFX per 5.9); broken ones
are broken the ways administrators and zips break them. The builders are also the
self-tests' material. Lab passwords are demo values for throwaway files (see
``LAB_PASSWORDS``); the plugin puts them in the environment for lab runs only.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
import warnings
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from certgate.lab import pki

PFX_PASSWORD_ENV = "CERTGATE_LAB_PFX_PASSWORD"
KEY_PASSWORD_ENV = "CERTGATE_LAB_KEY_PASSWORD"
WRONG_PASSWORD_ENV = "CERTGATE_LAB_WRONG_PASSWORD"
UNSET_PASSWORD_ENV = "CERTGATE_LAB_UNSET_PASSWORD"  # never set: the "variable unset" case
# Demo passwords of throwaway lab files, documented here on purpose; never printed.
LAB_PASSWORDS = {
    PFX_PASSWORD_ENV: "certgate-lab-pfx",
    KEY_PASSWORD_ENV: "certgate-lab-key",
    WRONG_PASSWORD_ENV: "not-the-lab-password",
}
PFX_PASSWORD = LAB_PASSWORDS[PFX_PASSWORD_ENV].encode()
KEY_PASSWORD = LAB_PASSWORDS[KEY_PASSWORD_ENV].encode()

Member = tuple[str, bytes]


# --- cert.zip ---------------------------------------------------------------------------------


def zip_bytes(members: Sequence[Member]) -> bytes:
    """A zip of ``members`` as given: names are not cleaned (``../`` stays), duplicates stay."""
    buffer = io.BytesIO()
    with warnings.catch_warnings():  # zipfile warns about duplicate names: that is the point
        warnings.simplefilter("ignore")
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in members:
                archive.writestr(zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()


def zip_bomb(inflated: int = 16 * 1024 * 1024) -> bytes:
    """A small zip whose server.cer inflates to ``inflated`` bytes of zeros."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        with archive.open("server.cer", "w", force_zip64=False) as handle:
            chunk = bytes(1024 * 1024)
            for _ in range(inflated // len(chunk)):
                handle.write(chunk)
        archive.writestr("root.cer", b"")
    return buffer.getvalue()


def lying_zip(members: Sequence[Member], claimed: int = 100) -> bytes:
    """A zip whose headers claim each member inflates to ``claimed`` bytes (they lie)."""
    data = bytearray(zip_bytes(members))
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = data.find(signature)
        while start >= 0:
            data[start + offset : start + offset + 4] = claimed.to_bytes(4, "little")
            start = data.find(signature, start + 4)
    return bytes(data)


# --- PKCS#12 ----------------------------------------------------------------------------------


def pfx_bytes(
    key: pki.PrivateKey | None,
    cert: x509.Certificate | None,
    cas: Sequence[x509.Certificate],
    encryption: str = "aes256",
    password: bytes = PFX_PASSWORD,
) -> bytes:
    """A PKCS#12 file as IIS exports it: ``aes256`` (AES256-SHA256, the default),
    ``3des`` (TripleDES-SHA1, for older systems) or ``none`` (no encryption)."""
    if encryption == "none":
        protection: serialization.KeySerializationEncryption = serialization.NoEncryption()
    else:
        aes = encryption == "aes256"
        protection = (
            serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(2000)
            .key_cert_algorithm(
                pkcs12.PBES.PBESv2SHA256AndAES256CBC
                if aes
                else pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC
            )
            .hmac_hash(hashes.SHA256() if aes else hashes.SHA1())
            .build(password)
        )
    return pkcs12.serialize_key_and_certificates(b"certgate lab", key, cert, cas, protection)


def openssl_available() -> bool:
    """Whether an ``openssl`` command is on PATH."""
    return shutil.which("openssl") is not None


def rc2_pfx_bytes(
    key: pki.PrivateKey,
    cert: x509.Certificate,
    cas: Sequence[x509.Certificate],
    password: bytes = PFX_PASSWORD,
) -> bytes | None:
    """A PKCS#12 with certificates under RC2-40 (old OpenSSL/Windows XP exports), made by the
    ``openssl`` command with its legacy provider; None when that is not possible here."""
    if not openssl_available():
        return None
    with tempfile.TemporaryDirectory(prefix="certgate-rc2-") as folder:
        work = Path(folder)
        key_file = work / "key.pem"
        key_file.touch(mode=0o600)
        key_file.write_bytes(pki.key_pem(key))
        chain = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in (cert, *cas))
        (work / "certs.pem").write_bytes(chain)
        command = [
            "openssl",
            "pkcs12",
            "-export",
            "-legacy",
            "-certpbe",
            "PBE-SHA1-RC2-40",
            "-keypbe",
            "PBE-SHA1-3DES",
            "-macalg",
            "sha1",
            "-in",
            str(work / "certs.pem"),
            "-inkey",
            str(key_file),
            "-passout",
            "env:CERTGATE_RC2_PASSWORD",
            "-out",
            str(work / "out.pfx"),
        ]
        env = {**os.environ, "CERTGATE_RC2_PASSWORD": password.decode()}
        done = subprocess.run(command, env=env, capture_output=True, timeout=60, check=False)
        if done.returncode != 0:
            return None
        return (work / "out.pfx").read_bytes()


# --- keys -------------------------------------------------------------------------------------


def pkcs1_pem(key: pki.PrivateKey) -> bytes:
    """The key as 'BEGIN RSA PRIVATE KEY' (PKCS#1, what older OpenSSL writes)."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )


def pkcs8_der(key: pki.PrivateKey, password: bytes | None = None) -> bytes:
    """The key as PKCS#8 DER, encrypted when a password is given."""
    return pki.key_pkcs8(key, password, serialization.Encoding.DER)


def sha1_root(cn: str) -> pki.Issued:
    """A root self-signed with SHA-1, as old roots are."""
    root = pki.make_root(cn, key=pki.new_key())
    return pki.Issued(pki.signed_with_sha1(root.cert, root.key), root.key)


def tampered(issued: pki.Issued) -> bytes:
    """The certificate as PEM with one bit of its signature flipped."""
    der = bytearray(pki.cert_der(issued))
    der[-1] ^= 0x01
    return x509.load_der_x509_certificate(bytes(der)).public_bytes(serialization.Encoding.PEM)


# --- the lab's file sites ---------------------------------------------------------------------


@dataclass(frozen=True)
class FileLab:
    """Builds the demo file sites under ``folder`` from the lab's CAs: a 3-tier path
    (root -> uca) and a 4-tier one (root4 -> uca_1 -> uca_2)."""

    folder: Path
    root: pki.Issued
    uca: pki.Issued
    root4: pki.Issued
    uca_1: pki.Issued
    uca_2: pki.Issued

    def leaf(
        self, host: str, *, four_tier: bool = False, slot: int = 0, **dates: int
    ) -> pki.Issued:
        """A server certificate for ``host``; ``dates`` may give from_days/valid_days."""
        start = pki.now() + timedelta(days=dates.get("from_days", -1))
        return pki.make_leaf(
            pki.name(C="TW", ST="TAIWAN", L="TAIPEI", O="certgate Lab", OU="SYSTEM", CN=host),
            self.uca_2 if four_tier else self.uca,
            key=pki.pooled_key(slot=slot),
            dns_names=[host],
            not_before=start,
            not_after=start + timedelta(days=dates.get("valid_days", 397)),
        )

    def write(self, site: str, file: str, data: bytes | str) -> None:
        """Write one lab file of ``site``."""
        pki.write(self.folder / site / file, data)

    def three(self, server: pki.Issued) -> list[Member]:
        """cert.zip's three files (manual 5.3)."""
        return [("root.cer", self.root.pem), ("uca.cer", self.uca.pem), ("server.cer", server.pem)]

    def build(self) -> None:
        """Write every file site."""
        for site, build in SITES.items():
            build(self, site)


def _iis_3tier(lab: FileLab, site: str) -> None:
    """Everything right, 3 tiers: CSR, cert.zip, certificate + chain, encrypted key, AES PFX."""
    host = "files.good.lab"
    leaf = lab.leaf(host)
    subject = pki.name(C="TW", ST="TAIWAN", L="TAIPEI", O="certgate Lab", OU="SYSTEM", CN=host)
    lab.write(site, "request.csr", pki.iis_csr_pem(pki.iis_csr(subject, leaf.key, [host])))
    lab.write(site, "cert.zip", zip_bytes(lab.three(leaf)))
    lab.write(site, "server.cer", leaf.pem)
    lab.write(site, "uca.cer", lab.uca.pem)
    lab.write(site, "root.cer", lab.root.pem)
    lab.write(site, "server.key", pki.key_pem(leaf.key, KEY_PASSWORD))
    lab.write(site, "server.pfx", pfx_bytes(leaf.key, leaf.cert, [lab.uca.cert, lab.root.cert]))


def _iis_4tier(lab: FileLab, site: str) -> None:
    """Everything right, 4 tiers: DER files in cert.zip, PKCS#1 key, TripleDES-SHA1 PFX."""
    leaf = lab.leaf("files4.good.lab", four_tier=True)
    members = [
        ("server.cer", pki.cert_der(leaf)),  # order does not matter; DER is fine (6.5)
        ("uca_2.cer", pki.cert_der(lab.uca_2)),
        ("uca_1.cer", pki.cert_der(lab.uca_1)),
        ("root.cer", pki.cert_der(lab.root4)),
    ]
    lab.write(site, "cert.zip", zip_bytes(members))
    lab.write(site, "server.key", pkcs1_pem(leaf.key))
    cas = [lab.uca_2.cert, lab.uca_1.cert, lab.root4.cert]
    lab.write(site, "server.pfx", pfx_bytes(leaf.key, leaf.cert, cas, "3des"))


def _uca_digits(lab: FileLab, site: str) -> None:
    """The manual's other spelling: uca1.cer / uca2.cer; a DER PKCS#8 key."""
    leaf = lab.leaf("digits.good.lab", four_tier=True)
    members = [
        ("root.cer", lab.root4.pem),
        ("uca1.cer", lab.uca_1.pem),
        ("uca2.cer", lab.uca_2.pem),
        ("server.cer", leaf.pem),
    ]
    lab.write(site, "cert.zip", zip_bytes(members))
    lab.write(site, "server.der", pkcs8_der(leaf.key))


def _ec_sha1_root(lab: FileLab, site: str) -> None:
    """A path through an EC intermediate under a root self-signed with SHA-1: it passes."""
    root = sha1_root("certgate Lab Legacy Root CA")
    uca = pki.make_intermediate("certgate Lab ECC SSL CA", root, key=pki.pooled_key("ec"))
    leaf = pki.make_leaf(pki.name(CN="ecc.good.lab"), uca, key=pki.pooled_key(), dns_names=[])
    lab.write(site, "server.cer", leaf.pem)
    lab.write(site, "chain.pem", uca.pem + root.pem)  # one file, two certificates


def _bundle_missing_uca(lab: FileLab, site: str) -> None:
    leaf = lab.leaf("nouca.lab")
    lab.write(site, "cert.zip", zip_bytes([("root.cer", lab.root.pem), ("server.cer", leaf.pem)]))


def _bundle_zip_slip(lab: FileLab, site: str) -> None:
    leaf = lab.leaf("slip.lab")
    members = [("../root.cer", lab.root.pem), ("/uca.cer", lab.uca.pem), ("server.cer", leaf.pem)]
    lab.write(site, "cert.zip", zip_bytes(members))


def _bundle_csr_as_cer(lab: FileLab, site: str) -> None:
    key = pki.pooled_key()
    csr = pki.csr_pem(pki.make_csr(pki.name(CN="csr.lab"), key)).encode("ascii")
    members = [("root.cer", lab.root.pem), ("uca.cer", lab.uca.pem), ("server.cer", csr)]
    lab.write(site, "cert.zip", zip_bytes(members))


def _bundle_unreadable(lab: FileLab, site: str) -> None:
    """Zips that cannot be audited: not a zip, empty, a bomb, duplicated members."""
    lab.write(site, "not-a-zip.zip", lab.root.pem)
    lab.write(site, "empty.zip", zip_bytes([]))
    lab.write(site, "bomb.zip", zip_bomb())
    leaf = lab.leaf("dup.lab")
    lab.write(site, "duplicates.zip", zip_bytes([*lab.three(leaf), ("server.cer", lab.uca.pem)]))


def _chain_broken(lab: FileLab, site: str) -> None:
    """Chains that do not link: look-alike intermediate, no root, altered signature, expired."""
    leaf = lab.leaf("chain.lab")
    lab.write(site, "server.cer", leaf.pem)
    lab.write(site, "root.cer", lab.root.pem)
    lab.write(site, "uca.cer", lab.uca.pem)
    g3 = pki.make_intermediate("certgate Lab Secure SSL CA - G3", lab.root)
    lab.write(site, "uca-g3.cer", g3.pem)
    lab.write(site, "uca-altered.cer", tampered(lab.uca))
    old_start = pki.now() - timedelta(days=800)
    expired = pki.make_intermediate(
        "certgate Lab Retired SSL CA",
        lab.root,
        not_before=old_start,
        not_after=pki.now() - timedelta(days=3),
    )
    under_expired = pki.make_leaf(
        pki.name(CN="retired.lab"),
        expired,
        key=pki.pooled_key(),
        dns_names=["retired.lab"],
        not_before=pki.now() - timedelta(days=30),
        not_after=pki.now() + timedelta(days=300),
    )
    lab.write(site, "retired-server.cer", under_expired.pem)
    lab.write(site, "retired-uca.cer", expired.pem)


def _key_mismatch(lab: FileLab, site: str) -> None:
    """A certificate with another key and another CSR; an old copy of the certificate."""
    leaf = lab.leaf("mismatch.lab")
    other = pki.pooled_key(slot=1)
    lab.write(site, "server.cer", leaf.pem)
    lab.write(site, "other.key", pki.key_pem(other))
    subject = pki.name(C="TW", ST="TAIWAN", L="TAIPEI", O="certgate Lab", CN="mismatch.lab")
    lab.write(site, "other.csr", pki.csr_pem(pki.make_csr(subject, other)))
    renewed = lab.leaf("mismatch.lab")  # same key, new serial: the renewal not copied
    lab.write(site, "cert.zip", zip_bytes(lab.three(renewed)))


def _weak_and_expired(lab: FileLab, site: str) -> None:
    """rsa-2048 over key and PFX, validity and renewal over cert.zip and PFX."""
    weak = pki.pooled_key("rsa", 1024)
    lab.write(site, "weak.key", pki.key_pem(weak))
    subject = pki.name(CN="weak-files.lab")
    weak_leaf = pki.make_leaf(subject, lab.uca, key=weak, dns_names=["weak-files.lab"])
    lab.write(site, "weak.pfx", pfx_bytes(weak, weak_leaf.cert, [lab.uca.cert, lab.root.cert]))
    lab.write(site, "weak.zip", zip_bytes(lab.three(weak_leaf)))
    old = lab.leaf("expired-files.lab", from_days=-400, valid_days=390)
    lab.write(site, "expired.zip", zip_bytes(lab.three(old)))
    lab.write(site, "expired.pfx", pfx_bytes(old.key, old.cert, [lab.uca.cert, lab.root.cert]))


def _chinese_files(lab: FileLab, site: str) -> None:
    """cert.zip and PFX whose server certificate has a Chinese O= and an internal CN: the
    server certificate of every source is judged (SPEC 2.1), not only `certificate`."""
    host = "files.intranet"
    subject = pki.name(C="TW", ST="TAIWAN", L="TAIPEI", O="台灣網路認證", CN=host)
    leaf = pki.make_leaf(subject, lab.uca, key=pki.pooled_key(), dns_names=[host])
    lab.write(site, "cert.zip", zip_bytes(lab.three(leaf)))
    lab.write(site, "server.pfx", pfx_bytes(leaf.key, leaf.cert, [lab.uca.cert, lab.root.cert]))


def _pfx_variants(lab: FileLab, site: str) -> None:
    """PFX backups: RC2-40, no chain, no key, a foreign key, unencrypted, wrong password."""
    leaf = lab.leaf("pfx.lab")
    cas = [lab.uca.cert, lab.root.cert]
    rc2 = rc2_pfx_bytes(leaf.key, leaf.cert, cas)
    lab.write(site, "rc2-40.pfx", rc2 if rc2 is not None else _rc2_stand_in(leaf, cas))
    lab.write(site, "no-chain.pfx", pfx_bytes(leaf.key, leaf.cert, []))
    lab.write(site, "no-key.pfx", pfx_bytes(None, None, [leaf.cert, *cas]))
    foreign = pki.pooled_key(slot=1)
    lab.write(site, "foreign-key.pfx", pfx_bytes(foreign, None, [leaf.cert, *cas]))
    lab.write(site, "unencrypted.pfx", pfx_bytes(leaf.key, leaf.cert, cas, "none"))
    lab.write(site, "good.pfx", pfx_bytes(leaf.key, leaf.cert, cas))


def _rc2_stand_in(leaf: pki.Issued, cas: Sequence[x509.Certificate]) -> bytes:
    """Without an ``openssl`` command: a TripleDES PFX relabelled RC2-40 (same OID length).

    pfx-encryption still sees RC2-40; the file no longer opens (its MAC no longer matches),
    so the other PFX items of that target are errors.
    """
    data = pfx_bytes(leaf.key, leaf.cert, cas, "3des")
    triple_des = bytes.fromhex("060a2a864886f70d010c0103")
    return data.replace(triple_des, bytes.fromhex("060a2a864886f70d010c0106"), 1)


def _keys_unreadable(lab: FileLab, site: str) -> None:
    """Keys that cannot be audited: encrypted without a password, truncated PEM."""
    key = pki.pooled_key()
    lab.write(site, "encrypted.key", pki.key_pem(key, KEY_PASSWORD))
    pem = pki.key_pem(key)
    lab.write(site, "truncated.key", pem[: len(pem) // 2])
    lab.write(site, "server.cer", lab.leaf("keys.lab").pem)


SITES: dict[str, Callable[[FileLab, str], None]] = {
    "iis-3tier": _iis_3tier,
    "iis-4tier": _iis_4tier,
    "uca-digits": _uca_digits,
    "ec-sha1-root": _ec_sha1_root,
    "bundle-missing-uca": _bundle_missing_uca,
    "bundle-zip-slip": _bundle_zip_slip,
    "bundle-csr-as-cer": _bundle_csr_as_cer,
    "bundle-unreadable": _bundle_unreadable,
    "chain-broken": _chain_broken,
    "key-mismatch": _key_mismatch,
    "weak-and-expired": _weak_and_expired,
    "chinese-files": _chinese_files,
    "pfx-variants": _pfx_variants,
    "keys-unreadable": _keys_unreadable,
}
