"""``python -m dcgan.train`` as a user runs it: the quickstart flagfile, resume, errors."""

import dataclasses
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from configs import from_flags
from runner import CHILD_TIMEOUT, Commands, program_stderr, run_module

from dcgan import config as config_lib
from dcgan.config import fields as config_fields
from dcgan.run import loop

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
QUICKSTART = os.path.join(ROOT, "experiments", "quickstart.flags")


def quickstart_sessions(root):
    """The quickstart as a user runs it, 3 + 1 steps: the first session, a copy of its
    workdir, the session resumed to step 4, then the run again from its saved flags.

    Returns:
        (first, second, again) results, the workdir and the copy made after the first.
    """
    workdir, after_first = root / "quick", root / "after_first"
    # The quickstart measures itself on 5,000 samples; every step is logged here so that
    # the resumed session visibly starts after step 3.
    flags = [
        f"--flagfile={QUICKSTART}",
        f"--workdir={workdir}",
        "--eval_samples=200",
        "--log_every=1",
    ]
    first = run_module("dcgan.train", *flags, "--train_steps=3", timeout=CHILD_TIMEOUT)
    if first.returncode != 0:
        return first, None, None, workdir, after_first
    shutil.copytree(workdir, after_first)
    second = run_module("dcgan.train", *flags, "--train_steps=4", timeout=CHILD_TIMEOUT)
    again = run_module("dcgan.train", f"--flagfile={workdir / 'flags.txt'}", timeout=CHILD_TIMEOUT)
    return first, second, again, workdir, after_first


@pytest.fixture(scope="module", autouse=True)
def commands(tmp_path_factory, two_steps):
    """The module's commands that load TensorFlow, started before its first test while
    the flag checks run here; each test below reads its own. The quickstart's sessions
    run as a user runs them, a process each, and come first: they take longest, and their
    test comes last. The other commands run in one process (``runner.run_batch``); the
    missing data folder gets a process of its own, for a real exit status 1."""
    # An empty KERAS_HOME, where the no-inception case must find no Inception weights;
    # the other commands read nothing from it.
    keras_home = str(tmp_path_factory.mktemp("keras"))
    commands = Commands(tmp_path_factory, env={"KERAS_HOME": keras_home})
    commands.submit("quickstart", quickstart_sessions, commands.mkdir("quickstart"))
    start_tfds(commands)
    start_cannot_evaluate(commands)
    start_workdir_file(commands)
    start_verbosity(commands)
    start_damaged(commands, two_steps)
    start_missing_folder(commands)
    start_old_flags(commands)
    commands.start()
    yield commands
    commands.close()


def train(*args, env=None):
    """``python -m dcgan.train *args`` for a command below that fails (or trains a step)."""
    return run_module("dcgan.train", *args, env=env, timeout=CHILD_TIMEOUT)


@pytest.mark.parametrize(
    "flags, message",
    [
        ([], "--workdir= is invalid"),
        (
            ["--loss=softmax"],
            "--loss=softmax: value should be one of <dcgan|wgan|wgan-gp|hinge|lsgan|ragan>",
        ),
        (["--batch_size=many"], "--batch_size=many"),
        (["--clip_value=0.05"], "--clip_value has no effect here: it needs --loss=wgan"),
        (["--loss=wgan-gp"], "--d_norm=batch cannot be used with --loss=wgan-gp"),
        (["--g_hidden_units=64,x"], "--g_hidden_units=64,x is invalid"),
        (["--dataset=folder"], "--dataset=folder needs --data_dir"),
        (["--n_critic=0"], "--n_critic=0 is invalid; allowed: an integer >= 1"),
        (["stray"], "unexpected arguments ['stray']"),
        (["--image_size=48"], "--image_size=48: value should be one of <28|32|64|128>"),
        (
            ["--label_smoothing=1.0"],
            "--label_smoothing=1.0 is invalid; allowed: a number in [0.0, 1.0)",
        ),
        (["--on_nonfinite=ignore"], "--on_nonfinite=ignore: value should be one of <stop|skip>"),
        (["--allow_flag_changes=latent_dim"], "--allow_flag_changes=latent_dim is invalid"),
        (["--d_optimizer=rmsprop", "--d_beta1=0.9"], "--d_beta1 has no effect here"),
        (["--dataset=ring2d", "--image_size=64"], "--image_size has no effect here"),
        (["--g_lr=0"], "--g_lr=0.0 is invalid; allowed: a number > 0"),
        (["--train_steps=-5"], "--train_steps=-5 is invalid; allowed: an integer >= 1"),
        (["--dataset=imagenet"], "--dataset=imagenet is invalid; allowed: glyphs, folder"),
        (["--dataset=ring2d", "--best_metric=modes"], "--best_metric has no effect here"),
        (
            ["--dataset=ring2d", "--eval_every=10", "--best_metric=fid"],
            "--best_metric=fid is invalid; allowed: '' (none) or one of modes, high_quality",
        ),
        (["--lr_decay_steps=10", "--train_steps=20"], "--lr_decay_steps=10 is invalid"),
        (
            ["--loss=wgan", "--r1_weight=1"],
            "--penalty=r1 cannot be used with --loss=wgan --clip_value=0.01 (weight clipping)",
        ),
        (
            ["--dataset=ring2d", "--r1_weight=1", "--penalty_weight=2"],
            "--r1_weight and --penalty_weight both given; --r1_weight is the deprecated form of "
            "--penalty=r1 --penalty_weight=GAMMA: give only those",
        ),
        (["--lsgan_targets=1,x,0", "--loss=lsgan"], "--lsgan_targets=1,x,0 is invalid"),
        (["--dataset=mnist", "--data_dir=x"], "--data_dir has no effect here"),
        (
            ["--noise=uniform", "--noise_distribution=normal"],
            "--noise and --noise_distribution both given; --noise is the deprecated name",
        ),
    ],
)
def test_bad_flags_fail_in_one_line_with_status_2(tmp_path, flags, message):
    workdir = [] if not flags else [f"--workdir={tmp_path}/w"]
    result = run_module("dcgan.train", *workdir, *flags, timeout=CHILD_TIMEOUT)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dcgan.train: error: "), result.stderr
    assert message in lines[0]
    assert not os.path.exists(tmp_path / "w")


def start_tfds(commands):
    tmp = commands.mkdir("tfds")
    args = (f"--workdir={tmp}/w", "--dataset=tfds:no_such_set", f"--data_dir={tmp}/tfds")
    commands.command("tfds", "dcgan.train", *args)


def test_an_unprepared_tfds_set_fails_with_status_1_and_writes_nothing(commands):
    # Whether or not TensorFlow Datasets is installed, the run cannot start: one line.
    tmp_path, result = commands.folder("tfds"), commands.result("tfds")
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("dcgan.train: error: --dataset=tfds:no_such_set"), lines[-1]
    assert not os.path.exists(tmp_path / "w")


CANNOT_EVALUATE = {
    "missing-classifier": (
        ["--eval_classifier={tmp}/missing.keras"],
        "no classifier at {tmp}/missing.keras: train one with python -m dcgan.classifier",
    ),
    "no-inception": (
        ["--dataset=npy", "--data_file={tmp}/images.npy"],
        "InceptionV3 weights not found at {keras}/models/",
    ),
}


def start_cannot_evaluate(commands):
    for case, (flags, _) in CANNOT_EVALUATE.items():
        tmp = commands.mkdir(case)
        np.save(tmp / "images.npy", np.zeros((64, 28, 28, 1), np.uint8))
        args = [f"--workdir={tmp}/w", "--image_size=28", "--eval_every=10"]
        args += [flag.format(tmp=tmp) for flag in flags]
        commands.command(case, "dcgan.train", *args)


@pytest.mark.parametrize("case", CANNOT_EVALUATE)
def test_a_run_that_cannot_be_evaluated_fails_before_training(commands, case):
    tmp_path, result = commands.folder(case), commands.result(case)
    message = CANNOT_EVALUATE[case][1]
    assert result.returncode == 1, result.stderr
    last = program_stderr(result)[-1]
    keras_home = commands.env["KERAS_HOME"]
    assert last.startswith("dcgan.train: error: ")
    assert message.format(tmp=tmp_path, keras=keras_home) in last
    assert "dcgan.classifier" in last  # what to do about it
    assert not os.path.exists(tmp_path / "w" / "checkpoints")


def start_workdir_file(commands):
    tmp = commands.mkdir("workdir-file")
    (tmp / "w").write_text("not a directory")
    commands.command("workdir-file", "dcgan.train", f"--workdir={tmp}/w", "--train_steps=1")


def test_workdir_that_is_a_file_is_refused(commands):
    tmp_path, result = commands.folder("workdir-file"), commands.result("workdir-file")
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last == f"dcgan.train: error: --workdir={tmp_path}/w exists and is not a directory"
    assert (tmp_path / "w").read_text() == "not a directory"


def start_verbosity(commands):
    tmp = commands.mkdir("verbosity")
    (tmp / "w").write_text("")
    commands.command("quiet", "dcgan.train", f"--workdir={tmp}/w")
    commands.command("loud", "dcgan.train", f"--workdir={tmp}/w", "--verbosity=1")


def test_verbosity_adds_the_traceback(commands):
    quiet, loud = commands.result("quiet"), commands.result("loud")
    assert "Traceback" not in quiet.stderr
    assert "Traceback" in loud.stderr and "ConfigError" in loud.stderr
    assert loud.stderr.strip().splitlines()[-1] == quiet.stderr.strip().splitlines()[-1]


TINY = [
    "--batch_size=8",
    "--latent_dim=8",
    "--g_base_width=4",
    "--d_base_width=4",
    "--image_size=28",
    "--grid_size=2",
    "--checkpoint_every=2",
]


@pytest.fixture(scope="module")
def two_steps(tmp_path_factory):
    """The workdir of ``python -m dcgan.train --train_steps=2 *TINY``, trained in this
    process from the command's flags."""
    workdir = tmp_path_factory.mktemp("two_steps") / "w"
    loop.train(from_flags(f"--workdir={workdir}", "--train_steps=2", *TINY))
    return workdir


def snapshot(directory):
    return {path: path.read_bytes() for path in sorted(directory.rglob("*")) if path.is_file()}


DAMAGES = {
    # A truncated checkpoint: the run stops before training instead of starting over.
    "truncated-checkpoint": (
        lambda w: (w / "checkpoints" / "ckpt-2.index").write_bytes(b"\0" * 10),
        1,
        "ckpt-2 cannot be read",
    ),
    "corrupt-config": (
        lambda w: (w / "config.json").write_text("{not json"),
        2,
        "is not a valid dcgan config",
    ),
}


def start_damaged(commands, two_steps):
    """A copy of ``two_steps`` damaged each way of ``DAMAGES``, and the resume of each."""
    for case, (damage, _, _) in DAMAGES.items():
        workdir = commands.mkdir(case) / "w"
        shutil.copytree(two_steps, workdir)
        damage(workdir)
        DAMAGED_BEFORE[case] = snapshot(workdir)
        commands.command(case, "dcgan.train", f"--workdir={workdir}", "--train_steps=4", *TINY)


DAMAGED_BEFORE = {}  # {case: the damaged workdir's files before the command}


@pytest.mark.parametrize("case", DAMAGES)
def test_damaged_workdir_is_refused_and_left_alone(commands, case):
    _, status, message = DAMAGES[case]
    result = commands.result(case)
    assert result.returncode == status, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("dcgan.train: error: ") and message in last
    assert snapshot(commands.folder(case) / "w") == DAMAGED_BEFORE[case]


def start_missing_folder(commands):
    tmp = commands.mkdir("missing-folder")
    args = ("--dataset=folder", f"--data_dir={tmp}/no_such_folder", "--train_steps=1")
    commands.submit("missing-folder", train, f"--workdir={tmp}/w", *args)


def test_missing_data_folder_fails_with_status_1_and_writes_nothing(commands):
    tmp_path, result = commands.folder("missing-folder"), commands.result("missing-folder")
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("dcgan.train: error: ") and "no_such_folder" in last
    assert not os.path.exists(tmp_path / "w")


def python(code):
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=CHILD_TIMEOUT,
    )


def test_every_flag_is_a_config_field_with_its_default_and_help():
    result = python(
        "import json; from absl import flags; import dcgan.train\n"
        "print(json.dumps({f.name: [f.default, f.help, getattr(f.parser, 'enum_values', None)]"
        " for f in flags.FLAGS.get_key_flags_for_module('dcgan.train')}))"
    )
    assert result.returncode == 0, result.stderr
    defined = json.loads(result.stdout)
    fields = {f.name: f for f in dataclasses.fields(config_lib.Config)}
    renamed, replaced = config_lib.RENAMED_FIELDS, config_lib.REPLACED_FIELDS
    assert set(defined) == set(fields) | set(renamed) | set(replaced)
    for name, (_, replacement) in replaced.items():  # a deprecated flag, unset by default
        assert defined.pop(name)[:2] == [None, f"Deprecated: use {replacement}."]
    for name, (default, help_text, enum_values) in defined.items():
        field = fields[renamed.get(name, name)]
        expected = None if field.default is dataclasses.MISSING else field.default
        if isinstance(expected, tuple):
            expected = list(expected)
        elif config_fields.choices(field):
            expected = str(expected)  # int choices are an enum of strings
        assert default == expected, name
        choices = config_fields.choices(field)
        assert enum_values == (None if choices is None else [str(c) for c in choices]), name
        if name not in renamed:  # absl puts an enum's choices first
            assert help_text.endswith(field.metadata["help"]), name


def test_flags_become_a_config_without_loading_tensorflow():
    result = python(
        "import sys; from absl import flags; import dcgan.train\n"
        "flags.FLAGS(['train', '--workdir=w', '--dataset=ring2d', '--g_hidden_units=8,4'])\n"
        "config = dcgan.config.flags.config_from_flags()\n"
        "assert config.g_hidden_units == (8, 4), config\n"
        "assert 'tensorflow' not in sys.modules, 'tensorflow was imported'"
    )
    assert result.returncode == 0, result.stderr


OLD_FLAGS = {
    "--noise=uniform": ("--noise_distribution", {"noise_distribution": "uniform"}),
    "--r1_weight=2": (
        "--penalty=r1 --penalty_weight=GAMMA",
        {"penalty": "r1", "penalty_weight": 2.0},
    ),
}


def start_old_flags(commands):
    vector = ("--dataset=ring2d", "--g_hidden_units=8", "--d_hidden_units=8", "--batch_size=8")
    for old in OLD_FLAGS:
        workdir = commands.mkdir(old) / "w"
        commands.command(
            old,
            "dcgan.train",
            f"--workdir={workdir}",
            *vector,
            "--train_steps=1",
            old,
        )


@pytest.mark.parametrize("old", OLD_FLAGS)
def test_an_old_flag_still_works_with_one_warning_line(commands, old):
    warning, saved_values = OLD_FLAGS[old]
    workdir, result = commands.folder(old) / "w", commands.result(old)
    assert result.returncode == 0, result.stderr
    name = old[2:].split("=")[0]
    warnings = [line for line in result.stderr.splitlines() if "deprecated" in line]
    assert warnings == [f"dcgan.train: warning: --{name} is deprecated; use {warning}"]
    saved = json.loads((workdir / "config.json").read_text())
    assert {key: saved[key] for key in saved_values} == saved_values and name not in saved
    flags = (workdir / "flags.txt").read_text()
    for key, value in saved_values.items():
        assert f"--{key}={value}\n" in flags


def test_quickstart_trains_3_steps_then_resumes_to_4(commands, read_summaries):
    """The quickstart flagfile as shipped, but 3 + 1 steps: every assertion holds for any
    length (the last step of a session is always logged, summarized, drawn, measured
    and saved), so a short run shows the same."""
    first, second, again, workdir, after_first = commands.result("quickstart")
    assert first.returncode == 0, first.stderr
    assert "step 1/3 d_loss=" in first.stdout and "step 3/3 d_loss=" in first.stdout
    summaries = read_summaries(str(after_first))
    assert {
        "loss/d_loss_real",
        "loss/d_loss_fake",
        "loss/d_loss",
        "loss/g_loss",
        "D/d_accuracy",
        "D/d_output_real",
        "D/d_output_fake",
        "D/d_grad_norm",
        "G/g_grad_norm",
        "speed/steps_per_sec",
        "fixed_noise_samples",
    } <= set(summaries)
    assert os.path.exists(after_first / "samples" / "step_00000003.png")
    assert tf.train.latest_checkpoint(str(after_first / "checkpoints")).endswith("ckpt-3")

    assert second.returncode == 0, second.stderr
    assert "resuming from step 3" in second.stdout and "step 4/4" in second.stdout
    assert "step 1/" not in second.stdout
    assert tf.train.latest_checkpoint(str(workdir / "checkpoints")).endswith("ckpt-4")
    # Offline, in the shipped glyph classifier: from step 0, at the end of each session.
    evaluated = read_summaries(str(workdir))
    for name in ("fid", "kid", "precision", "recall", "coverage", "classes_covered"):
        assert [step for step, _ in evaluated[f"eval/{name}"]] == [0, 3, 4]
    assert os.path.exists(workdir / "best" / "best.json")  # --best_metric=fid

    # The saved flags repeat the run: from them alone it is already complete.
    assert again.returncode == 0, again.stderr
    assert "nothing to do" in again.stdout
