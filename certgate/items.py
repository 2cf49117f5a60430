"""Which test items a control has, and which facts each item's fixtures receive."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from certgate.controls import Artifact, Control
from certgate.gather import Gatherer, server_source_count
from certgate.targets import Target


@dataclass(frozen=True)
class ItemRef:
    """One test item's subject: a target and the artifact (or address) it audits."""

    target: Target
    artifact: Artifact

    @property
    def id(self) -> str:
        """The pytest id: ``shop:csr``."""
        return f"{self.target.name}:{self.artifact.value}"

    @property
    def subject(self) -> str:
        """The subject as results.json writes it: ``csr``."""
        return self.artifact.value


Resolver = Callable[[Gatherer, Target], object]

# For each facts fixture a check may take, how to get it for each kind of artifact.
# A control has an item for an artifact only when every facts fixture it takes resolves.
RESOLVERS: Mapping[str, Mapping[Artifact, Resolver]] = {
    "csr_file": {Artifact.CSR: lambda g, t: g.csr(t)},
    "csr": {Artifact.CSR: lambda g, t: g.decoded_csr(t)},
    "key": {
        Artifact.CSR: lambda g, t: g.decoded_csr(t).key,
        Artifact.CERTIFICATE: lambda g, t: g.certificate(t).key,
        Artifact.PRIVATE_KEY: lambda g, t: g.private_key(t),
        Artifact.PFX: lambda g, t: g.pfx_key(t),
    },
    "subject": {
        Artifact.CSR: lambda g, t: g.decoded_csr(t).subject,
        Artifact.CERTIFICATE: lambda g, t: g.certificate(t).subject,
    },
    "certificates": {
        Artifact.CERTIFICATE: lambda g, t: (g.certificate(t),),
        Artifact.BUNDLE: lambda g, t: g.bundle(t).certificates(),
        Artifact.CHAIN: lambda g, t: g.chain_files(t),
        Artifact.PFX: lambda g, t: g.pfx(t).certificates,
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
}
# Fixtures every item can have, whatever its artifact.
TARGET_FIXTURES: Mapping[str, Callable[[Target], object]] = {
    "target": lambda t: t,
    "policy": lambda t: t.policy,
}


def facts_fixtures(argnames: list[str]) -> list[str]:
    """The argument names of a check that certgate parametrizes."""
    return [n for n in argnames if n in RESOLVERS or n in TARGET_FIXTURES]


def item_refs(control: Control, targets: tuple[Target, ...], argnames: list[str]) -> list[ItemRef]:
    """Every (target, artifact) the control applies to, in inventory order."""
    needed = [n for n in argnames if n in RESOLVERS]
    return [
        ItemRef(target, artifact)
        for target in targets
        for artifact in control.applies_to
        if all(artifact in RESOLVERS[n] for n in needed) and _applies(target, artifact, needed)
    ]


def _applies(target: Target, artifact: Artifact, needed: list[str]) -> bool:
    """Whether the target has this artifact's item: by APPLIES_WHEN, else by having its file."""
    conditions = [APPLIES_WHEN[(n, artifact)] for n in needed if (n, artifact) in APPLIES_WHEN]
    if conditions:
        return all(condition(target) for condition in conditions)
    return target.has(artifact)


def resolve(gatherer: Gatherer, ref: ItemRef, argname: str) -> object:
    """The facts fixture ``argname`` for one item (ArtifactError when unreadable)."""
    if argname in TARGET_FIXTURES:
        return TARGET_FIXTURES[argname](ref.target)
    return RESOLVERS[argname][ref.artifact](gatherer, ref.target)
