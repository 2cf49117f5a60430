"""waivers.yaml: accepted exceptions, each with a justification, an owner and an end date.

A waiver turns a matching *failure* into "waived" (never an error: what could not be audited
cannot be excused). A waiver that has expired, or that matches no audited item, is itself
reported, so exceptions do not outlive their reason.

```yaml
waivers:
  - control: renewal-window
    target: shop
    justification: renewal ordered 2026-11-20, TWCA ticket 12345
    who: it-ops@example.com.tw
    expires: 2026-12-31
```
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from certgate.controls import Control, Severity
from certgate.inventory import load_waiver_entries

# Not a requirement of the manual: the waivers' own items, so that a stale exception fails.
WAIVER_CONTROL = Control(
    "waiver",
    "A waiver is in force and matches an audited item",
    (),
    Severity.FAIL,
    (),
    "Renew the waiver with a new end date and justification, fix the finding, or remove "
    "the waiver from waivers.yaml.",
    "請更新豁免的到期日與理由、修正該項缺失，或自 waivers.yaml 移除此豁免。",
)


@dataclass(frozen=True)
class Waiver:
    """One accepted exception: ``control`` failing on ``target`` is waived until ``expires``."""

    control: str
    target: str
    justification: str
    who: str
    expires: dt.date

    @property
    def id(self) -> str:
        """The test id of the waiver's own item: ``renewal-window@shop``."""
        return f"{self.control}@{self.target}"

    def active(self, now: dt.datetime) -> bool:
        """Still in force on the audit's day (it expires at the end of ``expires``)."""
        return now.date() <= self.expires

    def covers(self, control: str, target: str, now: dt.datetime) -> bool:
        """Whether this waiver excuses a failure of ``control`` on ``target`` now."""
        return self.control == control and self.target == target and self.active(now)

    def note(self) -> str:
        """``waived: <justification> (who, until 2026-12-31)``."""
        return f"waived: {self.justification} ({self.who}, until {self.expires:%Y-%m-%d})"


def load_waivers(path: Path) -> tuple[Waiver, ...]:
    """Read and validate a waivers file; InventoryError lists every problem, one per line."""
    return tuple(Waiver(**entry) for entry in load_waiver_entries(path))
