"""Gather what hosts serve: resolve every selected host once, scan every address once.

The scan is planned after collection (so ``-k shop`` plans only shop's addresses), or while
pytest collects when the run selects every target (certgate/plugin.py); it runs before the
first test, or the first time any host item asks for its facts: one concurrent scan for the
whole run. sslyze is imported only when a target needs it (certgate/hosts/sslyze_scan.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime

from certgate.errors import ArtifactError
from certgate.hosts.aia import IssuerFetcher
from certgate.hosts.facts import Endpoint, EndpointFacts, EndpointStatus
from certgate.inventory import Target

UNRESOLVED = "unresolved"  # the address of an endpoint whose host name did not resolve


def hardened_port(target: Target) -> int | None:
    """The plain-HTTP port of a target audited with the hardening profile; None without it."""
    return target.http_port if target.policy.hardening else None


class HostGatherer:
    """Endpoints per target (resolved once) and their facts (scanned once)."""

    def __init__(
        self, now: datetime, timeout: float, offline: bool = False, *, look_up: bool = True
    ) -> None:
        self.now = now
        self.timeout = timeout
        # False (--collect-only): no DNS; a name without `addresses` is listed by name.
        self.look_up = look_up
        # Other shards' targets (--shard): listed by name, never looked up by this one.
        self.not_looked_up: frozenset[str] = frozenset()
        # A missing issuer is looked up by its URL (AIA) unless --offline; once per URL.
        self.fetcher = IssuerFetcher(timeout, offline)
        self._endpoints: dict[str, tuple[tuple[Endpoint, ...], str | None]] = {}
        # (address, trust policy) pairs, in plan order; facts are judged per pair
        self._planned: dict[tuple[Endpoint, tuple[str, ...]], None] = {}
        # addresses audited with the hardening profile -> their plain-HTTP port (SPEC §2.2)
        self._hardened: dict[Endpoint, int] = {}
        self._facts: dict[tuple[Endpoint, tuple[str, ...]], EndpointFacts] = {}
        self._errors: dict[tuple[str, ...], str] = {}  # trust policies that cannot be used
        self.scans = 0  # how many scans ran: one per run is the goal (SPEC §6)
        self.scanned = 0  # addresses contacted
        self.seconds = 0.0  # time spent scanning

    def resolve_all(self, targets: Iterable[Target]) -> None:
        """Resolve every host target's addresses, concurrently, once."""
        todo = [t for t in targets if t.host is not None and t.name not in self._endpoints]
        if not todo:
            return
        from certgate.hosts.probe import resolve

        def one(target: Target) -> tuple[list[Endpoint], str | None]:
            assert target.host is not None
            if (not self.look_up or target.name in self.not_looked_up) and not target.addresses:
                return [Endpoint(target.host, target.host, target.port)], None
            return resolve(target.host, target.port, target.addresses, timeout=self.timeout)

        with ThreadPoolExecutor(max_workers=min(32, len(todo))) as pool:
            for target, (found, error) in zip(todo, pool.map(one, todo), strict=True):
                self._record(target, found, error)

    def _record(self, target: Target, found: list[Endpoint], error: str | None) -> None:
        assert target.host is not None
        if error is not None or not found:
            found = [Endpoint(target.host, UNRESOLVED, target.port)]
        self._endpoints[target.name] = (tuple(found), error)

    def endpoints(self, target: Target) -> tuple[Endpoint, ...]:
        """The addresses the target's host name is audited at (one placeholder if none)."""
        self.resolve_all([target])
        return self._endpoints[target.name][0]

    def plan(
        self, endpoint: Endpoint, trust: tuple[str, ...], http_port: int | None = None
    ) -> None:
        """Include ``endpoint`` in the run's one scan, judged against ``trust``; with the
        hardening profile's commands too when ``http_port`` (its plain-HTTP port) is given."""
        if endpoint.address != UNRESOLVED:
            self._planned[(endpoint, trust)] = None
            if http_port is not None:
                self._hardened.setdefault(endpoint, http_port)

    def facts(self, target: Target, endpoint: Endpoint) -> EndpointFacts:
        """What the endpoint served, however far the connection got, judged by the target's
        own trust policy (two targets may share an address and trust different roots)."""
        if endpoint.address == UNRESOLVED:
            reason = self._endpoints[target.name][1] or "the name has no address"
            return EndpointFacts(endpoint, EndpointStatus.UNREACHABLE, error=reason)
        key = (endpoint, target.policy.trust)
        if key not in self._facts:
            self.plan(endpoint, key[1], hardened_port(target))
            self.scan_planned()
        if key not in self._facts:
            raise ArtifactError(self._errors.get(key[1]) or f"{endpoint.where}: not scanned")
        return self._facts[key]

    def planned(self) -> list[Endpoint]:
        """The planned addresses not scanned yet, each once."""
        return list(dict.fromkeys(e for e, t in self._planned if (e, t) not in self._facts))

    def scan_planned(self, progress: Callable[[Endpoint, bool], None] | None = None) -> None:
        """Scan every planned address not scanned yet. Orchestration."""
        self._scan_pairs(self._todo(), progress)

    def start_scan(self, progress: Callable[[Endpoint, bool], None] | None = None) -> Future[None]:
        """Scan every planned address not scanned yet in a thread of its own, while the
        caller goes on (pytest collecting). The thread scans the pairs planned now; a pair
        planned later is left for :meth:`scan_planned` once this one is done."""
        todo = self._todo()
        scanner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="certgate scan")
        started = scanner.submit(self._scan_pairs, todo, progress)
        scanner.shutdown(wait=False)
        return started

    def _todo(self) -> list[tuple[Endpoint, tuple[str, ...]]]:
        return [k for k in self._planned if k not in self._facts and k[1] not in self._errors]

    def _scan_pairs(
        self,
        todo: list[tuple[Endpoint, tuple[str, ...]]],
        progress: Callable[[Endpoint, bool], None] | None,
    ) -> None:
        """One concurrent scan; only an address that two targets judge against different
        trust policies needs a second round (a scan judges each address against one policy).
        """
        while todo:
            batch: list[tuple[Endpoint, tuple[str, ...]]] = []
            later: list[tuple[Endpoint, tuple[str, ...]]] = []
            seen: set[Endpoint] = set()
            for endpoint, trust in todo:
                (later if endpoint in seen else batch).append((endpoint, trust))
                seen.add(endpoint)
            self._scan_batch(batch, progress)
            todo = later

    def _scan_batch(
        self,
        batch: list[tuple[Endpoint, tuple[str, ...]]],
        progress: Callable[[Endpoint, bool], None] | None,
    ) -> None:
        from certgate.hosts.scan import ScanConfigError, scan

        started = time.monotonic()
        try:
            found = scan(
                [e for e, _ in batch],
                trust_for=dict(batch),
                timeout=self.timeout,
                now=self.now,
                progress=progress,
                fetcher=self.fetcher,
                hardening={e: self._hardened[e] for e, _ in batch if e in self._hardened},
            )
        except ScanConfigError as exc:
            self._split_on_bad_trust(batch, str(exc), progress)
            return
        self.scans += 1
        self.scanned += len(batch)
        self.seconds += time.monotonic() - started
        self._facts.update({(e, t): found[e] for e, t in batch})

    def _split_on_bad_trust(
        self,
        batch: list[tuple[Endpoint, tuple[str, ...]]],
        reason: str,
        progress: Callable[[Endpoint, bool], None] | None,
    ) -> None:
        """A trust policy that cannot be used errors its own targets' items, not the others'."""
        from certgate.hosts.scan import ScanConfigError, check_trust

        good = []
        for endpoint, trust in batch:
            try:
                check_trust(trust)
            except ScanConfigError as exc:
                self._errors[trust] = f"trust policy: {exc}"
                continue
            good.append((endpoint, trust))
        if len(good) == len(batch):  # not a trust problem after all
            raise ScanConfigError(reason)
        if good:
            self._scan_batch(good, progress)

    def summary(self) -> str | None:
        """``scanned 14 addresses in 1 scan (2.1 s)``, or None when no host was scanned."""
        if not self.scans:
            return None
        noun = "address" if self.scanned == 1 else "addresses"
        scans = "1 scan" if self.scans == 1 else f"{self.scans} scans"
        return f"scanned {self.scanned} {noun} in {scans} ({self.seconds:.1f} s)"

    def served(self, target: Target, endpoint: Endpoint) -> EndpointFacts:
        """The facts of an endpoint that answered TLS; ArtifactError (could not audit) if not."""
        facts = self.facts(target, endpoint)
        if not facts.reachable:
            raise ArtifactError(
                f"{endpoint.where} ({endpoint.host}): {facts.error}; see https-binding"
            )
        return facts
