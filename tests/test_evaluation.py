"""Evaluation: sampling, toy metrics, and the feature extractors' loading paths."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dcgan import data
from dcgan.config import Config
from dcgan.evaluation import evaluator, metrics, toy_metrics
from dcgan.run import builder


@pytest.mark.parametrize("noise", ["normal", "uniform"])
def test_generate_is_seeded_chunked_and_uses_the_runs_noise(noise):
    config = Config(
        workdir="unused",
        dataset="ring2d",
        latent_dim=3,
        g_hidden_units=(8,),
        d_hidden_units=(8,),
        noise_distribution=noise,
        noise_scale=2.0,
    )
    keras.utils.set_random_seed(0)  # unseeded weights made two rows alike now and then
    generator, _ = builder.build_networks(config)
    noise = builder.build_noise(config)
    first = evaluator.generate(generator, noise, num_samples=600, seed=5)
    again = evaluator.generate(generator, noise, num_samples=600, seed=5)
    other = evaluator.generate(generator, noise, num_samples=600, seed=6)
    assert first.shape == (600, 2)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert len({tuple(row) for row in first.round(6)}) == 600  # chunks draw fresh noise
    # The same noise the trainer would draw: replay it and compare the outputs.
    rng = tf.random.Generator.from_seed(5)
    noise_batch = builder.build_noise(config).sample(256, rng=rng)
    np.testing.assert_allclose(first[:256], generator(noise_batch, training=False), rtol=1e-6)


def test_toy_metrics_pick_the_protocol_of_the_dataset():
    centers, stddev = data.mixture_centers("ring2d")
    ring = evaluator.toy_metrics("ring2d", np.repeat(centers, 10, axis=0))
    assert ring == {"modes": 8, "num_modes": 8, "high_quality": 1.0, "reverse_kl": 0.0}
    samples = np.random.default_rng(0).standard_normal((500, 1))
    gaussian = evaluator.toy_metrics("gaussian1d", samples)
    assert gaussian == {
        "w1": toy_metrics.wasserstein1_to_normal(samples),
        "ks": toy_metrics.ks_to_normal(samples),
    }
    with pytest.raises(ValueError, match="'glyphs' has no toy metrics"):
        evaluator.toy_metrics("glyphs", samples)


def tiny_classifier(path):
    inputs = keras.Input([8, 8, 1])
    hidden = keras.layers.Flatten(name="flat")(inputs)
    features = keras.layers.Dense(5, activation="relu", name="features")(hidden)
    outputs = keras.layers.Dense(3, name="logits")(features)
    model = keras.Model(inputs, outputs)
    model.save(path)
    return model


def test_image_metrics_are_the_metrics_of_the_classifiers_outputs(tmp_path):
    path = str(tmp_path / "classifier.keras")
    model = tiny_classifier(path)
    extractor = evaluator.features.classifier_extractor(path)
    rng = np.random.default_rng(2)
    real = rng.uniform(-1, 1, (400, 8, 8, 1)).astype(np.float32)
    fake = np.clip(real[:300] + 0.5, -1, 1)
    result = evaluator.image_metrics(real, fake, extractor)
    # Each metric of the features and classes, computed here from the model itself.
    layer = keras.Model(model.inputs, model.get_layer("features").output)
    real_f, fake_f = layer(real).numpy(), layer(fake).numpy()
    real_c, fake_c = model(real).numpy().argmax(1), model(fake).numpy().argmax(1)
    assert result["fid"] == pytest.approx(metrics.frechet_distance(real_f, fake_f), rel=1e-4)
    kid, kid_std = metrics.kernel_distance(real_f, fake_f, subset_size=300)
    assert (result["kid"], result["kid_std"]) == pytest.approx((kid, kid_std), rel=1e-3)
    pr = metrics.precision_recall(real_f, fake_f)
    dc = metrics.density_coverage(real_f, fake_f)
    got = [result[k] for k in ("precision", "recall", "density", "coverage")]
    assert got == pytest.approx([*pr, *dc], rel=1e-4)
    classes = metrics.class_statistics(real_c, fake_c, num_classes=3)
    assert result["classes_covered"] == classes["classes_covered"]
    assert result["class_kl"] == pytest.approx(classes["class_kl"], rel=1e-6)
    assert result["fake_class_counts"] == np.bincount(fake_c, minlength=3).tolist()
    assert (result["num_real"], result["num_fake"]) == (400, 300)
    same = evaluator.image_metrics(real, real, extractor)
    assert same["fid"] == pytest.approx(0.0, abs=1e-6) and same["class_kl"] == 0.0
    assert same["precision"] == same["recall"] == same["coverage"] == 1.0


def test_features_without_classes_have_no_class_metrics():
    rng = np.random.default_rng(0)
    result = evaluator.feature_metrics(rng.normal(size=(50, 3)), rng.normal(size=(40, 3)))
    assert set(result) == {
        "fid", "kid", "kid_std", "precision", "recall", "density", "coverage",
        "num_real", "num_fake",
    }  # fmt: skip


@pytest.mark.parametrize(
    "values, thresholds, expected",
    [
        ({"coverage": 0.5, "recall": 0.5, "classes_covered": 1.0}, {}, None),
        ({"coverage": 0.05, "recall": 0.05}, {}, None),  # at the thresholds: not below
        ({"coverage": 0.01, "recall": 0.5}, {}, "coverage=0.01 < 0.05"),
        (
            {"coverage": 0.01, "recall": 0.001, "classes_covered": 3 / 62},
            {},
            "coverage=0.01 < 0.05, recall=0.001 < 0.05, classes_covered=0.04839 < 0.9",
        ),
        ({"coverage": 0.01, "recall": 0.001}, {"alarm_coverage": 0.0, "alarm_recall": 0.0}, None),
        ({"classes_covered": 0.95}, {"alarm_classes_covered": 1.0}, "classes_covered=0.95 < 1"),
        ({"fid": 1000.0}, {}, None),  # no metric it watches: nothing to say
    ],
)
def test_collapse_alarm_names_each_metric_below_its_threshold(values, thresholds, expected):
    config = Config(workdir="unused", eval_every=10, **thresholds)
    assert evaluator.collapse_alarm(values, **alarm_thresholds(config)) == expected


@pytest.mark.parametrize(
    "values, earlier, expected",
    [
        # Rising from 0, early in training: below the thresholds, and no collapse.
        ({"recall": 0.03, "coverage": 0.04}, [{"recall": 0.0, "coverage": 0.0}], None),
        # Below half of what the run had: collapse.
        (
            {"recall": 0.02, "coverage": 0.3},
            [{"recall": 0.51, "coverage": 0.4}, {"recall": 0.3, "coverage": 0.2}],
            "recall=0.02 < 0.05 (best 0.51)",
        ),
        # Below the threshold but not below half the best (0.03): not yet.
        ({"recall": 0.04}, [{"recall": 0.06}], None),
        # An earlier evaluation whose value was not finite (null) is no best.
        (
            {"coverage": 0.01},
            [{"coverage": None}, {"coverage": 0.3}],
            "coverage=0.01 < 0.05 (best 0.3)",
        ),
    ],
)
def test_collapse_alarm_fires_on_a_loss_of_diversity_not_on_early_training(
    values, earlier, expected
):
    config = Config(workdir="unused", eval_every=10)
    assert evaluator.collapse_alarm(values, **alarm_thresholds(config), earlier=earlier) == expected


def alarm_thresholds(config):
    return dict(
        coverage=config.alarm_coverage,
        recall=config.alarm_recall,
        classes_covered=config.alarm_classes_covered,
    )


def test_a_collapsed_generator_sounds_the_alarm_on_the_shipped_classifier():
    # G draws one glyph, the first "A", whatever the noise: one class, no diversity.
    config = Config(workdir="unused", dataset="glyphs", image_size=32, channels=1, eval_every=1)
    glyph = data.render_glyphs(image_size=32)[0].astype(np.float32) / 127.5 - 1.0
    noise = keras.Input([config.latent_dim])
    constant = keras.layers.Dense(
        32 * 32,
        kernel_initializer="zeros",
        bias_initializer=keras.initializers.Constant(glyph.ravel()),
    )(noise)
    generator = keras.Model(noise, keras.layers.Reshape([32, 32, 1])(constant))
    result = builder.build_evaluator(config, num_samples=300)(generator)
    assert result["fake_class_counts"][0] == 300  # all of them an "A"
    assert result["recall"] < 0.05 and result["coverage"] < 0.05
    real = builder.real_examples(config, 300)
    _, real_classes = builder.build_extractor(config)(real)
    assert result["classes_covered"] == 1 / len(set(real_classes))  # of the real classes
    # KL(fake || real) of a one-class histogram: -log of the real share of that class.
    share = np.mean(real_classes == 0)
    assert result["class_kl"] == pytest.approx(-np.log(share), rel=1e-9)
    alarm = evaluator.collapse_alarm(result, **alarm_thresholds(config))
    assert "classes_covered=0.01" in alarm and "< 0.9" in alarm and "recall=" in alarm


def test_the_real_sample_depends_on_the_runs_seed_alone(tmp_path):
    """Whatever global seed a process set, it draws the same real examples (the run's
    evaluations and a later dcgan.evaluate agree); another run seed draws others."""
    config = Config(workdir=str(tmp_path), dataset="glyphs", image_size=28, batch_size=8)
    tf.random.set_seed(1)
    first = builder.real_examples(config, 16)
    tf.random.set_seed(2)
    tf.random.uniform([3])  # an op that moves the global seed's counter
    np.testing.assert_array_equal(builder.real_examples(config, 16), first)
    other = Config(workdir=str(tmp_path), dataset="glyphs", image_size=28, batch_size=8, seed=1)
    assert not np.array_equal(builder.real_examples(other, 16), first)


def test_a_set_smaller_than_the_sample_count_is_measured_once_per_image(tmp_path):
    rng = np.random.default_rng(7)
    images = rng.integers(0, 256, (12, 28, 28, 1), dtype=np.uint8)
    np.save(tmp_path / "set.npy", images)
    repeated = np.concatenate([images, images[:5], images])
    np.testing.assert_array_equal(evaluator.distinct(repeated), images)
    path = str(tmp_path / "classifier.keras")
    tiny_classifier(path)
    config = Config(
        workdir="unused", dataset="npy", data_file=str(tmp_path / "set.npy"), image_size=28,
        channels=1, batch_size=4, eval_every=1, eval_classifier=path,
    )  # fmt: skip
    generator, _ = builder.build_networks(config)
    result = builder.build_evaluator(config, num_samples=40)(generator)
    assert (result["num_real"], result["num_fake"], result["num_samples"]) == (12, 40, 40)
