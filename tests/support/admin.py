"""An administrator's own audit folder, made the way an administrator makes one: the openssl
CLI writes a key, a CSR, a self-made CA chain, the server certificate and a PFX backup."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

PFX_PASSWORD = "correct horse battery staple"
HOST = "shop.example.com.tw"
# The items its files have: csr (csr-format, rsa-2048, subject-english, subject-fields,
# cn-hostname, key-match), certificate (rsa-2048, subject-english, cn-hostname, validity,
# renewal-window, key-match), chain (chain-links), private_key (rsa-2048, key-match) and pfx
# (rsa-2048, subject-english, cn-hostname, validity, renewal-window, chain-links,
# pfx-contents, pfx-encryption).
ADMIN_ITEMS = 23

TARGETS = """\
# an administrator's own inventory: files only (no host: nothing is scanned)
targets:
  - name: shop
    csr: certs/shop.csr
    certificate: certs/server.cer
    chain: [certs/uca.cer, certs/root.cer]
    private_key: certs/shop.key
    pfx: certs/shop.pfx
    pfx_password_env: SHOP_PFX_PASSWORD
"""


def openssl(folder: Path, command: str, env: dict[str, str] | None = None) -> None:
    """Run one ``openssl`` command line, written as an administrator would type it."""
    subprocess.run(
        ["openssl", *shlex.split(command)],
        cwd=folder,
        check=True,
        capture_output=True,
        env={**os.environ, **(env or {})},
    )


def make_certs(folder: Path) -> Path:
    """``folder/certs``: root.cer, uca.cer, server.cer, shop.key, shop.csr, shop.pfx."""
    certs = folder / "certs"
    certs.mkdir(parents=True)
    (certs / "ca.ext").write_text(
        "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n"
    )
    (certs / "server.ext").write_text(
        f"basicConstraints=CA:FALSE\nsubjectAltName=DNS:{HOST}\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
    )
    # the self-made root and intermediate (a TWCA-like 3-tier chain)
    openssl(
        certs,
        "req -x509 -newkey rsa:2048 -nodes -keyout root.key -out root.cer -days 3650 "
        "-subj '/C=TW/O=Example Root/CN=Example Root CA' "
        "-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign",
    )
    openssl(
        certs,
        "req -new -newkey rsa:2048 -nodes -keyout uca.key -out uca.csr "
        "-subj '/C=TW/O=Example/CN=Example SSL CA'",
    )
    openssl(
        certs,
        "x509 -req -in uca.csr -CA root.cer -CAkey root.key -CAcreateserial -days 1825 "
        "-extfile ca.ext -out uca.cer",
    )
    # what IIS's wizard does (manual 5.1): a 2048-bit RSA key and a CSR in English
    openssl(
        certs,
        "req -new -newkey rsa:2048 -nodes -keyout shop.key -out shop.csr "
        f"-subj '/C=TW/ST=TAIWAN/L=TAIPEI/O=Example Shop/OU=SYSTEM/CN={HOST}'",
    )
    # what the CA mails back (manual 5.3), and the PFX backup with the chain (manual 5.9)
    openssl(
        certs,
        "x509 -req -in shop.csr -CA uca.cer -CAkey uca.key -CAcreateserial -days 397 "
        "-extfile server.ext -out server.cer",
    )
    chain = (certs / "uca.cer").read_bytes() + (certs / "root.cer").read_bytes()
    (certs / "chain.pem").write_bytes(chain)
    openssl(
        certs,
        "pkcs12 -export -inkey shop.key -in server.cer -certfile chain.pem -out shop.pfx "
        "-passout env:SHOP_PFX_PASSWORD -keypbe AES-256-CBC -certpbe AES-256-CBC -macalg sha256",
        env={"SHOP_PFX_PASSWORD": PFX_PASSWORD},
    )
    for leftover in ("root.key", "uca.key", "uca.csr", "ca.ext", "server.ext", "chain.pem"):
        (certs / leftover).unlink()
    return certs


def audit_folder(folder: Path) -> Path:
    """An outside folder holding targets.yaml and certs/, as an administrator keeps them."""
    make_certs(folder)
    (folder / "targets.yaml").write_text(TARGETS, encoding="utf-8")
    return folder
