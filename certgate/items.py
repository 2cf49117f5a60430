"""Which test items a control has, and which facts each item's fixtures receive."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from certgate.controls import Artifact, Control
from certgate.errors import ArtifactError, NothingToInspect
from certgate.files.facts import CertificateFacts, SubjectFacts, ValidityFacts
from certgate.files.gather import Gatherer, server_source_count, validity_of
from certgate.hosts.facts import Endpoint, EndpointFacts, HardeningFacts
from certgate.hosts.gather import UNRESOLVED
from certgate.inventory import Target
from certgate.pages.facts import PageFacts


@dataclass(frozen=True)
class ItemRef:
    """One test item's subject: a target and the artifact, or the address, it audits.

    ``endpoint`` is set for HOST items (one address of the host name) and PAGE items (with
    ``path``, one listed page at that address); SITE items stand for the host name as a whole.
    """

    target: Target
    artifact: Artifact
    endpoint: Endpoint | None = None
    path: str | None = None

    @property
    def id(self) -> str:
        """The pytest id: ``shop:csr``, ``shop@203.0.113.10:443``,
        ``shop@203.0.113.10:443/checkout`` or ``shop@*``."""
        if self.artifact is Artifact.PAGE and self.endpoint is not None:
            return f"{self.target.name}@{self.endpoint.where}{self.path}"
        if self.artifact is Artifact.HOST and self.endpoint is not None:
            return f"{self.target.name}@{self.endpoint.where}"
        if self.artifact is Artifact.SITE:
            return f"{self.target.name}@*"
        return f"{self.target.name}:{self.artifact.value}"

    @property
    def subject(self) -> str:
        """As results.json writes it: ``csr``, ``203.0.113.10:443``,
        ``203.0.113.10:443/checkout`` or ``*``."""
        if self.artifact is Artifact.PAGE and self.endpoint is not None:
            return f"{self.endpoint.where}{self.path}"
        if self.artifact is Artifact.HOST and self.endpoint is not None:
            return self.endpoint.where
        if self.artifact is Artifact.SITE:
            return "*"
        return str(self.artifact.value)


Resolver = Callable[[Gatherer, Target], object]

# For each facts fixture a check may take, how to get it for each kind of artifact.
# A control has an item for an artifact only when every facts fixture it takes resolves.
RESOLVERS: Mapping[str, Mapping[Artifact, Resolver]] = {
    "csr_file": {Artifact.CSR: lambda g, t: g.csr(t)},
    "csr": {Artifact.CSR: lambda g, t: g.decoded_csr(t)},
    "key": {
        Artifact.CSR: lambda g, t: g.decoded_csr(t).key,
        Artifact.CERTIFICATE: lambda g, t: g.certificate(t).key,
        Artifact.BUNDLE: lambda g, t: g.bundle_server(t).key,
        Artifact.PRIVATE_KEY: lambda g, t: g.private_key(t),
        Artifact.PFX: lambda g, t: g.pfx_key(t),
    },
    "subject": {
        Artifact.CSR: lambda g, t: g.decoded_csr(t).subject,
        Artifact.CERTIFICATE: lambda g, t: g.certificate(t).subject,
        Artifact.BUNDLE: lambda g, t: g.bundle_server(t).subject,
        Artifact.PFX: lambda g, t: g.pfx_server(t).subject,
    },
    "validity": {
        Artifact.CERTIFICATE: lambda g, t: g.certificate_validity(t),
        Artifact.BUNDLE: lambda g, t: g.bundle_validity(t),
        Artifact.CHAIN: lambda g, t: validity_of(g.chain_path(t)),
        Artifact.PFX: lambda g, t: g.pfx_validity(t),
    },
    "leaf": {
        Artifact.CERTIFICATE: lambda g, t: g.certificate(t),
        Artifact.BUNDLE: lambda g, t: g.bundle_server(t),
        Artifact.PFX: lambda g, t: g.pfx_server(t),
    },
    "bundle": {Artifact.BUNDLE: lambda g, t: g.bundle(t)},
    "certification_path": {
        Artifact.BUNDLE: lambda g, t: g.bundle_path(t),
        Artifact.CHAIN: lambda g, t: g.chain_path(t),
        Artifact.PFX: lambda g, t: g.pfx_path(t),
    },
    "pairing": {
        Artifact.PRIVATE_KEY: lambda g, t: g.key_pairing(t),
        Artifact.CSR: lambda g, t: g.csr_pairing(t),
        Artifact.CERTIFICATE: lambda g, t: g.copies_pairing(t),
    },
    "pfx": {Artifact.PFX: lambda g, t: g.pfx(t)},
    "pfx_protection": {Artifact.PFX: lambda g, t: g.pfx_protection(t)},
}
# Items that exist on another condition than the target naming the artifact's file.
# key-match pairs the key and the CSR with a server certificate, so it needs one; its
# `certificate` item compares the server certificate's sources (certificate, cert.zip's
# server.cer, PFX), so it exists when the target gives at least two of them.
APPLIES_WHEN: Mapping[tuple[str, Artifact], Callable[[Target], bool]] = {
    ("pairing", Artifact.PRIVATE_KEY): lambda t: (
        t.has(Artifact.PRIVATE_KEY) and server_source_count(t) > 0
    ),
    ("pairing", Artifact.CSR): lambda t: t.has(Artifact.CSR) and server_source_count(t) > 0,
    ("pairing", Artifact.CERTIFICATE): lambda t: server_source_count(t) > 1,
    # validity judges the chain files with the target's certificate when there is one
    ("validity", Artifact.CHAIN): lambda t: t.has(Artifact.CHAIN) and t.certificate is None,
    # served-expected compares with the target's own certificate: it needs one
    ("expected", Artifact.HOST): lambda t: server_source_count(t) > 0,
}
HostResolver = Callable[[Gatherer, ItemRef], object]

# The hardening profile is opt-in per target (SPEC §2.2); some of its controls are also n/a
# on a declared Windows version (HARDENING.md §A.3: Server 2016/2019 have no TLS 1.3).
HARDENING_APPLIES_WHEN: Mapping[str, Callable[[Target], bool]] = {
    "tls13-offered": lambda t: t.policy.windows_server not in (2016, 2019),
}


def hardening_applies(control: Control, target: Target) -> bool:
    """Whether a hardening-profile control has items for this target."""
    condition = HARDENING_APPLIES_WHEN.get(control.id)
    return target.policy.hardening and (condition is None or condition(target))


def _endpoint(g: Gatherer, ref: ItemRef) -> EndpointFacts:
    assert ref.endpoint is not None
    return g.hosts.facts(ref.target, ref.endpoint)


def _served(g: Gatherer, ref: ItemRef) -> EndpointFacts:
    assert ref.endpoint is not None
    return g.hosts.served(ref.target, ref.endpoint)


def _hardening(g: Gatherer, ref: ItemRef) -> HardeningFacts:
    served = _served(g, ref)
    if served.hardening is None:
        raise ArtifactError(f"{served.endpoint.where}: not scanned with the hardening profile")
    return served.hardening


def _served_leaf(g: Gatherer, ref: ItemRef) -> CertificateFacts:
    leaf = _served(g, ref).leaf
    assert leaf is not None  # a reachable endpoint has served its chain
    return leaf


def _served_validity(g: Gatherer, ref: ItemRef) -> ValidityFacts:
    served = _served(g, ref)
    return ValidityFacts(f"{served.endpoint.label} sent", served.served_chain)


def _page(g: Gatherer, ref: ItemRef) -> PageFacts:
    assert ref.endpoint is not None
    assert ref.path is not None
    unresolved = g.hosts.facts(ref.target, ref.endpoint).error if _unresolved(ref) else None
    return g.pages.judged(ref.target, ref.endpoint, ref.path, unresolved)


def _unresolved(ref: ItemRef) -> bool:
    return ref.endpoint is not None and ref.endpoint.address == UNRESOLVED


def _comparable_addresses(g: Gatherer, ref: ItemRef) -> tuple[EndpointFacts, ...]:
    """Every address's facts, when they can be compared.

    Addresses that answered and already disagree are a finding whatever the others do; when
    those that answered agree but some did not answer, sameness cannot be known: an error.
    """
    facts = tuple(g.hosts.facts(ref.target, e) for e in g.hosts.endpoints(ref.target))
    leaves = {f.leaf.sha256 for f in facts if f.leaf is not None}
    silent = [f for f in facts if not f.reachable]
    if silent and len(leaves) <= 1:
        where = ", ".join(f"{f.endpoint.where} ({f.error})" for f in silent)
        raise ArtifactError(f"cannot compare the addresses: {where}; see https-binding")
    return facts


# What one address of a host serves (HOST), the host name as a whole (SITE), and the pages
# one address serves (PAGE).
HOST_RESOLVERS: Mapping[str, Mapping[Artifact, HostResolver]] = {
    "endpoint": {Artifact.HOST: _endpoint},
    "served": {Artifact.HOST: _served},
    "hardening": {Artifact.HOST: _hardening},
    "key": {Artifact.HOST: lambda g, r: _served_leaf(g, r).key},
    "subject": {Artifact.HOST: lambda g, r: _served_leaf(g, r).subject},
    "validity": {Artifact.HOST: lambda g, r: _served_validity(g, r)},
    "leaf": {Artifact.HOST: _served_leaf},
    "expected": {Artifact.HOST: lambda g, r: g.server_sources(r.target)[0]},
    "addresses": {Artifact.SITE: lambda g, r: _comparable_addresses(g, r)},
    "page": {Artifact.PAGE: _page},
}
_HOSTED = (Artifact.HOST, Artifact.SITE, Artifact.PAGE)

# Fixtures every item can have, whatever its artifact.
TARGET_FIXTURES: Mapping[str, Callable[[Target], object]] = {
    "target": lambda t: t,
    "policy": lambda t: t.policy,
}


def facts_fixtures(argnames: list[str]) -> list[str]:
    """The argument names of a check that certgate parametrizes."""
    known = (RESOLVERS, HOST_RESOLVERS, TARGET_FIXTURES)
    return [n for n in argnames if any(n in table for table in known)]


EndpointsOf = Callable[[Target], tuple[Endpoint, ...]]


def item_refs(
    control: Control, targets: tuple[Target, ...], argnames: list[str], endpoints_of: EndpointsOf
) -> list[ItemRef]:
    """Every item the control has, in inventory order: files, then addresses, then sites."""
    needed = [n for n in argnames if n not in TARGET_FIXTURES]
    refs: list[ItemRef] = []
    for target in targets:
        if control.hardening and not hardening_applies(control, target):
            continue
        for artifact in control.applies_to:
            if artifact in _HOSTED:
                refs.extend(_host_refs(target, artifact, needed, endpoints_of))
            elif all(artifact in RESOLVERS.get(n, {}) for n in needed) and _applies(
                target, artifact, needed
            ):
                refs.append(ItemRef(target, artifact))
    return refs


def _host_refs(
    target: Target, artifact: Artifact, needed: list[str], endpoints_of: EndpointsOf
) -> list[ItemRef]:
    """One item per address (HOST), per address and listed page (PAGE), or one per host name
    with several addresses (SITE)."""
    if target.host is None or not all(artifact in HOST_RESOLVERS.get(n, {}) for n in needed):
        return []
    if not all(condition(target) for condition in _conditions(artifact, needed)):
        return []
    if artifact is Artifact.PAGE and not target.pages:
        return []
    endpoints = endpoints_of(target)
    if artifact is Artifact.PAGE:
        return [ItemRef(target, artifact, e, path) for e in endpoints for path in target.pages]
    if artifact is Artifact.SITE:
        return [ItemRef(target, artifact)] if len(endpoints) > 1 else []
    return [ItemRef(target, artifact, endpoint) for endpoint in endpoints]


def _conditions(artifact: Artifact, needed: list[str]) -> list[Callable[[Target], bool]]:
    """The APPLIES_WHEN conditions of the fixtures a check takes, for this artifact."""
    return [APPLIES_WHEN[(n, artifact)] for n in needed if (n, artifact) in APPLIES_WHEN]


def _applies(target: Target, artifact: Artifact, needed: list[str]) -> bool:
    """Whether the target has this artifact's item: by APPLIES_WHEN, else by having its file."""
    conditions = _conditions(artifact, needed)
    if conditions:
        return all(condition(target) for condition in conditions)
    return target.has(artifact)


def resolve(gatherer: Gatherer, ref: ItemRef, argname: str) -> object:
    """The facts fixture ``argname`` for one item (ArtifactError when it cannot be had,
    NothingToInspect when it holds nothing to judge)."""
    if argname in TARGET_FIXTURES:
        return TARGET_FIXTURES[argname](ref.target)
    if ref.artifact in _HOSTED:
        value = HOST_RESOLVERS[argname][ref.artifact](gatherer, ref)
    else:
        value = RESOLVERS[argname][ref.artifact](gatherer, ref.target)
    hollow = nothing_to_inspect(value)
    if hollow is not None:
        raise NothingToInspect(f"{ref.id}: nothing to inspect: {hollow}")
    return value


def nothing_to_inspect(value: object) -> str | None:
    """Why ``value`` holds nothing a control could judge, or None (SPEC §2.1: nothing
    judged is never a pass)."""
    if isinstance(value, tuple) and not value:
        return "no certificate or address was found"
    if isinstance(value, ValidityFacts) and not value.certificates:
        return f"{value.source} holds no certificate"
    if isinstance(value, SubjectFacts) and not value.attributes:
        return f"the subject of {value.source} is empty"
    return None
