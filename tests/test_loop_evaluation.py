"""Evaluation inside the loop: eval/ scalars, the best checkpoint, patience, lr decay."""

import dataclasses
import json
import os
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf
from configs import tiny_image, tiny_vector
from runner import CHILD_TIMEOUT, Background, log_lines

from dcgan.evaluation import choices as eval_choices
from dcgan.evaluation.features import EvaluationError
from dcgan.run import builder, loop, pretrained
from dcgan.run.checkpoints import CheckpointError
from dcgan.run.prepare import prepare
from dcgan.run.workdir import Workdir


def tiny_ring(workdir, **overrides):
    values = dict(
        train_steps=5,
        log_every=100,
        summary_every=100,
        image_every=100,
        checkpoint_every=100,
        eval_every=2,
        eval_samples=300,
    )
    return tiny_vector(workdir, "ring2d", **{**values, **overrides})


def test_eval_scalars_at_every_eval_step_and_the_last(tmp_path, read_summaries, capsys):
    workdir = tmp_path / "run"
    loop.train(tiny_ring(workdir))
    summaries = read_summaries(str(workdir))
    for name in ("modes", "high_quality", "reverse_kl"):
        # From step 0, the untrained G, where the curves start.
        assert [step for step, _ in summaries[f"eval/{name}"]] == [0, 2, 4, 5]
    assert "eval/num_samples" not in summaries and "eval/num_modes" not in summaries
    out = capsys.readouterr().out
    assert "eval at step 0: modes=" in out and "eval at step 5: modes=" in out
    assert not os.path.exists(workdir / "best")  # no --best_metric, no best checkpoint


def test_best_checkpoint_holds_the_best_evaluated_weights(tmp_path, read_summaries):
    workdir = tmp_path / "run"
    config = tiny_ring(workdir, train_steps=8, eval_every=1, best_metric="reverse_kl")
    loop.train(config)
    logged = [
        (step, value)
        for step, value in read_summaries(str(workdir))["eval/reverse_kl"]
        if np.isfinite(value) and step > 0  # the untrained G at step 0 is never kept
    ]
    assert logged, "no finite reverse KL to rank"
    best_value = min(value for _, value in logged)
    best_step = next(step for step, value in logged if value == best_value)  # the first

    record = json.loads((workdir / "best" / "best.json").read_text())
    assert record["metric"] == "reverse_kl"
    assert record["step"] == best_step
    assert record["value"] == pytest.approx(best_value, rel=1e-6)  # the summary is float32
    assert record["checkpoint"].endswith(f"best/ckpt-{best_step}")
    names = sorted(n for n in os.listdir(workdir / "best") if n.endswith(".index"))
    assert names == [f"ckpt-{best_step}.index"]  # only the best is kept

    # The saved G scores exactly what the record says, measured again from scratch.
    restored = pretrained.load_generator(str(workdir), checkpoint="best")
    assert restored.checkpoint == str(workdir / "best" / f"ckpt-{best_step}")
    again = builder.build_evaluator(config, num_samples=config.eval_samples)(restored.generator)
    assert again["reverse_kl"] == record["value"]
    assert again == record["metrics"]


class Scripted:
    """A build_evaluator stand-in that reports a given high_quality per call."""

    def __init__(self, values):
        self.values = list(values)

    def __call__(self, config, *, num_samples, seed=None):
        values = self.values

        def measure(generator):
            return {"modes": 8, "high_quality": values.pop(0), "reverse_kl": 0.1}

        return measure


class ScriptedImages:
    """A build_evaluator stand-in for an image run: each call reports the next
    ``(recall, coverage, classes_covered)``."""

    def __init__(self, values):
        self.values = list(values)

    def __call__(self, config, *, num_samples, seed=None):
        def measure(generator):
            recall, coverage, classes = self.values.pop(0)
            return {
                "fid": 100.0,
                "recall": recall,
                "coverage": coverage,
                "classes_covered": classes,
            }

        return measure


def test_the_collapse_alarm_sounds_on_lost_diversity_not_on_early_training(
    tmp_path, monkeypatch, capsys, read_summaries
):
    workdir = tmp_path / "run"
    # Steps 1 and 2 are below every threshold (0.05, 0.05, 0.9) while rising from step 0:
    # a G still learning. Step 4 has lost the recall of step 3.
    values = [(0, 0, 0.02), (0.01, 0.01, 0.3), (0.03, 0.04, 0.5), (0.6, 0.5, 1.0), (0.02, 0.3, 1.0)]
    monkeypatch.setattr(builder, "build_evaluator", ScriptedImages(values))
    every = dict(eval_every=1, eval_samples=40, checkpoint_every=1, log_every=100)
    loop.train(tiny_image(workdir, train_steps=3, **every))
    # A resumed session judges against the evaluations of the earlier one.
    loop.train(tiny_image(workdir, train_steps=4, **every))
    alarms = [line for line in log_lines(capsys.readouterr().out) if "mode collapse?" in line]
    assert alarms == [
        "mode collapse? at step 4: recall=0.02 < 0.05 (best 0.6) (--alarm_* thresholds)"
    ]
    assert [step for step, _ in read_summaries(str(workdir))["eval/alarm"]] == [4]


def test_patience_stops_the_run_and_a_rerun_has_nothing_to_do(tmp_path, monkeypatch, capsys):
    workdir = tmp_path / "run"
    # Step 0 is measured but never the best (1.0). Best at step 2; steps 3 and 4 do not
    # beat it: two evaluations without progress.
    monkeypatch.setattr(builder, "build_evaluator", Scripted([1.0, 0.5, 0.7, 0.6, 0.7, 0.9]))
    config = tiny_ring(
        workdir, train_steps=10, eval_every=1, best_metric="high_quality", patience=2
    )
    trainer = loop.train(config)
    out = capsys.readouterr().out
    assert int(trainer.step.numpy()) == 4
    assert (
        "stopped early at step 4: high_quality has not improved on 0.7 (step 2) in 2 "
        "evaluations (--patience)" in out
    )
    assert tf.train.latest_checkpoint(str(workdir / "checkpoints")).endswith("ckpt-4")
    record = json.loads((workdir / "best" / "best.json").read_text())
    assert (record["step"], record["value"]) == (2, 0.7)

    loop.train(config)
    assert log_lines(capsys.readouterr().out) == [
        f"preparing the run in {workdir}",
        f"workdir {workdir} stopped early at step 4: high_quality has not improved on 0.7 "
        "(step 2) in 2 evaluations (--patience); nothing to do",
    ]

    # More patience continues the run; the next evaluation (0.9) is a new best.
    monkeypatch.setattr(builder, "build_evaluator", Scripted([0.9, 0.8, 0.8, 0.8]))
    trainer = loop.train(dataclasses.replace(config, patience=3))
    assert int(trainer.step.numpy()) == 8
    record = json.loads((workdir / "best" / "best.json").read_text())
    assert (record["step"], record["value"]) == (5, 0.9)


class Counted(Scripted):
    """A Scripted evaluator that records its sample count, as the real one does."""

    def __call__(self, config, *, num_samples, seed=None):
        measure = super().__call__(config, num_samples=num_samples)
        return lambda generator: {**measure(generator), "num_samples": num_samples}


def test_a_best_measured_another_way_is_replaced_not_compared(tmp_path, monkeypatch):
    workdir = tmp_path / "run"
    config = tiny_ring(workdir, train_steps=2, eval_every=1, best_metric="high_quality")
    monkeypatch.setattr(builder, "build_evaluator", Counted([0.0, 0.9, 0.8]))
    loop.train(config)
    record = json.loads((workdir / "best" / "best.json").read_text())
    assert (record["step"], record["value"], record["metrics"]["num_samples"]) == (1, 0.9, 300)
    # More samples on resume: FID-like values are not comparable, so the first one wins.
    monkeypatch.setattr(builder, "build_evaluator", Counted([0.5, 0.4]))
    loop.train(dataclasses.replace(config, train_steps=4, eval_samples=500))
    record = json.loads((workdir / "best" / "best.json").read_text())
    assert (record["step"], record["value"], record["metrics"]["num_samples"]) == (3, 0.5, 500)


def test_a_non_finite_metric_is_never_the_best(tmp_path, monkeypatch):
    workdir = tmp_path / "run"
    scripted = Scripted([0.9, float("nan"), 0.2, float("nan")])  # the first: step 0
    monkeypatch.setattr(builder, "build_evaluator", scripted)
    loop.train(tiny_ring(workdir, train_steps=3, eval_every=1, best_metric="high_quality"))
    record = json.loads((workdir / "best" / "best.json").read_text())
    assert (record["step"], record["value"]) == (2, 0.2)


def test_is_better_knows_each_metrics_direction():
    assert eval_choices.is_better("modes", 8, 7) and not eval_choices.is_better("modes", 7, 7)
    assert eval_choices.is_better("high_quality", 0.9, 0.8)
    for name in ("reverse_kl", "w1", "ks", "fid", "kid"):
        assert eval_choices.is_better(name, 0.1, 0.2) and not eval_choices.is_better(name, 0.3, 0.2)
    assert eval_choices.is_better("fid", 50.0, None)
    assert not eval_choices.is_better("fid", float("nan"), None)
    assert not eval_choices.is_better("modes", float("inf"), 3)


def test_a_damaged_best_record_is_refused_before_training(tmp_path):
    workdir = tmp_path / "run"
    os.makedirs(workdir / "best")
    (workdir / "best" / "best.json").write_text("{not json")
    config = tiny_ring(workdir, best_metric="modes")
    with pytest.raises(CheckpointError, match=r"best\.json is not a best-checkpoint record"):
        loop.train(config)
    assert not os.path.exists(workdir / "checkpoints")


def test_sampling_from_best_needs_a_best_checkpoint(tmp_path):
    workdir = tmp_path / "run"
    loop.train(tiny_ring(workdir, train_steps=2, eval_every=0))
    with pytest.raises(CheckpointError, match="has no best checkpoint: it is kept by runs"):
        pretrained.load_generator(str(workdir), checkpoint="best")
    assert Workdir(str(workdir)).best() is None


def tiny_classifier(path):
    inputs = keras.Input([28, 28, 1])
    hidden = keras.layers.Flatten()(inputs)
    features = keras.layers.Dense(6, activation="tanh", name="features")(hidden)
    model = keras.Model(inputs, keras.layers.Dense(3, name="logits")(features))
    model.save(path)


def test_image_runs_evaluate_on_a_given_classifier(tmp_path, read_summaries):
    classifier = str(tmp_path / "classifier.keras")
    tiny_classifier(classifier)
    workdir = tmp_path / "run"
    config = tiny_image(
        workdir,
        train_steps=2,
        eval_every=1,
        eval_samples=24,
        eval_classifier=classifier,
        best_metric="fid",
    )
    loop.train(config)
    summaries = read_summaries(str(workdir))
    for name in (*config.eval_metrics, "kid_std"):
        assert [step for step, _ in summaries[f"eval/{name}"]] == [0, 1, 2]
    record = json.loads((workdir / "best" / "best.json").read_text())
    assert record["metrics"]["extractor"] == "classifier.keras layer features"
    assert record["metrics"]["num_real"] == record["metrics"]["num_samples"] == 24
    assert sum(record["metrics"]["fake_class_counts"]) == 24  # 3 classes


def test_glyph_runs_are_measured_by_the_shipped_classifier_with_no_download(
    tmp_path, monkeypatch, read_summaries, capsys
):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty"))  # no Inception weights
    workdir = tmp_path / "run"
    # 28 px glyphs: the extractor resizes them to the classifier's 32 px.
    config = tiny_image(
        workdir, train_steps=2, eval_every=1, eval_samples=40, best_metric="classes_covered"
    )
    loop.train(config)
    summaries = read_summaries(str(workdir))
    for name in ("fid", "kid", "precision", "recall", "density", "coverage", "classes_covered"):
        assert [step for step, _ in summaries[f"eval/{name}"]] == [0, 1, 2], name
    out = capsys.readouterr().out
    assert "eval at step 0: fid=" in out and " classes_covered=" in out
    record = json.loads((workdir / "best" / "best.json").read_text())
    assert record["metrics"]["extractor"] == "glyphs_classifier.keras layer features"
    assert record["step"] in (1, 2)


def test_missing_inception_weights_stop_an_image_run_before_training(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    images = np.random.default_rng(0).integers(0, 256, (16, 28, 28, 1), dtype=np.uint8)
    np.save(tmp_path / "images.npy", images)
    workdir = tmp_path / "run"  # no classifier ships for an .npy set: InceptionV3
    config = tiny_image(workdir, dataset="npy", data_file=str(tmp_path / "images.npy"))
    config = dataclasses.replace(config, eval_every=10)
    with pytest.raises(EvaluationError, match="InceptionV3 weights not found at"):
        loop.train(config)
    assert not os.path.exists(workdir / "checkpoints")


def test_linear_decay_sets_the_learning_rate_of_each_step(tmp_path, read_summaries):
    workdir = tmp_path / "run"
    config = tiny_ring(
        workdir, eval_every=0, train_steps=4, lr_decay_steps=8, g_lr=8e-4, summary_every=2
    )
    trainer = loop.train(config)
    summaries = read_summaries(str(workdir))
    # Step 2's summary shows the rate of its last update, index 1: 8e-4 * 7 / 8.
    assert summaries["lr/g_lr"] == [(2, pytest.approx(7e-4)), (4, pytest.approx(5e-4))]
    assert summaries["lr/d_lr"] == [(2, pytest.approx(2e-4 * 7 / 8)), (4, pytest.approx(1.25e-4))]
    # The last step (index 3) ran at 8e-4 * (1 - 3 / 8); a resume sets the next step's.
    assert float(trainer.g_optimizer.learning_rate.numpy()) == pytest.approx(5e-4)
    assert float(trainer.d_optimizer.learning_rate.numpy()) == pytest.approx(2e-4 * 5 / 8)
    resumed = prepare(dataclasses.replace(config, train_steps=8))
    assert float(resumed.trainer.g_optimizer.learning_rate.numpy()) == pytest.approx(4e-4)


# In a child process: op determinism is process-wide and cannot be turned off.
EVALUATION_DOES_NOT_CHANGE_TRAINING = textwrap.dedent("""
    import sys, numpy as np
    from dcgan.run import loop
    from dcgan.config import Config

    def run(workdir, steps, **extra):
        config = Config(workdir=workdir, dataset="ring2d", latent_dim=4, g_hidden_units=(16,),
                        d_hidden_units=(16,), batch_size=32, train_steps=steps, loss="wgan-gp",
                        n_critic=2, lr_decay_steps=6, g_ema_decay=0.9, deterministic=True,
                        log_every=100, checkpoint_every=100, **extra)
        trainer = loop.train(config)
        return [v.numpy() for v in trainer.generator.weights + trainer.discriminator.weights
                + trainer.generator_ema.weights + trainer.g_optimizer.variables
                + trainer.d_optimizer.variables]

    root = sys.argv[1]
    plain = run(f"{root}/plain", 6)
    evaluated = dict(eval_every=1, eval_samples=100, best_metric="high_quality")
    run(f"{root}/evaluated", 3, **evaluated)
    resumed = run(f"{root}/evaluated", 6, **evaluated)
    same = [np.array_equal(a, b) for a, b in zip(plain, resumed, strict=True)]
    print("IDENTICAL" if all(same) else f"DIFFERENT {same.count(False)} of {len(same)}")
""")


@pytest.fixture(scope="module", autouse=True)
def exact_resume_child(tmp_path_factory):
    """``EVALUATION_DOES_NOT_CHANGE_TRAINING`` in a child process, started before the
    first test of this module: it trains while the other tests run (its test is last)."""
    root = str(tmp_path_factory.mktemp("exact"))
    child = Background(
        [sys.executable, "-c", EVALUATION_DOES_NOT_CHANGE_TRAINING, root], timeout=CHILD_TIMEOUT
    )
    yield child
    child.kill()


def test_evaluating_decaying_and_averaging_keep_resume_bit_exact(exact_resume_child):
    result = exact_resume_child.result()
    assert result.returncode == 0, result.stderr[-2000:]
    assert "IDENTICAL" in result.stdout, result.stdout[-500:]
