"""Served chains nobody here made with cryptography (issue 9, point 8): the ``openssl`` CLI
signs them, a loopback TLS server sends them as they are, and a loopback HTTP server answers
the AIA caIssuers URL. certgate's verdicts agree with ``openssl verify`` on each chain.
"""

from __future__ import annotations

import http.server
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from certgate.hosts import scan, sslyze_scan
from certgate.hosts.aia import IssuerFetcher
from certgate.hosts.facts import Endpoint, EndpointFacts, TrustProblem
from certgate.hosts.rules import chain_served_problem
from certgate.lab import servers
from tests.support import openssl_made as made
from tests.support.audit import Audit, project, run
from tests.support.handshakes import handshakes_in

pytestmark = pytest.mark.slow

HOST = made.HOST
TIMEOUT = 2.0
ADDRESS = "127.0.30.1"


class OpensslChainServer(servers.LabServer):
    """TLS sending an openssl-made PEM chain file exactly as it is. Security level 0: the
    weak key or SHA-1 certificate is what is under test, so the server must be able to send
    it (Debian's OpenSSL refuses both at its default level 2)."""

    def __init__(self, chain: Path, key: Path, address: str = ADDRESS) -> None:
        self._context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self._context.set_ciphers("ALL:@SECLEVEL=0")
        self._context.load_cert_chain(chain, key)
        super().__init__(address)

    def handle(self, conn: socket.socket) -> None:
        with self._context.wrap_socket(conn, server_side=True) as tls:
            if tls.recv(4096):
                tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


class IssuerSite(http.server.ThreadingHTTPServer):
    """The CA's caIssuers URL on loopback: serves files as DER and records every path asked."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.asked: list[str] = []
        site = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                site.asked.append(self.path)
                body = site.files.get(self.path)
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "application/pkix-cert")
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, format: str, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)  # bound here, before any thread

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@dataclass(frozen=True)
class Served:
    """The chains made by openssl, the servers sending them, and the issuer URL's site."""

    folder: Path
    servers: dict[str, OpensslChainServer]
    site: IssuerSite

    def endpoint(self, case: str) -> Endpoint:
        return self.servers[case].endpoint(HOST)


def make_chains(folder: Path, site: IssuerSite) -> dict[str, Path]:
    """Each case's chain file as sent (leaf first) with its key, signed by openssl."""
    made.ca_root(folder, "root", "Example Served Root CA")
    made.issue(folder, "uca", "/C=TW/O=Example Trust/CN=Example Served SSL CA", "root")
    made.issue(folder, "uca1", "/C=TW/O=Example Trust/CN=Example Served CA 1", "root")
    aia = f"authorityInfoAccess=caIssuers;URI:{site.base}/uca1.cer\n"
    made.issue(
        folder, "uca2", "/C=TW/O=Example Trust/CN=Example Served CA 2", "uca1",
        extensions=made.CA_EXT + aia,
    )  # fmt: skip
    site.files["/uca1.cer"] = made.openssl(folder, "x509", "-in", "uca1.cer", "-outform", "DER")
    subject, ext = f"/C=TW/O=Example/CN={HOST}", made.leaf_ext()
    made.issue(folder, "sha1", subject, "uca", digest="sha1", extensions=ext, days=397)
    made.issue(folder, "rsa1024", subject, "uca", newkey="rsa:1024", extensions=ext, days=397)
    made.issue(folder, "tier4", subject, "uca2", extensions=ext, days=397)
    sent: dict[str, tuple[str, ...]] = {
        "sha1": ("sha1", "uca"),
        "rsa1024": ("rsa1024", "uca"),
        "tier4": ("tier4", "uca2"),
    }
    sent["tier4-swapped"] = ("tier4", "uca1", "uca2")  # both intermediates, upper one first
    (folder / "tier4-swapped.key").write_bytes((folder / "tier4.key").read_bytes())
    for case, names in sent.items():
        (folder / f"{case}.chain.pem").write_bytes(
            b"".join((folder / f"{n}.cer").read_bytes() for n in names)
        )
    return {case: folder / f"{case}.chain.pem" for case in sent}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Every case served at once, on 127.0.30.1; the issuer URL's site on 127.0.0.1."""
    folder = tmp_path_factory.mktemp("served")
    site = IssuerSite()
    chains = make_chains(folder, site)
    made_servers = {
        case: OpensslChainServer(chain, folder / f"{case}.key") for case, chain in chains.items()
    }
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    try:
        with servers.serving(*made_servers.values()):
            yield Served(folder, made_servers, site)
    finally:
        site.shutdown()
        site.server_close()


def scanned(served: Served, *cases: str, offline: bool) -> dict[str, EndpointFacts]:
    """One scan of ``cases``, trusting the openssl-made root only."""
    endpoints = {case: served.endpoint(case) for case in cases}
    found = scan.scan(
        list(endpoints.values()),
        trust=[served.folder / "root.cer"],
        timeout=TIMEOUT,
        fetcher=IssuerFetcher(TIMEOUT, offline),
    )
    return {case: found[endpoint] for case, endpoint in endpoints.items()}


@pytest.fixture(scope="module")
def online(served: Served) -> dict[str, EndpointFacts]:
    return scanned(served, "sha1", "rsa1024", "tier4", offline=False)


def openssl_verify(served: Served, case: str, untrusted: str) -> tuple[int, str]:
    """``openssl verify`` of the leaf at security level 2, as browsers judge it."""
    return made.says(
        served.folder, "verify", "-auth_level", "2", "-CAfile", "root.cer",
        "-untrusted", untrusted, f"{case}.cer",
    )  # fmt: skip


# --- (a) a SHA-1 leaf under a SHA-256 intermediate, both sent ---------------------------------


def test_sha1_leaf_is_served_complete_but_not_trusted(served, online):
    status, said = openssl_verify(served, "sha1", "uca.cer")
    assert status != 0
    assert "CA signature digest algorithm too weak" in said
    assert made.says(served.folder, "verify", "-auth_level", "0", "-CAfile", "root.cer",
                     "-untrusted", "uca.cer", "sha1.cer")[0] == 0  # fmt: skip
    facts = online["sha1"]
    assert chain_served_problem(facts) is None
    assert facts.trusted is False
    assert facts.trust_problems == (TrustProblem.WEAK_SIGNATURE,)
    assert "SHA1" in (facts.trust_reason or "").upper()


# --- (b) an RSA-1024 leaf ---------------------------------------------------------------------


def test_rsa_1024_leaf_is_a_weak_key(served, online):
    status, said = openssl_verify(served, "rsa1024", "uca.cer")
    assert status != 0
    assert "EE certificate key too weak" in said
    facts = online["rsa1024"]
    assert chain_served_problem(facts) is None
    assert facts.trusted is False
    assert facts.trust_problems == (TrustProblem.WEAK_KEY,)
    assert "1024" in (facts.trust_reason or "")


# --- (c) a 4-tier chain sending only its lower intermediate -------------------------------------


def test_missing_upper_intermediate_is_named_from_its_issuer_url(served, online):
    status, said = openssl_verify(served, "tier4", "uca2.cer")
    assert status != 0
    assert "unable to get local issuer certificate" in said
    facts = online["tier4"]
    assert served.site.asked == ["/uca1.cer"]
    problem = chain_served_problem(facts)
    assert problem is not None
    assert "Example Served CA 1" in problem.seen
    assert f"{served.site.base}/uca1.cer" in problem.seen
    assert facts.missing_is_root is False  # a trusted root issued it: a missing intermediate
    assert "install the missing intermediate" in problem.fix.lower()
    assert "Trusted Root" not in problem.fix
    assert facts.trust_problems[0] is TrustProblem.INCOMPLETE_CHAIN


def test_offline_fetches_nothing_and_gives_both_fixes(served, online):
    before = list(served.site.asked)
    facts = scanned(served, "tier4", offline=True)["tier4"]
    assert served.site.asked == before
    problem = chain_served_problem(facts)
    assert problem is not None
    assert "Intermediate Certification Authorities" in problem.fix
    assert "Trusted Root Certification Authorities" in problem.fix
    assert "Example Served CA 1" in problem.seen


# --- the same, end to end through pytest --targets --offline --------------------------------


@pytest.fixture(scope="module")
def audit(served: Served, tmp_path_factory: pytest.TempPathFactory) -> Audit:
    folder = tmp_path_factory.mktemp("hosts-audit")
    (folder / "root.cer").write_bytes((served.folder / "root.cer").read_bytes())
    targets = "policy:\n  trust: [root.cer]\ntargets:\n" + "".join(
        f"  - name: {case}\n    host: {HOST}\n    addresses: [{server.address}]\n"
        f"    port: {server.port}\n"
        for case, server in served.servers.items()
    )
    asked = len(served.site.asked)
    done = run(project(folder, targets), "--offline", "--host-timeout", str(TIMEOUT))
    assert len(served.site.asked) == asked, "--offline fetched the issuer URL"
    return done


def test_audit_judges_served_chains_as_openssl_verify_does(served, audit):
    where = f"{ADDRESS}:{{}}"
    port = {case: server.port for case, server in served.servers.items()}
    row = {
        case: {
            c: audit.row(c, case, where.format(port[case]))
            for c in ("chain-served", "chain-trusted")
        }
        for case in port
    }
    assert row["sha1"]["chain-served"]["outcome"] == "passed"
    assert row["sha1"]["chain-trusted"]["outcome"] == "failed"
    assert "weak signature" in row["sha1"]["chain-trusted"]["message"]
    assert row["rsa1024"]["chain-served"]["outcome"] == "passed"
    assert "weak key" in row["rsa1024"]["chain-trusted"]["message"]
    tier4 = row["tier4"]["chain-served"]
    assert tier4["outcome"] == "failed"
    assert "manual 6.1" in tier4["message"]
    assert "Trusted Root Certification Authorities" in tier4["message"]


# --- the one handshake agrees with sslyze's certificate scan on chains openssl made -------------


@pytest.mark.parametrize("case", ["sha1", "rsa1024", "tier4", "tier4-swapped"])
def test_one_handshake_finds_what_sslyzes_certificate_scan_finds(served: Served, case: str):
    """certgate's own handshake and path validation (hosts/probe.py, stores.validate) give the
    facts sslyze's CERTIFICATE_INFO gives for the same openssl-made chain: the chain as sent,
    its order (tier4-swapped: sslyze says not in order), every trust verdict and reason.
    Independent verdict: sslyze's scan; openssl verify's verdicts on the same chains are
    asserted by the tests above."""
    from dataclasses import replace
    from datetime import UTC, datetime

    from certgate.hosts.stores import prepare_trust

    endpoint = served.endpoint(case)
    ours = scanned(served, case, offline=True)[case]
    trust = prepare_trust([served.folder / "root.cer"], served.folder)
    results = sslyze_scan.run_sslyze([endpoint], {endpoint: trust}, TIMEOUT, lambda e, f: None)
    result = results[endpoint]
    assert result is not None
    assert result.scan_result is not None
    certinfo = result.scan_result.certificate_info.result
    assert certinfo is not None
    sslyze_order = certinfo.certificate_deployments[0].received_chain_has_valid_order
    assert ours.chain_order_ok is sslyze_order is (case != "tier4-swapped")
    fetcher = IssuerFetcher(TIMEOUT, True)
    by_sslyze = sslyze_scan.from_result(endpoint, result, trust, datetime.now(UTC), fetcher)
    assert replace(ours, attempts=()) == replace(by_sslyze, attempts=())


# --- the fleet's handshake process reads them as the audit's own threads do ----------------


def test_the_handshake_process_reads_openssl_made_chains_as_the_threads_do(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At fleet size the handshakes are made by a process of their own (hosts/handshake.py):
    on the same openssl-made chains it gives the facts the threads give, without falling back
    to them. Independent verdict: ``openssl verify`` at security level 2 refuses the SHA-1
    leaf and the RSA-1024 leaf, and the facts call both untrusted for that reason."""
    cases = tuple(served.servers)
    handshakes_in(monkeypatch, "threads")
    by_threads = scanned(served, *cases, offline=True)
    handshakes_in(monkeypatch, "child")
    by_process = scanned(served, *cases, offline=True)
    assert by_process == by_threads
    openssl_says = {
        "sha1": (TrustProblem.WEAK_SIGNATURE, "CA signature digest algorithm too weak"),
        "rsa1024": (TrustProblem.WEAK_KEY, "EE certificate key too weak"),
    }
    for case, (problem, reason) in openssl_says.items():
        status, said = openssl_verify(served, case, "uca.cer")
        assert status != 0
        assert reason in said
        assert by_process[case].trusted is False
        assert by_process[case].trust_problems == (problem,)
