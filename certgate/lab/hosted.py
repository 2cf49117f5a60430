"""The demo lab's live hosts: HTTPS servers on 127.0.10.x that serve good and broken chains.

``build_hosted`` writes each host's files when the lab is built (the chain to serve, its key,
the certificate the target expects); ``serve_hosted`` starts the servers for one audit run.
The shipped targets.yaml lists the same addresses and port.
"""

from __future__ import annotations

import json
import ssl
import sys
from collections.abc import Mapping
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
HTTP_PORT = 8080  # the hardening hosts' plain http (targets.yaml's http_port)


@dataclass(frozen=True)
class Hosted:
    """One lab endpoint: what it serves at which loopback address.

    ``kind`` tls serves a leaf for ``cn`` issued by ``issuer`` (lab: the 3-tier CA, or the
    4-tier one with ``four``; rogue: a CA nobody trusts; self: self-signed), followed by the
    CAs named in ``send`` (attributes of Chains, or "rogue"), valid from ``start`` days for
    ``days`` days. ``twin_of`` serves another host's files: a second server behind one name.
    """

    name: str
    address: str
    kind: str = "tls"  # tls | closed | hanging | plain
    cn: str = ""
    send: tuple[str, ...] = ("uca",)
    issuer: str = "lab"  # lab | rogue | self
    four: bool = False
    start: int = -1
    days: int = 397
    twin_of: str | None = None
    sha1: bool = False  # the leaf signed with SHA-1, as CAs did before 2016
    bits: int = 2048  # the leaf's RSA key size
    setup: str = "lab"  # lab | iis | hardened: what it offers (:data:`SETUPS`), http too


def _leaf(chains: Chains, host: Hosted, issuer: pki.Issued) -> pki.Issued:
    subject = pki.name(C="TW", ST="TAIWAN", L="TAIPEI", O="certgate Lab", CN=host.cn)
    begin = pki.now() + timedelta(days=host.start)
    leaf = pki.make_leaf(
        subject,
        issuer,
        key=pki.pooled_key("rsa", host.bits),
        dns_names=[host.cn],
        not_before=begin,
        not_after=begin + timedelta(days=host.days),
    )
    if host.sha1:
        return pki.Issued(pki.signed_with_sha1(leaf.cert, issuer.key), leaf.key)
    return leaf


def _self_signed(host: Hosted) -> pki.Issued:
    key = pki.pooled_key()
    subject = pki.name(C="TW", O="certgate Lab", CN=host.cn)
    begin = pki.now() - timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(begin)
        .not_valid_after(begin + timedelta(days=host.days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host.cn)]), False)
        .sign(key, hashes.SHA256())
    )
    return pki.Issued(cert, key)


def _rogue_ca() -> pki.Issued:
    root = pki.make_root("certgate Rogue Root CA", key=pki.pooled_key("rsa", 2048, 1))
    return pki.make_intermediate("certgate Rogue SSL CA", root, key=pki.pooled_key("rsa", 2048, 2))


def _served(chains: Chains, host: Hosted) -> list[pki.Issued]:
    """The certificates the host sends, leaf first."""
    if host.issuer == "self":
        return [_self_signed(host)]
    cas = {"rogue": _rogue_ca()} if host.issuer == "rogue" or "rogue" in host.send else {}
    cas.update({n: getattr(chains, n) for n in ("root", "uca", "uca_1", "uca_2")})
    issuer = cas["rogue"] if host.issuer == "rogue" else cas["uca_2" if host.four else "uca"]
    return [_leaf(chains, host, issuer), *(cas[n] for n in host.send)]


@dataclass(frozen=True)
class Setup:
    """A hardening-profile host's configuration (HARDENING.md §A.1, §C): the TLS it offers,
    its HTTPS response headers, and what its plain http on :data:`HTTP_PORT` answers
    (``redirect``: 301 to https on the same host; else 200 with a page)."""

    offer: servers.TlsOffer
    headers: tuple[tuple[str, str], ...] = ()
    redirect: bool = False


_HTML = (("Content-Type", "text/html; charset=utf-8"),)
SETUPS: dict[str, Setup] = {
    # A default IIS on Windows Server 2022 as Microsoft's tables give it (HARDENING.md §C):
    # TLS 1.0-1.3, ECDHE and static-RSA suites, GCM, CBC-SHA256/384 and CBC-SHA1, no HSTS,
    # http served as is. Debian's OpenSSL offers no 3DES or DHE without more set-up.
    "iis": Setup(
        servers.TlsOffer(
            minimum=ssl.TLSVersion.TLSv1,
            ciphers="ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:"
            "ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA:"
            "ECDHE-RSA-AES128-SHA:AES256-GCM-SHA384:AES128-GCM-SHA256:AES256-SHA256:"
            "AES128-SHA256:AES256-SHA:AES128-SHA:@SECLEVEL=0",
            curve="X25519",  # curve25519 is Schannel's first default group
        )
    ),
    # "Disable Legacy TLS" plus HSTS for a year and http redirected (HARDENING.md §A.1).
    "hardened": Setup(
        servers.TlsOffer(
            ciphers="ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256", curve="X25519"
        ),
        (("Strict-Transport-Security", "max-age=31536000; includeSubDomains"),),
        redirect=True,
    ),
}


HOSTED: tuple[Hosted, ...] = (
    Hosted("good-3tier", "127.0.10.1", cn="www.good.lab"),
    Hosted("good-4tier", "127.0.10.2", cn="shop.good.lab", four=True, send=("uca_2", "uca_1")),
    Hosted("leaf-only", "127.0.10.3", cn="leafonly.lab", send=()),
    Hosted("leaf-root", "127.0.10.4", cn="leafroot.lab", send=("root",)),
    Hosted("wrong-order", "127.0.10.5", cn="order.lab", four=True, send=("uca_1", "uca_2")),
    Hosted("expired", "127.0.10.6", cn="expired.lab", start=-400, days=390),
    Hosted("wrong-name", "127.0.10.7", cn="other.lab"),
    Hosted("self-signed", "127.0.10.8", cn="selfsigned.lab", issuer="self", days=365),
    Hosted("untrusted-root", "127.0.10.9", cn="rogue.lab", issuer="rogue", send=("rogue",)),
    Hosted("multi-new", "127.0.10.10", cn="www.multi.lab"),
    Hosted("multi-old", "127.0.10.11", cn="www.multi.lab", start=-330),
    Hosted("refused", "127.0.10.12", "closed"),
    Hosted("hanging", "127.0.10.13", "hanging"),
    Hosted("plain-http", "127.0.10.14", "plain"),
    Hosted("mixed-content", "127.0.10.15", cn=webpages.HOST),  # pages: certgate.lab.webpages
    Hosted("good-3tier-twin", "127.0.10.16", twin_of="good-3tier"),
    Hosted("sha1-leaf", "127.0.10.17", cn="sha1.lab", sha1=True),
    Hosted("rsa-1024-leaf", "127.0.10.18", cn="weak.lab", bits=1024),
    Hosted("missing-uca1", "127.0.10.19", cn="upper.lab", four=True, send=("uca_2",)),
    Hosted("iis-default", "127.0.10.20", cn="iis.hardening.lab", setup="iis"),
    Hosted("hardened", "127.0.10.21", cn="www.hardened.lab", days=90, setup="hardened"),
)
# Hosts that serve more than the default page, by name.
HOSTED_PAGES: dict[str, Mapping[str, servers.Page]] = {"mixed-content": webpages.PAGES}


def build_hosted(folder: Path, chains: Chains) -> None:
    """Write each TLS host's ``serve.pem`` (chain as served), ``serve.key`` and ``server.cer``."""
    hosts = []
    for host in HOSTED:
        files = host.twin_of or host.name
        hosts.append(
            {
                "name": files,
                "address": host.address,
                "kind": host.kind,
                "setup": host.setup,
                "host": host.cn,
            }
        )
        if host.kind != "tls" or host.twin_of:
            continue
        served = _served(chains, host)
        pki.write(folder / host.name / "serve.pem", b"".join(i.pem for i in served))
        pki.write(folder / host.name / "serve.key", pki.key_pem(served[0].key))
        pki.write(folder / host.name / "server.cer", served[0].pem)
    (folder / "hosts.json").write_text(json.dumps(hosts, indent=1) + "\n", encoding="utf-8")


def serve_hosted(folder: Path) -> list[servers.LabServer]:
    """Start the lab's hosts (as written by build_hosted); the caller stops them."""
    started: list[servers.LabServer] = []
    for host in json.loads((folder / "hosts.json").read_text(encoding="utf-8")):
        try:
            found = [_server(folder / host["name"], host["address"], host["kind"], host["setup"])]
            found += _http_server(host)
        except OSError as exc:
            print(
                f"certgate lab: cannot serve {host['address']}:{PORT}: {exc.strerror}",
                file=sys.stderr,
            )
            continue
        started.extend(server.start() for server in found)
    return started


def _http_server(host: Mapping[str, str]) -> list[servers.LabServer]:
    """A hardening host's plain http on :data:`HTTP_PORT`: a redirect, or the page as is."""
    setup = SETUPS.get(host["setup"])
    if setup is None:
        return []
    page = servers.Page(headers=_HTML)
    if setup.redirect:
        location = f"https://{host['host']}:{PORT}/"
        page = servers.Page(b"moved\n", 301, (("Location", location),))
    return [servers.PlainHttpServer(host["address"], HTTP_PORT, {"/": page})]


def _server(folder: Path, address: str, kind: str, setup: str) -> servers.LabServer:
    if kind == "closed":
        return servers.ClosedPort(address, PORT)
    if kind == "hanging":
        return servers.HangingServer(address, PORT)
    if kind == "plain":
        return servers.PlainHttpServer(address, PORT)
    chain = x509.load_pem_x509_certificates((folder / "serve.pem").read_bytes())
    key = serialization.load_pem_private_key((folder / "serve.key").read_bytes(), None)
    pages = HOSTED_PAGES.get(folder.name, servers.DEFAULT_PAGES)
    offer = servers.LAB_OFFER
    if setup in SETUPS:
        offer = SETUPS[setup].offer
        pages = {"/": servers.Page(headers=_HTML + SETUPS[setup].headers)}
    return servers.TlsServer(chain, key, address=address, port=PORT, pages=pages, offer=offer)  # type: ignore[arg-type]
