"""targets.yaml -> frozen, validated models.

Every problem in the file is found before any network or file work and reported at once,
one line each, naming the file, the target and the key.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import yaml

from certgate.controls import Artifact

SUBJECT_FIELDS = ("CN", "O", "OU", "L", "ST", "C")
# The trust stores sslyze ships, by name (manual 5.4: the trusted root store).
TRUST_STORES = ("mozilla", "microsoft", "apple", "android", "java")
PFX_ENCRYPTIONS = ("aes256", "aes192", "aes128", "3des", "rc2-128", "rc2-40", "none")
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]*\Z")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class Policy:
    """Thresholds the controls apply; a target may override any of them."""

    rsa_min_bits: int = 2048  # manual 5.1.5.2: bit length 2048
    rsa_exact_bits: bool = False  # true: exactly rsa_min_bits, as the manual prescribes
    renewal_warning_days: int = 60  # manual 5.11: renewal notice two months before expiry
    trust: tuple[str, ...] = ("mozilla", "microsoft")  # manual 5.4: trusted root stores
    csr_required_fields: tuple[str, ...] = ("CN", "O", "L", "ST", "C")  # manual 5.1.4
    pfx_encryption: tuple[str, ...] = ("aes256", "3des")  # manual 5.9.6
    # manual 6.3: also load each page in headless Chromium, for content scripts insert
    mixed_content_browser: bool = False
    # manual 5.1.4.1 / CA/B BRs 7.1.4.2: true only for a private CA, which may issue for
    # single-label and internal names (intranet, server.local) that no public CA may
    allow_internal_names: bool = False


@dataclass(frozen=True)
class Target:
    """One site or set of files to audit. Paths are absolute; None means not given."""

    name: str
    policy: Policy
    host: str | None = None
    port: int = 443
    addresses: tuple[str, ...] = ()
    pages: tuple[str, ...] = ()
    csr: Path | None = None
    bundle: Path | None = None
    certificate: Path | None = None
    chain: tuple[Path, ...] = ()
    private_key: Path | None = None
    private_key_password_env: str | None = None
    pfx: Path | None = None
    pfx_password_env: str | None = None

    def has(self, artifact: Artifact) -> bool:
        """Whether the target lists the file(s) of this artifact kind."""
        value = getattr(self, artifact.value)
        return bool(value)

    def files(self) -> tuple[tuple[str, Path], ...]:
        """Every file the target names, as (key, path)."""
        named: list[tuple[str, Path]] = []
        for key in ("csr", "bundle", "certificate", "private_key", "pfx"):
            path = getattr(self, key)
            if path is not None:
                named.append((key, path))
        named.extend(("chain", p) for p in self.chain)
        return tuple(named)


@dataclass(frozen=True)
class Inventory:
    """The whole targets file: where it is, the default policy, the targets in order."""

    path: Path
    policy: Policy
    targets: tuple[Target, ...]
    lab: Path | None = None
    sha256: str = ""  # of the file as it was read, for the report's environment table

    def target(self, name: str) -> Target:
        """The target called ``name`` (KeyError when there is none)."""
        for t in self.targets:
            if t.name == name:
                return t
        raise KeyError(name)


class InventoryError(Exception):
    """The targets file cannot be used; ``problems`` holds one line per problem."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


@dataclass
class _Problems:
    """Collects problems while the file is walked, each prefixed with where it is."""

    file: str
    lines: list[str] = field(default_factory=list)
    files: list[tuple[str, str, Path]] = field(default_factory=list)  # (where, key, path)

    def add(self, where: str, text: str) -> None:
        self.lines.append(f"{self.file}: {where}: {text}")


# --- scalar validators: each returns the converted value or a problem text -------------

_Check = Callable[[Any], "tuple[Any, str | None]"]


def _int(low: int, high: int) -> _Check:
    def check(v: Any) -> tuple[Any, str | None]:
        if isinstance(v, bool) or not isinstance(v, int):
            return None, f"expected an integer, got {_show(v)}"
        if not low <= v <= high:
            return None, f"expected {low}..{high}, got {v}"
        return v, None

    return check


def _bool(v: Any) -> tuple[Any, str | None]:
    if not isinstance(v, bool):
        return None, f"expected true or false, got {_show(v)}"
    return v, None


def _str(v: Any) -> tuple[Any, str | None]:
    if not isinstance(v, str) or not v.strip():
        return None, f"expected a non-empty string, got {_show(v)}"
    return v, None


def _choices(allowed: Sequence[str]) -> _Check:
    def check(v: Any) -> tuple[Any, str | None]:
        items, problem = _str_list(v)
        if problem:
            return None, problem
        unknown = [x for x in items if x not in allowed]
        if unknown:
            return None, f"unknown value(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}"
        return tuple(items), None

    return check


def _str_list(v: Any) -> tuple[Any, str | None]:
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not all(isinstance(x, str) and x.strip() for x in v):
        return None, f"expected a list of strings, got {_show(v)}"
    return tuple(v), None


def _host(v: Any) -> tuple[Any, str | None]:
    value, problem = _str(v)
    if problem:
        return None, problem
    if "://" in value or "/" in value or ":" in value or " " in value:
        return None, f"expected a bare host name like www.example.com.tw, got {value!r}"
    try:  # an internationalised name (測試.台灣) is audited in its DNS form (xn--...)
        ascii_name = value.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        return None, f"{value!r} is not a valid host name"
    return ascii_name.lower(), None


def _addresses(v: Any) -> tuple[Any, str | None]:
    items, problem = _str_list(v)
    if problem:
        return None, problem
    for item in items:
        try:
            ipaddress.ip_address(item)
        except ValueError:
            return None, f"{item!r} is not an IP address"
    return items, None


def _pages(v: Any) -> tuple[Any, str | None]:
    items, problem = _str_list(v)
    if problem:
        return None, problem
    bad = [p for p in items if not p.startswith("/")]
    if bad:
        return None, f"pages are paths starting with '/', got {', '.join(map(repr, bad))}"
    return items, None


def _env_name(v: Any) -> tuple[Any, str | None]:
    if not isinstance(v, str) or not _ENV_NAME.match(v):
        return None, (
            f"expected the name of an environment variable (letters, digits and _, like "
            f"SHOP_PFX_PASSWORD), got {_show(v)} that is not one; if it is the password, keep "
            "it out of this file: set it in a variable and write the variable's name here"
        )
    return v, None


def _show(v: Any) -> str:
    """Describe a value by its YAML type, never echoing it (it might be a secret)."""
    names = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a mapping",
        type(None): "nothing",
    }
    return names.get(type(v), type(v).__name__)


POLICY_KEYS: dict[str, _Check] = {
    "rsa_min_bits": _int(512, 16384),
    "rsa_exact_bits": _bool,
    "renewal_warning_days": _int(0, 3650),
    "trust": _str_list,
    "csr_required_fields": _choices(SUBJECT_FIELDS),
    "pfx_encryption": _choices(PFX_ENCRYPTIONS),
    "mixed_content_browser": _bool,
    "allow_internal_names": _bool,
}

_PATH_KEYS = ("csr", "bundle", "certificate", "private_key", "pfx")
TARGET_KEYS: dict[str, _Check] = {
    "host": _host,
    "port": _int(1, 65535),
    "addresses": _addresses,
    "pages": _pages,
    **{k: _str for k in _PATH_KEYS},
    "chain": _str_list,
    "private_key_password_env": _env_name,
    "pfx_password_env": _env_name,
}
_SECRET_KEYS = {
    "pfx_password": "pfx_password_env",
    "password": "pfx_password_env",
    "private_key_password": "private_key_password_env",
}


def load_inventory(
    path: Path, *, check_files: bool = True, prepare_lab: Callable[[Path], None] | None = None
) -> Inventory:
    """Read and validate a targets file; raise InventoryError listing every problem.

    Files are only stat'ed here, after ``prepare_lab`` has built the demo lab when the file
    asks for one; with ``check_files`` every file a target names must exist.
    """
    problems = _Problems(str(path))
    try:
        data = path.read_bytes()
        raw = yaml.safe_load(data.decode("utf-8"))
    except OSError as exc:
        raise InventoryError([f"{path}: cannot read the targets file: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise InventoryError([f"{path}: the targets file is not UTF-8 text"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "YAML"
        reason = getattr(exc, "problem", None) or "malformed YAML"
        raise InventoryError([f"{path}: {where}: not valid YAML: {reason}"]) from None
    inventory = _inventory(raw, path, problems)
    if inventory is not None:
        inventory = replace(inventory, sha256=hashlib.sha256(data).hexdigest())
    if inventory is not None and inventory.lab is not None and prepare_lab is not None:
        prepare_lab(inventory.lab)
    if check_files:
        for where, key, file in problems.files:
            if file.is_dir():
                problems.add(f"{where}: key {key!r}", f"{file} is a folder, not a file")
            elif not file.is_file():
                problems.add(f"{where}: key {key!r}", _missing(key, file))
    if problems.lines or inventory is None:
        raise InventoryError(problems.lines or [f"{path}: empty targets file"])
    return inventory


def _inventory(raw: Any, path: Path, problems: _Problems) -> Inventory | None:
    if not isinstance(raw, dict):
        problems.add("top level", f"expected a mapping with 'targets:', got {_show(raw)}")
        return None
    for key in raw:
        if key not in ("policy", "targets", "lab"):
            problems.add("top level", f"unknown key {key!r} (expected policy, targets, lab)")
    base = path.parent
    policy = _policy(raw.get("policy", {}), Policy(), "policy", problems, path.parent)
    lab = None
    if "lab" in raw:
        lab_dir, problem = _str(raw["lab"])
        if problem:
            problems.add("key 'lab'", problem)
        else:
            lab = _absolute(base / lab_dir)
    targets_raw = raw.get("targets")
    if not isinstance(targets_raw, list) or not targets_raw:
        problems.add("key 'targets'", "expected a non-empty list of targets")
        return None
    targets = [_target(i, t, policy, base, problems) for i, t in enumerate(targets_raw)]
    _check_unique(targets_raw, problems)
    found = tuple(t for t in targets if t is not None)
    return Inventory(path=path.resolve(), policy=policy, targets=found, lab=lab)


def _policy(raw: Any, base: Policy, where: str, problems: _Problems, folder: Path) -> Policy:
    if not isinstance(raw, dict):
        problems.add(where, f"expected a mapping, got {_show(raw)}")
        return base
    changes: dict[str, Any] = {}
    for key, value in raw.items():
        check = POLICY_KEYS.get(key)
        if check is None:
            problems.add(
                f"{where}: key {key!r}", f"unknown policy key; known: {', '.join(POLICY_KEYS)}"
            )
            continue
        converted, problem = check(value)
        if problem:
            problems.add(f"{where}: key {key!r}", problem)
        elif key == "trust":
            changes[key] = _trust(converted, folder, f"{where}: key 'trust'", problems)
        else:
            changes[key] = converted
    return replace(base, **changes)


def _trust(
    entries: tuple[str, ...], folder: Path, where: str, problems: _Problems
) -> tuple[str, ...]:
    """Store names stay names; anything else is a PEM/DER root file relative to the file."""
    resolved = []
    for entry in entries:
        if entry in TRUST_STORES:
            resolved.append(entry)
            continue
        path = _absolute(folder / entry)
        problems.files.append((where.rsplit(": key", 1)[0], "trust", path))
        resolved.append(str(path))
    return tuple(resolved)


def _target(index: int, raw: Any, policy: Policy, base: Path, problems: _Problems) -> Target | None:
    if not isinstance(raw, dict):
        problems.add(f"target #{index + 1}", f"expected a mapping, got {_show(raw)}")
        return None
    name = raw.get("name")
    ok = isinstance(name, str) and bool(_SLUG.match(name))
    where = f"target {name!r}" if ok else f"target #{index + 1}"
    if "name" not in raw:
        problems.add(where, "key 'name' is missing: every target needs a name (e.g. shop)")
    elif not ok:
        shown = repr(name) if isinstance(name, str) else _show(name)
        problems.add(
            f"{where}: key 'name'",
            f"expected a slug of lower-case letters, digits and '-' (e.g. shop), got {shown}",
        )
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key in ("name", "policy"):
            continue
        if key in _SECRET_KEYS:
            problems.add(
                f"{where}: key {key!r}",
                "passwords are never written in the targets file; put the password in an "
                f"environment variable and give its name as {_SECRET_KEYS[key]}",
            )
            ok = False
            continue
        check = TARGET_KEYS.get(key)
        if check is None:
            problems.add(
                f"{where}: key {key!r}",
                f"unknown key; known: name, policy, {', '.join(TARGET_KEYS)}",
            )
            ok = False
            continue
        converted, problem = check(value)
        if problem:
            problems.add(f"{where}: key {key!r}", problem)
            ok = False
        else:
            values[key] = converted
            _note_files(where, key, converted, base, problems)
    target_policy = _policy(raw.get("policy", {}), policy, f"{where}: key 'policy'", problems, base)
    ok = _check_shape(where, raw, problems) and ok
    if not ok or not isinstance(name, str):
        return None
    for key in _PATH_KEYS:
        if key in values:
            values[key] = _absolute(base / values[key])
    if "chain" in values:
        values["chain"] = tuple(_absolute(base / p) for p in values["chain"])
    return Target(name=name, policy=target_policy, **values)


def _missing(key: str, file: Path) -> str:
    if key == "trust" and file.name.isalpha():
        return f"no trust store {file.name!r} (known: {', '.join(TRUST_STORES)}) and no such file"
    return f"no such file {file}"


def _absolute(path: Path) -> Path:
    """An absolute, normalised path that keeps the names the user wrote (no symlink resolving)."""
    return Path(os.path.normpath(path.absolute()))


def _note_files(where: str, key: str, value: Any, base: Path, problems: _Problems) -> None:
    """Remember the files a key names, to stat them once the whole file is read."""
    if key in _PATH_KEYS:
        problems.files.append((where, key, _absolute(base / value)))
    elif key == "chain":
        problems.files.extend((where, key, _absolute(base / p)) for p in value)


def _check_shape(where: str, values: Mapping[str, Any], problems: _Problems) -> bool:
    """Cross-key rules: something to audit; pages and addresses need a host."""
    ok = True
    if "host" not in values and not any(k in values for k in (*_PATH_KEYS, "chain")):
        problems.add(where, "nothing to audit: give a host or at least one file")
        ok = False
    for key in ("addresses", "pages", "port"):
        if key in values and "host" not in values:
            problems.add(f"{where}: key {key!r}", "needs a host")
            ok = False
    return ok


def _check_unique(targets_raw: list[Any], problems: _Problems) -> None:
    seen: set[str] = set()
    for raw in targets_raw:
        name = raw.get("name") if isinstance(raw, dict) else None
        if not isinstance(name, str):
            continue
        if name in seen:
            problems.add(f"target {name!r}: key 'name'", "duplicate target name")
        seen.add(name)


POLICY_FIELDS = tuple(f.name for f in fields(Policy))
