"""Pictures for the report, as inline SVG (nothing fetched, no script): the expiry timeline
of every server certificate the run read, and the outcome bars of every control.

Every text is escaped; each mark carries its values in ``data-*`` attributes, so a test can
hold the picture against results.json.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from certgate.report.results import CertificateDate, Expiry, Outcome, ResultRow

WIDTH = 920
LABEL = 280  # left column for names
ROW = 16
COLOURS = {
    Outcome.PASSED: "#3a9d3a",
    Outcome.FAILED: "#d23c3c",
    Outcome.WARNING: "#e0a020",
    Outcome.ERROR: "#8a4fb8",
    Outcome.WAIVED: "#5b8fd6",
}
EXPIRY_COLOURS = {Expiry.EXPIRED: "#d23c3c", Expiry.RENEW: "#e0a020", Expiry.VALID: "#3a9d3a"}


@dataclass(frozen=True)
class Scale:
    """Dates to x positions over the plot area."""

    start: datetime
    end: datetime

    def x(self, moment: datetime) -> float:
        """The x position of a moment, within the plot area."""
        span = (self.end - self.start).total_seconds() or 1.0
        share = (moment - self.start).total_seconds() / span
        return round(LABEL + share * (WIDTH - LABEL - 20), 1)

    def ticks(self, count: int = 6) -> list[datetime]:
        """Evenly spaced dates to label the axis with."""
        step = (self.end - self.start) / count
        return [self.start + step * i for i in range(count + 1)]


def timeline_svg(
    certificates: Sequence[CertificateDate], as_of: datetime, limit: int | None = None
) -> str:
    """Every server certificate's notAfter on one time axis, soonest first: the renewal
    window shaded, expired ones marked, the ``as_of`` time drawn.

    With ``limit`` (a fleet), certificates valid beyond the renewal window are counted, not
    drawn one by one, and at most ``limit`` rows are drawn, soonest first."""
    if not certificates:
        return '<p class="certgate-none">No server certificate was read in this run.</p>'
    dates = sorted(certificates, key=lambda c: (c.not_after, c.target, c.subject))
    if limit is not None:
        due = [c for c in dates if c.expiry(as_of) is not Expiry.VALID]
        left_out = len(dates) - len(due[:limit])
        note = (
            f'<p class="certgate-timeline-note">{left_out} more certificate(s), valid beyond '
            "the renewal window or past the first rows, are counted in results.json "
            "(certificates), not drawn one by one.</p>"
        )
        if not due:
            return note
        return _timeline(due[:limit], as_of) + (note if left_out else "")
    return _timeline(dates, as_of)


def _timeline(dates: Sequence[CertificateDate], as_of: datetime) -> str:
    window = Counter(c.window_days for c in dates).most_common(1)[0][0]
    scale = _time_scale(dates, as_of, window)
    height = 40 + ROW * len(dates) + 24
    parts = [_window_and_now(scale, as_of, window, height)]
    parts += [_certificate_row(c, i, scale, as_of) for i, c in enumerate(dates)]
    parts += _axis(scale, height)
    return _svg("certgate-timeline", height, "Expiry timeline of server certificates", parts)


def _time_scale(dates: Sequence[CertificateDate], as_of: datetime, window: int) -> Scale:
    earliest = min(min(c.not_after for c in dates), as_of)
    latest = max(max(c.not_after for c in dates), as_of + timedelta(days=window))
    margin = max((latest - earliest) / 20, timedelta(days=7))
    return Scale(earliest - margin, latest + margin)


def _window_and_now(scale: Scale, as_of: datetime, window: int, height: int) -> str:
    left, right = scale.x(as_of), scale.x(as_of + timedelta(days=window))
    bottom = height - 24
    return (
        f'<rect class="renewal-window" x="{left}" y="28" width="{round(right - left, 1)}" '
        f'height="{bottom - 28}" fill="#fde9b8"/>'
        f'<text x="{right + 3}" y="22" font-size="11" fill="#8a6d00">renewal window '
        f"({window} days)</text>"
        f'<line class="as-of" x1="{left}" y1="14" x2="{left}" y2="{bottom}" stroke="#222" '
        'stroke-width="1.5"/>'
        f'<text x="{left}" y="11" font-size="11" text-anchor="middle">as of '
        f"{as_of:%Y-%m-%d}</text>"
    )


def _certificate_row(date: CertificateDate, index: int, scale: Scale, as_of: datetime) -> str:
    y = 40 + ROW * index
    x = scale.x(date.not_after)
    expiry = date.expiry(as_of)
    colour = EXPIRY_COLOURS[expiry]
    label = f"{date.target} · {date.subject}"
    mark = (
        f'<path d="M{x - 5},{y - 5}L{x + 5},{y + 5}M{x - 5},{y + 5}L{x + 5},{y - 5}" '
        f'stroke="{colour}" stroke-width="2.5"/>'
        if expiry is Expiry.EXPIRED
        else f'<circle cx="{x}" cy="{y}" r="4.5" fill="{colour}"/>'
    )
    return (
        f'<g class="cert" data-target="{escape(date.target)}" '
        f'data-subject="{escape(date.subject)}" data-not-after="{date.not_after:%Y-%m-%d}" '
        f'data-expiry="{expiry.value}">'
        f"<title>{escape(label)}: {escape(date.name)} expires {date.not_after:%Y-%m-%d} "
        f"({expiry.value})</title>"
        f'<text x="{LABEL - 8}" y="{y + 4}" font-size="11" text-anchor="end">'
        f"{escape(_short(label))}</text>"
        f'<line x1="{LABEL}" y1="{y}" x2="{x}" y2="{y}" stroke="#ccc"/>{mark}'
        f'<text x="{x + 8}" y="{y + 4}" font-size="10" fill="#555">'
        f"{date.not_after:%Y-%m-%d}</text></g>"
    )


def _axis(scale: Scale, height: int) -> list[str]:
    bottom = height - 24
    parts = [f'<line x1="{LABEL}" y1="{bottom}" x2="{WIDTH - 20}" y2="{bottom}" stroke="#888"/>']
    for tick in scale.ticks():
        x = scale.x(tick)
        parts.append(
            f'<line x1="{x}" y1="{bottom}" x2="{x}" y2="{bottom + 4}" stroke="#888"/>'
            f'<text x="{x}" y="{bottom + 16}" font-size="10" text-anchor="middle">'
            f"{tick:%Y-%m-%d}</text>"
        )
    return parts


def outcome_bars_svg(rows: Sequence[ResultRow], controls: Sequence[str]) -> str:
    """One stacked bar per control: how many of its items came to each outcome."""
    counts = {c: Counter(r.outcome for r in rows if r.control == c) for c in controls}
    shown = [c for c in controls if counts[c]]
    if not shown:
        return ""
    most = max(sum(counts[c].values()) for c in shown)
    height = 20 + ROW * len(shown) + 24
    parts = [_bar(c, counts[c], i, most) for i, c in enumerate(shown)]
    parts.append(_legend(height - 10))
    return _svg("certgate-bars", height, "Outcomes per control", parts)


def _bar(control: str, counts: Counter[Outcome], index: int, most: int) -> str:
    y = 14 + ROW * index
    x = float(LABEL)
    width = WIDTH - LABEL - 240
    segments = []
    for outcome in Outcome:
        if counts[outcome]:
            length = round(width * counts[outcome] / most, 1)
            segments.append(
                f'<rect x="{x}" y="{y - 6}" width="{length}" height="12" '
                f'fill="{COLOURS[outcome]}"><title>{counts[outcome]} {outcome.value}</title></rect>'
            )
            x += length
    data = " ".join(f'data-{o.value}="{counts[o]}"' for o in Outcome)
    tally = ", ".join(f"{counts[o]} {o.value}" for o in Outcome if counts[o])
    return (
        f'<g class="bar" data-control="{escape(control)}" {data}>'
        f'<text x="{LABEL - 8}" y="{y + 4}" font-size="11" text-anchor="end">'
        f"{escape(control)}</text>{''.join(segments)}"
        f'<text x="{x + 6}" y="{y + 4}" font-size="10" fill="#555">{tally}</text></g>'
    )


def _legend(y: int) -> str:
    parts, x = [], LABEL
    for outcome in Outcome:
        parts.append(
            f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{COLOURS[outcome]}"/>'
            f'<text x="{x + 14}" y="{y}" font-size="11">{outcome.value}</text>'
        )
        x += 90
    return "".join(parts)


def _svg(css_id: str, height: int, title: str, parts: list[str]) -> str:
    return (
        f'<svg id="{css_id}" class="certgate-picture" xmlns="http://www.w3.org/2000/svg" '
        f'width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'font-family="sans-serif"><title>{escape(title)}</title>{"".join(parts)}</svg>'
    )


def _short(text: str, limit: int = 44) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
