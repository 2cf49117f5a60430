"""The run's state in ``config.stash`` / ``item.stash``, under typed keys: one place for the
plugin (which fills them) and the report (which reads them)."""

from __future__ import annotations

from concurrent.futures import Future
from datetime import datetime

import pytest

from certgate.controls import Control
from certgate.files.gather import Gatherer
from certgate.inventory import Inventory
from certgate.items import ItemRef
from certgate.report.progress import ScanProgress
from certgate.report.results import Results
from certgate.waivers import Waiver

ACTIVE = pytest.StashKey[bool]()  # this run is an audit
SHIPPED = pytest.StashKey[bool]()  # the run collects the checks shipped in the package
INVENTORY = pytest.StashKey[Inventory]()
GATHERER = pytest.StashKey[Gatherer]()
NOW = pytest.StashKey[datetime]()  # the one UTC time every verdict is judged at
RESULTS = pytest.StashKey[Results]()
ITEM_CONTROL = pytest.StashKey[Control]()
ITEM_REF = pytest.StashKey[ItemRef]()
WARNED = pytest.StashKey[str]()  # a warning control's message, on its item
EMPTY = pytest.StashKey[set[str]]()  # checks no target applies to
WAIVERS = pytest.StashKey[tuple[Waiver, ...]]()
AUDITED = pytest.StashKey[frozenset[tuple[str, str]]]()
SCAN_EARLY = pytest.StashKey[bool]()  # the host scan may start while pytest collects
# the host scan started while pytest collects (early_scan.py), and its progress line
EARLY_SCAN = pytest.StashKey[tuple[Future[None], ScanProgress]]()
