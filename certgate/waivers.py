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
from typing import Any

import yaml

from certgate.controls import CATALOGUE, Control, Severity
from certgate.inventory import InventoryError

_KEYS = ("control", "target", "justification", "who", "expires")

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
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InventoryError([f"{path}: cannot read the waivers file: {exc.strerror}"]) from None
    except yaml.YAMLError:
        raise InventoryError([f"{path}: not valid YAML"]) from None
    entries = raw.get("waivers") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        raise InventoryError([f"{path}: expected a mapping with a 'waivers:' list"])
    problems: list[str] = []
    waivers = [_waiver(path, i, e, problems) for i, e in enumerate(entries)]
    if problems:
        raise InventoryError(problems)
    return tuple(w for w in waivers if w is not None)


def _waiver(path: Path, index: int, raw: Any, problems: list[str]) -> Waiver | None:
    where = f"{path}: waiver #{index + 1}"
    if not isinstance(raw, dict):
        problems.append(f"{where}: expected a mapping with {', '.join(_KEYS)}")
        return None
    found = len(problems)
    for key in raw:
        if key not in _KEYS:
            problems.append(f"{where}: unknown key {key!r}; known: {', '.join(_KEYS)}")
    for key in _KEYS[:4]:
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            problems.append(f"{where}: key {key!r}: expected a non-empty string")
    if isinstance(raw.get("control"), str) and raw["control"] not in CATALOGUE:
        problems.append(f"{where}: key 'control': no control {raw['control']!r}")
    expires = raw.get("expires")
    if not isinstance(expires, dt.date) or isinstance(expires, dt.datetime):
        problems.append(f"{where}: key 'expires': expected a date like 2026-12-31")
    if len(problems) > found:
        return None
    assert isinstance(expires, dt.date)
    return Waiver(raw["control"], raw["target"], raw["justification"], raw["who"], expires)
