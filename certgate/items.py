"""Which test items a control has, and which facts each item's fixtures receive."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from certgate.controls import Artifact, Control
from certgate.gather import Gatherer
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
    },
    "subject": {
        Artifact.CSR: lambda g, t: g.decoded_csr(t).subject,
        Artifact.CERTIFICATE: lambda g, t: g.certificate(t).subject,
    },
    "certificates": {Artifact.CERTIFICATE: lambda g, t: (g.certificate(t),)},
    "leaf": {Artifact.CERTIFICATE: lambda g, t: g.certificate(t)},
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
        if target.has(artifact) and all(artifact in RESOLVERS[n] for n in needed)
    ]


def resolve(gatherer: Gatherer, ref: ItemRef, argname: str) -> object:
    """The facts fixture ``argname`` for one item (ArtifactError when unreadable)."""
    if argname in TARGET_FIXTURES:
        return TARGET_FIXTURES[argname](ref.target)
    return RESOLVERS[argname][ref.artifact](gatherer, ref.target)
