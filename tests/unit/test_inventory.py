"""targets.yaml: models, defaults, overrides, and every problem reported at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from certgate.inventory import InventoryError, Policy, load_inventory


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "targets.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(InventoryError) as info:
        load_inventory(path)
    return list(info.value.problems)


def test_minimal_target_gets_policy_defaults(tmp_path):
    (tmp_path / "certs").mkdir()
    (tmp_path / "certs" / "a.csr").write_text("x")
    inventory = load_inventory(write(tmp_path, "targets:\n  - name: a\n    csr: certs/a.csr\n"))
    target = inventory.target("a")
    assert target.policy == Policy()
    assert target.csr == (tmp_path / "certs" / "a.csr").resolve()
    assert target.port == 443


def test_target_policy_overrides_file_policy(tmp_path):
    text = (
        "policy: {renewal_warning_days: 30, rsa_exact_bits: true}\n"
        "targets:\n"
        "  - {name: a, host: a.example.tw}\n"
        "  - {name: b, host: b.example.tw, policy: {renewal_warning_days: 90}}\n"
    )
    inventory = load_inventory(write(tmp_path, text))
    assert inventory.target("a").policy.renewal_warning_days == 30
    assert inventory.target("b").policy.renewal_warning_days == 90
    assert inventory.target("b").policy.rsa_exact_bits is True


def test_every_problem_is_reported_at_once_one_line_each(tmp_path):
    text = (
        "targets:\n"
        "  - {name: a, host: a.example.tw, colour: red}\n"
        "  - {name: b, host: b.example.tw, port: 99999}\n"
        "  - {name: a, host: c.example.tw}\n"
        "  - {name: Bad_Name, host: d.example.tw}\n"
        "  - {name: e, csr: missing.csr}\n"
        "  - {name: f, host: 'https://f.example.tw/'}\n"
        "  - {name: g, host: g.example.tw, addresses: [not-an-ip]}\n"
        "  - {name: h}\n"
    )
    problems = problems_of(write(tmp_path, text))
    joined = "\n".join(problems)
    assert all("\n" not in p for p in problems)
    assert "target 'a': key 'colour': unknown key" in joined
    assert "target 'b': key 'port': expected 1..65535, got 99999" in joined
    assert "target 'a': key 'name': duplicate target name" in joined
    assert "target #4: key 'name'" in joined
    assert "target 'e': key 'csr': no such file" in joined
    assert "target 'f': key 'host': expected a bare host name" in joined
    assert "target 'g': key 'addresses': 'not-an-ip' is not an IP address" in joined
    assert "target 'h': nothing to audit" in joined
    assert len(problems) == 8


def test_password_in_file_is_refused_without_echoing_it(tmp_path):
    text = "targets:\n  - {name: a, host: a.example.tw, pfx_password: Sup3rS3cret!}\n"
    (problem,) = problems_of(write(tmp_path, text))
    assert "pfx_password_env" in problem
    assert "Sup3rS3cret" not in problem


def test_wrong_types_are_named_without_values(tmp_path):
    text = (
        "policy: {rsa_min_bits: lots, trust: 7, pfx_encryption: [des]}\n"
        "targets:\n  - {name: a, host: a.example.tw, pages: [checkout]}\n"
    )
    joined = "\n".join(problems_of(write(tmp_path, text)))
    assert "policy: key 'rsa_min_bits': expected an integer, got a string" in joined
    assert "policy: key 'trust': expected a list of strings, got an integer" in joined
    assert "policy: key 'pfx_encryption': unknown value(s) des" in joined
    assert "key 'pages': pages are paths starting with '/'" in joined


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("targets: [\n  - name: a\n", "not valid YAML"),
        ("- just\n- a list\n", "expected a mapping with 'targets:'"),
        ("policy: {}\n", "expected a non-empty list of targets"),
        ("", "expected a mapping"),
    ],
)
def test_malformed_files_get_one_clear_line(tmp_path, text, expected):
    problems = problems_of(write(tmp_path, text))
    assert len(problems) == 1
    assert expected in problems[0]


def test_missing_targets_file(tmp_path):
    (problem,) = problems_of(tmp_path / "nope.yaml")
    assert "cannot read the targets file" in problem


def test_paths_are_relative_to_the_targets_file(tmp_path):
    sub = tmp_path / "inventory"
    sub.mkdir()
    (sub / "server.cer").write_text("x")
    inventory = load_inventory(write(sub, "targets:\n  - {name: a, certificate: server.cer}\n"))
    assert inventory.target("a").certificate == (sub / "server.cer").resolve()


def test_a_bad_or_missing_name_does_not_hide_the_targets_other_problems(tmp_path):
    text = (
        "targets:\n"
        "  - {name: Bad_Name, host: 12, adresses: [1.2.3.4]}\n"
        "  - {host: a.example.tw, csr: nope.csr}\n"
    )
    joined = "\n".join(problems_of(write(tmp_path, text)))
    assert "target #1: key 'name': expected a slug" in joined
    assert "got 'Bad_Name'" in joined
    assert "target #1: key 'host': expected a non-empty string, got an integer" in joined
    assert "target #1: key 'adresses': unknown key" in joined
    assert "target #2: key 'name' is missing" in joined
    assert "target #2: key 'csr': no such file" in joined


def test_internationalised_host_names_are_audited_in_their_dns_form(tmp_path):
    inventory = load_inventory(write(tmp_path, "targets:\n  - {name: a, host: 測試.台灣}\n"))
    assert inventory.target("a").host == "xn--g6w251d.xn--kpry57d"


def test_unknown_trust_store_and_folder_given_as_file(tmp_path):
    (tmp_path / "certs").mkdir()
    text = "policy: {trust: [mozila]}\ntargets:\n  - {name: a, certificate: certs}\n"
    joined = "\n".join(problems_of(write(tmp_path, text)))
    assert "no trust store 'mozila' (known: mozilla, microsoft" in joined
    assert "is a folder, not a file" in joined
