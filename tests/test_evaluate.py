"""``python -m dcgan.evaluate``: the metrics of a checkpoint, written as JSON."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from configs import tiny_image, tiny_vector
from runner import CHILD_TIMEOUT, Commands, run_batch

from dcgan import data
from dcgan.config import Config
from dcgan.evaluation import toy_metrics
from dcgan.run import loop, pretrained
from dcgan.run.builder import build_trainer


def vector_run(workdir, dataset, **overrides):
    values = dict(train_steps=4, checkpoint_every=2, keep_checkpoints=0)
    loop.train(tiny_vector(workdir, dataset, **{**values, **overrides}))
    return workdir


@pytest.fixture(scope="module")
def ring_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("ring")
    return vector_run(workdir, "ring2d", eval_every=1, eval_samples=200, best_metric="modes")


def independent_samples(workdir, checkpoint, num_samples, seed):
    """G's samples drawn here, without dcgan.evaluation: the run's normal noise, seeded.

    In one draw, so ``num_samples`` must fit in one of the evaluation's chunks (256).
    """
    restored = pretrained.load_generator(str(workdir), checkpoint=checkpoint)
    rng = tf.random.Generator.from_seed(seed)
    noise = rng.normal([num_samples, restored.config.latent_dim])
    return restored.generator(noise, training=False).numpy()


@pytest.fixture(scope="module", autouse=True)
def commands(tmp_path_factory, ring_run):
    """The commands on ``ring_run`` and the bad-input ones, run in one process
    (``runner.run_batch``) started before the first test."""
    commands = Commands(tmp_path_factory)
    commands.command(
        "latest", "dcgan.evaluate", f"--workdir={ring_run}", "--num_samples=256", "--seed=3"
    )
    best = commands.mkdir("best") / "b.json"
    commands.command(
        "best", "dcgan.evaluate", f"--workdir={ring_run}", "--checkpoint=best", f"--output={best}"
    )
    older = f"--checkpoint={ring_run}/checkpoints/ckpt-2"
    commands.command("older", "dcgan.evaluate", f"--workdir={ring_run}", older)
    start_bad_input(commands, ring_run)
    commands.start()
    yield commands
    commands.close()


def test_ring_metrics_of_the_latest_checkpoint(ring_run, commands):
    result = commands.result("latest")
    assert result.returncode == 0, result.stderr
    output = ring_run / "eval_ckpt-4.json"
    assert f"wrote {output}" in result.stdout
    record = json.loads(output.read_text())
    assert record["step"] == 4 and record["dataset"] == "ring2d" and record["seed"] == 3
    assert record["num_samples"] == 256 and record["num_modes"] == 8
    assert record["checkpoint"].endswith("checkpoints/ckpt-4")

    samples = independent_samples(ring_run, None, 256, 3)
    centers, stddev = data.mixture_centers("ring2d")
    expected = toy_metrics.mode_statistics(samples, centers, stddev)
    assert record["metrics"] == {
        "modes": expected["modes"],
        "high_quality": pytest.approx(expected["high_quality"]),
        "reverse_kl": pytest.approx(expected["reverse_kl"]),
    }


def test_best_and_named_checkpoints(ring_run, commands):
    best = commands.result("best")
    assert best.returncode == 0, best.stderr
    record = json.loads((commands.folder("best") / "b.json").read_text())
    kept = json.loads((ring_run / "best" / "best.json").read_text())
    assert record["step"] == kept["step"]
    assert record["checkpoint"].endswith(f"best/ckpt-{kept['step']}")
    # The run's own evaluation used the same sample count and seed: the same numbers.
    assert record["metrics"]["modes"] == kept["value"]

    older = commands.result("older")
    assert older.returncode == 0, older.stderr
    assert json.loads((ring_run / "eval_ckpt-2.json").read_text())["step"] == 2


def test_a_run_with_a_weight_average_is_measured_through_it(tmp_path):
    """Also gaussian1d's metrics, W1 and KS, against samples drawn here."""
    workdir = vector_run(
        tmp_path / "ema",
        "gaussian1d",
        g_ema_decay=0.5,
        g_lr=0.05,  # G moves far in 4 steps, so its average is clearly not G
        eval_every=4,
        eval_samples=200,
        best_metric="w1",
    )
    # The loop's own restore path, independent of dcgan.run.pretrained.
    trainer = build_trainer(Config.from_json((workdir / "config.json").read_text()))
    tf.train.Checkpoint(**trainer.checkpoint_items()).restore(
        str(workdir / "checkpoints" / "ckpt-4")
    ).expect_partial()
    ema = pretrained.load_generator(str(workdir))
    plain = pretrained.load_generator(str(workdir), ema=False)
    assert ema.ema and not plain.ema
    for loaded, source in ((ema, trainer.generator_ema), (plain, trainer.generator)):
        for a, b in zip(loaded.generator.weights, source.weights, strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.allclose(ema.generator.weights[0], plain.generator.weights[0])

    default, raw = run_batch(
        "dcgan.evaluate",
        [
            (f"--workdir={workdir}", "--num_samples=200"),
            (f"--workdir={workdir}", "--noema", f"--output={tmp_path}/raw.json"),
        ],
        timeout=CHILD_TIMEOUT,
    )
    assert default.returncode == 0, default.stderr
    record = json.loads((workdir / "eval_ckpt-4.json").read_text())
    assert record["ema"] is True
    # The loop evaluated the same average with the same noise at step 4.
    kept = json.loads((workdir / "best" / "best.json").read_text())
    assert kept["step"] == 4 and record["metrics"]["w1"] == pytest.approx(kept["value"])
    samples = independent_samples(workdir, None, 200, 0)  # the run's seed, through the average
    assert record["metrics"]["w1"] == pytest.approx(toy_metrics.wasserstein1_to_normal(samples))
    assert record["metrics"]["ks"] == pytest.approx(toy_metrics.ks_to_normal(samples))

    assert raw.returncode == 0, raw.stderr
    record = json.loads((tmp_path / "raw.json").read_text())
    assert record["ema"] is False
    noise = tf.random.Generator.from_seed(0).normal([200, *trainer.noise.shape])
    expected = toy_metrics.wasserstein1_to_normal(trainer.generator(noise).numpy())
    assert record["metrics"]["w1"] == pytest.approx(expected)


def test_image_run_with_a_classifier_records_the_extractor(tmp_path):
    inputs = keras.Input([28, 28, 1])
    features = keras.layers.Dense(4, name="features")(keras.layers.Flatten()(inputs))
    keras.Model(inputs, keras.layers.Dense(2)(features)).save(tmp_path / "c.keras")
    workdir = tmp_path / "img"
    # The run evaluates itself at step 2 as the second command below does.
    loop.train(tiny_image(workdir, train_steps=2, eval_every=2, eval_samples=40))
    # Three commands in one process. No Inception weights anywhere (KERAS_HOME is empty):
    # only the second reads a default extractor, the shipped classifier.
    result, shipped, layer = run_batch(
        "dcgan.evaluate",
        [
            (f"--workdir={workdir}", "--num_samples=40", f"--eval_classifier={tmp_path}/c.keras"),
            (f"--workdir={workdir}", "--num_samples=40", f"--output={tmp_path}/shipped.json"),
            (f"--workdir={workdir}", f"--eval_classifier={tmp_path}/c.keras", "--eval_layer=nope"),
        ],
        env={"KERAS_HOME": str(tmp_path / "nokeras")},
        timeout=CHILD_TIMEOUT,
    )
    assert result.returncode == 0, result.stderr
    record = json.loads((workdir / "eval_ckpt-2.json").read_text())
    assert record["extractor"] == "c.keras layer features"
    assert record["num_samples"] == record["num_real"] == 40
    assert set(record["metrics"]) == {
        "fid", "kid", "kid_std", "precision", "recall", "density", "coverage",
        "classes_covered", "class_kl", "inception_score",
    }  # fmt: skip
    assert np.isfinite(record["metrics"]["fid"]) and record["metrics"]["fid"] >= 0
    assert sum(record["fake_class_counts"]) == 40 and len(record["fake_class_counts"]) == 2

    # Without --eval_classifier a glyph run is measured by the shipped classifier:
    # offline, with no Inception weights anywhere.
    assert shipped.returncode == 0, shipped.stderr
    record = json.loads((tmp_path / "shipped.json").read_text())
    assert record["extractor"] == "glyphs_classifier.keras layer features"
    assert len(record["fake_class_counts"]) == 62
    # The run's own evaluation of that checkpoint gave the same numbers.
    with open(workdir / "metrics.jsonl") as f:
        [own] = [r for r in map(json.loads, f) if r["kind"] == "eval" and r["step"] == 2]
    for name, value in record["metrics"].items():
        if np.isfinite(value):
            assert own[name] == pytest.approx(value, rel=1e-9, abs=1e-12), name
        else:  # metrics.jsonl writes an infinity as null
            assert own[name] is None, name
    # A 2-step G's blobs may land in no class the 40 real glyphs show: 0 is possible.
    assert 0 <= record["metrics"]["classes_covered"] <= 1
    assert layer.returncode == 1
    assert "has no layer 'nope'; its layers:" in layer.stderr


BAD_INPUT = [
    ([], 2, "--workdir is required"),
    (["--workdir={ring}", "--output=m.txt"], 2, "--output=m.txt is invalid; allowed: a path"),
    (["--workdir={ring}", "--eval_classifier=c.keras"], 2, "--eval_classifier has no effect"),
    (["--workdir={ring}", "--num_samples=1"], 2, "num_samples"),
    (["--workdir={image}", "--num_samples=5"], 2, "--num_samples=5 is invalid; allowed: an"),
    (["--workdir={empty}"], 2, "holds no dcgan run (no config.json)"),
    (["--workdir={vectors}"], 2, "trained on --dataset=npy_vectors, which has no metrics"),
    (["--workdir={ring}", "--noema"], 2, "--noema has no effect: --workdir="),
]


def start_bad_input(commands, ring_run):
    """Each case of ``BAD_INPUT`` in a folder of its own, with the runs it names."""
    for index, (args, _, _) in enumerate(BAD_INPUT):
        tmp = commands.mkdir(f"bad{index}")
        vectors = tmp / "vectors"
        if any("{vectors}" in arg for arg in args):
            np.save(tmp / "v.npy", np.random.default_rng(0).normal(size=(64, 3)))
            vector_run(vectors, "npy_vectors", data_file=str(tmp / "v.npy"), train_steps=2)
        image = tmp / "image"
        if any("{image}" in arg for arg in args):
            loop.train(tiny_image(image, train_steps=1))
        (tmp / "empty").mkdir()
        filled = [
            a.format(ring=ring_run, empty=tmp / "empty", vectors=vectors, image=image) for a in args
        ]
        commands.command(f"bad{index}", "dcgan.evaluate", *filled)


@pytest.mark.parametrize(
    "index", range(len(BAD_INPUT)), ids=[message for _, _, message in BAD_INPUT]
)
def test_bad_input_is_one_line(commands, index):
    _, status, message = BAD_INPUT[index]
    result = commands.result(f"bad{index}")
    assert result.returncode == status, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("dcgan.evaluate: error: ")
    assert message in lines[-1]
