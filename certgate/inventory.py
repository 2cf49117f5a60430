"""targets.yaml and waivers.yaml -> frozen, validated models (pydantic at the edge).

Every problem in the file is found before any network or file work and reported at once,
one line each, naming the file, the target and the key. pydantic checks the shape (known
keys, required keys, nesting, every problem at once with its location); the value checks
are certgate's own, because their messages must say what to write and must never echo a
value (a password pasted in the wrong place is still a password).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator
from pydantic_core import ErrorDetails, PydanticCustomError

from certgate.controls import CATALOGUE, Artifact

SUBJECT_FIELDS = ("CN", "O", "OU", "L", "ST", "C")
# The trust stores sslyze ships: policy.trust's word -> sslyze's name for the store
# (manual 5.4: the trusted root store). The one list of them.
TRUST_STORES: Mapping[str, str] = {
    "mozilla": "Mozilla",
    "microsoft": "Windows",
    "apple": "Apple",
    "android": "Android",
    "java": "Java",
}
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
    # SPEC §2.2 / HARDENING.md §A: also judge the TLS configuration (opt-in: it costs scan time)
    hardening: bool = False
    # HARDENING.md §A.3: the Windows version a scan cannot see (tls13-offered is n/a on 2016/2019)
    windows_server: int | None = None


@dataclass(frozen=True)
class Target:
    """One site or set of files to audit. Paths are absolute; None means not given."""

    name: str
    policy: Policy
    host: str | None = None
    port: int = 443
    http_port: int = 80  # where http-redirects-to-https looks (hardening, HARDENING.md §A #14)
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


# --- value checks: each returns the converted value or raises a message ------------------


def _fail(text: str) -> PydanticCustomError:
    return PydanticCustomError("certgate", "{text}", {"text": text})


def _int(low: int, high: int) -> Callable[[Any], int]:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise _fail(f"expected an integer, got {_show(v)}")
        if not low <= v <= high:
            raise _fail(f"expected {low}..{high}, got {v}")
        return v

    return check


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise _fail(f"expected true or false, got {_show(v)}")
    return v


def _str(v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise _fail(f"expected a non-empty string, got {_show(v)}")
    return v


def _str_list(v: Any) -> tuple[str, ...]:
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not all(isinstance(x, str) and x.strip() for x in v):
        raise _fail(f"expected a list of strings, got {_show(v)}")
    return tuple(v)


def _choices(allowed: Sequence[str]) -> Callable[[Any], tuple[str, ...]]:
    def check(v: Any) -> tuple[str, ...]:
        unknown = [x for x in _str_list(v) if x not in allowed]
        if unknown:
            raise _fail(f"unknown value(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")
        return _str_list(v)

    return check


def _slug(v: Any) -> str:
    if not isinstance(v, str) or not _SLUG.match(v):
        shown = repr(v) if isinstance(v, str) else _show(v)
        raise _fail(
            f"expected a slug of lower-case letters, digits and '-' (e.g. shop), got {shown}"
        )
    return v


def _host(v: Any) -> str:
    value = _str(v)
    if "://" in value or "/" in value or ":" in value or " " in value:
        raise _fail(f"expected a bare host name like www.example.com.tw, got {value!r}")
    try:  # an internationalised name (測試.台灣) is audited in its DNS form (xn--...)
        ascii_name = value.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        raise _fail(f"{value!r} is not a valid host name") from None
    return ascii_name.lower()


def _addresses(v: Any) -> tuple[str, ...]:
    items = _str_list(v)
    for item in items:
        try:
            ipaddress.ip_address(item)
        except ValueError:
            raise _fail(f"{item!r} is not an IP address") from None
    return items


def _pages(v: Any) -> tuple[str, ...]:
    items = _str_list(v)
    bad = [p for p in items if not p.startswith("/")]
    if bad:
        raise _fail(f"pages are paths starting with '/', got {', '.join(map(repr, bad))}")
    return items


def _env_name(v: Any) -> str:
    if not isinstance(v, str) or not _ENV_NAME.match(v):
        raise _fail(
            "expected the name of an environment variable (letters, digits and _, like "
            f"SHOP_PFX_PASSWORD), got {_show(v)} that is not one; if it is the password, keep "
            "it out of this file: set it in a variable and write the variable's name here"
        )
    return v


WINDOWS_SERVERS = (2016, 2019, 2022, 2025)


def _windows_server(v: Any) -> int | None:
    if v is None:  # `windows_server: null` as in SPEC §3: not declared
        return None
    if isinstance(v, bool) or v not in WINDOWS_SERVERS:
        raise _fail(f"expected one of {', '.join(map(str, WINDOWS_SERVERS))}, got {_show(v)}")
    return int(v)


def _date(v: Any) -> dt.date:
    if not isinstance(v, dt.date) or isinstance(v, dt.datetime):
        raise _fail("expected a date like 2026-12-31")
    return v


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


def _target_list(v: Any) -> list[Any]:
    if not isinstance(v, list) or not v:
        raise _fail("expected a non-empty list of targets")
    return v


def _control_id(v: Any) -> str:
    value = _str(v)
    if value not in CATALOGUE:
        raise _fail(f"no control {value!r}")
    return value


def _checked(check: Callable[[Any], Any]) -> Any:
    return BeforeValidator(check)


# --- the file's shape, as pydantic models (the edge only: the rest of certgate reads the
# frozen dataclasses above) ----------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class _PolicyModel(_Model):
    """policy: (global or per target); None: not given, the default or the global applies."""

    rsa_min_bits: Annotated[int | None, _checked(_int(512, 16384))] = None
    rsa_exact_bits: Annotated[bool | None, _checked(_bool)] = None
    renewal_warning_days: Annotated[int | None, _checked(_int(0, 3650))] = None
    trust: Annotated[tuple[str, ...] | None, _checked(_str_list)] = None
    csr_required_fields: Annotated[tuple[str, ...] | None, _checked(_choices(SUBJECT_FIELDS))] = (
        None
    )
    pfx_encryption: Annotated[tuple[str, ...] | None, _checked(_choices(PFX_ENCRYPTIONS))] = None
    mixed_content_browser: Annotated[bool | None, _checked(_bool)] = None
    allow_internal_names: Annotated[bool | None, _checked(_bool)] = None
    hardening: Annotated[bool | None, _checked(_bool)] = None
    windows_server: Annotated[int | None, _checked(_windows_server)] = None


_PATH_KEYS = ("csr", "bundle", "certificate", "private_key", "pfx")
_SECRET_KEYS = {
    "pfx_password": "pfx_password_env",
    "password": "pfx_password_env",
    "private_key_password": "private_key_password_env",
}


class _TargetModel(_Model):
    name: Annotated[str, _checked(_slug)]
    policy: _PolicyModel = _PolicyModel()
    host: Annotated[str | None, _checked(_host)] = None
    port: Annotated[int | None, _checked(_int(1, 65535))] = None
    http_port: Annotated[int | None, _checked(_int(1, 65535))] = None
    addresses: Annotated[tuple[str, ...] | None, _checked(_addresses)] = None
    pages: Annotated[tuple[str, ...] | None, _checked(_pages)] = None
    csr: Annotated[str | None, _checked(_str)] = None
    bundle: Annotated[str | None, _checked(_str)] = None
    certificate: Annotated[str | None, _checked(_str)] = None
    chain: Annotated[tuple[str, ...] | None, _checked(_str_list)] = None
    private_key: Annotated[str | None, _checked(_str)] = None
    private_key_password_env: Annotated[str | None, _checked(_env_name)] = None
    pfx: Annotated[str | None, _checked(_str)] = None
    pfx_password_env: Annotated[str | None, _checked(_env_name)] = None

    @model_validator(mode="after")
    def _shape(self) -> _TargetModel:
        """Cross-key rules: something to audit; pages and addresses need a host."""
        if self.host is None and not any(getattr(self, k) for k in (*_PATH_KEYS, "chain")):
            raise _fail("nothing to audit: give a host or at least one file")
        needs_host = [
            k for k in ("addresses", "pages", "port", "http_port") if getattr(self, k) is not None
        ]
        if self.host is None and needs_host:
            raise _fail(f"key {needs_host[0]!r}: needs a host")
        return self


class _InventoryModel(_Model):
    policy: _PolicyModel = _PolicyModel()
    targets: Annotated[list[Any], _checked(_target_list)]
    lab: Annotated[str | None, _checked(_str)] = None


class _WaiverModel(_Model):
    control: Annotated[str, _checked(_control_id)]
    target: Annotated[str, _checked(_str)]
    justification: Annotated[str, _checked(_str)]
    who: Annotated[str, _checked(_str)]
    expires: Annotated[dt.date, _checked(_date)]


# --- problems, one line each, never echoing a value -----------------------------------------

_KNOWN = {
    "top level": "policy, targets, lab",
    "policy": ", ".join(_PolicyModel.model_fields),
    "target": ", ".join(_TargetModel.model_fields),
    "waiver": ", ".join(_WaiverModel.model_fields),
}


def _lines(file: str, error: ValidationError, raw: Any, kind: str = "targets") -> list[str]:
    """One line per pydantic error: ``file: target 'shop': key 'port': expected 1..65535``."""
    lines = []
    for found in error.errors():
        loc = tuple(found["loc"])
        if found["type"] == "extra_forbidden" and len(loc) == 1:  # a top-level key
            known = _KNOWN["top level"]
            lines.append(f"{file}: top level: unknown key {loc[0]!r} (expected {known})")
            continue
        lines.append(f"{file}: {_where(loc, raw, kind)}{_what(found, loc, kind)}")
    return list(dict.fromkeys(lines))


def _where(loc: tuple[Any, ...], raw: Any, kind: str) -> str:
    """``top level``, ``policy: key 'trust'``, ``target 'shop': key 'port'``, ``waiver #2``."""
    parts: list[str] = []
    rest = loc
    if loc[:1] == ("policy",):
        parts.append("policy")
        rest = loc[1:]
    elif kind == "waivers":
        parts.append(f"waiver #{loc[0] + 1}")
        rest = loc[1:]
    elif loc[:1] == ("targets",) and len(loc) > 1 and isinstance(loc[1], int):
        parts.append(_target_label(raw, loc[1]))
        rest = loc[2:]
    parts.extend(f"key {k!r}" for k in rest if isinstance(k, str))
    return ": ".join(parts) if parts else "top level"


def _target_label(raw: Any, index: int) -> str:
    targets = raw.get("targets") if isinstance(raw, dict) else None
    entry = targets[index] if isinstance(targets, list) and index < len(targets) else None
    name = entry.get("name") if isinstance(entry, dict) else None
    ok = isinstance(name, str) and bool(_SLUG.match(name))
    return f"target {name!r}" if ok else f"target #{index + 1}"


def _what(found: ErrorDetails, loc: tuple[Any, ...], kind: str) -> str:
    """The problem itself, after the location (with its leading separator)."""
    kind_of = found["type"]
    key = loc[-1] if loc and isinstance(loc[-1], str) else None
    if kind_of == "certgate":
        return f": {found.get('ctx', {}).get('text', found['msg'])}"
    if kind_of == "extra_forbidden":
        return f": {_unknown(loc, kind)}"
    if kind_of == "missing":
        if key == "targets":
            return ": expected a non-empty list of targets"
        if key == "name":
            return " is missing: every target needs a name (e.g. shop)"
        if kind == "waivers":
            return (
                ": expected a date like 2026-12-31"
                if key == "expires"
                else (": expected a non-empty string")
            )
        return ": required"
    if kind_of in ("model_type", "model_attributes_type", "dict_type"):
        what = "a mapping with 'targets:'" if not loc else "a mapping"
        if kind == "waivers":
            what = f"a mapping with {_KNOWN['waiver']}"
        return f": expected {what}, got {_show(found['input'])}"
    return f": {found['msg']}"  # pydantic's own words never hold the input


def _unknown(loc: tuple[Any, ...], kind: str) -> str:
    key = loc[-1]
    if kind == "waivers":
        return f"unknown key {key!r}; known: {_KNOWN['waiver']}"
    if key in _SECRET_KEYS and len(loc) == 3:
        return (
            "passwords are never written in the targets file; put the password in an "
            f"environment variable and give its name as {_SECRET_KEYS[str(key)]}"
        )
    if "policy" in loc:
        return f"unknown policy key; known: {_KNOWN['policy']}"
    if len(loc) == 1:
        return f"unknown key (expected {_KNOWN['top level']})"
    return f"unknown key; known: {_KNOWN['target']}"


# --- loading ----------------------------------------------------------------------------------


# libyaml's safe loader when PyYAML was built with it: the same documents, about ten times
# faster than the pure-Python one (a fleet's targets.yaml has thousands of lines).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path, what: str) -> tuple[Any, bytes]:
    try:
        data = path.read_bytes()
        return yaml.load(data.decode("utf-8"), Loader=_SAFE_LOADER), data
    except OSError as exc:
        raise InventoryError([f"{path}: cannot read the {what} file: {exc.strerror}"]) from None
    except UnicodeDecodeError:
        raise InventoryError([f"{path}: the {what} file is not UTF-8 text"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "YAML"
        reason = getattr(exc, "problem", None) or "malformed YAML"
        raise InventoryError([f"{path}: {where}: not valid YAML: {reason}"]) from None


def load_inventory(
    path: Path, *, check_files: bool = True, prepare_lab: Callable[[Path], None] | None = None
) -> Inventory:
    """Read and validate a targets file; raise InventoryError listing every problem.

    Files are only stat'ed here, after ``prepare_lab`` has built the demo lab when the file
    asks for one; with ``check_files`` every file a target names must exist.
    """
    raw, data = _read_yaml(path, "targets")
    if not isinstance(raw, dict):
        got = _show(raw)
        raise InventoryError([f"{path}: top level: expected a mapping with 'targets:', got {got}"])
    problems: list[str] = []
    base = path.parent
    files: list[tuple[str, str, Path]] = []
    model = _validate(_InventoryModel, raw, str(path), problems)
    targets = _targets(raw, str(path), base, problems, files)
    if model is None:
        raise InventoryError(problems)
    policy = _policy(model.policy, Policy(), base, "policy", files)
    found = tuple(_target(t, policy, base, files) for t in targets)
    problems.extend(_duplicates(raw, str(path)))
    lab = _absolute(base / model.lab) if model.lab else None
    inventory = Inventory(path.resolve(), policy, found, lab, hashlib.sha256(data).hexdigest())
    if lab is not None and prepare_lab is not None and not problems:
        prepare_lab(lab)
    if check_files:
        problems.extend(_missing_files(str(path), files))
    if problems:
        raise InventoryError(problems)
    return inventory


M = TypeVar("M", bound=BaseModel)


def _validate(model: type[M], raw: Any, file: str, problems: list[str]) -> M | None:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_lines(file, exc, raw))
        return None


def _targets(
    raw: dict[str, Any],
    file: str,
    base: Path,
    problems: list[str],
    files: list[tuple[str, str, Path]],
) -> list[_TargetModel]:
    """Each target validated on its own, so one bad target does not hide the others'
    problems (its missing files included)."""
    entries = raw.get("targets")
    if not isinstance(entries, list):
        return []
    found = []
    for index, entry in enumerate(entries):
        try:
            found.append(_TargetModel.model_validate(entry))
        except ValidationError as exc:
            shifted = [("targets", index, *e["loc"]) for e in exc.errors()]
            problems.extend(_shifted_lines(file, exc, shifted, raw))
            files.extend(_named_files(entry, _target_label(raw, index), base))
    return found


def _named_files(entry: Any, where: str, base: Path) -> list[tuple[str, str, Path]]:
    """The files an invalid target names, so that they are checked all the same."""
    if not isinstance(entry, dict):
        return []
    return [
        (where, key, _absolute(base / entry[key]))
        for key in _PATH_KEYS
        if isinstance(entry.get(key), str) and entry[key].strip()
    ]


def _shifted_lines(
    file: str, error: ValidationError, locs: list[tuple[Any, ...]], raw: Any
) -> list[str]:
    lines = []
    for found, loc in zip(error.errors(), locs, strict=True):
        lines.append(f"{file}: {_where(loc, raw, 'targets')}{_what(found, loc, 'targets')}")
    return list(dict.fromkeys(lines))


def _policy(
    model: _PolicyModel, base: Policy, folder: Path, where: str, files: list[tuple[str, str, Path]]
) -> Policy:
    changes = {k: v for k, v in model.model_dump().items() if v is not None}
    if "trust" in changes:
        changes["trust"] = _trust(changes["trust"], folder, where, files)
    return replace(base, **changes)


def _trust(
    entries: tuple[str, ...], folder: Path, where: str, files: list[tuple[str, str, Path]]
) -> tuple[str, ...]:
    """Store names stay names; anything else is a PEM/DER root file relative to the file."""
    resolved = []
    for entry in entries:
        if entry in TRUST_STORES:
            resolved.append(entry)
            continue
        path = _absolute(folder / entry)
        files.append((where, "trust", path))
        resolved.append(str(path))
    return tuple(resolved)


def _target(
    model: _TargetModel, policy: Policy, base: Path, files: list[tuple[str, str, Path]]
) -> Target:
    where = f"target {model.name!r}"
    values: dict[str, Any] = {
        k: v for k, v in model.model_dump(exclude={"name", "policy"}).items() if v is not None
    }
    for key in _PATH_KEYS:
        if key in values:
            values[key] = _absolute(base / values[key])
            files.append((where, key, values[key]))
    if "chain" in values:
        values["chain"] = tuple(_absolute(base / p) for p in values["chain"])
        files.extend((where, "chain", p) for p in values["chain"])
    own = _policy(model.policy, policy, base, f"{where}: key 'policy'", files)
    return Target(name=model.name, policy=own, **values)


def _duplicates(raw: dict[str, Any], file: str) -> list[str]:
    seen: set[str] = set()
    problems = []
    for entry in raw.get("targets") or []:
        name = entry.get("name") if isinstance(entry, dict) else None
        if isinstance(name, str) and name in seen:
            problems.append(f"{file}: target {name!r}: key 'name': duplicate target name")
        if isinstance(name, str):
            seen.add(name)
    return problems


def _missing_files(file: str, files: list[tuple[str, str, Path]]) -> list[str]:
    problems = []
    for where, key, path in files:
        if path.is_dir():
            problems.append(f"{file}: {where}: key {key!r}: {path} is a folder, not a file")
        elif not path.is_file():
            problems.append(f"{file}: {where}: key {key!r}: {_missing(key, path)}")
    return problems


def _missing(key: str, file: Path) -> str:
    if key == "trust" and file.name.isalpha():
        known = ", ".join(TRUST_STORES)
        return f"no trust store {file.name!r} (known: {known}) and no such file"
    return f"no such file {file}"


def _absolute(path: Path) -> Path:
    """An absolute, normalised path that keeps the names the user wrote (no symlink resolving)."""
    return Path(os.path.normpath(path.absolute()))


# --- waivers.yaml -------------------------------------------------------------------------------


def load_waiver_entries(path: Path) -> list[dict[str, Any]]:
    """The validated entries of a waivers file; InventoryError lists every problem."""
    raw, _ = _read_yaml(path, "waivers")
    entries = raw.get("waivers") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        raise InventoryError([f"{path}: expected a mapping with a 'waivers:' list"])
    problems: list[str] = []
    found = []
    for index, entry in enumerate(entries):
        try:
            found.append(_WaiverModel.model_validate(entry).model_dump())
        except ValidationError as exc:
            locs = [(index, *e["loc"]) for e in exc.errors()]
            problems.extend(
                f"{path}: {_where(loc, raw, 'waivers')}{_what(e, loc[1:], 'waivers')}"
                for e, loc in zip(exc.errors(), locs, strict=True)
            )
    if problems:
        raise InventoryError(list(dict.fromkeys(problems)))
    return found


POLICY_FIELDS = tuple(f.name for f in fields(Policy))
