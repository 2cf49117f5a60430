"""The audit's last step: once pytest has finished and every exit handler has run, the
process ends without Python freeing its objects one by one.

After a fleet audit (12,600 items at 1,000 addresses, three reports each, the facts) that
freeing took 0.9 s, an eighth of the whole run (bench/README.md). Nothing needs it: the
reports are written and closed, pytest's exit status is known, the threads have ended
(Python joins them before the exit handlers run).

Only when pytest is the program (the ``pytest`` command, ``py.test``, ``python -m pytest``),
the run is an audit, and it is the program's own run, not a ``pytest.main()`` made inside
it (a test that runs an audit, pytester). Inside another program (``pytest.main()`` in a
script, an IDE) nothing changes: that program decides how and with which status it ends.

How: at the end of ``pytest_cmdline_main`` the exit status is the one pytest's command will
exit with; an exit handler registered then is the last one registered, so Python calls it
first. It runs every other exit handler (``atexit._run_exitfuncs``: logging's, coverage's, a
plugin's), flushes standard output and error, and ends the process with that status.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
from pathlib import Path

_PROGRAM_NAMES = frozenset({"pytest", "py.test"})


def pytest_is_the_program() -> bool:
    """Whether this process is pytest's command, not a program that calls pytest.main()."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    if spec is not None:
        return bool(spec.name == "pytest.__main__")  # python -m pytest
    name = Path(sys.argv[0]).name.lower().removesuffix(".exe") if sys.argv else ""
    return name in _PROGRAM_NAMES  # the pytest or py.test script


def at_python_exit(status: object, outermost: bool) -> None:
    """End the process with ``status`` once Python's exit handlers have run, when pytest is
    the program and this is its own run (``outermost``: not a pytest.main() made inside it,
    by a test or pytester, whose status is not the program's); else nothing."""
    if outermost and pytest_is_the_program() and isinstance(status, int):
        atexit.register(_end, int(status))


def _end(status: int) -> None:
    """The other exit handlers, then the end of the process with pytest's status."""
    atexit.unregister(_end)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe, as Python's exit
            stream.flush()
    os._exit(status)
