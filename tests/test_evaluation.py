"""Evaluation: sampling, toy metrics, and the feature extractors' loading paths."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dcgan import builder, data, evaluation, metrics, models
from dcgan.config import Config


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
    generator, _ = builder.build_networks(config)
    first = evaluation.generate(generator, config, num_samples=600, seed=5)
    again = evaluation.generate(generator, config, num_samples=600, seed=5)
    other = evaluation.generate(generator, config, num_samples=600, seed=6)
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
    ring = evaluation.toy_metrics("ring2d", np.repeat(centers, 10, axis=0))
    assert ring == {"modes": 8, "num_modes": 8, "high_quality": 1.0, "reverse_kl": 0.0}
    samples = np.random.default_rng(0).standard_normal((500, 1))
    gaussian = evaluation.toy_metrics("gaussian1d", samples)
    assert gaussian == {
        "w1": metrics.wasserstein1_to_normal(samples),
        "ks": metrics.ks_to_normal(samples),
    }
    with pytest.raises(ValueError, match="'glyphs' has no toy metrics"):
        evaluation.toy_metrics("glyphs", samples)


def tiny_classifier(path):
    inputs = keras.Input([8, 8, 1])
    hidden = keras.layers.Flatten(name="flat")(inputs)
    features = keras.layers.Dense(5, activation="relu", name="features")(hidden)
    outputs = keras.layers.Dense(3, name="logits")(features)
    model = keras.Model(inputs, outputs)
    model.save(path)
    return model


def test_classifier_extractor_uses_the_chosen_layer(tmp_path):
    path = str(tmp_path / "classifier.keras")
    model = tiny_classifier(path)
    images = np.random.default_rng(1).uniform(-1, 1, (300, 8, 8, 1)).astype(np.float32)
    extract, description = evaluation.classifier_extractor(path)  # penultimate: "features"
    expected = keras.Model(model.inputs, model.get_layer("features").output)(images).numpy()
    np.testing.assert_allclose(extract(images), expected, rtol=1e-5, atol=1e-6)
    assert description == "classifier.keras layer features"
    flat, _ = evaluation.classifier_extractor(path, layer="flat")
    assert flat(images).shape == (300, 64)
    with pytest.raises(evaluation.EvaluationError, match="no layer 'pool'; its layers: "):
        evaluation.classifier_extractor(path, layer="pool")
    with pytest.raises(evaluation.EvaluationError, match="cannot load a Keras model"):
        evaluation.classifier_extractor(str(tmp_path / "missing.keras"))


def test_image_metrics_on_classifier_features(tmp_path):
    path = str(tmp_path / "classifier.keras")
    tiny_classifier(path)
    extract, _ = evaluation.classifier_extractor(path)
    rng = np.random.default_rng(2)
    real = rng.uniform(-1, 1, (400, 8, 8, 1)).astype(np.float32)
    result = evaluation.image_metrics(real, real, extract)
    assert result["fid"] == pytest.approx(0.0, abs=1e-6)
    assert (result["num_real"], result["num_fake"]) == (400, 400)
    shifted = evaluation.image_metrics(real, np.clip(real + 0.8, -1, 1), extract)
    assert shifted["fid"] > 0 and shifted["kid"] > 0


def test_inception_weights_missing_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    expected = f"{tmp_path}/models/{evaluation.INCEPTION_WEIGHTS_FILE}"
    with pytest.raises(evaluation.EvaluationError, match="nothing is downloaded") as raised:
        evaluation.inception_extractor()
    assert expected in str(raised.value) and "--eval_classifier" in str(raised.value)


def test_inception_loads_local_weights_and_refuses_foreign_ones(tmp_path):
    # Real loading code on weights made here: an untrained InceptionV3's own weights.
    path = str(tmp_path / "inception.weights.h5")
    source = keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg")
    source.save_weights(path)
    extract, description = evaluation.inception_extractor(path)
    images = np.random.default_rng(3).uniform(-1, 1, (2, 299, 299, 3)).astype(np.float32)
    # Same features as the network the weights came from: they were really loaded.
    np.testing.assert_allclose(extract(images), source(images, training=False), atol=1e-5)
    gray = np.random.default_rng(4).uniform(-1, 1, (2, 32, 32, 1)).astype(np.float32)
    assert extract(gray).shape == (2, 2048)
    assert description.startswith("InceptionV3 pool3 (2048-d)")
    other = str(tmp_path / "other.weights.h5")
    models.mlp_generator(latent_dim=2, output_dim=2, hidden_units=(4,)).save_weights(other)
    with pytest.raises(evaluation.EvaluationError, match="does not hold InceptionV3 weights"):
        evaluation.inception_extractor(other)
