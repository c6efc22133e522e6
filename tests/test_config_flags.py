"""dcgan.config.flags: flags from the fields, and flagfiles overridden on the command line."""

import os

import pytest
from absl import flags

from dcgan.config import ConfigError
from dcgan.config import flags as config_flags

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICKSTART = os.path.join(ROOT, "experiments", "quickstart.flags")


def parse(*args, typed=True):
    """``dcgan.train``'s parse of ``args`` on flags of their own (absl's FLAGS untouched)."""
    flag_values = flags.FlagValues()
    config_flags.define_flags(flag_values)
    argv = ["dcgan.train", "--workdir=w", *args]
    flag_values(argv)
    return config_flags.parse(flag_values, argv if typed else None)


def flagfile(tmp_path, *lines):
    path = tmp_path / "run.flags"
    path.write_text("\n".join(lines) + "\n")
    return f"--flagfile={path}"


@pytest.mark.parametrize("spelling", [[f"--flagfile={QUICKSTART}"], ["--flagfile", QUICKSTART]])
def test_an_override_drops_the_flagfiles_options_it_makes_moot(spelling):
    parsed = parse(*spelling, "--eval_every=0")
    assert parsed.dropped == ("best_metric", "eval_samples")
    assert (parsed.config.best_metric, parsed.config.eval_samples) == ("", 10_000)  # defaults
    assert parsed.note() == (
        "note: --best_metric, --eval_samples from the flagfile have no effect with the flags "
        "given on the command line: dropped"
    )
    assert "--best_metric" not in parsed.config.to_flagfile()  # flags.txt repeats the run


def test_a_moot_flag_typed_on_the_command_line_stays_an_error():
    with pytest.raises(ConfigError, match="--best_metric has no effect here: it needs"):
        parse(f"--flagfile={QUICKSTART}", "--eval_every=0", "--best_metric=kid")


def test_every_flag_counts_as_typed_without_a_command_line():
    with pytest.raises(ConfigError, match="--best_metric has no effect here"):
        parse(f"--flagfile={QUICKSTART}", "--eval_every=0", typed=False)


def test_another_loss_family_drops_the_flagfiles_loss_options(tmp_path):
    wgan_gp = flagfile(tmp_path, "--dataset=ring2d", "--loss=wgan-gp", "--gp_weight=5")
    parsed = parse(wgan_gp, "--loss=hinge")
    assert parsed.dropped == ("gp_weight",)
    assert parsed.config.loss == "hinge" and parsed.config.gp_weight == 10.0


def test_a_dropped_option_can_make_another_moot(tmp_path):
    # --best_metric is dropped with --eval_every=0; then --patience, which needs it, too.
    run = flagfile(
        tmp_path, "--dataset=ring2d", "--eval_every=10", "--best_metric=modes", "--patience=3"
    )
    parsed = parse(run, "--eval_every=0")
    assert parsed.dropped == ("best_metric", "patience")
    assert parsed.config.patience == 0


def test_a_flagfile_alone_is_checked_as_before(tmp_path):
    broken = flagfile(tmp_path, "--dataset=ring2d", "--clip_value=0.05")
    with pytest.raises(ConfigError, match="--clip_value has no effect here"):
        parse(broken)
    assert parse(f"--flagfile={QUICKSTART}").dropped == ()


def test_the_command_line_names_fields_through_every_spelling():
    flag_values = flags.FlagValues()
    config_flags.define_flags(flag_values)
    argv = [
        "dcgan.train",
        "--norandom_flip",
        "--noise=uniform",
        "-r1_weight=1",
        "--flagfile=x.flags",
        "--eval_every",
        "3",
        "--",
        "--loss=hinge",
    ]
    assert config_flags._typed(argv, flag_values) == {
        "random_flip",
        "noise_distribution",
        "r1_weight",
        "penalty",
        "penalty_weight",
        "flagfile",
        "eval_every",
    }
