"""One rounding of a date: days are counted between the dates the messages print."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from certgate.files.certificates import certificate_facts
from certgate.files.rules import days_between, days_left, expiry_phrase

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        (NOW, NOW, 0),
        (NOW, NOW + timedelta(hours=11, minutes=59), 0),  # later the same day
        (NOW, NOW + timedelta(hours=12), 1),  # just after midnight: the next date
        (NOW, NOW - timedelta(hours=12, seconds=1), -1),
        (datetime(2026, 11, 20, 23, 59, tzinfo=UTC), NOW, 10),
        (datetime(2026, 11, 20, 0, 1, tzinfo=UTC), NOW, 10),
        # a time given in another zone counts by its UTC date (2026-11-21 01:00+08 is the 20th)
        (datetime(2026, 11, 21, 1, 0, tzinfo=timezone(timedelta(hours=8))), NOW, 10),
    ],
)
def test_days_between_counts_calendar_dates(start, end, days):
    assert days_between(start, end) == days


@pytest.fixture
def cert(chains):
    return certificate_facts(chains.uca.cert, "uca.cer")


def test_one_date_one_count_at_any_time_of_day(cert):
    """Two certificates that expired on 2026-11-20, early and late that day, read the same
    (the bug: "11 days ago" for one and "10 days ago" for the other in one run)."""
    early = replace(cert, not_after=datetime(2026, 11, 20, 0, 30, tzinfo=UTC))
    late = replace(cert, not_after=datetime(2026, 11, 20, 23, 30, tzinfo=UTC))
    assert expiry_phrase(early, NOW) == expiry_phrase(late, NOW)
    assert expiry_phrase(early, NOW) == "expired on 2026-11-20, 10 days ago"
    assert days_left(early, NOW) == days_left(late, NOW) == -10


def test_expiry_phrases_around_today(cert):
    soon = replace(cert, not_after=NOW + timedelta(days=29, hours=11))
    assert expiry_phrase(soon, NOW) == "expires on 2026-12-29, in 29 days"
    assert expiry_phrase(replace(cert, not_after=NOW + timedelta(hours=1)), NOW) == (
        "expires on 2026-11-30, today"
    )
    assert expiry_phrase(replace(cert, not_after=NOW - timedelta(hours=1)), NOW) == (
        "expired on 2026-11-30, today"
    )
    assert expiry_phrase(replace(cert, not_after=NOW - timedelta(days=1)), NOW) == (
        "expired on 2026-11-29, 1 day ago"
    )


def test_days_are_counted_in_one_place():
    """No other module of certgate counts days from a duration."""
    from tests.support.audit import REPO

    counting = [
        f"{path.relative_to(REPO)}:{number}"
        for folder in ("certgate", "checks")
        for path in sorted((REPO / folder).rglob("*.py"))
        if "lab" not in path.parts
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if ".days" in line and "def days_between" not in line
    ]
    assert counting == ["certgate/files/rules.py:" + str(_line_of_days_between())]


def _line_of_days_between() -> int:
    from tests.support.audit import REPO

    lines = (REPO / "certgate" / "files" / "rules.py").read_text("utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("def days_between"))
    return next(i for i, line in enumerate(lines[start:], start + 1) if ".days" in line)
