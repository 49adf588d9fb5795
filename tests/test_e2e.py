"""The installed `sfa` driven as a person and a script would: a whole scenario, and one in a terminal."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pexpect

SFA = shutil.which("sfa", path=str(Path(sys.executable).parent)) or "sfa"


def sfa(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SFA_HOME": str(home), "NO_COLOR": "1"}
    return subprocess.run([SFA, *args], capture_output=True, text=True, env=env, timeout=60)


def test_installed_console_script_exists() -> None:
    assert Path(SFA).exists(), "install the project (pip install -e .) so that `sfa` is on PATH"


def test_whole_scenario_as_a_script(tmp_path: Path) -> None:
    home = tmp_path / "rep"
    leads = tmp_path / "leads.csv"
    leads.write_text(
        "name,company,email,phone,rating\n"
        "Marie Curie,Radium Works,marie@radium.example,+33 1 2345 6789,hot\n"
        "Pierre Curie,Radium Works,pierre@radium.example,,warm\n"
        "Lise Meitner,Fission AG,lise@fission.example,+49 30 555 000,cold\n"
    )
    added = json.loads(sfa(home, "lead", "add", "--from", str(leads), "--json").stdout)
    assert added["created"] == 3
    duplicate = sfa(home, "lead", "add", "M. Curie", "--email", "MARIE@radium.example")
    assert duplicate.returncode == 1
    assert "Marie Curie" in duplicate.stderr and duplicate.stdout == ""
    marie = next(
        x for x in json.loads(sfa(home, "lead", "list", "--json").stdout) if x["name"] == "Marie Curie"
    )
    assert sfa(home, "lead", "qualify", marie["ref"]).returncode == 0
    converted = json.loads(
        sfa(
            home,
            "lead",
            "convert",
            marie["ref"],
            "--opportunity",
            "Isotope supply",
            "--amount",
            "250k",
            "--close-date",
            "+30d",
            "--json",
        ).stdout
    )
    opp_id = converted["opportunity"]["id"]
    for stage in ("qualification", "quotation sent", "final stage"):
        assert sfa(home, "opp", "stage", opp_id, stage).returncode == 0
    won = json.loads(sfa(home, "opp", "won", opp_id, "--json").stdout)
    assert won["stage"] == "won" and won["amount"] == "250000.00"
    found = json.loads(sfa(home, "search", "radium", "--json").stdout)
    kinds = sorted(x["type"] for x in found)
    assert kinds == ["account", "contact", "lead", "lead"]
    account = json.loads(sfa(home, "account", "show", converted["account"]["id"], "--json").stdout)
    assert [c["name"] for c in account["contacts"]] == ["Marie Curie"]
    assert any("→ won" in t["text"] for t in account["timeline"])
    assert sfa(home, "opp", "list", "--open", "--json").stdout.strip() == "[]"


def test_in_a_terminal(tmp_path: Path) -> None:
    """Under a pseudo-terminal sfa draws tables and still reports errors on one line."""
    env = {**os.environ, "SFA_HOME": str(tmp_path / "tty"), "COLUMNS": "120", "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    child = pexpect.spawn(
        SFA, ["account", "add", "Tty Works", "--city", "Berlin"], env=env, encoding="utf-8", timeout=30
    )
    child.expect(r"account ([0-9a-f]{6,}) added: Tty Works")
    ref = child.match.group(1)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    child = pexpect.spawn(SFA, ["account", "list"], env=env, encoding="utf-8", timeout=30)
    child.expect("Ref")  # a drawn table has a title-case header, not the TSV one
    child.expect(ref)
    child.expect("Tty Works")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    child = pexpect.spawn(
        SFA,
        ["opp", "add", "Deal", "--account", ref, "--amount", "lots"],
        env=env,
        encoding="utf-8",
        timeout=30,
    )
    child.expect("sfa: error: amount: 'lots' is not an amount")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1


def test_first_run_offers_the_demo_company(tmp_path: Path) -> None:
    """The README's first command runs bare `sfa`: in a terminal it offers the demo data."""
    env = {**os.environ, "SFA_HOME": str(tmp_path / "first"), "TERM": "xterm", "NO_COLOR": "1"}
    child = pexpect.spawn(SFA, [], env=env, encoding="utf-8", timeout=60)
    child.expect(r"is empty\. Load a demo company to look around\? \[Y/n\]")
    child.sendline("y")
    child.expect(r"demo company created: 50 accounts")
    child.expect("next: sfa dashboard")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    # the second run does not ask again
    child = pexpect.spawn(SFA, [], env=env, encoding="utf-8", timeout=60)
    index = child.expect([r"Load a demo company", r"50 accounts"])
    assert index == 1
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_bare_sfa_in_a_script_prints_help(tmp_path: Path) -> None:
    result = sfa(
        tmp_path / "script",
    )
    assert result.returncode == 0
    assert "Usage: sfa" in result.stdout and "sfa demo" in result.stderr
