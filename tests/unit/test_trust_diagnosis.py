"""The trust diagnosis (certgate.hosts.trust) on hand-built chains, without a server: what a
served chain lacks, as of when, and what browsers reject beyond a path."""

from __future__ import annotations

from datetime import timedelta

import pytest
from cryptography import x509

from certgate import x509 as core
from certgate.hosts.facts import TrustProblem
from certgate.hosts.trust import MissingIssuer, diagnose
from certgate.lab import pki
from certgate.lab.demo import Chains

HOST = "www.good.lab"


def anchors(*roots: pki.Issued) -> core.Anchors:
    found: dict[x509.Name, tuple[x509.Certificate, ...]] = {}
    for root in roots:
        found[root.cert.subject] = (*found.get(root.cert.subject, ()), root.cert)
    return found


def leaf(issuer: pki.Issued, host: str = HOST, bits: int = 2048, **days: int) -> pki.Issued:
    start = pki.now() + timedelta(days=days.get("start", -1))
    return pki.make_leaf(
        pki.name(CN=host),
        issuer,
        key=pki.pooled_key("rsa", bits),
        dns_names=[host],
        not_before=start,
        not_after=start + timedelta(days=days.get("days", 397)),
    )


def judge(sent: list[x509.Certificate], trusted: core.Anchors, **kw: object):
    walk = core.issuer_walk(sent[0], sent[1:], trusted)
    return diagnose(walk, HOST, kw.pop("now", pki.now()), kw.pop("validated", True), **kw)  # type: ignore[arg-type]


def test_a_complete_chain_to_an_anchor_is_trusted(chains: Chains):
    assert judge([leaf(chains.uca).cert, chains.uca.cert], anchors(chains.root)) is None


def test_a_missing_intermediate_is_an_incomplete_chain(chains: Chains):
    found = judge([leaf(chains.uca).cert], anchors(chains.root), validated=False)
    assert found is not None
    assert found.problems == (TrustProblem.INCOMPLETE_CHAIN,)
    assert "that issued 'www.good.lab' is not sent" in found.reason


def test_a_missing_upper_intermediate_is_told_apart_by_its_issuer_url(chains: Chains):
    sent = [leaf(chains.uca_2).cert, chains.uca_2.cert]
    plain = judge(sent, anchors(chains.root4), validated=False)
    assert plain is not None
    assert "the root is not trusted or an intermediate is missing" in plain.reason
    fetched = MissingIssuer("http://ca.lab/uca1.cer", chains.uca_1.cert, True, "fetched")
    named = judge(sent, anchors(chains.root4), validated=False, missing=fetched)
    assert named is not None
    assert named.problems == (TrustProblem.INCOMPLETE_CHAIN,)
    assert "certgate Lab" in named.reason


def test_a_root_nobody_trusts(chains: Chains):
    found = judge([leaf(chains.uca).cert, chains.uca.cert, chains.root.cert], {}, validated=False)
    assert found is not None
    assert found.problems == (TrustProblem.UNTRUSTED_ROOT,)


def test_dates_are_judged_as_of_now(chains: Chains):
    sent = [leaf(chains.uca, days=30).cert, chains.uca.cert]
    assert judge(sent, anchors(chains.root)) is None
    later = judge(sent, anchors(chains.root), now=pki.now() + timedelta(days=60))
    assert later is not None
    assert later.problems == (TrustProblem.EXPIRED,)


def test_a_name_mismatch(chains: Chains):
    found = judge([leaf(chains.uca, host="other.lab").cert, chains.uca.cert], anchors(chains.root))
    assert found is not None
    assert found.problems == (TrustProblem.NAME_MISMATCH,)


def test_a_short_key_and_a_sha1_signature_below_the_anchor_are_rejected(chains: Chains):
    weak = leaf(chains.uca, bits=1024)
    sha1 = pki.signed_with_sha1(leaf(chains.uca).cert, chains.uca.key)
    short = judge([weak.cert, chains.uca.cert], anchors(chains.root))
    signed = judge([sha1, chains.uca.cert], anchors(chains.root))
    assert short is not None
    assert short.problems == (TrustProblem.WEAK_KEY,)
    assert signed is not None
    assert signed.problems == (TrustProblem.WEAK_SIGNATURE,)
    assert "'www.good.lab' is signed with SHA1" in signed.reason


def test_a_sha1_self_signature_on_the_anchor_is_not_judged(chains: Chains):
    from certgate.lab.files import sha1_root

    root = sha1_root("certgate Lab Old Root")
    uca = pki.make_intermediate("certgate Lab Old SSL CA", root, key=pki.pooled_key())
    assert judge([leaf(uca).cert, uca.cert, root.cert], anchors(root)) is None


@pytest.mark.parametrize("errors", [["certificate has expired"], []])
def test_a_chain_sslyze_rejects_for_no_reason_found_here_is_other(chains: Chains, errors):
    found = judge(
        [leaf(chains.uca).cert, chains.uca.cert],
        anchors(chains.root),
        validated=False,
        errors=errors,
    )
    assert found is not None
    assert found.problems == (TrustProblem.OTHER,)


def test_a_path_rejected_only_for_its_dates_is_judged_as_of_now(chains: Chains):
    """sslyze validates at the real time; --now moves the dates, nothing else."""
    from certgate.hosts.trust import complete, validated

    sent = [leaf(chains.uca).cert, chains.uca.cert]
    walk = core.issuer_walk(sent[0], sent[1:], anchors(chains.root))
    assert validated(walk, False, ["certificate has expired"])
    assert not validated(walk, False, ["certificate has expired", "unable to get issuer"])
    assert complete(walk, False)
    alone = core.issuer_walk(sent[0], [], anchors(chains.root4))
    assert not validated(alone, False, ["certificate has expired"])
    assert not complete(alone, False)
