"""Nothing judged is never a pass (SPEC §2.1), over the whole catalogue.

Every check of checks/ is called with a hollow input for each facts fixture that can be
hollow (no certificate, no subject attribute, no address): the item must be refused
before the check runs (``items.nothing_to_inspect``: an error with the reason). The
other facts fixtures are atomic -- having one means something was read -- and are listed
with the reason, so a new fixture cannot slip past this test undecided.
"""

from __future__ import annotations

import inspect
from datetime import UTC, datetime
from types import FunctionType

import pytest

from certgate.controls import CATALOGUE
from certgate.files.facts import SubjectFacts, ValidityFacts
from certgate.items import HOST_RESOLVERS, RESOLVERS, TARGET_FIXTURES, nothing_to_inspect
from tests.support.checkfuncs import load_checks

CHECK_MODULES = (
    "test_bundle",
    "test_chain",
    "test_csr",
    "test_hardening",
    "test_hosts",
    "test_key_match",
    "test_keys",
    "test_pages",
    "test_pfx",
    "test_subject",
    "test_validity",
)

HOLLOW: dict[str, object] = {
    "subject": SubjectFacts("certificate hollow.cer", (), ()),
    "validity": ValidityFacts("PFX hollow.pfx", ()),
    "addresses": (),
}
# Facts that exist only when something was read: a key has an algorithm, a file has bytes.
ATOMIC = {
    "csr_file": "the CSR file's framing and decoding are always judged",
    "csr": "a decoded request always has its parts",
    "key": "a key always has an algorithm (an unsupported one is named)",
    "bundle": "an empty or unreadable zip is an error when loaded",
    "certification_path": "a path always has its server certificate",
    "pairing": "a pairing always compares two fingerprints",
    "pfx": "pfx-contents judges what the PFX holds, an empty one fails",
    "pfx_protection": "the protection is read from the file's structure",
    "endpoint": "an address always has a connection outcome",
    "served": "a scanned address has a chain, or is an error",
    "expected": "the target's own certificate",
    "leaf": "one certificate",
    "page": "a fetched page, or an error",
    "hardening": "a hardening-scanned address's facts, or an error",
}


def _checks(config: pytest.Config) -> dict[str, FunctionType]:
    found: dict[str, FunctionType] = {}
    for module in CHECK_MODULES:
        for value in vars(load_checks(config, module)).values():
            marker = next(
                (m for m in getattr(value, "pytestmark", []) if m.name == "certgate_control"),
                None,
            )
            if marker is not None:
                found[marker.args[0]] = value
    return found


def test_every_facts_fixture_is_hollow_or_atomic():
    known = {*RESOLVERS, *HOST_RESOLVERS}
    assert known == set(HOLLOW) | set(ATOMIC)


def test_every_control_has_a_check(pytestconfig):
    assert set(_checks(pytestconfig)) == set(CATALOGUE)


@pytest.mark.parametrize("control", sorted(CATALOGUE))
def test_a_hollow_input_is_refused_before_the_check(pytestconfig, control):
    check = _checks(pytestconfig)[control]
    hollow = [n for n in inspect.signature(check).parameters if n in HOLLOW]
    for name in hollow:  # refused before the check runs: an error item, never a pass
        assert nothing_to_inspect(HOLLOW[name]) is not None, f"{control}: hollow {name} passes"
    for name in inspect.signature(check).parameters:
        assert name in HOLLOW or name in ATOMIC or name in TARGET_FIXTURES or name == "now", (
            f"{control} takes {name!r}: declare it hollow-able or atomic here"
        )


# For each hollow input, a check that would pass over it vacuously without the guard.
VACUOUS = {
    "subject": "subject-english",
    "validity": "validity",
    "addresses": "consistent-addresses",
}


@pytest.mark.parametrize("name", sorted(HOLLOW))
def test_the_hollow_inputs_would_otherwise_pass(pytestconfig, name):
    """Why the guard exists: without it, a check over nothing passes."""
    check = _checks(pytestconfig)[VACUOUS[name]]
    extra = {"now": datetime.now(UTC)} if "now" in inspect.signature(check).parameters else {}
    check(**{name: HOLLOW[name]}, **extra)  # no AssertionError: it would have passed
    assert nothing_to_inspect(HOLLOW[name]) is not None
