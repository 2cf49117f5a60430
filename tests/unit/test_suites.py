"""The fast enumeration's removal logic and guard rails, against simulated servers.

A simulated server accepts a set of suites and picks the first one it prefers among those
offered; the slow way (sslyze's) is one offer per suite. Real servers: the comparison with
sslyze's own per-suite scan is in tests/integration/test_hardening_speed.py.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest
from sslyze import ScanCommand, TlsVersionEnum

from certgate.hosts import suites
from certgate.hosts.facts import (
    AcceptedSuite,
    AttemptStatus,
    CommandAttempt,
    Endpoint,
    GroupScan,
    VersionScan,
)
from certgate.hosts.hardening_scan import sslyze_commands
from certgate.hosts.suites import (
    MAX_BUNDLE,
    MAX_PRECHECK,
    Accepted,
    Bundle,
    Client,
    Enumeration,
    Inconsistent,
    Refused,
    Unsettled,
    by_client,
    candidates,
    enumerate_version,
    remove_until_refused,
)


class Server:
    """Accepts ``prefers`` (OpenSSL names, most preferred first); records every offer."""

    def __init__(self, prefers: Sequence[str], liar: str | None = None) -> None:
        self.prefers = list(prefers)
        self.liar = liar  # answers with this suite whatever was offered
        self.offers: list[Bundle] = []

    def __call__(self, bundle: Bundle) -> Accepted | Refused:
        self.offers.append(bundle)
        if self.liar is not None:
            return Accepted(self.liar, None)
        chosen = next((n for n in self.prefers if n in bundle.names), None)
        return Refused("handshake failure") if chosen is None else Accepted(chosen, f"key {chosen}")


def _slow(server: Server, version: TlsVersionEnum) -> set[str]:
    """sslyze's way: one offer per candidate suite, with the client sslyze uses for it."""
    found = set()
    for client in Client:
        for name in by_client(version, client):
            if isinstance(server(Bundle(version, client, (name,))), Accepted):
                found.add(name)
    return found


@pytest.mark.parametrize("version", list(TlsVersionEnum), ids=lambda v: v.name)
def test_removal_finds_what_one_offer_per_suite_finds(version: TlsVersionEnum):
    names = list(candidates(version))
    for seed in range(20):
        rng = random.Random(seed)
        accepted = rng.sample(names, rng.randint(0, min(len(names), 25)))
        fast = Server(accepted)
        found = enumerate_version(fast, version)
        assert sorted(a.name for a in found) == sorted(_slow(Server(accepted), version)), seed
        assert len(fast.offers) <= len(accepted) + 4, (seed, len(fast.offers))
        assert all(a.key == f"key {a.name}" for a in found)  # each with its own handshake's key


def test_a_refused_pre_check_is_the_only_hello_of_a_legacy_version():
    server = Server(["ECDHE-RSA-CHACHA20-POLY1305"])  # not a TLS 1.0 candidate: TLS 1.0 is off
    assert enumerate_version(server, TlsVersionEnum.TLS_1_0) == []
    assert len(server.offers) == 1
    assert set(server.offers[0].names) == set(by_client(TlsVersionEnum.TLS_1_0, Client.LEGACY))


def test_bundles_stay_within_the_clienthello_limits():
    server = Server(list(candidates(TlsVersionEnum.TLS_1_2)))
    enumerate_version(server, TlsVersionEnum.TLS_1_2)
    pre_check, *removal = server.offers
    assert len(pre_check.names) <= MAX_PRECHECK
    assert removal
    assert max(len(b.names) for b in removal) <= MAX_BUNDLE


def test_each_suite_is_offered_by_the_client_sslyze_uses_for_it():
    """TLS 1.2: OpenSSL 1.0.2 for the suites it knows (as sslyze's _tls12_workaround), 1.1.1
    for the rest (CHACHA20, ARIA, CCM); TLS 1.3 only the modern client."""
    legacy = set(by_client(TlsVersionEnum.TLS_1_2, Client.LEGACY))
    modern = set(by_client(TlsVersionEnum.TLS_1_2, Client.MODERN))
    assert "ECDHE-RSA-AES128-GCM-SHA256" in legacy
    assert "ECDHE-RSA-CHACHA20-POLY1305" in modern
    assert legacy | modern == set(candidates(TlsVersionEnum.TLS_1_2))
    assert not legacy & modern
    assert by_client(TlsVersionEnum.TLS_1_3, Client.LEGACY) == ()


def test_a_server_choosing_a_suite_it_was_not_offered_makes_the_version_inconsistent():
    server = Server([], liar="RC4-MD5")
    bundle = Bundle(TlsVersionEnum.TLS_1_2, Client.MODERN, ("ECDHE-RSA-CHACHA20-POLY1305",))
    with pytest.raises(Inconsistent, match="'RC4-MD5', not offered"):
        remove_until_refused(server, bundle)


def test_a_suite_chosen_again_after_its_removal_is_inconsistent():
    class Stuck(Server):
        def __call__(self, bundle: Bundle) -> Accepted | Refused:
            self.offers.append(bundle)
            return Accepted("AES128-SHA", None)

    bundle = Bundle(TlsVersionEnum.TLS_1_0, Client.LEGACY, ("AES128-SHA", "AES256-SHA"))
    with pytest.raises(Inconsistent):
        remove_until_refused(Stuck([]), bundle)


# --- what sslyze is still asked ---------------------------------------------------------------


def _version(label: str, *names: str) -> VersionScan:
    done = CommandAttempt("x", AttemptStatus.COMPLETED)
    return VersionScan(label, done, tuple(AcceptedSuite(n, label, 128) for n in names))


def _enumeration(**accepted: tuple[str, ...]) -> Enumeration:
    labels = ("SSL 2.0", "SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2", "TLS 1.3")
    keys = ("ssl2", "ssl3", "tls10", "tls11", "tls12", "tls13")
    return Enumeration(
        tuple(_version(lab, *accepted.get(k, ())) for lab, k in zip(labels, keys, strict=True))
    )


def test_a_hardened_server_is_not_asked_robot_nor_fallback():
    found = _enumeration(
        tls12=("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",), tls13=("TLS_AES_128_GCM_SHA256",)
    )
    asked = sslyze_commands(found)
    assert ScanCommand.ROBOT not in asked
    assert ScanCommand.TLS_FALLBACK_SCSV not in asked
    assert {ScanCommand.HTTP_HEADERS, ScanCommand.HEARTBLEED, ScanCommand.TLS_COMPRESSION} <= asked
    assert not asked & {ScanCommand.TLS_1_2_CIPHER_SUITES, ScanCommand.SSL_3_0_CIPHER_SUITES}


def test_rsa_key_exchange_asks_robot_and_tls_1_0_asks_fallback():
    rsa = sslyze_commands(_enumeration(tls12=("TLS_RSA_WITH_AES_128_GCM_SHA256",)))
    assert ScanCommand.ROBOT in rsa
    assert ScanCommand.TLS_FALLBACK_SCSV not in rsa
    legacy = sslyze_commands(_enumeration(tls10=("TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",)))
    assert ScanCommand.TLS_FALLBACK_SCSV in legacy
    assert ScanCommand.ROBOT not in legacy


def test_an_unsettled_version_is_asked_of_sslyze_with_robot_and_fallback():
    settled = _enumeration(tls12=("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",)).settled
    found = Enumeration(
        tuple(v for v in settled if v.version != "TLS 1.0"),
        (Unsettled("TLS 1.0", ScanCommand.TLS_1_0_CIPHER_SUITES, "connection reset"),),
    )
    asked = sslyze_commands(found)
    assert {ScanCommand.TLS_1_0_CIPHER_SUITES, ScanCommand.ROBOT} <= asked
    assert ScanCommand.TLS_FALLBACK_SCSV in asked


# --- one handshake: a reset is asked once more, an alert is believed -----------------------------


def _handshakes(monkeypatch: pytest.MonkeyPatch, *answers: Accepted | Refused) -> list[Bundle]:
    asked: list[Bundle] = []
    left = list(answers)

    def once(endpoint: Endpoint, bundle: Bundle, timeout: float) -> Accepted | Refused:
        asked.append(bundle)
        return left.pop(0)

    monkeypatch.setattr(suites, "_handshake_once", once)
    return asked


BUNDLE = Bundle(TlsVersionEnum.TLS_1_2, Client.LEGACY, ("AES128-SHA",))
HERE = Endpoint("www.example.lab", "127.0.0.1", 443)


def test_a_reset_is_asked_once_more_before_it_ends_a_chain(monkeypatch: pytest.MonkeyPatch):
    asked = _handshakes(
        monkeypatch, Refused("Server rejected the connection"), Accepted("AES128-SHA", None)
    )
    assert suites.handshake(HERE, BUNDLE, 1.0) == Accepted("AES128-SHA", None)
    assert len(asked) == 2


def test_a_tls_alert_is_believed_at_once(monkeypatch: pytest.MonkeyPatch):
    asked = _handshakes(monkeypatch, Refused("sslv3 alert handshake failure"))
    assert isinstance(suites.handshake(HERE, BUNDLE, 1.0), Refused)
    assert len(asked) == 1


def test_elliptic_curves_is_asked_of_sslyze_only_when_the_groups_are_not_settled():
    unsettled = _enumeration(tls12=("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",))
    assert ScanCommand.ELLIPTIC_CURVES in sslyze_commands(unsettled)
    settled = Enumeration(unsettled.settled, (), (GroupScan("TLS 1.2", ("X25519",)),))
    assert ScanCommand.ELLIPTIC_CURVES not in sslyze_commands(settled)
