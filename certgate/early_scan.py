"""The run's one host scan, started while pytest collects when the run keeps every target.

Collecting a fleet's items keeps the processor busy while the scan's handshakes mostly wait
on the network, so starting the scan then overlaps the two (bench/README.md). It starts when
the first of certgate's checks is collected (a run that collects none, someone's own tests,
contacts nothing), and only when the run keeps every item of every target: no
``-k``, ``-m``, ``--deselect``, ``--ignore``, ``--lf`` or stepwise, no test ids or files,
and no plugin outside pytest and certgate that could deselect items itself. ``--shard``
keeps whole targets: the shard scans its own. Any other run plans its scan from the items
it kept, after collecting (certgate/plugin.py). Either way each address is contacted once.

Stopping the run (Ctrl-C) while the scan is under way waits for the handshakes in flight,
each bounded by ``--host-timeout``.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from certgate.hosts.facts import Endpoint
from certgate.hosts.gather import HostGatherer, hardened_port
from certgate.inventory import Target
from certgate.report.progress import ScanProgress
from certgate.stash import EARLY_SCAN, GATHERER, INVENTORY

_SELECTING_OPTIONS = (
    "keyword",
    "markexpr",
    "deselect",
    "ignore",
    "ignore_glob",
    "lf",
    "stepwise",
    "stepwise_skip",
    "collectonly",
)
_SELECTING_HOOKS = ("pytest_collection_modifyitems", "pytest_deselected", "pytest_ignore_collect")


def may_start_early(config: pytest.Config) -> bool:
    """Whether the run keeps every item of every target (see the module's docstring)."""
    if any(getattr(config.option, name, None) for name in _SELECTING_OPTIONS):
        return False
    where = config.invocation_params.dir
    if not all("::" not in arg and (where / arg).is_dir() for arg in config.args):
        return False
    return not any(
        not _own(impl.plugin_name, impl.plugin)
        for hook in _SELECTING_HOOKS
        for impl in getattr(config.hook, hook).get_hookimpls()
    )


def _own(name: str, plugin: object) -> bool:
    """pytest's own plugins and certgate's."""
    module = getattr(plugin, "__module__", None) or getattr(plugin, "__name__", "")
    return name.startswith("certgate") or str(module).startswith(("_pytest.", "certgate."))


def plan_target(hosts: HostGatherer, target: Target, endpoints: Iterable[Endpoint]) -> None:
    """The target's addresses in the run's one scan, judged by its own trust policy, with the
    hardening profile's commands when it asks for them."""
    for endpoint in endpoints:
        hosts.plan(endpoint, target.policy.trust, hardened_port(target))


def start_early(config: pytest.Config) -> None:
    """Plan every address of every host target this run audits and start scanning them."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    hosts = config.stash[GATHERER].hosts
    targets = [
        t
        for t in config.stash[INVENTORY].targets
        if t.host is not None and t.name not in hosts.not_looked_up  # --shard: its own only
    ]
    hosts.resolve_all(targets)
    for target in targets:  # every address of a host target has host items (https-binding)
        plan_target(hosts, target, hosts.endpoints(target))
    planned = hosts.planned()
    if planned:
        progress = ScanProgress(reporter, planned)
        config.stash[EARLY_SCAN] = (hosts.start_scan(progress.update), progress)
