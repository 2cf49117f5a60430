"""pytest wiring: options, inventory, parametrization, fixtures, outcomes, results.json.

Loaded into every pytest run of the environment it is installed in (the ``pytest11`` entry
point, see pyproject.toml), so it stays inert unless the run is an audit (:func:`audit_requested`).
State lives in ``config.stash``.
"""

from __future__ import annotations

import functools
import gc
import glob
import importlib.util
import os
import sys
import warnings
from collections.abc import Callable, Generator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from certgate import ComplianceWarning
from certgate.controls import CATALOGUE, Artifact, Severity, finding_severity
from certgate.early_scan import may_start_early, plan_target, start_early
from certgate.errors import ArtifactError
from certgate.files.facts import CertificateFacts
from certgate.files.gather import Gatherer
from certgate.hosts.gather import UNRESOLVED, HostGatherer
from certgate.inventory import Inventory, InventoryError, load_inventory
from certgate.items import ItemRef, facts_fixtures, item_refs, resolve
from certgate.pages.fetch import PageGatherer
from certgate.protocol import ItemProtocol, arguments
from certgate.quick_exit import at_python_exit
from certgate.report.changes import CompareError, EarlierRun, load_earlier
from certgate.report.evidence import hardening_evidence
from certgate.report.junit import JUnitWriter, junit_options_set
from certgate.report.progress import ScanProgress
from certgate.report.results import CertificateDate, Outcome, ResultRow, Results, stable_nodeid
from certgate.stash import (
    ACTIVE,
    AUDITED,
    EARLY_SCAN,
    EMPTY,
    GATHERER,
    INVENTORY,
    ITEM_CONTROL,
    ITEM_REF,
    NOW,
    RESULTS,
    SCAN_EARLY,
    SHIPPED,
    WAIVERS,
    WARNED,
)
from certgate.waivers import WAIVER_CONTROL, Waiver, load_waivers


class CouldNotAudit(pytest.fail.Exception):  # type: ignore[name-defined,misc]
    """The item's input could not be read or reached: the item is an error, never a pass."""

    __module__ = "builtins"  # shown as "CouldNotAudit: reason" in pytest's summary


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("certgate", "certgate compliance audit")
    group.addoption(
        "--waivers",
        default=None,
        metavar="PATH",
        help="accepted exceptions (default: waivers.yaml beside the targets file, if any)",
    )
    group.addoption(
        "--targets",
        default=None,
        metavar="PATH",
        help="inventory to audit (default: targets.yaml in the root directory)",
    )
    group.addoption(
        "--reports-dir",
        default=None,
        metavar="DIR",
        help="where report.html, junit.xml and results.json go (default: reports/)",
    )
    group.addoption(
        "--now",
        default=None,
        metavar="ISO-8601",
        help="audit as if at this UTC time (e.g. 2027-01-01T00:00:00Z)",
    )
    group.addoption(
        "--host-timeout",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="bound on each network step of a host scan (default 5)",
    )
    group.addoption(
        "--compare",
        default=None,
        metavar="PATH",
        help="an earlier results.json: report new failures, fixed items, targets added/removed",
    )
    group.addoption(
        "--offline",
        action="store_true",
        default=False,
        help="never fetch a missing issuer from its URL (AIA caIssuers) to name it",
    )
    group.addoption(
        "--shard",
        default=None,
        metavar="K/N",
        help="audit only shard K of N: every N-th target of the inventory, from the K-th "
        "(merge the shards' results.json with python -m certgate.merge)",
    )
    group.addoption(
        "--item-protocol",
        choices=("certgate", "pytest"),
        default="certgate",
        help="how check items run: in one step (certgate, the default; certgate/protocol.py) "
        "or through pytest's setup, call and teardown hooks (pytest)",
    )
    parser.addini(
        "certgate_targets",
        f"inventory to audit, relative to the root directory (default: {DEFAULT_TARGETS})",
        default="",
    )


DEFAULT_TARGETS = "targets.yaml"


def audit_requested(config: pytest.Config, targets_option: str | None) -> bool:
    """Whether this pytest run is an audit: ``--targets`` given, the ini file names
    ``certgate_targets``, or a ``targets.yaml`` sits in pytest's root directory or in the
    folder pytest was started in.

    The second folder matters when no ini file chose the root directory: pytest picks it
    before it knows certgate's options, so ``--reports-dir DIR`` written with a space makes an
    existing DIR the root directory. Any other run in the same environment (a project's own
    tests, certgate's self-tests) is left alone: no inventory read, no report written.
    """
    if targets_option or config.getini("certgate_targets"):
        return True
    return _default_targets(config) is not None


def _default_targets(config: pytest.Config) -> Path | None:
    """``targets.yaml`` of the root directory; else, when no ini file chose that root
    directory (an existing ``--reports-dir DIR`` did), of the folder pytest was started in."""
    folders = [config.rootpath]
    if config.inipath is None:
        folders.append(config.invocation_params.dir)
    return next((f / DEFAULT_TARGETS for f in folders if (f / DEFAULT_TARGETS).is_file()), None)


def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    """An audit that names no tests of its own (no paths; no ``testpaths`` that apply, so pytest
    would collect the folder it was started in) runs the checks shipped in the package.

    Decided here, before pytest loads the conftest files of its test paths, so that a checkout's
    own conftest.py is loaded at start-up like any root conftest.
    """
    known = early_config.known_args_namespace
    if not audit_requested(early_config, known.targets) or not _names_no_tests(early_config):
        return
    checks = str(shipped_checks())
    args.append(checks)
    known.file_or_dir = [*known.file_or_dir, checks]
    early_config.stash[SHIPPED] = True
    if not known.noconftest:
        for conftest in own_conftests(early_config):
            load_own_conftest(early_config, conftest)


def own_conftests(config: pytest.Config) -> list[Path]:
    """The conftest.py files pytest would load for tests in the folder it was started in
    (the root directory's, then each folder's down to that one), which it does not load for
    checks that live in the package, outside that folder."""
    here, root = config.invocation_params.dir, config.rootpath
    folders = [f for f in (here, *here.parents) if f.is_relative_to(root)][::-1] or [here]
    return [f / "conftest.py" for f in folders if (f / "conftest.py").is_file()]


def load_own_conftest(config: pytest.Config, path: Path) -> None:
    """An administrator's conftest.py, loaded as a plugin of the whole run (its hooks and
    fixtures apply to every check; its ``pytest_plugins`` are loaded too), imported as pytest
    imports one by default: its folder first on ``sys.path``, so its own modules import. One
    that cannot be imported stops the run with a one-line usage error (exit 4)."""
    # a name that does not end in "conftest.py": pytest scopes the fixtures of a plugin so
    # named to its folder, which holds none of the checks
    name = f"certgate-own-conftest ({path})"
    if config.pluginmanager.has_plugin(str(path)) or config.pluginmanager.has_plugin(name):
        return  # pytest loaded it itself, or certgate did
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    module_name = f"certgate_own_conftest_{sum(1 for m in sys.modules if 'own_conftest' in m)}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the admin's code: any error, said in one line
        del sys.modules[module_name]
        detail = f"{type(exc).__name__}: {exc}".splitlines()[0]
        raise pytest.UsageError(f"certgate: cannot load {path}: {detail}") from None
    config.pluginmanager.register(module, name)  # its pytest_plugins too, as pytest does


def _names_no_tests(config: pytest.Config) -> bool:
    """Whether the audit names no checks of its own: no paths on the command line, and no
    ``testpaths`` that lead to the checks (a project's own ``testpaths = tests`` are its
    tests, not an audit: an admin's repository with both audits with the shipped checks)."""
    known = config.known_args_namespace
    if known.file_or_dir:
        return False
    if config.invocation_params.dir != config.rootpath:
        return True  # pytest applies testpaths only when started in the root directory
    testpaths: list[str] = config.getini("testpaths")
    found = [
        Path(config.rootpath, match).resolve()
        for pattern in testpaths
        for match in glob.glob(pattern, root_dir=config.rootpath, recursive=True)
    ]
    return shipped_checks().resolve() not in found


def _active(config: pytest.Config) -> bool:
    return config.stash.get(ACTIVE, False)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> Generator[None, object, object]:
    """An audit run by the pytest command ends without Python freeing every object
    (certgate/quick_exit.py)."""
    _RUNNING.append(config)
    try:
        status = yield
    finally:
        _RUNNING.remove(config)
    if _active(config):
        at_python_exit(status, outermost=not _RUNNING)
    return status


_RUNNING: list[pytest.Config] = []  # the pytest runs in progress in this process, outermost first


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if not audit_requested(config, config.getoption("targets")):
        _refuse_audit_options(config)
        return
    config.stash[ACTIVE] = True
    config.addinivalue_line("markers", "certgate_control(id): the catalogue control a check tests")
    config.addinivalue_line("markers", "certgate_waiver: the check of each waiver's own item")
    started = datetime.now(UTC)
    config.stash[NOW] = _now(config, started)
    config.stash[INVENTORY] = _load(config)
    config.stash[WAIVERS] = _load_waivers(config)
    config.stash[AUDITED] = frozenset()
    if config.getoption("strict", False):  # pytest's own --strict: strict compliance too
        config.addinivalue_line("filterwarnings", "error::certgate.ComplianceWarning")
    hosts = HostGatherer(
        config.stash[NOW],
        timeout=config.getoption("host_timeout"),
        offline=config.getoption("offline"),
        look_up=not config.option.collectonly,  # listing items contacts nothing, DNS included
    )
    pages = PageGatherer(timeout=config.getoption("host_timeout"))
    config.add_cleanup(pages.close)
    config.stash[GATHERER] = Gatherer(hosts, pages)
    config.stash[EMPTY] = set()
    reports = _reports_dir(config)
    config.stash[RESULTS] = Results(
        started=started,
        as_of=config.stash[NOW],
        targets_file=_targets_path(config),
        path=reports / "results.json",
        earlier=_load_earlier(config),
    )
    _default_outputs(config, reports)
    _shipped_checks_display(config)
    _register_shard(config)
    config.pluginmanager.register(
        Recorder(config.stash[RESULTS], config.stash[GATHERER].hosts), "certgate-results"
    )
    config.pluginmanager.register(ItemProtocol(item_funcargs, SESSION_VALUES), "certgate-protocol")
    if config.pluginmanager.hasplugin("html"):
        from certgate.report.html import HtmlReport

        config.pluginmanager.register(HtmlReport(config), "certgate-html")


def _register_shard(config: pytest.Config) -> None:
    """``--shard K/N``: this run audits every N-th target (certgate/shard.py)."""
    given: str | None = config.getoption("shard")
    if given is None:
        return
    from certgate.shard import Shard, ShardSelector

    selector = ShardSelector(
        Shard.parse(given), config.stash[INVENTORY], config.stash[WAIVERS], config.stash[RESULTS]
    )
    config.stash[GATHERER].hosts.not_looked_up = selector.others()
    config.pluginmanager.register(selector, "certgate-shard")


def _refuse_audit_options(config: pytest.Config) -> None:
    """An audit option in a run that audits nothing is a mistake: say so (exit 4)."""
    for name in ("waivers", "reports_dir", "now", "shard", "compare"):
        if config.getoption(name) is not None:
            raise pytest.UsageError(
                f"--{name.replace('_', '-')} is a certgate audit option, but this run audits "
                f"nothing: give --targets PATH, or run where {DEFAULT_TARGETS} is"
            )


def _load_earlier(config: pytest.Config) -> EarlierRun | None:
    """``--compare PATH``: the earlier results.json, read before anything is audited."""
    given: str | None = config.getoption("compare")
    if not given:
        return None
    try:
        return load_earlier(config.invocation_params.dir / given)
    except CompareError as exc:
        raise pytest.UsageError(str(exc)) from None


def _targets_path(config: pytest.Config) -> Path:
    """``--targets`` relative to where pytest was started; else the ini's or the default
    ``targets.yaml``, relative to the root directory."""
    given: str | None = config.getoption("targets")
    if given:
        return Path(os.path.normpath(config.invocation_params.dir / given))
    named: str = config.getini("certgate_targets")
    found = config.rootpath / named if named else _default_targets(config)
    return Path(os.path.normpath(found or config.rootpath / DEFAULT_TARGETS))


def _reports_dir(config: pytest.Config) -> Path:
    """``--reports-dir`` or ``reports/``, relative to where pytest was started.

    Not the root directory: for ``--targets PATH`` written with a space pytest picks its root
    directory from PATH before it knows the option takes a value, so the two spellings would
    write to different places.
    """
    given = config.getoption("reports_dir") or "reports"
    return (config.invocation_params.dir / given).resolve()


def shipped_checks() -> Path:
    """The folder of the checks that ship with certgate (the package ``certgate.checks``)."""
    spec = importlib.util.find_spec("certgate.checks")
    if spec is None or not spec.submodule_search_locations:
        raise pytest.UsageError("certgate's checks are not installed: pip install certgate")
    return Path(next(iter(spec.submodule_search_locations)))


def _shipped_checks_display(config: pytest.Config) -> None:
    """Running the shipped checks, show what the repository's pyproject.toml asks for: one line
    per finding (``-ra``), no tracebacks, unless the command line says otherwise."""
    if not config.stash.get(SHIPPED, False):
        return
    option = config.option  # without pytest's terminal (-p no:terminal) neither is known
    if getattr(option, "tbstyle", None) == "auto":
        option.tbstyle = "no"
    if getattr(option, "reportchars", None) == "fE":  # pytest's default: failures and errors
        option.reportchars = "a"


def _default_outputs(config: pytest.Config, reports: Path) -> None:
    """Write report.html and junit.xml under reports/ unless told otherwise (junit.xml by
    certgate/report/junit.py, in pytest's layout)."""
    if config.option.collectonly:
        return  # listing the items audits nothing: keep the last audit's reports
    reports.mkdir(parents=True, exist_ok=True)
    if getattr(config.option, "htmlpath", "unset") is None:
        config.option.htmlpath = str(reports / "report.html")
        config.option.self_contained_html = True
    if getattr(config.option, "xmlpath", "unset") is not None:
        return  # --junitxml PATH: pytest's writer
    if junit_options_set(config):  # junit_* options ask for what pytest's writer does
        config.option.xmlpath = str(reports / "junit.xml")
    else:
        config.pluginmanager.register(JUnitWriter(reports / "junit.xml"), "certgate-junit")


def _load(config: pytest.Config) -> Inventory:
    """Validate the inventory before anything else runs; exit 4 listing every problem."""
    path = _targets_path(config)
    try:
        return load_inventory(path, prepare_lab=lambda folder: _prepare_lab(config, folder))
    except InventoryError as exc:
        count = len(exc.problems)
        noun = "problem" if count == 1 else "problems"
        _remove_stale_reports(_reports_dir(config))
        pytest.exit(
            f"{path} has {count} {noun}; nothing was audited:\n" + "\n".join(exc.problems),
            returncode=pytest.ExitCode.USAGE_ERROR,
        )


def _remove_stale_reports(reports: Path) -> None:
    """Nothing was audited: a previous run's reports must not pass for this one's (CI)."""
    for name in ("report.html", "junit.xml", "results.json"):
        (reports / name).unlink(missing_ok=True)


def _prepare_lab(config: pytest.Config, folder: Path) -> None:
    """The inventory is the demo lab's: build it when missing or stale, serve its hosts."""
    from certgate.lab.demo import ensure_lab, serve_lab, use_lab_passwords

    ensure_lab(folder)
    use_lab_passwords()  # the lab's documented demo PFX/key passwords, for lab runs only
    for server in serve_lab(folder):
        config.add_cleanup(server.stop)


def _load_waivers(config: pytest.Config) -> tuple[Waiver, ...]:
    """The waivers file, if any; exit 4 listing every problem, like the targets file."""
    given = config.getoption("waivers")
    folder = config.stash[INVENTORY].path.parent
    path = config.invocation_params.dir / given if given else folder / "waivers.yaml"
    if not given and not path.is_file():
        return ()
    try:
        return load_waivers(path)
    except InventoryError as exc:
        _remove_stale_reports(_reports_dir(config))
        pytest.exit(
            f"{path} has problems; nothing was audited:\n" + "\n".join(exc.problems),
            returncode=pytest.ExitCode.USAGE_ERROR,
        )


def _now(config: pytest.Config, started: datetime) -> datetime:
    """The time every verdict is judged at: ``--now`` when given, else the run's start."""
    given = config.getoption("now")
    if not given:
        return started
    try:
        moment = datetime.fromisoformat(given.replace("Z", "+00:00"))
    except ValueError:
        raise pytest.UsageError(f"--now {given!r}: expected an ISO-8601 time") from None
    # In UTC, as every verdict, results.json and the report print it (+08:00 is Taipei's).
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- parametrization -------------------------------------------------------------------------


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if not _active(metafunc.config):
        return
    if metafunc.definition.get_closest_marker("certgate_waiver") is not None:
        waivers = metafunc.config.stash[WAIVERS]
        if not waivers:
            metafunc.config.stash[EMPTY].add(metafunc.definition.nodeid)
        metafunc.parametrize("waiver", waivers, ids=[w.id for w in waivers])
        return
    marker = metafunc.definition.get_closest_marker("certgate_control")
    if marker is None:
        return
    control = CATALOGUE[marker.args[0]]
    if metafunc.config.stash.get(SCAN_EARLY, False):
        # the first of certgate's checks being collected: the run audits, scan from now
        metafunc.config.stash[SCAN_EARLY] = False
        start_early(metafunc.config)
    argnames = facts_fixtures(list(metafunc.fixturenames))
    inventory = metafunc.config.stash[INVENTORY]
    hosts = metafunc.config.stash[GATHERER].hosts
    if any(a in (Artifact.HOST, Artifact.SITE, Artifact.PAGE) for a in control.applies_to):
        hosts.resolve_all(inventory.targets)  # all names at once, concurrently
    refs = item_refs(control, inventory.targets, argnames, hosts.endpoints)
    if not refs:  # not applicable anywhere: the item is not generated at all
        metafunc.config.stash[EMPTY].add(metafunc.definition.nodeid)
    # Each argument holds the item's ItemRef; pytest_runtest_setup turns it into the facts.
    # (Direct parameters, not indirect fixtures: a fleet has tens of thousands of items, and
    # a fixture per fact per item was a quarter of the item phase, bench/README.md.)
    metafunc.parametrize(
        argnames, [tuple(ref for _ in argnames) for ref in refs], ids=[ref.id for ref in refs]
    )


@pytest.hookimpl(wrapper=True)
def pytest_pycollect_makeitem(
    collector: pytest.Module | pytest.Class, name: str, obj: object
) -> Generator[None, object, object]:
    """A check that applies to no target has no items: none is collected, so the terminal's
    collected / selected / deselected counts add up to the items that ran."""
    made = yield
    if not _active(collector.config) or not isinstance(made, list):
        return made
    empty = collector.config.stash[EMPTY]
    return [i for i in made if not (isinstance(i, pytest.Item) and _definition(i) in empty)]


def _definition(item: pytest.Item) -> str:
    return item.nodeid.split("[")[0]


@pytest.hookimpl(tryfirst=True)  # before `-k` deselection: see the whole inventory
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if not _active(config):
        return
    if items and not any(ITEM_CONTROL in item.stash for item in items):
        # A gate must never pass on tests that are not the audit's (a project's own tests).
        pytest.exit(
            "certgate: an audit was asked for (--targets or targets.yaml) but the tests "
            f"collected ({items[0].nodeid}, ...) hold none of certgate's checks; run pytest "
            "with no test paths to use the checks certgate ships",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )
    config.stash[AUDITED] = frozenset(
        (ref.target.name, i.stash[ITEM_CONTROL].id)
        for i in items
        if (ref := i.stash.get(ITEM_REF, None)) is not None
    )


@pytest.hookimpl(tryfirst=True)
def pytest_collection(session: pytest.Session) -> None:
    """No garbage collection while pytest collects; whether the host scan may start while it
    does (certgate/early_scan.py)."""
    config = session.config
    if not _active(config):
        return
    # Collecting makes tens of thousands of objects that live to the end and no garbage:
    # the collector's passes over them were a third of a fleet's collection time
    # (bench/README.md); it runs again, with them frozen, once collection is done.
    gc.disable()
    config.add_cleanup(gc.enable)
    config.stash[SCAN_EARLY] = may_start_early(config)


@pytest.hookimpl(trylast=True)  # after `-k`/`-m` deselection: plan only what will run
def pytest_collection_finish(session: pytest.Session) -> None:
    if not _active(session.config):
        return
    hosts = session.config.stash[GATHERER].hosts
    pages = session.config.stash[GATHERER].pages
    for item in session.items:
        ref = item.stash.get(ITEM_REF, None)
        if ref is not None and ref.artifact is Artifact.PAGE and ref.endpoint and ref.path:
            if ref.endpoint.address != UNRESOLVED:
                pages.plan(ref.target, ref.endpoint, ref.path)
            continue
        if ref is None or ref.artifact not in (Artifact.HOST, Artifact.SITE):
            continue
        endpoints = (ref.endpoint,) if ref.endpoint else hosts.endpoints(ref.target)
        plan_target(hosts, ref.target, endpoints)
    # Everything collected lives until the end of the run: keep the garbage collector from
    # walking it again and again (a measurable share of a 50-host audit, bench/README.md).
    # No collection first: the little garbage made meanwhile (2,120 objects at 1,000
    # addresses, where a full pass over the collected items took 0.13 s) is frozen with it
    # and freed at exit; what the scan and the items make next is collected as usual.
    gc.freeze()
    gc.enable()
    session.config.add_cleanup(gc.unfreeze)
    pages.start()  # in the background, alongside the host scan
    _scan_hosts(session.config, hosts, pages)


def _scan_hosts(config: pytest.Config, hosts: HostGatherer, pages: PageGatherer) -> None:
    """The run's one host scan and the page fetches, before the first test, with a progress
    line (tests would otherwise wait on them one by one, silently)."""
    early = config.stash.get(EARLY_SCAN, None)
    if early is not None:  # started while pytest collected
        running, progress = early
        progress.pages = pages.status

        def finish() -> None:
            running.result()  # its errors are raised here
            progress.add(hosts.planned())  # anything the items planned beyond it
            hosts.scan_planned(progress.update)
            pages.wait()

        progress.run(finish)
        return
    planned = hosts.planned()
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if (not planned and not pages.status()[1]) or reporter is None or config.option.collectonly:
        return  # scanned lazily by the first item that needs it, if any runs
    progress = ScanProgress(reporter, planned, pages.status)

    def work() -> None:
        hosts.scan_planned(progress.update)
        pages.wait()

    progress.run(work)


@pytest.hookimpl(tryfirst=True)
def pytest_itemcollected(item: pytest.Item) -> None:
    if not _active(item.config):
        return
    callspec = getattr(item, "callspec", None)
    waiver = callspec.params.get("waiver") if callspec is not None else None
    if isinstance(waiver, Waiver):
        item.stash[ITEM_CONTROL] = WAIVER_CONTROL
        item.user_properties.extend(
            [
                ("control", "waiver"),
                ("manual", ""),
                ("target", waiver.target),
                ("subject", waiver.control),
            ]
        )
        return
    marker = item.get_closest_marker("certgate_control")
    if marker is None or callspec is None:
        return
    control = CATALOGUE[marker.args[0]]
    ref = next((v for v in callspec.params.values() if isinstance(v, ItemRef)), None)
    if ref is None:  # an empty parameter set: dropped in pytest_collection_modifyitems
        return
    item.stash[ITEM_CONTROL] = control
    item.stash[ITEM_REF] = ref
    item.extra_keyword_matches.add(control.id)  # `-k rsa-2048` selects by control id
    item.user_properties.extend(
        [
            ("control", control.id),
            ("manual", control.citation),
            ("target", ref.target.name),
            ("subject", ref.subject),
        ]
    )


# --- facts ------------------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    """The item's facts in place of its ItemRef arguments (pytest's own item protocol)."""
    yield
    funcargs = getattr(item, "funcargs", None)
    if ITEM_REF in item.stash and funcargs is not None:
        _facts_in(item, funcargs)


def item_funcargs(item: pytest.Function) -> dict[str, object]:
    """Every argument of a check item, for certgate's one-step protocol (certgate/protocol.py):
    its parameters with facts in place of its ItemRefs, and the session values it takes."""
    params = item.callspec.params
    funcargs = {
        name: params[name] if name in params else item.config.stash[SESSION_VALUES[name]]
        for name in arguments(item)
    }
    _facts_in(item, funcargs)
    return funcargs


def _facts_in(item: pytest.Item, funcargs: dict[str, object]) -> None:
    """The item's facts in place of its ItemRef arguments, gathered once per target and
    shared by every item that needs them; an artifact that cannot be read makes the item an
    error (its setup failed), with the one-line reason."""
    ref = item.stash.get(ITEM_REF, None)
    if ref is None:
        return
    gatherer = item.config.stash[GATHERER]
    for name, value in funcargs.items():
        if value is ref:
            try:
                funcargs[name] = resolve(gatherer, ref, name)
            except ArtifactError as exc:
                raise CouldNotAudit(str(exc), pytrace=False) from None


# --- fixtures ---------------------------------------------------------------------------------


def _facts_fixture(name: str) -> Callable[..., object]:
    @pytest.fixture(name=name)
    def fixture(request: pytest.FixtureRequest) -> object:
        ref: ItemRef = request.param
        try:
            return resolve(request.config.stash[GATHERER], ref, name)
        except ArtifactError as exc:
            raise CouldNotAudit(str(exc), pytrace=False) from None

    fixture.__doc__ = f"certgate facts: {name} of the item's target (parametrized by certgate)."
    return fixture


csr_file = _facts_fixture("csr_file")
csr = _facts_fixture("csr")
key = _facts_fixture("key")
subject = _facts_fixture("subject")
validity = _facts_fixture("validity")
leaf = _facts_fixture("leaf")
target = _facts_fixture("target")
policy = _facts_fixture("policy")
bundle = _facts_fixture("bundle")
certification_path = _facts_fixture("certification_path")
pairing = _facts_fixture("pairing")
pfx = _facts_fixture("pfx")
pfx_protection = _facts_fixture("pfx_protection")
endpoint = _facts_fixture("endpoint")
served = _facts_fixture("served")
expected = _facts_fixture("expected")
addresses = _facts_fixture("addresses")
page = _facts_fixture("page")
hardening = _facts_fixture("hardening")


# The session-wide values a check can take, by argument name (fixtures below, and
# certgate's one-step protocol).
SESSION_VALUES: dict[str, pytest.StashKey[object]] = {
    "audited": AUDITED,  # type: ignore[dict-item]
    "now": NOW,  # type: ignore[dict-item]
}


@pytest.fixture(scope="session")
def audited(pytestconfig: pytest.Config) -> frozenset[tuple[str, str]]:
    """Every (target, control) pair the inventory has an item for, before selection."""
    return pytestconfig.stash[AUDITED]


@pytest.fixture(scope="session")
def now(pytestconfig: pytest.Config) -> datetime:
    """The one UTC time of this audit run (``--now`` to audit as of another time)."""
    return pytestconfig.stash[NOW]


# --- outcomes ---------------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, object, object]:
    """A finding at warning level -- a `warning` control that does not hold, or a check's
    `warn_unless` -- passes with a ComplianceWarning; one at fail level (`fail_unless`) fails."""
    control = pyfuncitem.stash.get(ITEM_CONTROL, None)
    if control is None:
        return (yield)
    try:
        return (yield)
    except AssertionError as exc:
        if finding_severity(exc, control) is not Severity.WARNING:
            raise
        message = assertion_message(exc)
        pyfuncitem.stash[WARNED] = message
        # Under -W error::certgate.ComplianceWarning this raises and the item fails; else the
        # item's own outcome (warning) says it, not pytest's warnings summary a second time.
        with warnings.catch_warnings(record=True):
            warnings.warn(ComplianceWarning(message), stacklevel=1)
        return True


def assertion_message(exc: BaseException) -> str:
    """The check's own message, without pytest's assertion-rewriting explanation."""
    text = str(exc.args[0]) if exc.args else type(exc).__name__
    return text.split("\nassert ")[0].strip()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    control = item.stash.get(ITEM_CONTROL, None)
    if control is None:
        return report
    # One name per item in every output (terminal, junit.xml, report.html, results.json),
    # wherever the checks were collected from: checks/test_keys.py::test_rsa_2048[shop:csr].
    stable = stable_nodeid(report.nodeid)
    if stable != report.nodeid:  # pytest parses a nodeid it is given: only when it changes
        report.nodeid = stable
    outcome, message = _classify(item, call, report)
    if outcome is Outcome.FAILED:
        outcome, message = _waive(item, report, message)
    if outcome is not None:
        verdict = (outcome, message)
        report.certgate = _PASSED if verdict == _PASSED else verdict  # type: ignore[attr-defined]
        ref = item.stash.get(ITEM_REF, None)
        if control.hardening and ref is not None:  # its evidence: report.html, results.json
            lines = hardening_evidence(control, item.config.stash[GATHERER], ref)
            report.certgate_evidence = lines  # type: ignore[attr-defined]
    return report


def _waive(item: pytest.Item, report: pytest.TestReport, message: str) -> tuple[Outcome, str]:
    """A failure that a waiver in force covers is reported as waived (pytest: xfailed)."""
    control, ref = item.stash[ITEM_CONTROL], item.stash.get(ITEM_REF, None)
    now = item.config.stash[NOW]
    waiver = next(
        (
            w
            for w in item.config.stash[WAIVERS]
            if ref and w.covers(control.id, ref.target.name, now)
        ),
        None,
    )
    if waiver is None:
        return Outcome.FAILED, message
    report.outcome = "skipped"
    report.wasxfail = waiver.note()
    return Outcome.WAIVED, f"{message} [{waiver.note()}]"


def _classify(
    item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport
) -> tuple[Outcome | None, str]:
    excinfo = call.excinfo
    if report.when == "call" and report.passed:
        warned = item.stash.get(WARNED, None)
        return (Outcome.WARNING, warned) if warned else (Outcome.PASSED, "")
    if excinfo is None or report.skipped:
        return None, ""
    if report.when == "call" and isinstance(excinfo.value, AssertionError):
        return Outcome.FAILED, assertion_message(excinfo.value)
    if isinstance(excinfo.value, ComplianceWarning):  # strict gate: the warning failed
        return Outcome.FAILED, str(excinfo.value)
    if isinstance(excinfo.value, CouldNotAudit):
        return Outcome.ERROR, excinfo.value.msg or ""
    if isinstance(excinfo.value, ArtifactError):  # a part the check needed is unreadable
        return Outcome.ERROR, str(excinfo.value)
    return Outcome.ERROR, f"{excinfo.typename}: {excinfo.value}"


# Most items pass: they share one verdict and, per control, one tuple of sections.
_PASSED = (Outcome.PASSED, "")


@functools.lru_cache(maxsize=256)
def _sections(cited: str) -> tuple[str, ...]:
    """``"5.4, 5.5"`` as results.json's ``manual`` list."""
    return tuple(m for m in cited.split(", ") if m)


class Recorder:
    """Collects one result row per item and writes results.json when the session ends; the
    terminal counts certgate's outcomes (a warning is not a pass, a waived item not xfailed)."""

    def __init__(self, results: Results, hosts: HostGatherer) -> None:
        self.results = results
        self.hosts = hosts

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if call.when == "call":
            self._note_certificate(item)
        return report

    def _note_certificate(self, item: pytest.Item) -> None:
        """The server certificate a renewal-window item judged, for the expiry timeline."""
        control = item.stash.get(ITEM_CONTROL, None)
        if control is None or control.id != "renewal-window":  # cert-lifetime reads a leaf too
            return
        funcargs = getattr(item, "funcargs", {})
        leaf, ref = funcargs.get("leaf"), item.stash.get(ITEM_REF, None)
        if not isinstance(leaf, CertificateFacts) or ref is None:
            return
        self.results.note_certificate(
            CertificateDate(
                target=ref.target.name,
                subject=ref.subject,
                name=leaf.subject.rfc4514(),
                not_after=leaf.not_after,
                window_days=ref.target.policy.renewal_warning_days,
            )
        )

    def pytest_report_teststatus(
        self, report: pytest.TestReport
    ) -> tuple[str, str, str | tuple[str, dict[str, bool]]] | None:
        verdict: tuple[Outcome, str] | None = getattr(report, "certgate", None)
        if verdict is None or verdict[0] not in (Outcome.WARNING, Outcome.WAIVED):
            return None
        if verdict[0] is Outcome.WARNING:
            return "warning", "W", ("WARNING", {"yellow": True})
        return "waived", "w", ("WAIVED", {"blue": True})

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        verdict: tuple[Outcome, str] | None = getattr(report, "certgate", None)
        if verdict is None:
            return
        props = {k: str(v) for k, v in report.user_properties}
        self.results.record(
            ResultRow(
                target=props["target"],
                control=props["control"],
                subject=props["subject"],
                outcome=verdict[0],
                message=verdict[1],
                manual=_sections(props["manual"]),
                nodeid=report.nodeid,
                evidence=tuple(str(line) for line in getattr(report, "certgate_evidence", ())),
            )
        )

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if not session.config.option.collectonly:
            self.results.finish(datetime.now(UTC))

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        """The targets with findings (and a count of the rest), the warnings, what changed,
        and the one count."""
        lines = self.results.target_lines()
        scanned = self.hosts.summary()
        if lines:
            terminalreporter.section("certgate: targets with findings")
            for line in lines:
                terminalreporter.line(line)
        # pytest's short summary lists failures and errors; these two are certgate's own
        noted = [r for r in self.results.rows if r.outcome in (Outcome.WARNING, Outcome.WAIVED)]
        if noted:
            terminalreporter.section("certgate: warnings and waived items")
            for row in noted:
                word = row.outcome.value.upper()
                terminalreporter.line(
                    f"{word} {row.target} {row.control} {row.subject} - {row.message}"
                )
        self._changes(terminalreporter)
        if scanned:
            terminalreporter.line(f"certgate: {scanned}")
        if self.results.rows:
            terminalreporter.line(f"certgate: {self.results.counts_text()}")

    def _changes(self, terminalreporter: pytest.TerminalReporter) -> None:
        changes = self.results.changes()
        if changes is None:
            return
        terminalreporter.section("certgate: changes since the last audit")
        terminalreporter.line(
            f"compared with {changes.compared_with} (as of {changes.compared_as_of})"
        )
        terminalreporter.line(changes.headline())
        for change in changes.new_failures:
            terminalreporter.line(f"NEW   {change.describe()}")
        for change in changes.fixed:
            terminalreporter.line(f"FIXED {change.describe()}")


def pytest_report_header(config: pytest.Config) -> list[str]:
    if not _active(config):
        return []
    inventory = config.stash[INVENTORY]
    return [f"certgate: auditing {len(inventory.targets)} target(s) from {inventory.path}"]
