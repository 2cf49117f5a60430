"""The demo lab's live hosts: HTTPS servers on 127.0.10.x that serve good and broken chains.

``build_hosted`` writes each host's files when the lab is built (the chain to serve, its key,
the certificate the target expects); ``serve_hosted`` starts the servers for one audit run.
The shipped targets.yaml lists the same addresses and port.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from certgate.lab import pki, servers, webpages

if TYPE_CHECKING:  # demo imports this module to build the lab
    from certgate.lab.demo import Chains

PORT = 8443  # unprivileged, so the demo runs without root; the manual's 443 is the default


@dataclass(frozen=True)
class Hosted:
    """One lab endpoint: what it serves (``kind``) at which loopback address."""

    name: str
    address: str
    kind: str = "tls"  # tls | closed | hanging | plain | reset


def _leaf(
    chains: Chains,
    host: str,
    *,
    four: bool = False,
    days: int = 397,
    start: int = -1,
    issuer: pki.Issued | None = None,
) -> pki.Issued:
    ca = issuer or (chains.uca_2 if four else chains.uca)
    subject = pki.name(C="TW", ST="TAIWAN", L="TAIPEI", O="certgate Lab", CN=host)
    begin = pki.now() + timedelta(days=start)
    return pki.make_leaf(
        subject,
        ca,
        key=pki.pooled_key(),
        dns_names=[host],
        not_before=begin,
        not_after=begin + timedelta(days=days),
    )


Recipe = Callable[["Chains"], tuple[list[pki.Issued], pki.Issued]]
"""chains -> (certificates to serve, leaf first; the certificate the target expects)"""


def _good3(c: Chains) -> tuple[list[pki.Issued], pki.Issued]:
    leaf = _leaf(c, "www.good.lab")
    return [leaf, c.uca], leaf


def _good4(c: Chains) -> tuple[list[pki.Issued], pki.Issued]:
    leaf = _leaf(c, "shop.good.lab", four=True)
    return [leaf, c.uca_2, c.uca_1], leaf


def _leaf_only(c: Chains) -> tuple[list[pki.Issued], pki.Issued]:
    leaf = _leaf(c, "leafonly.lab")
    return [leaf], leaf


def _leaf_root(c: Chains) -> tuple[list[pki.Issued], pki.Issued]:
    leaf = _leaf(c, "leafroot.lab")
    return [leaf, c.root], leaf


def _wrong_order(c: Chains) -> tuple[list[pki.Issued], pki.Issued]:
    leaf = _leaf(c, "order.lab", four=True)
    return [leaf, c.uca_1, c.uca_2], leaf


def _expired(c: Chains) -> tuple[list[pki.Issued], pki.Issued]:
    leaf = _leaf(c, "expired.lab", start=-400, days=390)
    return [leaf, c.uca], leaf


def _wrong_name(c: Chains) -> tuple[list[pki.Issued], pki.Issued]:
    leaf = _leaf(c, "other.lab")
    return [leaf, c.uca], leaf


def _self_signed(c: Chains) -> tuple[list[pki.Issued], pki.Issued]:
    key = pki.pooled_key()
    subject = pki.name(C="TW", O="certgate Lab", CN="selfsigned.lab")
    begin = pki.now() - timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(begin)
        .not_valid_after(begin + timedelta(days=365))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("selfsigned.lab")]), False)
        .sign(key, hashes.SHA256())
    )
    me = pki.Issued(cert, key)
    return [me], me


def _untrusted(c: Chains) -> tuple[list[pki.Issued], pki.Issued]:
    rogue_root = pki.make_root("certgate Rogue Root CA", key=pki.pooled_key("rsa", 2048, 1))
    rogue_ca = pki.make_intermediate(
        "certgate Rogue SSL CA", rogue_root, key=pki.pooled_key("rsa", 2048, 2)
    )
    leaf = _leaf(c, "rogue.lab", issuer=rogue_ca)
    return [leaf, rogue_ca], leaf


def _renewed(c: Chains) -> tuple[list[pki.Issued], pki.Issued]:
    new = _leaf(c, "www.multi.lab")
    return [new, c.uca], new


def _mixed(c: Chains) -> tuple[list[pki.Issued], pki.Issued]:
    leaf = _leaf(c, webpages.HOST)
    return [leaf, c.uca], leaf


def _old(c: Chains) -> tuple[list[pki.Issued], pki.Issued]:
    old = _leaf(c, "www.multi.lab", start=-330, days=397)
    return [old, c.uca], old


HOSTED: tuple[tuple[Hosted, Recipe | None], ...] = (
    (Hosted("good-3tier", "127.0.10.1"), _good3),
    (Hosted("good-4tier", "127.0.10.2"), _good4),
    (Hosted("leaf-only", "127.0.10.3"), _leaf_only),
    (Hosted("leaf-root", "127.0.10.4"), _leaf_root),
    (Hosted("wrong-order", "127.0.10.5"), _wrong_order),
    (Hosted("expired", "127.0.10.6"), _expired),
    (Hosted("wrong-name", "127.0.10.7"), _wrong_name),
    (Hosted("self-signed", "127.0.10.8"), _self_signed),
    (Hosted("untrusted-root", "127.0.10.9"), _untrusted),
    (Hosted("multi-new", "127.0.10.10"), _renewed),
    (Hosted("multi-old", "127.0.10.11"), _old),
    (Hosted("refused", "127.0.10.12", "closed"), None),
    (Hosted("hanging", "127.0.10.13", "hanging"), None),
    (Hosted("plain-http", "127.0.10.14", "plain"), None),
    (Hosted("mixed-content", "127.0.10.15"), _mixed),  # web pages: certgate.lab.webpages
)
# Hosts that serve more than the default page, by name.
HOSTED_PAGES: dict[str, Mapping[str, servers.Page]] = {"mixed-content": webpages.PAGES}


def build_hosted(folder: Path, chains: Chains) -> None:
    """Write each TLS host's ``serve.pem`` (chain as served), ``serve.key`` and ``server.cer``."""
    hosts = []
    for host, recipe in HOSTED:
        hosts.append({"name": host.name, "address": host.address, "kind": host.kind})
        if recipe is None:
            continue
        served, expected = recipe(chains)
        pki.write(folder / host.name / "serve.pem", b"".join(i.pem for i in served))
        pki.write(folder / host.name / "serve.key", pki.key_pem(served[0].key))
        pki.write(folder / host.name / "server.cer", expected.pem)
    (folder / "hosts.json").write_text(json.dumps(hosts, indent=1) + "\n", encoding="utf-8")


def serve_hosted(folder: Path) -> list[servers.LabServer]:
    """Start the lab's hosts (as written by build_hosted); the caller stops them."""
    started: list[servers.LabServer] = []
    for host in json.loads((folder / "hosts.json").read_text(encoding="utf-8")):
        try:
            server = _server(folder / host["name"], host["address"], host["kind"])
        except OSError as exc:
            print(
                f"certgate lab: cannot serve {host['address']}:{PORT}: {exc.strerror}",
                file=sys.stderr,
            )
            continue
        started.append(server.start())
    return started


def _server(folder: Path, address: str, kind: str) -> servers.LabServer:
    if kind == "closed":
        return servers.ClosedPort(address, PORT)
    if kind == "hanging":
        return servers.HangingServer(address, PORT)
    if kind == "plain":
        return servers.PlainHttpServer(address, PORT)
    chain = x509.load_pem_x509_certificates((folder / "serve.pem").read_bytes())
    key = serialization.load_pem_private_key((folder / "serve.key").read_bytes(), None)
    pages = HOSTED_PAGES.get(folder.name, servers.DEFAULT_PAGES)
    return servers.TlsServer(chain, key, address=address, port=PORT, pages=pages)  # type: ignore[arg-type]
