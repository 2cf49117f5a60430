"""The waivers' own items: an exception in force must still match something audited."""

from datetime import datetime

import pytest

from certgate.waivers import Waiver


@pytest.mark.certgate_waiver
def test_waiver(waiver: Waiver, audited: frozenset[tuple[str, str]], now: datetime) -> None:
    """A waiver is in force and matches an audited (target, control)."""
    assert (waiver.target, waiver.control) in audited, (
        f"waiver of {waiver.control} on {waiver.target} ({waiver.who}) matches no audited "
        "item: no such target, or the control does not apply to it. Correct or remove it "
        "in waivers.yaml."
    )
    assert waiver.active(now), (
        f"waiver of {waiver.control} on {waiver.target} ({waiver.who}) expired on "
        f"{waiver.expires:%Y-%m-%d}: the finding counts again. Fix it, or renew the waiver "
        "with a new justification and end date."
    )
