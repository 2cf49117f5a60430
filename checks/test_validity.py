"""Validity (manual 5.7.1.1) and renewal (manual 5.11)."""

from datetime import datetime

from certgate.controls import control
from certgate.files.facts import CertificateFacts, ValidityFacts
from certgate.files.rules import day, days_left, expiry_phrase, validity_problems
from certgate.inventory import Policy


@control("validity")
def test_validity(validity: ValidityFacts, now: datetime) -> None:
    """Now is within the validity period of the server certificate and its path (5.7.1.1)."""
    problems = validity_problems(validity, now)
    assert not problems, (
        f"{'; '.join(problems)} (audited {day(now)}); manual 5.7.1.1 requires the validity "
        "period to include today. Renew the certificate, or install the CA's current "
        "intermediate certificate."
    )


@control("renewal-window")
def test_renewal_window(leaf: CertificateFacts, policy: Policy, now: datetime) -> None:
    """The certificate does not expire within the renewal window (5.11)."""
    assert days_left(leaf, now) >= policy.renewal_warning_days, (
        f"{leaf.label()} {expiry_phrase(leaf, now)}; manual 5.11 asks to "
        f"renew {policy.renewal_warning_days} days (two months) before expiry. Create a new "
        "certificate request now (manual 5.1-5.8) and apply for renewal."
    )
