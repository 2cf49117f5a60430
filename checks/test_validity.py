"""Validity (manual 5.7.1.1) and renewal (manual 5.11)."""

from datetime import datetime

from certgate.controls import cite, control, fix
from certgate.files.facts import CertificateFacts, ValidityFacts
from certgate.files.rules import (
    day,
    days_left,
    expiry_phrase,
    validity_fix,
    validity_problems,
)
from certgate.inventory import Policy


@control("validity")
def test_validity(validity: ValidityFacts, now: datetime) -> None:
    """Now is within the validity period of the server certificate and its path (5.7.1.1)."""
    problems = validity_problems(validity, now)
    assert not problems, (
        f"{'; '.join(problems)} (audited {day(now)}); {cite('validity')} requires the validity "
        f"period to include the day audited. {validity_fix(validity, now) or fix('validity')}."
    )


@control("renewal-window")
def test_renewal_window(leaf: CertificateFacts, policy: Policy, now: datetime) -> None:
    """The certificate does not expire within the renewal window (5.11)."""
    assert days_left(leaf, now) >= policy.renewal_warning_days, (
        f"{leaf.source}: {leaf.label()} {expiry_phrase(leaf, now)}; {cite('renewal-window')} "
        "asks to renew "
        "before expiry (the CA's notice comes two months before; policy renewal_warning_days: "
        f"{policy.renewal_warning_days}). {fix('renewal-window')}."
    )
