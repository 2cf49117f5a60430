"""certgate's item protocol: a check item run in one step, reported the way pytest reports it.

pytest runs every item through its setup, call and teardown hooks: fixtures resolved and torn
down, output and logs captured per phase, skip marks evaluated. A certgate check needs none of
that. Its arguments are its target's facts, gathered once per target before the first item,
and it only reads them. At fleet size (12,600 items for 1,000 addresses) pytest's per-phase
machinery was most of the item phase (bench/README.md).

So, through pytest's ``pytest_runtest_protocol`` hook (the one pytest-xdist and
pytest-rerunfailures take over), certgate runs a check item itself:

- setup: the item's facts in place of its parameters (:func:`certgate.plugin.item_funcargs`);
  an artifact that cannot be read makes the setup fail, as under pytest's protocol;
- call: ``item.runtest()``, i.e. pytest's ``pytest_pyfunc_call`` hooks (certgate's own turns a
  warning-level finding into a ComplianceWarning);
- teardown: nothing of its own; what an item before it left set up under pytest's protocol
  (a module, the session) is torn down as pytest's protocol would.

Each phase's report is made by pytest's ``pytest_runtest_makereport`` hooks and logged with
``pytest_runtest_logreport``, so the terminal, junit.xml, report.html, results.json and any
other plugin get the same reports as under pytest's protocol, with two differences: a plain
pass may be reported by its call alone (below), and nothing is captured per phase
(certgate's checks print and log nothing; what a check did print would go to pytest's
session-wide capture, not into its report's sections). pytest's
warnings plugin wraps the protocol hook, so ``-W`` and ``filterwarnings`` apply per item as
before.

A one-step item that passed with nothing to show is reported by its call report alone when
nothing in the run reads the other two (:func:`phases_unread`): its setup and teardown still
run, and an item that did not pass plainly, or whose setup or teardown raised, gets all three
reports, made and logged in pytest's order once its teardown has run (a setup that raised is
reported before the teardown runs, as pytest does). At fleet size the passed
setup and teardown reports were a third of the item phase (bench/README.md); pytest's terminal
files them where only ``--durations`` and the "times" progress style read them (either keeps
every report), and the run's other readers (certgate's own,
pytest's session, cache and step-wise plugins, pytest-html's report wrapper) look at calls and
failures only. With any other reader of reports (pytest's ``--junitxml``, pytest-xdist,
pytest-html's table of passed items, ``--durations``, the "times" style, ``-rp``/``-rP``/``-rA``)
every item gets all three.

Consecutive plain check items run as one batch under a single call of that hook
(``pytest_runtestloop`` is certgate's then): pytest's wrappers of the hook (its warnings
capture, its assertion-message hooks) are set up once for the batch instead of once per item,
which was a fifth of a fleet's item phase (bench/README.md). Each item still gets its own
reports, its own ``pytest_runtest_logstart``/``logfinish``, and the warnings it raised,
recorded under its own id (the warning filters are the same for every plain item: they carry
no ``filterwarnings`` mark; the "shown once" registries are reset per item, as pytest's
per-item capture does). ``-x``/``--maxfail`` stop the batch after the item that decided it.

pytest's own protocol still runs an item when something asks for what it gives: a fixture the
check does not take from certgate (an autouse fixture of a conftest.py), a skip or xfail mark,
a plugin outside pytest and certgate hooking into the phases (pytest-timeout, for example),
``--pdb``, ``--trace`` or ``--setup-show``/``--setup-only``/``--setup-plan``; and for every
item under ``--item-protocol=pytest``.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import pytest

from certgate.report.results import UNLOGGED_SECONDS, passed_plainly, stable_nodeid
from certgate.stash import ITEM_CONTROL

_parse_id: Callable[[str], object] | None
try:  # pytest 9: a report's nodeid is a parsed NodeId, made from a string on every report
    from _pytest.nodeid import coerce_node_id as _parse_id
except ImportError:  # pytest 8: a string
    _parse_id = None

PHASE_HOOKS = ("pytest_runtest_setup", "pytest_runtest_call", "pytest_runtest_teardown")
# Besides certgate's own, only pytest's plugins may hook into the phases; what the one-step
# protocol does without theirs: fixtures (runner; a plain check takes none), output capture
# (capture; checks print nothing), skip and xfail marks (skipping; marked items go pytest's way).
OWN_PHASE_PLUGINS = frozenset({"certgate.plugin"})
SKIP_MARKS = frozenset({"skip", "skipif", "xfail"})
# Besides pytest's own, only certgate's may implement the run's loop or an item's protocol
# for items to be batched; with any other (pytest-xdist, pytest-rerunfailures) every item goes
# through the protocol hook, one by one.
OWN_LOOP_PLUGINS = frozenset({"certgate-protocol"})
# what makes warnings that are "shown once" show again: called before each item of a batch,
# as entering pytest's per-item warnings capture does (None: this Python has no such call,
# and items are not batched)
_reset_once_registries: Callable[[], None] | None = getattr(warnings, "_filters_mutated", None)
_RERAISE = (pytest.exit.Exception, KeyboardInterrupt)
# The hooks that make and read an item's reports, and the modules whose implementations of
# them read nothing from a passed setup or teardown report of a plain check item: pytest's
# terminal (it files them under "": read for --durations and the "times" progress style, each
# of which keeps every report, and for captured output, of which a plain item has none), its
# session, cache, step-wise and logging plugins (failures, and calls that passed), its runner,
# skipping, unittest, tmpdir and subtests plugins (reports of marked items, of failures, of
# unittest cases, of items with a tmp_path, of calls), pytest-html's report wrapper (calls
# only), and certgate's own (calls and failures; a fleet's report.html is given listed items
# only, each with all three).
REPORT_HOOKS = ("pytest_runtest_makereport", "pytest_runtest_logreport", "pytest_report_teststatus")
PHASE_BLIND_MODULES = frozenset(
    {
        "_pytest.terminal",
        "_pytest.main",
        "_pytest.runner",
        "_pytest.skipping",
        "_pytest.unittest",
        "_pytest.cacheprovider",
        "_pytest.stepwise",
        "_pytest.logging",
        "_pytest.tmpdir",
        "_pytest.subtests",
        "pytest_html.plugin",
    }
)

Funcargs = Callable[[pytest.Function], dict[str, object]]


class ItemProtocol:
    """Runs certgate's check items in one step when nothing in the run asks for more."""

    def __init__(self, funcargs: Funcargs, session_values: Mapping[str, object]) -> None:
        self.funcargs = funcargs
        self.known_names = frozenset(session_values)
        self.enabled = True
        self.reason = ""
        self._running: pytest.Item | None = None  # the item in one step now
        self._keywords: dict[str, Literal[1]] = {}  # its keywords, for its three reports
        self._id: object = ""  # and the id they carry
        self._where: dict[object, tuple[str, int | None]] = {}  # a check's file and line
        self._stats: dict[str, list[object]] = {}  # pytest's terminal's reports, by category
        self.count_passes_only = False  # no -rp/-rP/-rA/--durations: passes only counted
        self.keep_phases = False  # --durations: every phase's report is read at the end
        self.batching = False  # consecutive plain items under one protocol call
        self.call_alone = False  # a plain pass reported by its call report alone
        self._config: pytest.Config | None = None  # set once the loop starts
        self._batch: Sequence[pytest.Item] = ()  # the batch the next protocol call runs

    @pytest.hookimpl(tryfirst=True)
    def pytest_itemcollected(self, item: pytest.Item) -> None:
        """Every item of one check function has the same file and line: found once, not
        once per item (pytest's ``location`` reads the function's source position)."""
        function = getattr(item, "function", None)
        if not isinstance(item, pytest.Function) or function is None:
            return
        where = self._where.get(function)
        if where is None:
            self._where[function] = item.location[:2]
        else:  # pytest's own cached value, computed the same way
            item.__dict__["location"] = (*where, _modpath(item))

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Decided once per run: the options and plugins that need pytest's own protocol."""
        self.reason = pytest_protocol_reason(session.config)
        self.enabled = not self.reason
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        self._stats = getattr(reporter, "stats", {})
        option = session.config.option
        shown = set(getattr(option, "reportchars", "") or "") & {"p", "P", "A"}
        times = _ini(session.config, "console_output_style") == "times"
        durations = getattr(option, "durations", None) is not None
        self.count_passes_only = not (shown or times or durations)
        self.keep_phases = durations
        self.batching = self.enabled and can_batch(session.config)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool | None:
        """pytest's loop over the items, with consecutive plain check items handed to one
        protocol call. A run with collection errors or ``--collect-only`` gets pytest's loop,
        as does one where the items are not batched. Whether a plain pass is reported by its
        call alone is decided here, once every plugin has settled what it reads."""
        self._config = session.config
        self._decide_call_alone()
        if not self.batching or session.testsfailed or session.config.option.collectonly:
            return None
        items = session.items
        hook = session.config.hook
        start = 0
        while start < len(items):
            end = start + 1
            if self._batchable(items[start]):
                while end < len(items) and self._batchable(items[end]):
                    end += 1
            self._batch = items[start:end]
            try:
                hook.pytest_runtest_protocol(
                    item=items[start], nextitem=items[end] if end < len(items) else None
                )
            finally:
                self._batch = ()
            if session.shouldfail:
                raise session.Failed(session.shouldfail)
            if session.shouldstop:
                raise session.Interrupted(session.shouldstop)
            start = end
        return True

    def _decide_call_alone(self) -> None:
        config = self._config
        self.call_alone = bool(
            config is not None and self.enabled and self.count_passes_only and phases_unread(config)
        )

    def pytest_plugin_registered(self, plugin: object) -> None:
        """A plugin registered once the items run (by another plugin, at an item's start)
        may read every report from then on: decided again."""
        if self._config is not None:
            self._decide_call_alone()

    def _call_alone_now(self) -> bool:
        return self.call_alone

    def _batchable(self, item: pytest.Item) -> bool:
        """A plain item whose warning filters are the run's (no ``filterwarnings`` mark)."""
        return (
            isinstance(item, pytest.Function)
            and self.plain(item)
            and item.get_closest_marker("filterwarnings") is None
        )

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> bool | None:
        if not (self.enabled and isinstance(item, pytest.Function) and self.plain(item)):
            return None  # pytest's own protocol
        batch = self._batch if self._batch and self._batch[0] is item else (item,)
        if len(batch) == 1:
            self._one(item, nextitem)
            return True
        session = item.session
        with warnings.catch_warnings(record=True) as log:  # under pytest's capture's filters
            for index, each in enumerate(batch):
                after = batch[index + 1] if index + 1 < len(batch) else nextitem
                if _reset_once_registries is not None:
                    _reset_once_registries()
                self._one(each, after)  # type: ignore[arg-type]
                if log:
                    _record_warnings(each, log)
                if session.shouldfail or session.shouldstop:
                    break
        return True

    def _one(self, item: pytest.Function, nextitem: pytest.Item | None) -> None:
        self._running, self._keywords = item, dict.fromkeys(item.keywords, 1)
        self._id = report_id(item)
        try:
            call = run_in_one_step(item, nextitem, self.funcargs, self._call_alone_now)
        finally:
            self._running = None
        self._keep_counts_only(call)

    def _keep_counts_only(self, call: pytest.TestReport | None) -> None:
        """pytest's terminal keeps every report to the end: passed setup and teardown ones
        under "", which it reads only for their captured output (a one-step item captures
        none), and passed ones under "passed", which it counts (and lists under ``-rp``,
        ``-rP``, ``-rA``, the "times" progress style or ``--durations``, which also reads
        the setup and teardown ones). At fleet size that was most of the memory the items
        took (bench/README.md): what nothing reads is dropped, and a passed report stands
        as :data:`COUNTED_PASS` unless it is to be listed."""
        unread = self._stats.get("")
        if unread and not self.keep_phases:
            unread.clear()
        passed = self._stats.get("passed")
        if passed and self.count_passes_only and call is not None and passed[-1] is call:
            passed[-1] = COUNTED_PASS

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> pytest.TestReport | None:
        """A phase of an item in one step that raised nothing: pytest's TestReport as
        ``TestReport.from_item_and_call`` makes it (nothing captured: no capture ran), with
        the item's keywords listed once for its three reports. Anything raised: pytest's."""
        if item is not self._running or call.excinfo is not None:
            return None
        return pytest.TestReport(
            self._id,  # type: ignore[arg-type]
            item.location,
            self._keywords,
            "passed",
            None,
            call.when,  # type: ignore[arg-type]
            (),
            call.duration,
            call.start,
            call.stop,
            item.user_properties,  # copied, as pytest does
        )

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.reason:
            terminalreporter.line(
                f"certgate: items ran through pytest's own protocol ({self.reason})"
            )

    def plain(self, item: pytest.Function) -> bool:
        """A check item that takes only certgate's parameters and session values, unmarked."""
        if ITEM_CONTROL not in item.stash:
            return False
        callspec = getattr(item, "callspec", None)
        params = callspec.params if callspec is not None else {}
        if any(n not in params and n not in self.known_names for n in asked_for(item)):
            return False
        return not any(mark.name in SKIP_MARKS for mark in item.iter_markers())


def _modpath(item: pytest.Function) -> str:
    """``item.getmodpath()``: for an item of a module-level function, its own name (pytest
    walks the item's parents to find that)."""
    return item.name if isinstance(item.parent, pytest.Module) else item.getmodpath()


def report_id(item: pytest.Item) -> object:
    """The id an item's reports carry: certgate's one name for the item (stable_nodeid).
    Where pytest keeps ids parsed (pytest 9's NodeId), the item's own when it is that name,
    else parsed once for the item's three reports."""
    stable = stable_nodeid(item.nodeid)
    if _parse_id is None:
        return stable
    own = getattr(item, "_id", None)
    if own is None:
        return _parse_id(stable)
    if stable == item.nodeid:
        return own
    # the same names and parameters under checks/: only the path is new
    path = stable.partition("::")[0]
    if dataclasses.is_dataclass(own) and not isinstance(own, type):
        return dataclasses.replace(own, path=path)
    return _parse_id(stable)


def asked_for(item: pytest.Function) -> tuple[str, ...]:
    """The fixtures an item asks for itself: its arguments, autouse and usefixtures ones
    (pytest's FuncFixtureInfo; ``item.fixturenames`` adds what those depend on)."""
    return tuple(item._fixtureinfo.initialnames)


def arguments(item: pytest.Function) -> tuple[str, ...]:
    """The check function's own arguments."""
    return tuple(item._fixtureinfo.argnames)


def pytest_protocol_reason(config: pytest.Config) -> str:
    """Why this run needs pytest's own item protocol, or "" when it does not."""
    if config.getoption("item_protocol") == "pytest":
        return "--item-protocol=pytest"
    for option in ("usepdb", "trace", "setupshow", "setuponly", "setupplan"):
        if config.getoption(option, False):
            return f"--{option}"
    for hook in PHASE_HOOKS:
        for impl in getattr(config.hook, hook).get_hookimpls():
            if impl.plugin_name not in OWN_PHASE_PLUGINS and not _is_pytest_own(impl.plugin):
                return f"plugin {impl.plugin_name} hooks {hook}"
    return ""


def can_batch(config: pytest.Config) -> bool:
    """Whether plain items may share one protocol call: no plugin but pytest's and
    certgate's runs the loop or hooks an item's protocol, no ``pytest_assertion_pass``
    implementation, and no per-item faulthandler timeout (pytest sets those two up around
    each protocol call, for its item)."""
    if _reset_once_registries is None:
        return False
    timeout = float(str(_ini(config, "faulthandler_timeout") or 0))
    if timeout > 0:
        return False
    if config.hook.pytest_assertion_pass.get_hookimpls():
        return False  # pytest binds that hook to the item its protocol call was made for
    for hook in ("pytest_runtestloop", "pytest_runtest_protocol"):
        for impl in getattr(config.hook, hook).get_hookimpls():
            if impl.plugin_name not in OWN_LOOP_PLUGINS and not _is_pytest_own(impl.plugin):
                return False
    return True


def phases_unread(config: pytest.Config) -> bool:
    """Whether every implementation of the report hooks is one that reads nothing from a
    plain check item's passed setup and teardown reports (:data:`PHASE_BLIND_MODULES`,
    certgate's own). Judged by the module of the code that runs, not the plugin's name: a
    plugin can hand its hook to another's code (certgate's fleet report.html does)."""
    for hook in REPORT_HOOKS:
        for impl in getattr(config.hook, hook).get_hookimpls():
            module = getattr(impl.function, "__module__", None) or ""
            if module not in PHASE_BLIND_MODULES and not module.startswith("certgate."):
                return False
    return True


def _ini(config: pytest.Config, name: str) -> object:
    """An ini option's value; "" when the plugin that adds it is off (``-p no:terminal``,
    ``-p no:faulthandler``: pytest then does not know the option at all)."""
    try:
        return config.getini(name)
    except ValueError:
        return ""


def _record_warnings(item: pytest.Item, log: list[warnings.WarningMessage]) -> None:
    """The warnings an item of a batch raised, reported under its own id, as pytest's
    per-item capture reports them."""
    for message in log:
        item.ihook.pytest_warning_recorded.call_historic(
            kwargs={
                "warning_message": message,
                "nodeid": item.nodeid,
                "when": "runtest",
                "location": None,
            }
        )
    log.clear()


def _is_pytest_own(plugin: object) -> bool:
    """A plugin object defined by pytest itself (its names vary between versions)."""
    module = getattr(plugin, "__module__", None) or getattr(plugin, "__name__", "")
    return str(module).startswith("_pytest.")


class CountedPass:
    """What pytest's terminal keeps of a passed one-step item it only counts: a passed call
    report with nothing to show (one shared instance)."""

    nodeid = ""
    when = "call"
    outcome = "passed"
    passed = True
    failed = False
    skipped = False
    count_towards_summary = True
    sections: tuple[tuple[str, str], ...] = ()
    user_properties: tuple[tuple[str, object], ...] = ()
    longrepr = None
    duration = 0.0


COUNTED_PASS = CountedPass()


def run_in_one_step(
    item: pytest.Function,
    nextitem: pytest.Item | None,
    funcargs: Funcargs,
    call_alone: Callable[[], bool] = lambda: False,
) -> pytest.TestReport | None:
    """The item's setup, call and teardown, each reported through pytest's hooks; the call's
    report (None when the setup failed). When ``call_alone()`` says so as the item starts
    (after its ``logstart``), a plain pass is reported by its call report alone
    (:func:`phases_unread`)."""
    call = None
    ihook = item.ihook  # looked up once: pytest finds it by the item's path on every access
    ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    try:
        if call_alone():
            call = _call_alone_if_plain(item, nextitem, funcargs, ihook)
        else:
            setup = _phase(item, ihook, "setup", lambda: _set_funcargs(item, funcargs))
            if setup.passed:
                call = _phase(item, ihook, "call", item.runtest)
            _phase(item, ihook, "teardown", lambda: _tear_down_before(item, nextitem))
    finally:
        # as pytest leaves an item: its facts stay with the gatherer, not with the item
        item.funcargs = None  # type: ignore[assignment]
    ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return call


def _call_alone_if_plain(
    item: pytest.Function, nextitem: pytest.Item | None, funcargs: Funcargs, ihook: Any
) -> pytest.TestReport | None:
    """Setup, call and teardown run first; then a plain pass logs its call report alone
    (carrying the seconds of the other two, :data:`UNLOGGED_SECONDS`), and anything else its
    three reports, made and logged in pytest's order. A setup that raised is reported before
    the teardown runs, as pytest does."""
    setup = _run(lambda: _set_funcargs(item, funcargs), "setup")
    if setup.excinfo is not None:  # as pytest: the failed setup, no call, the teardown
        _report(item, ihook, setup)
        _phase(item, ihook, "teardown", lambda: _tear_down_before(item, nextitem))
        return None
    ran = _run(item.runtest, "call")
    call: pytest.TestReport = ihook.pytest_runtest_makereport(item=item, call=ran)
    teardown = _run(lambda: _tear_down_before(item, nextitem), "teardown")
    if teardown.excinfo is None and passed_plainly(call):
        setattr(call, UNLOGGED_SECONDS, setup.duration + teardown.duration)
        ihook.pytest_runtest_logreport(report=call)
        return call
    _report(item, ihook, setup)
    ihook.pytest_runtest_logreport(report=call)
    _report(item, ihook, teardown)
    return call


def _phase(
    item: pytest.Function, ihook: Any, when: str, func: Callable[[], object]
) -> pytest.TestReport:
    return _report(item, ihook, _run(func, when))


def _run(func: Callable[[], object], when: str) -> pytest.CallInfo[object]:
    return pytest.CallInfo.from_call(func, when=when, reraise=_RERAISE)  # type: ignore[arg-type]


def _report(item: pytest.Function, ihook: Any, call: pytest.CallInfo[object]) -> pytest.TestReport:
    report: pytest.TestReport = ihook.pytest_runtest_makereport(item=item, call=call)
    ihook.pytest_runtest_logreport(report=report)
    return report


def _set_funcargs(item: pytest.Function, funcargs: Funcargs) -> None:
    item.funcargs = funcargs(item)


def _tear_down_before(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Nothing of a one-step item's own to tear down; but an item before it that went
    pytest's way may have left its module or session set up: pytest's teardown for what
    ``nextitem`` does not share (``SetupState.teardown_exact``, as pytest's protocol ends)."""
    state = item.session._setupstate
    if state.stack:
        state.teardown_exact(nextitem)
