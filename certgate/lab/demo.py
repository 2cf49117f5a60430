"""The demo lab that the shipped targets.yaml audits: good and deliberately broken material.

``ensure_lab(dir)`` builds it when missing or stale (certificate dates are relative to the
day it was built), so a fresh clone audits with no set-up and no network.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from certgate.lab import files, hosted, pki, servers

LAB_VERSION = 9  # 2: certificate files (cert.zip, chains, keys, PFX) in files/; 3: hosts/
# 4: hosts/mixed-content (web pages for mixed-content)
# 6: IIS requests as IIS writes them (SHA-1, attributes out of order), internal names
# 7: chinese-files, weak.zip; 8: hosts sha1-leaf, rsa-1024-leaf, missing-uca1
# 9: hardening hosts iis-default, hardened (their setup and http port in hosts.json)
MAX_AGE = timedelta(hours=12)
GOOD = {"C": "TW", "ST": "TAIWAN", "L": "TAIPEI", "O": "certgate Lab", "OU": "SYSTEM"}


@dataclass(frozen=True)
class Chains:
    """The lab's CAs: a 3-tier path (root -> uca) and a 4-tier one (root4 -> uca_1 -> uca_2)."""

    root: pki.Issued
    uca: pki.Issued
    root4: pki.Issued
    uca_1: pki.Issued
    uca_2: pki.Issued


def make_chains() -> Chains:
    """Fresh lab CAs."""
    root = pki.make_root("certgate Lab Root CA")
    root4 = pki.make_root("certgate Lab Global Root CA")
    uca_1 = pki.make_intermediate("certgate Lab Global Sub CA 1", root4)
    return Chains(
        root=root,
        uca=pki.make_intermediate("certgate Lab Secure SSL CA", root),
        root4=root4,
        uca_1=uca_1,
        uca_2=pki.make_intermediate("certgate Lab Global SSL CA 2", uca_1),
    )


def ensure_lab(directory: Path) -> None:
    """Build the demo lab in ``directory`` unless a fresh one of this version is there."""
    manifest = directory / "manifest.json"
    if manifest.is_file():
        info = json.loads(manifest.read_text(encoding="utf-8"))
        built = datetime.fromisoformat(info.get("built", "1970-01-01T00:00:00+00:00"))
        if info.get("version") == LAB_VERSION and datetime.now(UTC) - built < MAX_AGE:
            return
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".lab-", dir=directory.parent))
    build_lab(staging)
    if directory.exists():
        shutil.rmtree(directory)
    staging.rename(directory)


def use_lab_passwords() -> None:
    """Put the lab's documented demo passwords in the environment, unless already set.

    Only for an inventory with ``lab:`` (the plugin calls it after ``ensure_lab``), so the
    demo audit needs no set-up. The values are demo passwords of throwaway lab files
    (certgate.lab.files.LAB_PASSWORDS); they are never printed.
    """
    for name, value in files.LAB_PASSWORDS.items():
        os.environ.setdefault(name, value)


def serve_lab(directory: Path) -> list[servers.LabServer]:
    """Start the lab's HTTPS hosts for one audit run; the caller stops them.

    A host whose address is taken (another audit of the lab is running) is reported on
    stderr and skipped: its items then come out as could-not-audit errors, never passes.
    """
    return hosted.serve_hosted(directory / "hosts")


def build_lab(directory: Path) -> None:
    """Write every demo file under ``directory`` and a manifest of when it was built."""
    chains = make_chains()
    _write_chains(directory / "pki", chains)
    for site in SITES:
        site.build(directory / "sites" / site.name, chains)
    _write_unreadable(directory / "sites" / "unreadable")
    files.FileLab(
        directory / "files", chains.root, chains.uca, chains.root4, chains.uca_1, chains.uca_2
    ).build()
    hosted.build_hosted(directory / "hosts", chains)
    manifest = {"version": LAB_VERSION, "built": pki.now().isoformat()}
    (directory / "manifest.json").write_text(json.dumps(manifest) + "\n", encoding="utf-8")


def _write_chains(folder: Path, chains: Chains) -> None:
    for file, issued in (
        ("root.cer", chains.root),
        ("uca.cer", chains.uca),
        ("root4.cer", chains.root4),
        ("uca_1.cer", chains.uca_1),
        ("uca_2.cer", chains.uca_2),
    ):
        pki.write(folder / file, issued.pem)


def _write_unreadable(folder: Path) -> None:
    """Files that cannot be audited: a truncated certificate, a certificate given as a CSR."""
    key = pki.pooled_key()
    chains_free_root = pki.make_root("certgate Lab Scratch CA", key=key)
    pem = chains_free_root.pem.decode("ascii")
    pki.write(folder / "truncated.cer", pem[: len(pem) // 2])
    pki.write(folder / "request.csr", pem)


# --- sites ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    """One demo target's files: a CSR and the certificate issued for it, broken as told."""

    name: str
    host: str
    subject: dict[str, str]
    key: Callable[[], pki.PrivateKey] = lambda: pki.pooled_key()
    four_tier: bool = False
    valid_from_days: int = -1  # relative to the build day
    valid_days: int = 397
    csr_style: str = "iis"  # iis | iis-one-line | openssl | mangled | bad-signature | der
    cert_der: bool = False

    def build(self, folder: Path, chains: Chains) -> None:
        """Write ``request.csr`` and ``server.cer``."""
        key = self.key()
        subject = pki.name(**self.subject)
        if self.csr_style == "openssl":
            der = pki.make_csr(subject, key, [self.host])
        else:  # what IIS writes: SHA-1, Microsoft attributes out of DER order
            der = pki.iis_csr(subject, key, [self.host])
        pki.write(folder / "request.csr", _csr_text(der, self.csr_style))
        issuer = chains.uca_2 if self.four_tier else chains.uca
        start = pki.now() + timedelta(days=self.valid_from_days)
        leaf = pki.make_leaf(
            subject,
            issuer,
            key=key,
            dns_names=[self.host],
            not_before=start,
            not_after=start + timedelta(days=self.valid_days),
        )
        pki.write(folder / "server.cer", pki.cert_der(leaf) if self.cert_der else leaf.pem)


def _csr_text(der: bytes, style: str) -> bytes | str:
    if style == "openssl":
        return pki.csr_pem(der, "CERTIFICATE REQUEST")
    if style == "mangled":
        return pki.mangled_csr_pem(der)
    if style == "bad-signature":
        return pki.csr_pem(pki.break_signature(der))
    if style == "der":
        return der
    return pki.iis_csr_pem(der, one_line=style == "iis-one-line")


def _subject(host: str, **changes: str) -> dict[str, str]:
    fields = {**GOOD, "CN": host, **changes}
    return {k: v for k, v in fields.items() if v}


SITES: tuple[Site, ...] = (
    Site("good-3tier", "www.good.lab", _subject("www.good.lab")),
    Site(
        "iis-one-line", "oneline.good.lab", _subject("oneline.good.lab"), csr_style="iis-one-line"
    ),
    # Names no public CA may issue for (CA/B BRs 7.1.4.2): a single label, an internal TLD.
    Site("cn-single-label", "intranet", _subject("intranet")),
    Site("cn-internal", "server.local", _subject("server.local")),
    Site(
        "good-4tier",
        "shop.good.lab",
        _subject("shop.good.lab"),
        four_tier=True,
        csr_style="openssl",
        cert_der=True,
    ),
    Site("rsa-1024", "weak.lab", _subject("weak.lab"), key=lambda: pki.pooled_key("rsa", 1024)),
    Site("ec-key", "ec.lab", _subject("ec.lab"), key=lambda: pki.pooled_key("ec")),
    Site("chinese-fields", "tw.lab", _subject("tw.lab", O="台灣網路認證", L="臺北市")),
    Site("full-width", "fw.lab", _subject("fw.lab", O="ＴＷＣＡ")),
    Site("cn-with-scheme", "scheme.lab", _subject("https://scheme.lab")),
    Site("cn-with-port", "port.lab", _subject("port.lab:443")),
    Site("missing-st", "nost.lab", _subject("nost.lab", ST="")),
    Site("country-twn", "twn.lab", _subject("twn.lab", C="TWN", L="TP")),
    Site("expired", "old.lab", _subject("old.lab"), valid_from_days=-400, valid_days=390),
    Site("not-yet-valid", "future.lab", _subject("future.lab"), valid_from_days=10),
    Site("expiring-soon", "soon.lab", _subject("soon.lab"), valid_from_days=-367, valid_days=397),
    Site("csr-bad-signature", "sig.lab", _subject("sig.lab"), csr_style="bad-signature"),
    Site("csr-mangled", "paste.lab", _subject("paste.lab"), csr_style="mangled"),
)
