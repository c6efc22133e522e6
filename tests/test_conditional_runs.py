"""Class-conditional runs end to end: the classes saved with the run, bit-exact resume,
mirrored against one device, mixed precision, the conditional metrics, and the commands
that generate (sample, interpolate, export) with --classes."""

import dataclasses
import json

import imageio.v3 as iio
import numpy as np
import pytest
import tensorflow as tf
from configs import assert_same_nets, rewound_copy, tiny_image
from runner import CHILD_TIMEOUT, run_batch

from dcgan.config import ConfigError
from dcgan.data.common import DataError
from dcgan.run import loop

GLYPHS = 62


def conditional(workdir, **overrides):
    """A tiny projection-conditional glyph run (hinge, spectral norm in D)."""
    options = dict(
        conditioning="projection",
        loss="hinge",
        spectral_norm=True,
        d_norm="none",
        checkpoint_every=2,
        image_every=100,
        log_every=100,
    )
    return tiny_image(workdir, **{**options, **overrides})


@pytest.fixture(scope="module")
def acgan_run(tmp_path_factory):
    """An ACGAN run of 3 steps with a weight average, evaluated at its end."""
    workdir = tmp_path_factory.mktemp("acgan")
    config = conditional(
        workdir,
        conditioning="acgan",
        class_weight=0.5,
        g_ema_decay=0.9,
        train_steps=3,
        eval_every=3,
        eval_samples=124,
    )
    return config, loop.train(config)


def test_the_classes_are_saved_with_the_run(acgan_run):
    config, trainer = acgan_run
    workdir = config.workdir
    names = json.loads(open(f"{workdir}/classes.json").read())
    assert len(names) == GLYPHS and names[:3] == ["A", "B", "C"] and names[-1] == "9"
    assert json.loads(open(f"{workdir}/config.json").read())["num_classes"] == GLYPHS
    log = open(f"{workdir}/log.txt").read()
    assert f"conditioned on {GLYPHS} classes (acgan)" in log
    assert trainer.tracing_counts() == {"train_step": 1, "generate": 1}


def test_a_conditional_evaluation_measures_the_classes(acgan_run):
    config, _ = acgan_run
    with open(f"{config.workdir}/metrics.jsonl") as f:
        [last] = [r for r in map(json.loads, f) if r["kind"] == "eval" and r["step"] == 3]
    for name in ("conditional_accuracy", "intra_fid", "inception_score", "classes_covered"):
        assert np.isfinite(last[name]), name
    assert 0 <= last["conditional_accuracy"] <= 1
    assert 1 <= last["inception_score"] <= GLYPHS


def test_a_conditional_run_resumes_bit_exactly(acgan_run, tmp_path, capsys):
    config, whole = acgan_run
    split = tmp_path / "split"
    rewound_copy(config.workdir, split, 2)
    capsys.readouterr()
    resumed = loop.train(dataclasses.replace(config, workdir=str(split)))
    assert "resuming from step 2; training to step 3" in capsys.readouterr().out
    for net in ("generator", "discriminator", "generator_ema"):
        for a, b in zip(getattr(whole, net).weights, getattr(resumed, net).weights, strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)


def test_a_resume_on_other_classes_is_refused(acgan_run, tmp_path):
    config, _ = acgan_run
    workdir = tmp_path / "renamed"
    loop.train(conditional(workdir, train_steps=1))
    names = json.loads((workdir / "classes.json").read_text())
    (workdir / "classes.json").write_text(json.dumps(["a0", *names[1:]]))
    with pytest.raises(ConfigError) as raised:
        loop.train(conditional(workdir, train_steps=2))
    assert str(raised.value) == (
        f"the data's classes differ from those --workdir={workdir} was trained on (class 0 "
        "is 'A', was 'a0'); allowed: the same classes, or a new --workdir"
    )


def test_a_mirrored_conditional_run_equals_the_one_device_run(tmp_path):
    """Each replica takes its rows of the images and of their labels."""
    options = dict(train_steps=2, sync_batch_norm=True)
    single = loop.train(conditional(tmp_path / "one", **{**options, "sync_batch_norm": False}))
    mirror = loop.train(
        conditional(tmp_path / "two", strategy="mirrored", devices=("/cpu:0", "/cpu:1"), **options)
    )
    assert mirror.tracing_counts()["train_step"] == 1
    # Adam's step is about lr whatever the gradient's size: an embedding row whose
    # gradient is near 0 takes a step of either sign on rounding, so within 2 steps.
    assert_same_nets(single, mirror, loose=("label_embedding",), loose_atol=2 * 2 * 2e-4)


def test_a_mixed_precision_conditional_run_traces_once(tmp_path):
    # The DCGAN nets, with the class in every norm of G: the ResNets' under bfloat16 cost
    # a minute here; test_attention trains a mixed-precision ResNet.
    trainer = loop.train(
        conditional(
            tmp_path / "bf16",
            precision="mixed_bfloat16",
            g_spectral_norm=True,
            g_class_norm=True,
            train_steps=2,
        )
    )
    assert trainer.tracing_counts() == {"train_step": 1, "generate": 1}
    assert trainer.generate(tf.zeros([3, 8])).dtype == tf.float32


def test_an_unlabeled_source_is_refused_in_one_line(tmp_path):
    data = tmp_path / "faces.npy"
    np.save(data, np.zeros([16, 28, 28, 1], np.uint8))
    with pytest.raises(DataError) as raised:
        loop.train(conditional(tmp_path / "run", dataset="npy", data_file=str(data)))
    message = str(raised.value)
    assert "\n" not in message and "faces_labels.npy' does not exist" in message
    assert not (tmp_path / "run").exists()


def test_the_commands_take_classes(acgan_run, tmp_path):
    config, _ = acgan_run
    run = f"--workdir={config.workdir}"
    grid, npy, unknown = run_batch(
        "dcgan.sample",
        [
            (run, "--classes=A,7", "--num_samples=3", f"--output={tmp_path}/a7.png"),
            (run, "--num_samples=5", f"--output={tmp_path}/s.npy"),
            (run, "--classes=A,?", f"--output={tmp_path}/x.png"),
        ],
        timeout=CHILD_TIMEOUT,
    )
    assert grid.returncode == 0, grid.stderr
    # Two classes, a row each, of 3 samples of 28 px with 2 px padding.
    assert iio.imread(tmp_path / "a7.png").shape == (2 * 30 + 2, 3 * 30 + 2)
    assert npy.returncode == 0, npy.stderr
    assert np.load(tmp_path / "s.npy").shape == (5, 28, 28, 1)
    np.testing.assert_array_equal(np.load(tmp_path / "s_labels.npy"), [0, 1, 2, 3, 4])
    assert unknown.returncode == 2
    assert unknown.stderr.strip().splitlines()[-1] == (
        "dcgan.sample: error: --classes=A,?: '?' is not a class of this run; allowed: all, "
        "or names or indices 0-61 of 62 classes (A, B, C, D, E, F, G, H, I, J, K, L, M, N, "
        "O, P, Q, R, S, T, ...)"
    )
    [interp] = run_batch(
        "dcgan.interpolate",
        [(run, "--classes=b", "--rows=2", "--steps=3", f"--output={tmp_path}/i.png")],
        timeout=CHILD_TIMEOUT,
    )
    assert interp.returncode == 0, interp.stderr
    assert iio.imread(tmp_path / "i.png").shape == (2 * 30 + 2, 3 * 30 + 2)


def test_an_exported_conditional_generator_samples_the_classes_asked_for(acgan_run, tmp_path):
    config, trainer = acgan_run
    [export] = run_batch(
        "dcgan.export",
        [(f"--workdir={config.workdir}", f"--output={tmp_path}/g")],
        timeout=CHILD_TIMEOUT,
    )
    assert export.returncode == 0, export.stderr
    model = tf.saved_model.load(str(tmp_path / "g"))
    labels = tf.constant([3, 3, 40], tf.int32)
    noise = tf.random.normal([3, 8], seed=1)
    served = model.signatures["serving_default"](noise=noise, labels=labels)["images"]
    expected = trainer.generate(noise, labels)  # the weight average, as exported
    np.testing.assert_allclose(served.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)
    drawn = model.signatures["sample"](labels=labels, seed=tf.constant([1, 2], tf.int64))
    assert drawn["images"].shape == (3, 28, 28, 1)
    description = json.loads((tmp_path / "g" / "dcgan_noise.json").read_text())
    assert len(description["class_names"]) == GLYPHS
