"""The relay command's start and end (issue 11, the re-plan's speed): ``relay CMD`` builds only
CMD's parser, which must be the one the whole command line has for CMD; the process entry
freezes the garbage collector's objects at its end, a call from Python does not."""
from __future__ import annotations

import gc
import importlib
import subprocess
import sys

import pytest

from relay import cli
from relay.commands import COMMAND_MODULES


def _subcommands(parser) -> dict:
    action = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return action.choices


def test_each_module_registers_the_commands_it_is_listed_with():
    every = _subcommands(cli.build_parser())
    assert set(every) == {c for names in COMMAND_MODULES.values() for c in names}
    for module, names in COMMAND_MODULES.items():
        importlib.import_module(module)
        for name in names:
            only = _subcommands(cli.build_parser(name))
            assert set(only) == set(names)
            assert only[name].format_help() == every[name].format_help()


@pytest.mark.parametrize("argv, known", [(["replan", "x"], "replan"), (["diff", "a", "b"], "diff"),
                                         (["-h", "replan"], None), (["replann"], None), ([], None)])
def test_only_a_leading_command_name_narrows_the_parser(argv, known):
    assert cli._known_command(argv) == known


def test_help_and_mistakes_read_as_before(capsys):
    with pytest.raises(SystemExit):
        cli.main(["-h"])
    top = capsys.readouterr().out
    assert all(c in top for names in COMMAND_MODULES.values() for c in names)
    assert cli.main(["replan", "nowhere", "--time-limit", "-1", "--out", "x"]) == 2
    assert "--time-limit" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        cli.main(["replann"])
    assert e.value.code == 2 and "invalid choice: 'replann'" in capsys.readouterr().err


def test_a_call_from_python_leaves_the_collector_as_it_was(capsys):
    frozen = gc.get_freeze_count()
    assert cli.main(["replan", "nowhere", "--out", "x"]) == 2
    assert gc.get_freeze_count() == frozen and gc.isenabled()


def test_the_command_line_process_freezes_at_its_end():
    code = ("import gc, sys\nfrom relay.cli import main\nsys.argv = ['relay', 'replan', 'nowhere', '--out', 'x']\n"
            "rc = main()\nprint(rc, gc.get_freeze_count() > 0, gc.isenabled())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["2", "True", "True"]
