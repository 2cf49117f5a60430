"""chain-trusted judges as of the run's time (``--now``), not the wall clock sslyze uses."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from certgate.hosts import scan
from certgate.hosts.facts import TrustProblem
from certgate.lab import servers
from tests.integration.test_scan import HOST, TIMEOUT, lab, roots  # noqa: F401 (module fixtures)


def test_a_chain_trusted_today_is_expired_as_of_a_later_now(
    lab: dict[str, servers.LabServer],  # noqa: F811
    roots: list[Path],  # noqa: F811
) -> None:
    endpoint = lab["good-3tier"].endpoint(HOST)
    today = scan.scan([endpoint], trust=roots, timeout=TIMEOUT)[endpoint]
    later = scan.scan(
        [endpoint], trust=roots, timeout=TIMEOUT, now=datetime(2099, 1, 1, tzinfo=UTC)
    )[endpoint]
    assert today.trusted is True
    assert later.trusted is False
    assert TrustProblem.EXPIRED in later.trust_problems
    assert "expired on" in (later.trust_reason or "")
