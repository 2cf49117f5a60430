"""certgate.hosts.scan against real TLS servers on loopback: one scan, then one idea per test."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from certgate.hosts import scan, sslyze_scan
from certgate.hosts.facts import (
    AttemptStatus,
    CommandAttempt,
    Endpoint,
    EndpointFacts,
    EndpointStatus,
    TrustProblem,
)
from certgate.hosts.stores import prepare_trust
from certgate.lab import pki, servers
from certgate.lab.demo import Chains
from tests.support.audit import checkout_env
from tests.support.handshakes import handshakes_in

HOST = "www.good.lab"
TIMEOUT = 2.0


def leaf(issuer: pki.Issued, host: str = HOST, **dates: int) -> pki.Issued:
    """A server certificate for ``host``; ``start``/``end`` are days from now."""
    start = pki.now() + timedelta(days=dates.get("start", -1))
    end = pki.now() + timedelta(days=dates.get("end", 396))
    return pki.make_leaf(
        pki.name(C="TW", O="certgate Lab", CN=host),
        issuer,
        key=pki.pooled_key(),
        dns_names=[host],
        not_before=start,
        not_after=end,
    )


def self_signed(host: str) -> x509.Certificate:
    key = pki.pooled_key()
    subject = pki.name(C="TW", O="certgate Lab", CN=host)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(pki.now() - timedelta(days=1))
        .not_valid_after(pki.now() + timedelta(days=90))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .sign(key, hashes.SHA256())
    )


def chain_of(chains: Chains, case: str) -> list[x509.Certificate]:
    """The chain each lab case sends, leaf first."""
    good3, good4 = leaf(chains.uca), leaf(chains.uca_2)
    return {
        "good-3tier": [good3.cert, chains.uca.cert],
        "good-4tier": [good4.cert, chains.uca_2.cert, chains.uca_1.cert],
        "root-sent": [good3.cert, chains.uca.cert, chains.root.cert],
        "leaf-only": [good3.cert],
        "leaf-root": [good3.cert, chains.root.cert],
        "wrong-order": [good4.cert, chains.uca_1.cert, chains.uca_2.cert],
        "missing-uca-1": [good4.cert, chains.uca_2.cert],
        "expired": [leaf(chains.uca, start=-400, end=-10).cert, chains.uca.cert],
        "future": [leaf(chains.uca, start=10, end=400).cert, chains.uca.cert],
        "wrong-name": [leaf(chains.uca, host="other.lab").cert, chains.uca.cert],
        "self-signed": [self_signed(HOST)],
    }[case]


CASES = (
    "good-3tier",
    "good-4tier",
    "root-sent",
    "leaf-only",
    "leaf-root",
    "wrong-order",
    "missing-uca-1",
    "expired",
    "future",
    "wrong-name",
    "self-signed",
)
BROKEN = {
    "refused": servers.ClosedPort,
    "hanging": servers.HangingServer,
    "plain-http": servers.PlainHttpServer,
    "reset": servers.ResettingServer,
}


@pytest.fixture(scope="module")
def roots(chains: Chains, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """The lab's two root files as the CA mails them: root.cer (PEM) and a DER one."""
    folder = tmp_path_factory.mktemp("roots")
    pem = pki.write(folder / "root.cer", chains.root.pem)
    der = pki.write(folder / "root4.cer", pki.cert_der(chains.root4))
    return [pem, der]


@pytest.fixture(scope="module")
def lab(chains: Chains) -> Iterator[dict[str, servers.LabServer]]:
    """Every case served at once, on 127.0.0.2 and up."""
    made: dict[str, servers.LabServer] = {}
    for i, case in enumerate(CASES):
        chain = chain_of(chains, case)
        made[case] = servers.TlsServer(chain, pki.pooled_key(), address=f"127.0.0.{2 + i % 3}")
    for case, kind in BROKEN.items():
        made[case] = kind()
    with servers.serving(*made.values()):
        yield made


@pytest.fixture(scope="module")
def facts(lab: dict[str, servers.LabServer], roots: list[Path]) -> dict[str, EndpointFacts]:
    """One scan of the whole lab, trusting the lab's roots only."""
    endpoints = {case: server.endpoint(HOST) for case, server in lab.items()}
    found = scan.scan(list(endpoints.values()), trust=roots, timeout=TIMEOUT)
    return {case: found[endpoint] for case, endpoint in endpoints.items()}


@pytest.fixture(scope="module")
def mozilla(lab: dict[str, servers.LabServer]) -> dict[str, EndpointFacts]:
    """The good 3-tier site, audited against the Mozilla store sslyze ships."""
    endpoints = {c: lab[c].endpoint(HOST) for c in ("good-3tier", "root-sent")}
    found = scan.scan(list(endpoints.values()), trust=["mozilla"], timeout=TIMEOUT)
    return {case: found[endpoint] for case, endpoint in endpoints.items()}


# --- trusted chains -----------------------------------------------------------------------------


@pytest.mark.parametrize(("case", "length"), [("good-3tier", 3), ("good-4tier", 4)])
def test_good_chain_is_trusted_by_the_root_file(
    facts: dict[str, EndpointFacts], case: str, length: int
) -> None:
    found = facts[case]
    assert found.reachable
    assert found.trusted is True
    assert found.trust_problems == ()
    assert found.trust_reason is None
    assert found.trusted_by == "root.cer, root4.cer"
    assert len(found.verified_chain) == length
    assert found.verified_chain[-1].self_issued
    assert (found.chain_order_ok, found.chain_complete, found.sends_root) == (True, True, False)


def test_served_chain_is_leaf_first_as_sent(
    facts: dict[str, EndpointFacts], chains: Chains
) -> None:
    served = facts["good-4tier"].served_chain
    assert [c.subject.common_name for c in served] == [
        HOST,
        "certgate Lab Global SSL CA 2",
        "certgate Lab Global Sub CA 1",
    ]
    assert served[0].source.startswith(f"{HOST}@127.0.0.")
    assert facts["good-4tier"].tls_version == "TLS_1_3"


def test_root_sent_is_noted_and_still_trusted(facts: dict[str, EndpointFacts]) -> None:
    found = facts["root-sent"]
    assert found.trusted is True
    assert found.sends_root is True
    assert found.chain_order_ok is True


def test_wrong_order_still_validates_but_is_flagged(facts: dict[str, EndpointFacts]) -> None:
    found = facts["wrong-order"]
    assert found.trusted is True
    assert found.chain_order_ok is False


# --- untrusted chains, told apart ---------------------------------------------------------------


def test_leaf_only_is_an_incomplete_chain(facts: dict[str, EndpointFacts]) -> None:
    found = facts["leaf-only"]
    assert found.trusted is False
    assert found.trust_problems == (TrustProblem.INCOMPLETE_CHAIN,)
    assert found.chain_complete is False
    assert found.missing_issuer is not None
    assert "CN=certgate Lab Secure SSL CA" in found.missing_issuer
    assert "is not sent" in (found.trust_reason or "")


def test_leaf_and_root_without_intermediate_is_incomplete(facts: dict[str, EndpointFacts]) -> None:
    found = facts["leaf-root"]
    assert found.trust_problems == (TrustProblem.INCOMPLETE_CHAIN,)
    assert found.sends_root is True
    assert found.chain_order_ok is False


def test_missing_middle_intermediate_is_not_trusted(facts: dict[str, EndpointFacts]) -> None:
    found = facts["missing-uca-1"]
    assert found.trusted is False
    assert found.chain_complete is False
    assert found.trust_problems == (TrustProblem.UNTRUSTED_ROOT,)
    assert "or an intermediate is missing" in (found.trust_reason or "")


def test_expired_leaf(facts: dict[str, EndpointFacts]) -> None:
    found = facts["expired"]
    assert found.trust_problems == (TrustProblem.EXPIRED,)
    assert f"'{HOST}' expired on " in (found.trust_reason or "")
    assert found.chain_complete is True


def test_not_yet_valid_leaf(facts: dict[str, EndpointFacts]) -> None:
    found = facts["future"]
    assert found.trust_problems == (TrustProblem.NOT_YET_VALID,)
    assert f"'{HOST}' is not valid yet: valid from " in (found.trust_reason or "")


def test_wrong_host_name(facts: dict[str, EndpointFacts]) -> None:
    found = facts["wrong-name"]
    assert found.name_matches is False
    assert found.trust_problems == (TrustProblem.NAME_MISMATCH,)
    assert f"the certificate is for other.lab, not {HOST}" in (found.trust_reason or "")


def test_self_signed(facts: dict[str, EndpointFacts]) -> None:
    found = facts["self-signed"]
    assert found.trust_problems == (TrustProblem.UNTRUSTED_ROOT,)
    assert "self-signed" in (found.trust_reason or "")
    assert found.name_matches is True
    assert found.sends_root is False  # the leaf itself is no extra root


def test_mozilla_does_not_trust_the_lab_root(mozilla: dict[str, EndpointFacts]) -> None:
    assert mozilla["good-3tier"].trust_problems == (TrustProblem.UNTRUSTED_ROOT,)
    assert mozilla["root-sent"].trust_problems == (TrustProblem.UNTRUSTED_ROOT,)
    assert "the root 'certgate Lab Root CA' the server sends is not trusted" in (
        mozilla["root-sent"].trust_reason or ""
    )
    assert (mozilla["good-3tier"].trust_reason or "").endswith("(trust: mozilla)")


def test_trust_per_endpoint(lab: dict[str, servers.LabServer], roots: list[Path]) -> None:
    good = lab["good-3tier"].endpoint(HOST)
    other = lab["root-sent"].endpoint(HOST)
    found = scan.scan([good, other], trust=["mozilla"], trust_for={other: roots[:1]})
    assert found[good].trusted is False
    assert found[other].trusted is True


# --- could not audit ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "status", "words"),
    [
        ("refused", EndpointStatus.REFUSED, "connection refused"),
        ("hanging", EndpointStatus.TIMED_OUT, "no TLS answer within 2 s"),
        ("plain-http", EndpointStatus.NOT_TLS, "not with TLS"),
        ("reset", EndpointStatus.RESET, "reset the connection"),
    ],
)
def test_unauditable_endpoint_is_a_state(
    facts: dict[str, EndpointFacts], case: str, status: EndpointStatus, words: str
) -> None:
    found = facts[case]
    assert not found.reachable
    assert found.status is status
    assert words in (found.error or "")
    assert found.served_chain == ()
    assert found.trusted is None


def test_host_name_that_cannot_be_sent_as_sni(lab: dict[str, servers.LabServer]) -> None:
    endpoint = lab["good-3tier"].endpoint("www..lab")
    found = scan.scan([endpoint], trust=["mozilla"])[endpoint]
    assert found.status is EndpointStatus.HANDSHAKE_FAILED
    assert found.error == "cannot send 'www..lab' as SNI: not a valid DNS name"


def test_hanging_port_returns_within_the_timeout(lab: dict[str, servers.LabServer]) -> None:
    began = time.monotonic()
    found = scan.scan([lab["hanging"].endpoint(HOST)], trust=["mozilla"], timeout=1.0)
    assert time.monotonic() - began < 2.5
    assert found[lab["hanging"].endpoint(HOST)].status is EndpointStatus.TIMED_OUT


def test_unresolvable_name() -> None:
    assert scan.resolve("nonexistent.invalid") == (
        [],
        "no such name: nonexistent.invalid does not resolve",
    )


def test_given_addresses_are_used_without_dns() -> None:
    found, error = scan.resolve(
        "nonexistent.invalid", 8443, ["127.0.0.2", "127.0.0.3", "127.0.0.2"]
    )
    assert error is None
    assert found == [
        Endpoint("nonexistent.invalid", "127.0.0.2", 8443),
        Endpoint("nonexistent.invalid", "127.0.0.3", 8443),
    ]


def test_localhost_resolves() -> None:
    found, error = scan.resolve("localhost", 443)
    assert error is None
    assert Endpoint("localhost", "127.0.0.1", 443) in found


# --- configuration and rendering ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("item", "words"),
    [
        ("firefox", "unknown trust store 'firefox'"),
        ("no/such/root.cer", "no/such/root.cer: no such file"),
        (__file__, "not a PEM or DER certificate"),
    ],
)
def test_bad_trust_policy_raises_before_connecting(item: str, words: str) -> None:
    with pytest.raises(scan.ScanConfigError, match=words):
        scan.scan([Endpoint(HOST, "127.0.0.1", 9)], trust=[item])


def test_reproducing_command() -> None:
    assert Endpoint("shop.lab", "203.0.113.10").openssl_command() == (
        "openssl s_client -connect 203.0.113.10:443 -servername shop.lab -showcerts"
    )
    assert Endpoint("shop.lab", "2001:db8::1", 8443).label == "shop.lab@[2001:db8::1]:8443"


def test_the_poll_speed_up_still_takes_effect(lab, roots, monkeypatch):
    """sslyze's scan loop sleeps 0.2 s between looks at its finished jobs; certgate makes it
    look every 20 ms by replacing the loop's ``sleep``. If a new sslyze stops calling it by
    that name, this fails (and the bench would show the 0.2 s again)."""
    from sslyze.scanner import _mass_scanner

    asked: list[float] = []

    def counting(seconds: float) -> None:
        asked.append(seconds)
        time.sleep(min(seconds, sslyze_scan.SSLYZE_POLL_SECONDS))

    monkeypatch.setattr(_mass_scanner, "sleep", time.sleep)  # as sslyze ships it
    monkeypatch.setattr(sslyze_scan, "_short_sleep", counting)
    # sslyze scans an endpoint only for the hardening profile (or a server the handshake could
    # not finish with): ask for the profile; its plain-HTTP port is closed here.
    endpoint = lab["good-3tier"].endpoint(HOST)
    scan.scan([endpoint], trust=roots, timeout=TIMEOUT, hardening={endpoint: 9})
    assert vars(_mass_scanner)["sleep"] is counting
    assert asked, "sslyze's scan loop no longer calls the sleep certgate shortens"
    assert all(seconds >= sslyze_scan.SSLYZE_POLL_SECONDS for seconds in asked)


def test_each_scan_command_has_its_attempt(facts):
    """A status per scan command, as sslyze's ScanCommandAttempt: a command that fails has
    somewhere to go; an address the probe already refused ran none."""
    from certgate.hosts.facts import AttemptStatus, CommandAttempt

    done = CommandAttempt(scan.HANDSHAKE, AttemptStatus.COMPLETED)
    assert facts["good-3tier"].attempts == (done,)
    assert facts["refused"].attempts == ()


# --- the one handshake agrees with sslyze's certificate scan ------------------------------------


@pytest.mark.parametrize("case", CASES)
def test_one_handshake_finds_what_sslyzes_certificate_scan_finds(
    lab: dict[str, servers.LabServer], roots: list[Path], facts: dict[str, EndpointFacts], case: str
) -> None:
    """certgate's own handshake (probe.py) and validation (stores.validate) give the facts
    sslyze's CERTIFICATE_INFO gives for the same server: the chain as sent, its order, every
    trust verdict and reason. Independent verdict: sslyze's scan of the same endpoint."""
    endpoint = lab[case].endpoint(HOST)
    with tempfile.TemporaryDirectory(prefix="certgate-trust-") as folder:
        trust = prepare_trust(roots, Path(folder))
        results = sslyze_scan.run_sslyze([endpoint], {endpoint: trust}, TIMEOUT, lambda e, f: None)
        by_sslyze = sslyze_scan.from_result(endpoint, results[endpoint], trust, pki.now(), None)
    ours = facts[case]
    assert ours.attempts == (CommandAttempt(scan.HANDSHAKE, AttemptStatus.COMPLETED),)
    assert by_sslyze.attempts[0].command == "certificate_info"
    assert replace(ours, attempts=()) == replace(by_sslyze, attempts=())


def rsa_and_ecdsa_server(chains: Chains) -> tuple[servers.TlsServer, pki.Issued]:
    """A server with an ECDSA and an RSA certificate (TLS 1.3 clients get the ECDSA one);
    and its RSA leaf."""
    rsa_leaf = leaf(chains.uca)
    ec_key = pki.pooled_key("ec")
    ec_leaf = pki.make_leaf(
        pki.name(C="TW", O="certgate Lab", CN=HOST),
        chains.uca,
        key=ec_key,
        dns_names=[HOST],
        not_before=pki.now() - timedelta(days=1),
        not_after=pki.now() + timedelta(days=90),
    )
    server = servers.TlsServer(
        [ec_leaf.cert, chains.uca.cert],
        ec_key,
        address="127.0.0.5",
        also=[([rsa_leaf.cert, chains.uca.cert], rsa_leaf.key)],
    )
    return server, rsa_leaf


@pytest.mark.parametrize("handshakes", ["threads", "child"])
def test_a_server_with_rsa_and_ecdsa_certificates_is_audited_on_the_rsa_one(
    chains: Chains, handshakes: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A TLS 1.3 client gets the ECDSA certificate from such a server; the manual's is the RSA
    one, so the handshake asks again as an RSA-only client (as sslyze's scan prefers it),
    whether the handshakes are made in the audit's process or in a process of their own
    (which then answers both: nothing is left to the threads)."""
    handshakes_in(monkeypatch, handshakes)
    server, rsa_leaf = rsa_and_ecdsa_server(chains)
    with servers.serving(server):
        found = scan.scan([server.endpoint(HOST)], trust=["mozilla"], timeout=TIMEOUT)
    facts = found[server.endpoint(HOST)]
    assert facts.reachable
    assert facts.served_chain[0].sha256 == rsa_leaf.cert.fingerprint(hashes.SHA256()).hex().upper()
    assert facts.tls_version == "TLS_1_3"


@pytest.mark.parametrize(("policy", "imported"), [("own roots", False), ("mozilla", True)])
def test_sslyze_is_imported_only_when_a_policy_counts_its_stores(
    lab: dict[str, servers.LabServer], roots: list[Path], policy: str, imported: bool
) -> None:
    """A policy of its own root files never loads sslyze (0.45 s and 9 MiB at start-up,
    bench/README.md); one that counts the Mozilla store reads sslyze's copy of it."""
    endpoint = lab["good-3tier"].endpoint(HOST)
    trust = [str(r) for r in roots] if policy == "own roots" else ["mozilla"]
    code = (
        "import sys\n"
        "from certgate.hosts import scan\n"
        "from certgate.hosts.facts import Endpoint\n"
        f"found = scan.scan([Endpoint{(endpoint.host, endpoint.address, endpoint.port)!r}],"
        f" trust={trust!r}, timeout=2.0)\n"
        "facts = next(iter(found.values()))\n"
        "print(facts.status.name, facts.trusted, 'sslyze' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=checkout_env()
    )
    assert done.stdout.split() == ["OK", str(policy == "own roots"), str(imported)]
