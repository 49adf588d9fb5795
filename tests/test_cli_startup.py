"""The command line's start-up path (sfa/cli/startup.py) and its one help style (docs/performance.md).

- sfa converts option values itself for the plain annotations it uses, instead of Typer's pydantic
  adapters; the conversion must give exactly what Typer gives, and Typer's own error otherwise.
- Every group and command has the same plain help: no rich panels, no shell-completion options, no
  `<bool>` metavars, and command lists that wrap instead of being cut off.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import pytest
import typer
import typer.main
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.exceptions import TyperException

from sfa.cli import main
from sfa.cli.startup import build

# -- the conversion gives what Typer gives ---------------------------------------------------------

probe = typer.Typer(add_completion=False)


@probe.command()
def probe_command(
    name: Annotated[str | None, typer.Argument()] = None,
    text: Annotated[str | None, typer.Option("--text")] = None,
    count: Annotated[int | None, typer.Option("--count", "-n", min=1)] = None,
    number: Annotated[int | None, typer.Option("--number")] = None,
    bounded: Annotated[int, typer.Option("--bounded", min=0, max=99)] = 5,
    path: Annotated[Path | None, typer.Option("--path")] = None,
    tags: Annotated[list[str] | None, typer.Option("--tag")] = None,
    flag: Annotated[bool, typer.Option("--flag")] = False,
) -> dict[str, Any]:
    return {
        "name": name,
        "text": text,
        "count": count,
        "number": number,
        "bounded": bounded,
        "path": path,
        "tags": tags,
        "flag": flag,
    }


def outcome(command: Any, args: list[str]) -> tuple[str, Any]:
    """("ok", the values the function received) or ("error", exit code, the message shown)."""
    try:
        return "ok", command.main(args=args, prog_name="probe", standalone_mode=False)
    except TyperException as exc:
        return "error", (exc.exit_code, exc.format_message())
    except Exception as exc:  # not sfa's to judge here: the same as Typer is all that is asked
        return "crash", (type(exc).__name__, str(exc))


NUMBERISH = st.one_of(
    st.from_regex(r"[+-]?[0-9]{1,25}", fullmatch=True),
    st.sampled_from(
        [
            "",
            " 5",
            "5 ",
            "٣",
            "1_000",
            "0x10",
            "-0",
            "+0",
            "00012",
            "1e3",
            "5.0",
            "99",
            "100",
            "-1",
            "0",
            "1" * 19,
            "9" * 18,
            "-" + "9" * 18,
            "1 2",
            "\t7",
        ]
    ),
    st.text(max_size=6),
)
TEXT = st.text(max_size=12)


@st.composite
def command_lines(draw: st.DrawFn, existing: str) -> list[str]:
    args: list[str] = []
    if draw(st.booleans()):
        args.append(draw(TEXT.filter(lambda t: not t.startswith("-"))))
    for option in draw(
        st.lists(
            st.sampled_from(
                ["--text", "--count", "-n", "--number", "--bounded", "--path", "--tag", "--flag"]
            ),
            max_size=5,
        )
    ):
        if option == "--flag":
            args.append(option)
        elif option in ("--text", "--tag"):
            args += [option, draw(TEXT)]
        elif option == "--path":
            args += [
                option,
                draw(st.sampled_from(["", ".", "/", existing, "no/such/file", "x.csv", "a\x00b"])),
            ]
        else:
            args.append(f"{option}={draw(NUMBERISH)}" if option.startswith("--") else option)
            if not option.startswith("--"):
                args.append(draw(NUMBERISH))
    return args


def probe_commands() -> tuple[Any, Any]:
    return typer.main.get_command(probe), build(probe)


# Built once and run for every example, as a click command is meant to be (each run has its own
# context): a value one run left behind in the command would show up as a difference in a later one.
PROBE_COMMANDS = probe_commands()


@pytest.fixture(scope="module")
def existing(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("probe") / "here.txt"
    path.write_text("x")
    return str(path)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
@example(data=None)
def test_conversion_gives_what_typer_gives(existing: str, data: Any) -> None:
    lines = [
        ["n", "--count", "3", "--tag", "a", "--tag", "b", "--path", existing, "--flag"],
        ["--count", "0"],
        ["--number", "x"],
        ["--bounded", "100"],
        ["--count", "+7"],
    ]
    if data is not None:
        lines = [data.draw(command_lines(existing))]
    typer_command, sfa_command = PROBE_COMMANDS
    for args in lines:
        assert outcome(sfa_command, args) == outcome(typer_command, args), args


def test_the_fast_path_is_taken() -> None:
    """The equality above would hold trivially if every value went to Typer's conversion."""
    _, sfa_command = probe_commands()
    context = sfa_command.make_context("probe", ["x", "--count", "3", "--tag", "a"])
    for param in context.command.get_params(context):
        assert type(param).__name__ in ("FastOption", "FastArgument"), param.name
        assert type(param.get_runtime_param()).__name__ == "_Conversion"


# -- one help style -------------------------------------------------------------------------------


def command_paths() -> list[list[str]]:
    """Every group and command of the real command tree, as the words that name it."""
    root = typer.main.get_command(main.app)
    paths: list[list[str]] = [[]]

    def walk(group: Any, context: typer.Context, prefix: list[str]) -> None:
        for name in group.list_commands(context):
            command = group.get_command(context, name)
            assert command is not None, name
            paths.append([*prefix, name])
            if hasattr(command, "list_commands"):
                walk(command, typer.Context(command, parent=context, info_name=name), [*prefix, name])

    walk(root, typer.Context(root, info_name="sfa"), [])
    return paths


PATHS = command_paths()


def test_the_tree_is_walked() -> None:
    assert len(PATHS) > 60
    for name in main.COMMANDS:
        assert [name] in PATHS
    assert ["lead", "add"] in PATHS and ["server", "user", "add"] in PATHS


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "sfa")
def test_help_has_one_style(
    path: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit) as exit:
        main.run(["--home", str(tmp_path), *path, "--help"])
    out, err = capsys.readouterr()
    assert exit.value.code == 0, err
    assert err == ""
    assert out.startswith(f"Usage: {' '.join(['sfa', *path])} [OPTIONS]")
    assert "\nOptions:\n" in out and "  -h, --help" in out and "Show this message and exit." in out
    for mark in ("╭", "│", "─", "╰"):  # rich's panels
        assert mark not in out
    assert "--install-completion" not in out and "--show-completion" not in out
    assert "<bool>" not in out
    for line in out.splitlines():
        assert len(line) <= 80, line
    if "\nCommands:\n" in out:
        listing = out.split("\nCommands:\n", 1)[1]
        assert not any(line.rstrip().endswith("...") for line in listing.splitlines()), listing
    assert not list(tmp_path.iterdir())  # help writes nothing


def groups_needing_a_command() -> list[list[str]]:
    root = typer.main.get_command(main.app)
    context = typer.Context(root, info_name="sfa")
    found = []
    for path in PATHS[1:]:
        command: Any = root
        for word in path:
            command = command.get_command(context, word)
        if hasattr(command, "list_commands") and command.no_args_is_help:
            found.append(path)
    return found


@pytest.mark.parametrize("path", groups_needing_a_command(), ids=" ".join)
def test_a_group_without_its_command_is_one_usage_line(
    path: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Typer's "no args is help" carries the whole help page as an error message: one line instead."""
    with pytest.raises(SystemExit) as exit:
        main.run(["--home", str(tmp_path), *path])
    out, err = capsys.readouterr()
    assert exit.value.code == 2 and out == ""
    assert err.startswith("sfa: error: missing command: ") and err.count("\n") == 1, err
    assert err.rstrip().endswith(f"(see 'sfa {' '.join(path)} --help')")


def test_root_help_imports_no_command_module(tmp_path: Path) -> None:
    import subprocess
    import sys

    script = (
        "import sys\nfrom sfa.cli.main import run\n"
        f"try:\n    run(['--home', {str(tmp_path)!r}, '--help'])\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('sfa.cli.')), file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    loaded = proc.stderr.strip().splitlines()[-1]
    assert loaded == "['sfa.cli.main', 'sfa.cli.startup']", proc.stderr
    assert "lead" in proc.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["account", "add", "Acme", "-q"],
        ["contact", "list", "--json"],
        ["opp", "list", "--open", "--limit", "5"],
        ["task", "list"],
        ["today"],
        ["search", "acme"],
        ["--version"],
    ],
    ids=" ".join,
)
def test_scripted_commands_load_no_pydantic(args: list[str], tmp_path: Path) -> None:
    """Typer converts option values with pydantic; on sfa's command line, startup.py does."""
    import subprocess
    import sys

    script = (
        "import sys\nfrom sfa.cli.main import run\n"
        f"try:\n    run(['--home', {str(tmp_path)!r}, *{args!r}])\nexcept SystemExit as exit:\n"
        "    print(exit.code, sorted({m.split('.')[0] for m in sys.modules}), file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    code, _, loaded = proc.stderr.strip().splitlines()[-1].partition(" ")
    assert code in ("0", "None"), proc.stderr
    for heavy in ("pydantic", "pydantic_core", "annotated_types", "rich"):
        assert repr(heavy) not in loaded, proc.stderr


# -- the collector is paused for the start-up only --------------------------------------------------


def test_the_collector_is_back_on_when_the_command_runs(tmp_path: Path) -> None:
    """sfa.cli.launch pauses garbage collection for the start-up; the command itself runs with it."""
    import subprocess
    import sys

    script = (
        "import gc, sys\n"
        "import sfa.services.leads as leads\n"
        "real = leads.add_lead\n"
        "def spy(*args, **kwargs):\n"
        "    print('collector', gc.isenabled(), gc.get_freeze_count() > 0, file=sys.stderr)\n"
        "    return real(*args, **kwargs)\n"
        "leads.add_lead = spy\n"
        f"sys.argv = ['sfa', '--home', {str(tmp_path)!r}, 'lead', 'add', 'Gc Test', '-q']\n"
        "from sfa.cli.launch import run\nrun()\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "collector True True" in proc.stderr


def test_in_process_runs_leave_the_collector_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Tests and other callers of sfa.cli.main.run keep their collector as it was: nothing frozen."""
    import gc

    frozen = gc.get_freeze_count()
    with pytest.raises(SystemExit) as exit:
        main.run(["--home", str(tmp_path), "lead", "add", "In Process", "-q"])
    assert exit.value.code == 0, capsys.readouterr().err
    assert gc.isenabled() and gc.get_freeze_count() == frozen
