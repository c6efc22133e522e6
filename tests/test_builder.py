"""Tests for dcgan.run.builder's precision: dtype policies of the networks, loss-scale optimizers.

The rest of the builder is exercised through the trainer, train and config tests.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dcgan.config import Config
from dcgan.gan.choices import PRECISIONS
from dcgan.run import builder

# Compute dtype of the hidden layers for each --precision.
COMPUTE_DTYPES = {"float32": "float32", "mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}


def tiny(**overrides):
    """A quickstart-shaped image run, shrunk: 28 px, 4 filters."""
    options = {"workdir": "runs/test", "image_size": 28, "g_base_width": 4, "d_base_width": 4}
    return Config(**{**options, "latent_dim": 3, **overrides})


def _hidden_compute_dtypes(model):
    hidden = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    return {layer.compute_dtype for layer in hidden[:-1]}


def test_compute_dtypes_cover_the_precisions():
    assert tuple(COMPUTE_DTYPES) == PRECISIONS


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("dataset", ["glyphs", "ring2d"])
def test_networks_take_the_run_precision(precision, dataset):
    generator, discriminator = builder.build_networks(tiny(precision=precision, dataset=dataset))
    z = tf.random.normal([2, 3], seed=1)
    samples = generator(z, training=True)
    logits = discriminator(samples, training=True)
    for model, output in ((generator, samples), (discriminator, logits)):
        assert _hidden_compute_dtypes(model) == {COMPUTE_DTYPES[precision]}
        assert model.layers[-1].compute_dtype == "float32"
        assert output.dtype == tf.float32
        assert {v.dtype for v in model.trainable_variables} == {"float32"}
    assert keras.mixed_precision.global_policy().name == "float32"


def test_only_mixed_float16_scales_the_loss():
    assert {p: builder.use_loss_scale(tiny(precision=p)) for p in PRECISIONS} == {
        "float32": False,
        "mixed_float16": True,
        "mixed_bfloat16": False,
    }


@pytest.mark.parametrize("name, inner_type", [("adam", "Adam"), ("rmsprop", "RMSprop")])
def test_build_optimizer_wraps_in_a_loss_scale_optimizer_when_asked(name, inner_type):
    plain = builder.build_optimizer(name, learning_rate=1e-3, beta1=0.3, beta2=0.9)
    assert type(plain).__name__ == inner_type
    scaled = builder.build_optimizer(
        name, learning_rate=1e-3, beta1=0.3, beta2=0.9, loss_scale=True
    )
    assert isinstance(scaled, keras.optimizers.LossScaleOptimizer)
    assert type(scaled.inner_optimizer).__name__ == inner_type
    assert scaled.initial_scale == 2.0**15
    np.testing.assert_allclose(scaled.learning_rate.numpy(), 1e-3)


@pytest.mark.parametrize("precision", PRECISIONS)
def test_build_trainer_gives_each_network_its_own_loss_scale_under_float16(precision):
    trainer = builder.build_trainer(tiny(precision=precision, dataset="ring2d"))
    optimizers = (trainer.g_optimizer, trainer.d_optimizer)
    wrapped = [isinstance(o, keras.optimizers.LossScaleOptimizer) for o in optimizers]
    assert wrapped == [precision == "mixed_float16"] * 2
    if precision == "mixed_float16":
        # Built by the trainer before any step: both scales exist, as separate variables.
        g_scale, d_scale = (o.dynamic_scale for o in optimizers)
        assert g_scale is not d_scale
        assert float(g_scale.numpy()) == float(d_scale.numpy()) == 2.0**15
        # The learning-rate schedule reaches the inner optimizers.
        trainer.set_learning_rates(g_lr=0.25, d_lr=0.5)
        np.testing.assert_allclose(trainer.g_optimizer.inner_optimizer.learning_rate, 0.25)
        np.testing.assert_allclose(trainer.d_optimizer.inner_optimizer.learning_rate, 0.5)


def test_loss_scale_optimizer_built_before_tracing_updates_as_the_plain_one():
    # The trainer's contract: build(variables) first, then, in a traced step, multiply
    # the loss by dynamic_scale (scale_loss) and hand the scaled gradients to apply.
    w_plain = tf.Variable([1.0, -2.0])
    w_scaled = tf.Variable([1.0, -2.0])
    plain = builder.build_optimizer("adam", learning_rate=0.1, beta1=0.5, beta2=0.9)
    scaled = builder.build_optimizer(
        "adam", learning_rate=0.1, beta1=0.5, beta2=0.9, loss_scale=True
    )
    plain.build([w_plain])
    scaled.build([w_scaled])

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.square(w_plain))
        plain.apply(tape.gradient(loss, [w_plain]), [w_plain])
        with tf.GradientTape() as tape:
            loss = scaled.scale_loss(tf.reduce_sum(tf.square(w_scaled)))
        scaled.apply(tape.gradient(loss, [w_scaled]), [w_scaled])

    for _ in range(3):
        step()
    np.testing.assert_allclose(w_scaled.numpy(), w_plain.numpy(), rtol=1e-6)
    assert float(scaled.dynamic_scale.numpy()) == 2.0**15

    # An overflowing gradient: the update is skipped and the scale halved.
    before = w_scaled.numpy()
    with tf.GradientTape() as tape:
        loss = scaled.scale_loss(tf.reduce_sum(tf.square(w_scaled)))
    scaled.apply([tape.gradient(loss, [w_scaled])[0] * np.inf], [w_scaled])
    np.testing.assert_array_equal(w_scaled.numpy(), before)
    assert float(scaled.dynamic_scale.numpy()) == 2.0**14
