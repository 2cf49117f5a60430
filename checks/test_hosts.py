"""What clients see (manual 5.8, 6.1, 6.2): the binding, the chain, the right certificate."""

from certgate.controls import cite, control, fix
from certgate.files.facts import CertificateFacts
from certgate.hosts.facts import EndpointFacts
from certgate.hosts.rules import (
    chain_served_problem,
    describe_groups,
    leaves_by_address,
    likely_causes,
    served_label,
    serves,
    subjects_sent,
    trust_fix,
    what_is_served,
)


@control("https-binding")
def test_https_binding(endpoint: EndpointFacts) -> None:
    """A TLS handshake with SNI succeeds on host:port at this address (5.8)."""
    where = endpoint.endpoint
    assert endpoint.reachable, (
        f"{where.where} ({where.host}): {endpoint.error}; {cite('https-binding')} requires an "
        f"https binding on port {where.port} with the server certificate. "
        f"{fix('https-binding')}."
    )


@control("chain-served")
def test_chain_served(served: EndpointFacts) -> None:
    """The server sends its leaf first, then every intermediate, in order (6.1, 5.5)."""
    problem = chain_served_problem(served)
    assert problem is None, (
        f"{served.endpoint.where} sends {len(served.served_chain)} certificate(s) "
        f"[{subjects_sent(served)}]: {problem.seen}; {cite('chain-served', '6.1')} requires "
        "`openssl s_client -showcerts` to show the server certificate and its "
        f"intermediate(s). {problem.fix}."
    )


@control("chain-trusted")
def test_chain_trusted(served: EndpointFacts) -> None:
    """The served chain validates for the host name against the policy's trust stores."""
    problems = ", ".join(p.value for p in served.trust_problems)
    assert served.trusted, (
        f"{served.endpoint.where} ({served.endpoint.host}): {problems}: {served.trust_reason}; "
        f"{cite('chain-trusted')} requires a "
        "certification path to a trusted root whose status is 'This certificate is OK'. "
        f"Fix: {trust_fix(served.trust_problems)}."
    )


@control("served-expected")
def test_served_expected(served: EndpointFacts, expected: CertificateFacts) -> None:
    """The leaf served is the target's own certificate: the renewal was deployed (6.2)."""
    assert serves(served, expected), (
        f"{what_is_served(served)}, not the target's certificate {served_label(expected)}; "
        f"{cite('served-expected')} requires every server behind the name to serve the new "
        f"certificate; {likely_causes('served-expected')}. {fix('served-expected')}."
    )


@control("consistent-addresses")
def test_consistent_addresses(addresses: tuple[EndpointFacts, ...]) -> None:
    """Every address behind the host name serves the same leaf (6.2.2-6.2.4)."""
    groups = leaves_by_address(addresses)
    assert len(groups) <= 1, (
        f"the addresses behind the name serve {len(groups)} different certificates: "
        f"{describe_groups(groups)}; {cite('consistent-addresses')} requires every server (and "
        "any load balancer or WAF in front) to serve the same, current certificate; "
        f"{likely_causes('consistent-addresses')}. {fix('consistent-addresses')}."
    )
