"""Pure judgements over what hosts served (manual 5.8, 6.1, 6.2). No I/O, no pytest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from certgate.controls import CATALOGUE
from certgate.files.facts import CertificateFacts
from certgate.files.rules import day
from certgate.hosts.facts import EndpointFacts, TrustProblem

# Manual 6.2: why a site may still show the old certificate after renewal.
# Manual 6.2: why a site may still show the old certificate after renewal, by sub-section.
CAUSES = (
    ("6.2.1", "the web service was not restarted after the renewal"),
    ("6.2.2", "one of several servers behind the name was not updated"),
    ("6.2.3", "the certificate was installed on another server"),
    ("6.2.4", "a load balancer or WAF in front holds its own copy"),
    ("6.2.5", "the hosting provider has not installed it"),
)


def likely_causes(control_id: str) -> str:
    """``likely causes: ... (6.2.1); ...`` -- those of manual 6.2 the control cites."""
    control = CATALOGUE[control_id]
    found = [f"{text} ({section})" for section, text in CAUSES if control.owns(section)]
    return "likely causes: " + "; ".join(found)


TRUST_FIXES = {
    TrustProblem.UNTRUSTED_ROOT: (
        "if the issuer named is an intermediate (uca_1.cer of a 4-tier chain), install it in "
        "certlm.msc > Intermediate Certification Authorities on the server and `iisreset`; "
        "if it is a root, install the CA's root.cer in Trusted Root Certification "
        "Authorities on the clients, or use a certificate from a publicly trusted CA"
    ),
    TrustProblem.INCOMPLETE_CHAIN: (
        "install uca.cer (uca_1.cer and uca_2.cer) from cert.zip in certlm.msc > Intermediate "
        "Certification Authorities on the server and restart IIS (iisreset)"
    ),
    TrustProblem.EXPIRED: "renew the certificate and bind the new one",
    TrustProblem.NOT_YET_VALID: "check the server clock, or bind the current certificate",
    TrustProblem.NAME_MISMATCH: (
        "bind the certificate issued for this host name in IIS Manager > Site Bindings, or "
        "re-issue with the name in the Common Name / SAN"
    ),
    TrustProblem.WEAK_KEY: (
        "create a new request with an RSA 2048-bit key and have the CA re-issue; "
        "an intermediate with a short key must be replaced by the CA's current one"
    ),
    TrustProblem.WEAK_SIGNATURE: (
        "ask the CA to re-issue the certificate signed with SHA-256, and install the CA's "
        "current SHA-256 intermediate (cert.zip's uca.cer) in place of the SHA-1 one"
    ),
    TrustProblem.OTHER: "compare the chain with the CA's cert.zip and re-install it",
}


def served_label(cert: CertificateFacts) -> str:
    """``CN=www.a.tw (serial 1A2B, not after 2027-01-31, SHA-256 4F3C...)``."""
    return (
        f"{cert.subject.rfc4514()} (serial {cert.serial}, not after {day(cert.not_after)}, "
        f"SHA-256 {cert.sha256[:16]}...)"
    )


def what_is_served(facts: EndpointFacts) -> str:
    """``127.0.0.2:443 serves CN=...`` or the reason nothing could be read."""
    where = facts.endpoint.where
    if facts.leaf is None:
        return f"{where}: {facts.error or 'no certificate'}"
    return f"{where} serves {served_label(facts.leaf)}"


@dataclass(frozen=True)
class ServedProblem:
    """What is wrong with the chain as sent, and the fix for that finding."""

    seen: str
    fix: str


INSTALL_UCA = (
    "Install uca.cer (uca_1.cer and uca_2.cer) from cert.zip in certlm.msc > Intermediate "
    "Certification Authorities and restart IIS (iisreset)"
)
REORDER = (
    "Remove the old intermediates from certlm.msc > Intermediate Certification Authorities, "
    "install those of the current cert.zip and restart IIS (iisreset)"
)
BIND_LEAF = "Bind the server certificate (not a CA certificate) in IIS Manager > Site Bindings"


def chain_served_problem(facts: EndpointFacts) -> ServedProblem | None:
    """Why the served chain is not leaf-first, complete and in order; None when it is.

    Only what was sent is judged: a certificate sent counts whatever its signature's hash
    (SHA-1 is chain-trusted's judgement).
    """
    chain = facts.served_chain
    if not chain:
        return ServedProblem("no certificate was sent", BIND_LEAF)
    if chain[0].is_ca:
        first = chain[0].subject.rfc4514()
        return ServedProblem(
            f"the first certificate sent is a CA ({first}), not the leaf", BIND_LEAF
        )
    if len(chain) < 2 and not chain[0].self_issued:
        return ServedProblem("only the server certificate is sent, no intermediate", INSTALL_UCA)
    if facts.chain_complete is False and facts.missing_issuer == chain[0].issuer:
        seen = (
            f"the intermediate that issued the server certificate ({chain[0].issuer}) is not sent"
        )
        return ServedProblem(seen, INSTALL_UCA)
    if facts.chain_complete is False:
        return upper_issuer_missing(facts)
    if facts.chain_order_ok is False:
        seen = "the certificates are not in order (each must be followed by its issuer)"
        return ServedProblem(seen, REORDER)
    return None


def upper_issuer_missing(facts: EndpointFacts) -> ServedProblem:
    """The last intermediate sent names an issuer that is neither sent nor trusted."""
    seen = (
        f"the last certificate sent, {facts.missing_from}, was issued by "
        f"'{facts.missing_issuer}', which is neither sent nor a trusted root"
    )
    if facts.issuer_lookup is not None:
        seen = f"{seen} ({facts.issuer_lookup})"
    install_upper = (
        "install the missing intermediate (uca_1.cer of a 4-tier cert.zip) in certlm.msc > "
        "Intermediate Certification Authorities on the server and restart IIS (iisreset)"
    )
    trust_root = (
        "install the CA's root.cer in Trusted Root Certification Authorities on the clients, "
        "or use a certificate from a publicly trusted CA"
    )
    if facts.missing_is_root is False:
        return ServedProblem(seen, install_upper[0].upper() + install_upper[1:])
    if facts.missing_is_root is True:
        return ServedProblem(seen, trust_root[0].upper() + trust_root[1:])
    return ServedProblem(
        seen, f"If it is an intermediate, {install_upper}; if it is the CA's root, {trust_root}"
    )


def subjects_sent(facts: EndpointFacts) -> str:
    """The subjects of the served chain, in the order sent."""
    return " | ".join(c.subject.common_name or c.subject.rfc4514() for c in facts.served_chain)


def trust_fix(problems: Sequence[TrustProblem]) -> str:
    """The fix for the first (most fundamental) trust problem."""
    return TRUST_FIXES[problems[0] if problems else TrustProblem.OTHER]


def serves(facts: EndpointFacts, cert: CertificateFacts) -> bool:
    """The endpoint's leaf is ``cert``, byte for byte (SHA-256 of the DER)."""
    return facts.leaf is not None and facts.leaf.sha256 == cert.sha256


def leaves_by_address(addresses: Sequence[EndpointFacts]) -> dict[str, list[str]]:
    """Served leaf label -> the addresses that serve it (reachable addresses only)."""
    groups: dict[str, list[str]] = {}
    for facts in addresses:
        if facts.leaf is not None:
            groups.setdefault(served_label(facts.leaf), []).append(facts.endpoint.where)
    return groups


def describe_groups(groups: dict[str, list[str]]) -> str:
    """``127.0.0.2:443, 127.0.0.3:443 serve CN=...; 127.0.0.4:443 serves CN=...``."""
    parts = []
    for label, where in groups.items():
        verb = "serves" if len(where) == 1 else "serve"
        parts.append(f"{', '.join(where)} {verb} {label}")
    return "; ".join(parts)
