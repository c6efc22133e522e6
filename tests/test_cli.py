"""The commands' plumbing (dcgan.cli): each command's --help lists the flags it uses."""

import pytest
from runner import CHILD_TIMEOUT, run_module


@pytest.mark.parametrize("command", ["sample", "interpolate", "export", "evaluate"])
def test_help_lists_the_generator_flags_of_a_command_that_loads_one(command):
    # absl exits 1 after --help.
    result = run_module(f"dcgan.{command}", "--help", timeout=CHILD_TIMEOUT)
    assert f"dcgan.{command}" in result.stdout
    for flag in ("--checkpoint:", "--[no]ema:", "--workdir:"):
        assert flag in result.stdout, (command, flag)
    assert "--flagfile" not in result.stdout  # absl's own flags stay in --helpfull
