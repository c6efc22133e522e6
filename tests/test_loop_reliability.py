"""The loop under interruption and failure: exact resume, signals, NaN, failed saves."""

import json
import os
import signal
import sys
import textwrap
import time

import numpy as np
import pytest
import tensorflow as tf
from configs import tiny_image
from runner import CHILD_TIMEOUT, Background, log_line, log_lines, start_module

from dcgan import data
from dcgan.run import loop
from dcgan.run.checkpoints import CheckpointError


def tiny(workdir, **overrides):
    values = dict(
        train_steps=6,
        log_every=1,
        summary_every=1,
        image_every=100,
        checkpoint_every=2,
    )
    return tiny_image(workdir, **{**values, **overrides})


# Run in child processes: op determinism is process-wide and cannot be turned off. Each
# case trains straight to step 6, checkpointed at step 3, and a second run resumes to 6
# from step 3; a child prints {case: "IDENTICAL" or "DIFFERENT k of n"} as JSON for the
# cases it is given. The dcgan case resumes a session that ended at step 3, as a user
# does; the others resume a copy of the straight run rewound to step 3 (one run less
# each): ending a session is the same code for every option, restoring an option's
# state is what they test.
EXACT_RESUME = textwrap.dedent("""
    import json, sys, numpy as np
    sys.path.insert(0, "tests")
    from configs import rewound_copy
    from dcgan.run import loop
    from dcgan.config import Config

    def run(workdir, steps, options):
        config = Config(workdir=workdir, dataset="glyphs", image_size=28, latent_dim=8,
                        g_base_width=4, d_base_width=4, batch_size=8, train_steps=steps,
                        n_critic=2, deterministic=True, checkpoint_every=3, log_every=100,
                        **options)
        trainer = loop.train(config)
        return [v.numpy() for v in trainer.checkpoint_items()["generator"].weights
                + trainer.discriminator.weights + trainer.g_optimizer.variables
                + trainer.d_optimizer.variables + [trainer.noise_rng.state]]

    root, cases = sys.argv[1], json.loads(sys.argv[2])
    verdicts = {}
    for name, options in cases.items():
        straight = run(f"{root}/{name}/straight", 6, options)
        if name == "dcgan":
            run(f"{root}/{name}/resumed", 3, options)
        else:
            rewound_copy(f"{root}/{name}/straight", f"{root}/{name}/resumed", 3)
        resumed = run(f"{root}/{name}/resumed", 6, options)
        same = [np.array_equal(a, b) for a, b in zip(straight, resumed, strict=True)]
        differing = same.count(False)
        verdicts[name] = f"DIFFERENT {differing} of {len(same)}" if differing else "IDENTICAL"
        # A run that started over would train the same 6 steps from the seed.
        with open(f"{root}/{name}/resumed/log.txt") as f:
            if "resuming from step 3; training to step 6" not in f.read():
                verdicts[name] = "NOT RESUMED"
    print(json.dumps(verdicts))
""")
# Each case costs two or three runs, so a case is an option with state of its own to
# restore: weight clipping (wgan) has none beyond the dcgan case's nets, optimizers and
# data order.
EXACT_RESUME_CASES = {
    "dcgan": {"loss": "dcgan"},
    "wgan-gp": {"loss": "wgan-gp", "d_norm": "layer"},
    # Every new option: D's power-iteration vectors, the augmentation draws and the lazy
    # penalty's schedule (12 D updates, resumed after 6) must all come back.
    "hinge-sn-augment-pack": {
        "loss": "hinge",
        "spectral_norm": True,
        "d_norm": "none",
        "diff_augment": ["color", "translation", "cutout"],
        "pack": 2,
    },
    "ragan-lazy-r1": {"loss": "ragan", "penalty": "r1", "penalty_every": 3, "d_norm": "none"},
    "lsgan-lp-pack": {"loss": "lsgan", "penalty": "lp", "d_norm": "layer", "pack": 2},
}


@pytest.fixture(scope="module", autouse=True)
def exact_resume_children(tmp_path_factory):
    """Two deterministic children, half of ``EXACT_RESUME_CASES`` each, started before the
    first test of this module: they train while the other tests run (their tests come
    last)."""
    names = list(EXACT_RESUME_CASES)
    children = []
    for half in (names[::2], names[1::2]):
        cases = {name: EXACT_RESUME_CASES[name] for name in half}
        root = str(tmp_path_factory.mktemp("exact"))
        argv = [sys.executable, "-c", EXACT_RESUME, root, json.dumps(cases)]
        children.append(Background(argv, timeout=150))
    yield children
    for child in children:
        child.kill()


def start_training(workdir, *flags):
    """``python -m dcgan.train`` to a step it never reaches; killed after 60 s."""
    return start_module(
        "dcgan.train",
        f"--workdir={workdir}",
        "--train_steps=100000",
        "--log_every=1",
        "--checkpoint_every=1000",
        *flags,
        timeout=CHILD_TIMEOUT,
    )


def wait_for_step(process, step):
    """Reads stdout until the log line of ``step``; returns what was read."""
    lines = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line)
        if log_line(line).startswith(f"step {step}/"):
            return lines
    process.kill()
    raise AssertionError(f"no step {step} line; got {lines[-5:]}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_a_signal_finishes_the_step_saves_and_exits_0(tmp_path, sig):
    workdir = tmp_path / "run"
    process = start_training(
        workdir,
        "--batch_size=8",
        "--latent_dim=8",
        "--g_base_width=4",
        "--d_base_width=4",
        "--image_size=28",
    )
    wait_for_step(process, 3)
    process.send_signal(sig)
    out, err = process.communicate(timeout=CHILD_TIMEOUT)
    assert process.returncode == 0, err[-2000:]
    stopped = [line for line in log_lines(out) if line.startswith(f"stopped by {sig.name}")]
    assert len(stopped) == 1, out[-1000:]
    step = int(stopped[0].split(" at step ")[1].split(";")[0])
    assert step >= 3
    latest = tf.train.latest_checkpoint(str(workdir / "checkpoints"))
    assert latest.endswith(f"ckpt-{step}") and f"; checkpoint {latest}; took " in stopped[0]


def test_a_second_signal_aborts_without_saving(tmp_path):
    workdir = tmp_path / "run"
    process = start_training(
        workdir,
        "--batch_size=8",
        "--latent_dim=8",
        "--g_base_width=4",
        "--d_base_width=4",
        "--image_size=28",
    )
    wait_for_step(process, 3)
    # Two different signals: identical pending signals may be merged into one.
    process.send_signal(signal.SIGTERM)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=CHILD_TIMEOUT)
    # Python runs pending handlers in signal-number order, not in the order sent.
    assert process.returncode in (128 + signal.SIGINT, 128 + signal.SIGTERM), err[-2000:]
    assert "second signal (" in err and "): aborting without saving" in err
    assert tf.train.latest_checkpoint(str(workdir / "checkpoints")) is None


def poison_batch(monkeypatch, at):
    """Makes batch ``at`` of every dataset NaN, as corrupt data or an overflow would."""
    make_dataset = data.make_dataset

    def poisoned(*args, **kwargs):
        dataset = make_dataset(*args, **kwargs)
        indexed = tf.data.Dataset.zip(tf.data.Dataset.range(10**9), dataset)
        return indexed.map(lambda i, x: tf.where(i == at, x * np.nan, x))

    monkeypatch.setattr(data, "make_dataset", poisoned)


def test_nonfinite_stops_without_saving_the_bad_state(tmp_path, monkeypatch, capsys):
    poison_batch(monkeypatch, at=4)  # n_critic 1: batch 4 feeds step 5
    with pytest.raises(loop.NonFiniteError) as raised:
        loop.train(tiny(tmp_path))
    message = str(raised.value)
    assert "non-finite d_loss=nan" in message and "at step 5" in message
    assert "latest checkpoint is" in message and message.count("ckpt-4") == 1
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")).endswith("ckpt-4")
    assert "step 5/" not in capsys.readouterr().out


def test_nonfinite_skip_skips_counts_and_finishes(tmp_path, monkeypatch, read_summaries):
    poison_batch(monkeypatch, at=4)
    trainer = loop.train(tiny(tmp_path, on_nonfinite="skip"))
    assert int(trainer.step.numpy()) == 6
    assert int(trainer.nonfinite_updates.numpy()) == 1
    for variable in trainer.generator.weights + trainer.discriminator.weights:
        assert np.all(np.isfinite(variable.numpy()))
    counts = dict(read_summaries(str(tmp_path))["health/nonfinite_updates"])
    assert counts[4] == 0 and counts[5] == 1 and counts[6] == 1


def test_a_failed_save_is_an_error_and_earlier_checkpoints_stay(tmp_path, monkeypatch):
    save = tf.train.CheckpointManager.save

    def disk_full_at_step_4(self, checkpoint_number=None, **kwargs):
        if checkpoint_number == 4:
            raise tf.errors.ResourceExhaustedError(None, None, "No space left on device")
        return save(self, checkpoint_number=checkpoint_number, **kwargs)

    monkeypatch.setattr(tf.train.CheckpointManager, "save", disk_full_at_step_4)
    with pytest.raises(CheckpointError) as raised:
        loop.train(tiny(tmp_path))
    message = str(raised.value)
    assert "could not save the checkpoint of step 4" in message
    assert "No space left on device" in message and "earlier checkpoints are intact" in message
    assert "\n" not in message
    checkpoints = tmp_path / "checkpoints"
    assert tf.train.latest_checkpoint(str(checkpoints)).endswith("ckpt-2")
    assert os.path.exists(f"{checkpoints}/ckpt-2.index")


@pytest.fixture(scope="module")
def exact_resume_verdicts(exact_resume_children):
    """The children's verdicts, {case: "IDENTICAL" or "DIFFERENT k of n"}."""
    verdicts = {}
    for child in exact_resume_children:
        result = child.result()
        assert result.returncode == 0, result.stderr[-2000:]
        verdicts.update(json.loads(result.stdout.strip().splitlines()[-1]))
    return verdicts


@pytest.mark.parametrize("case", EXACT_RESUME_CASES)
def test_stop_and_resume_is_bit_identical_to_an_uninterrupted_run(exact_resume_verdicts, case):
    assert exact_resume_verdicts[case] == "IDENTICAL"
