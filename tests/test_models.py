"""Tests for dcgan.gan.models: shapes, architecture, init, validation and mixed precision."""

import math
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from dcgan.gan import choices as gan_choices
from dcgan.gan import mlp, models

SIZES_AND_CHANNELS = [(s, c) for s in (28, 32, 64, 128) for c in (1, 3)]


def _layers_of(model, cls):
    return [layer for layer in model.layers if isinstance(layer, cls)]


@pytest.fixture
def mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy("float32")


# --- shapes, ranges, dtypes --------------------------------------------------------------


@pytest.mark.parametrize("image_size,channels", SIZES_AND_CHANNELS)
def test_dcgan_shapes_range_and_dtype(image_size, channels):
    gen = models.dcgan_generator(
        image_size=image_size, channels=channels, latent_dim=5, base_width=8
    )
    disc = models.dcgan_discriminator(image_size=image_size, channels=channels, base_width=8)
    assert gen.name == "generator" and disc.name == "discriminator"

    z = tf.random.normal([3, 5])
    images = gen(z, training=False)
    assert images.shape == (3, image_size, image_size, channels)
    assert images.dtype == tf.float32
    assert np.all(np.abs(images.numpy()) <= 1.0)

    logits = disc(images, training=False)
    assert logits.shape == (3, 1)
    assert logits.dtype == tf.float32


def test_generator_output_is_tanh_bounded_even_when_saturated():
    gen = models.dcgan_generator(image_size=28, channels=1, latent_dim=4, base_width=8)
    last = gen.layers[-1]
    assert isinstance(last, keras.layers.Activation) and last.dtype_policy.name == "float32"
    # Blow up the pre-activation: without tanh the values would be far outside [-1, 1].
    to_image = gen.get_layer("to_image")
    kernel, bias = to_image.get_weights()
    to_image.set_weights([kernel * 1e4, bias])
    images = gen(tf.random.normal([4, 4]), training=False).numpy()
    assert np.abs(images).max() <= 1.0
    assert np.abs(images).max() > 0.99


@pytest.mark.parametrize("norm", gan_choices.NORMALIZATIONS)
def test_discriminator_returns_unsquashed_logits(norm):
    disc = models.dcgan_discriminator(image_size=32, channels=3, base_width=8, norm=norm)
    last = disc.layers[-1]
    assert isinstance(last, keras.layers.Dense)
    assert last.activation is keras.activations.linear
    assert last.dtype_policy.name == "float32"
    # Zero images give zero features in inference mode (zero biases, BN with its initial
    # moving stats, LeakyReLU(0) = 0), so the logit is exactly the Dense bias: -5 is
    # impossible for a sigmoid output.
    kernel, _ = last.get_weights()
    last.set_weights([kernel, np.array([-5.0], np.float32)])
    logits = disc(tf.zeros([2, 32, 32, 3]), training=False).numpy()
    np.testing.assert_allclose(logits, [[-5.0], [-5.0]], atol=1e-6)


# --- architecture -------------------------------------------------------------------------


@pytest.mark.parametrize("image_size,expected", [(28, 2), (32, 3), (64, 4), (128, 5)])
def test_number_of_stride2_layers(image_size, expected):
    gen = models.dcgan_generator(image_size=image_size, channels=1, latent_dim=2, base_width=4)
    disc = models.dcgan_discriminator(image_size=image_size, channels=1, base_width=4)
    tconvs = _layers_of(gen, keras.layers.Conv2DTranspose)
    convs = _layers_of(disc, keras.layers.Conv2D)
    assert len(tconvs) == expected and len(convs) == expected
    assert all(tuple(layer.strides) == (2, 2) for layer in tconvs + convs)
    assert all(layer.padding == "same" for layer in tconvs + convs)
    # D shrinks to 7x7 (28 px) or 4x4 before the flatten.
    s0 = 7 if image_size == 28 else 4
    assert disc.get_layer("flatten").input.shape[1:3] == (s0, s0)


def test_channel_progression_64px_base64():
    gen = models.dcgan_generator(image_size=64, channels=3, latent_dim=100, base_width=64)
    disc = models.dcgan_discriminator(image_size=64, channels=3, base_width=64)
    # Radford et al. Fig. 1: project to 4x4x512, then 256, 128, 64, 3.
    assert gen.get_layer("reshape").output.shape[1:] == (4, 4, 512)
    assert [layer.filters for layer in _layers_of(gen, keras.layers.Conv2DTranspose)] == [
        256,
        128,
        64,
        3,
    ]
    spatial = [layer.output.shape[1] for layer in _layers_of(gen, keras.layers.Conv2DTranspose)]
    assert spatial == [8, 16, 32, 64]
    assert [layer.filters for layer in _layers_of(disc, keras.layers.Conv2D)] == [64, 128, 256, 512]
    spatial = [layer.output.shape[1] for layer in _layers_of(disc, keras.layers.Conv2D)]
    assert spatial == [32, 16, 8, 4]
    assert all(layer.kernel_size == (4, 4) for layer in _layers_of(disc, keras.layers.Conv2D))


def test_dcgan_parameter_counts_by_hand():
    # D 28 px, 1 channel, base 8, k=4: conv 4*4*1*8 + 8 bias; conv 4*4*8*16 (no bias, BN
    # follows); BN 4*16 (gamma, beta, moving mean, moving var); Dense 7*7*16 + 1.
    disc = models.dcgan_discriminator(image_size=28, channels=1, base_width=8)
    assert disc.count_params() == (16 * 8 + 8) + 16 * 8 * 16 + 4 * 16 + (7 * 7 * 16 + 1)
    # G 28 px, latent 10, base 8: ch0 = 16. Dense 10*7*7*16 (no bias); BN 4*16;
    # tconv 4*4*16*8 (no bias); BN 4*8; tconv 4*4*8*1 + 1.
    gen = models.dcgan_generator(image_size=28, channels=1, latent_dim=10, base_width=8)
    assert gen.count_params() == (10 * 7 * 7 * 16 + 4 * 16 + 16 * 16 * 8 + 4 * 8 + (16 * 8 * 1 + 1))


def test_init_stddev_is_0_02():
    keras.utils.set_random_seed(0)
    gen = models.dcgan_generator(image_size=64, channels=3, latent_dim=100, base_width=64)
    disc = models.dcgan_discriminator(image_size=64, channels=3, base_width=64)
    kernels = [
        layer.kernel.numpy()
        for model in (gen, disc)
        for layer in model.layers
        if isinstance(
            layer, (keras.layers.Dense, keras.layers.Conv2D, keras.layers.Conv2DTranspose)
        )
    ]
    assert len(kernels) == 10  # G: Dense + 4 tconvs; D: 4 convs + Dense
    for kernel in kernels:
        n = kernel.size
        # The sample std of n normals has standard error ~ sigma / sqrt(2n) (and the mean
        # sigma / sqrt(n)); 6 standard errors keeps false failures negligible while still
        # rejecting Keras's default Glorot init (std 0.0128 for the 256->512 conv).
        assert abs(kernel.std() - 0.02) < 6 * 0.02 / math.sqrt(2 * n), kernel.shape
        assert abs(kernel.mean()) < 6 * 0.02 / math.sqrt(n), kernel.shape


def test_each_build_draws_fresh_weights():
    kwargs = {"image_size": 28, "channels": 1, "base_width": 8}
    first = models.dcgan_discriminator(**kwargs).get_layer("down2").kernel.numpy()
    second = models.dcgan_discriminator(**kwargs).get_layer("down2").kernel.numpy()
    assert not np.array_equal(first, second)


def test_first_discriminator_block_has_no_normalization():
    disc = models.dcgan_discriminator(image_size=64, channels=3, base_width=8, norm="batch")
    first_conv, after = disc.layers[1], disc.layers[2]
    assert isinstance(first_conv, keras.layers.Conv2D) and first_conv.use_bias
    assert isinstance(after, keras.layers.LeakyReLU)
    assert after.negative_slope == pytest.approx(0.2)
    # Every later conv is followed by BN and has no (redundant) bias.
    assert len(_layers_of(disc, keras.layers.BatchNormalization)) == 3
    assert not any(layer.use_bias for layer in _layers_of(disc, keras.layers.Conv2D)[1:])


def test_norm_none_has_no_normalization_layers():
    norm_types = (keras.layers.BatchNormalization, keras.layers.LayerNormalization)
    gen = models.dcgan_generator(image_size=32, channels=1, latent_dim=3, base_width=8, norm="none")
    disc = models.dcgan_discriminator(image_size=32, channels=1, base_width=8, norm="none")
    for model in (gen, disc):
        assert not _layers_of(model, norm_types)
        # Without a normalization to absorb it, every layer keeps its bias.
        weighted = _layers_of(
            model, (keras.layers.Conv2D, keras.layers.Conv2DTranspose, keras.layers.Dense)
        )
        assert len(weighted) == 4  # 32 px: Dense + 3 (transposed) convs, or 3 convs + Dense
        assert all(layer.use_bias for layer in weighted)


def test_norm_layer_normalizes_per_example_over_hwc():
    gen = models.dcgan_generator(
        image_size=32, channels=3, latent_dim=3, base_width=8, norm="layer"
    )
    disc = models.dcgan_discriminator(image_size=32, channels=3, base_width=8, norm="layer")
    assert not _layers_of(gen, keras.layers.BatchNormalization)
    assert not _layers_of(disc, keras.layers.BatchNormalization)
    assert len(_layers_of(gen, keras.layers.LayerNormalization)) == 3  # projection + 2 blocks
    assert len(_layers_of(disc, keras.layers.LayerNormalization)) == 2  # all but the first
    for layer in _layers_of(gen, keras.layers.LayerNormalization) + _layers_of(
        disc, keras.layers.LayerNormalization
    ):
        assert sorted(layer.axis) == [1, 2, 3]
    # Per-example: a critic's logit for one image must not depend on the rest of the batch
    # (the WGAN-GP penalty relies on that), even in training mode.
    x = tf.random.uniform([4, 32, 32, 3], -1.0, 1.0, seed=1)
    together = disc(x, training=True).numpy()
    alone = disc(x[:1], training=True).numpy()
    np.testing.assert_allclose(together[:1], alone, rtol=1e-4, atol=1e-5)


def test_batch_norm_respects_training_flag_and_trains_under_tape():
    gen = models.dcgan_generator(image_size=28, channels=1, latent_dim=4, base_width=8)
    disc = models.dcgan_discriminator(image_size=28, channels=1, base_width=8)
    z = tf.random.normal([8, 4], seed=2)
    bn = gen.get_layer("project_norm")
    before = bn.moving_mean.numpy().copy()
    gen(z, training=False)
    np.testing.assert_array_equal(bn.moving_mean.numpy(), before)
    # Training mode uses batch statistics, so the outputs differ from inference mode.
    assert not np.allclose(gen(z, training=True).numpy(), gen(z, training=False).numpy())

    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(disc(gen(z, training=True), training=True))
    assert not np.array_equal(bn.moving_mean.numpy(), before)
    variables = gen.trainable_variables + disc.trainable_variables
    grads = tape.gradient(loss, variables)
    assert all(g is not None for g in grads)


# --- MLP nets -----------------------------------------------------------------------------


def test_mlp_shapes_and_parameter_counts():
    disc = mlp.mlp_discriminator(input_dim=1)
    assert disc.count_params() == (1 * 200 + 200) + (200 * 50 + 50) + (50 + 1)
    gen = mlp.mlp_generator(latent_dim=2, output_dim=3)
    assert gen.count_params() == (2 * 200 + 200) + (200 * 100 + 100) + (100 * 50 + 50) + (
        50 * 3 + 3
    )
    assert gen.name == "generator" and disc.name == "discriminator"
    samples = gen(tf.random.normal([5, 2]))
    assert samples.shape == (5, 3) and samples.dtype == tf.float32
    logits = disc(tf.random.normal([5, 1]))
    assert logits.shape == (5, 1) and logits.dtype == tf.float32


def test_mlp_outputs_are_linear():
    gen = mlp.mlp_generator(latent_dim=2, output_dim=3, hidden_units=(4,))
    disc = mlp.mlp_discriminator(input_dim=3, hidden_units=(4,))
    for model, bias in ((gen, [5.0, -5.0, 3.0]), (disc, [-7.0])):
        last = model.layers[-1]
        assert isinstance(last, keras.layers.Dense)
        assert last.activation is keras.activations.linear
        # Zero input -> zero hidden features (zero biases), so the output is the bias,
        # which lies outside what tanh or sigmoid could produce.
        kernel, _ = last.get_weights()
        last.set_weights([kernel, np.array(bias, np.float32)])
        out = model(tf.zeros([1, model.input.shape[1]])).numpy()
        np.testing.assert_allclose(out, [bias], atol=1e-6)


@pytest.mark.parametrize("activation", gan_choices.ACTIVATIONS)
def test_mlp_activations(activation):
    disc = mlp.mlp_discriminator(input_dim=2, hidden_units=(3, 3), activation=activation)
    acts = disc.layers[2:-1:2]
    assert len(acts) == 2
    if activation == "leaky_relu":
        assert all(isinstance(a, keras.layers.LeakyReLU) for a in acts)
        assert all(a.negative_slope == pytest.approx(0.2) for a in acts)
    else:
        assert all(isinstance(a, keras.layers.Activation) for a in acts)
        assert all(a.activation is keras.activations.get(activation) for a in acts)


# --- validation ---------------------------------------------------------------------------

_IMG = {"image_size": 32, "channels": 1, "base_width": 4}
_BAD_ARGS = [
    (models.dcgan_generator, {**_IMG, "latent_dim": 2, "image_size": 48}, "image_size=48"),
    (models.dcgan_generator, {**_IMG, "latent_dim": 2, "image_size": 64.0}, "image_size=64.0"),
    (models.dcgan_generator, {**_IMG, "latent_dim": 2, "channels": 2}, "channels=2"),
    (models.dcgan_generator, {**_IMG, "latent_dim": 0}, "latent_dim=0"),
    (models.dcgan_generator, {**_IMG, "latent_dim": 2, "base_width": 0}, "base_width=0"),
    (models.dcgan_generator, {**_IMG, "latent_dim": 2, "kernel_size": -1}, "kernel_size=-1"),
    (models.dcgan_generator, {**_IMG, "latent_dim": 2, "norm": "group"}, "norm='group'"),
    (models.dcgan_discriminator, {**_IMG, "image_size": 100}, "image_size=100"),
    (models.dcgan_discriminator, {**_IMG, "channels": 0}, "channels=0"),
    (models.dcgan_discriminator, {**_IMG, "channels": 3.0}, "channels=3.0"),
    (models.dcgan_discriminator, {**_IMG, "spectral_norm": 1}, "spectral_norm=1"),
    (models.dcgan_discriminator, {**_IMG, "base_width": 2.5}, "base_width=2.5"),
    (models.dcgan_discriminator, {**_IMG, "kernel_size": 0}, "kernel_size=0"),
    (models.dcgan_discriminator, {**_IMG, "norm": "Batch"}, "norm='Batch'"),
    (mlp.mlp_generator, {"latent_dim": -3, "output_dim": 2}, "latent_dim=-3"),
    (mlp.mlp_generator, {"latent_dim": 2, "output_dim": 0}, "output_dim=0"),
    (
        mlp.mlp_generator,
        {"latent_dim": 2, "output_dim": 2, "hidden_units": ()},
        "hidden_units=()",
    ),
    (
        mlp.mlp_generator,
        {"latent_dim": 2, "output_dim": 2, "activation": "gelu"},
        "activation='gelu'",
    ),
    (mlp.mlp_discriminator, {"input_dim": 0}, "input_dim=0"),
    (mlp.mlp_discriminator, {"input_dim": 2, "hidden_units": (8, 0)}, "hidden_units=(8, 0)"),
    (mlp.mlp_discriminator, {"input_dim": 2, "hidden_units": 8}, "hidden_units=8"),
    (mlp.mlp_discriminator, {"input_dim": 2, "activation": "sigmoid"}, "activation='sigmoid'"),
    (mlp.mlp_discriminator, {"input_dim": 2, "spectral_norm": "yes"}, "spectral_norm='yes'"),
]


@pytest.mark.parametrize("fn,kwargs,quoted", _BAD_ARGS, ids=[q for _, _, q in _BAD_ARGS])
def test_invalid_arguments_raise_value_error_quoting_value(fn, kwargs, quoted):
    with pytest.raises(ValueError, match=re.escape(quoted)) as info:
        fn(**kwargs)
    message = str(info.value)
    assert "allowed" in message and "\n" not in message


@pytest.mark.parametrize("channels", [2, 4, 6, 12])
def test_discriminator_takes_packed_channels(channels):
    # PacGAN packs m images along the channels: D takes any channel count, G only 1 or 3.
    disc = models.dcgan_discriminator(image_size=28, channels=channels, base_width=4)
    assert disc.input.shape == (None, 28, 28, channels)
    assert disc.get_layer("down1").kernel.shape == (4, 4, channels, 4)
    assert disc(tf.zeros([2, 28, 28, channels])).shape == (2, 1)


def test_error_lists_allowed_values():
    with pytest.raises(ValueError, match=re.escape("allowed: 28, 32, 64, 128")):
        models.dcgan_discriminator(image_size=48, channels=1)
    with pytest.raises(ValueError, match=re.escape("'batch', 'layer', 'none'")):
        models.dcgan_discriminator(image_size=28, channels=1, norm="spectral")


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        mlp.mlp_discriminator(2)


# --- mixed precision ----------------------------------------------------------------------


@pytest.mark.usefixtures("mixed_precision")
def test_outputs_are_float32_under_mixed_precision():
    gen = models.dcgan_generator(image_size=32, channels=3, latent_dim=4, base_width=8)
    disc = models.dcgan_discriminator(image_size=32, channels=3, base_width=8)
    # The policy really applies to the hidden layers...
    assert gen.get_layer("up1").compute_dtype == "float16"
    assert disc.get_layer("down2").compute_dtype == "float16"
    # ...but the outputs are float32.
    images = gen(tf.random.normal([2, 4]), training=True)
    assert images.dtype == tf.float32
    assert disc(images, training=True).dtype == tf.float32
    mlp_g = mlp.mlp_generator(latent_dim=2, output_dim=3)
    mlp_d = mlp.mlp_discriminator(input_dim=3)
    samples = mlp_g(tf.random.normal([2, 2]))
    assert samples.dtype == tf.float32
    assert mlp_d(samples).dtype == tf.float32


def test_policy_restored_after_mixed_precision_test():
    assert keras.mixed_precision.global_policy().name == "float32"


def test_batch_norm_momentum_is_0_9():
    # Inference (sample grids, dcgan.sample) uses the moving statistics; Keras' default
    # momentum 0.99 leaves them near their initial values for hundreds of steps.
    for model in (
        models.dcgan_generator(image_size=28, channels=1, latent_dim=4, base_width=4),
        models.dcgan_discriminator(image_size=28, channels=1, base_width=4),
    ):
        norms = [
            layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)
        ]
        assert norms and all(layer.momentum == 0.9 for layer in norms)


# --- the seed systems' options -------------------------------------------------------------


def test_nearest_upsampling_replaces_transposed_convs():
    gen = models.dcgan_generator(
        image_size=32, channels=1, latent_dim=3, base_width=4, upsample="nearest"
    )
    assert not _layers_of(gen, keras.layers.Conv2DTranspose)
    ups = _layers_of(gen, keras.layers.UpSampling2D)
    assert [layer.output.shape[1] for layer in ups] == [8, 16, 32]
    assert all(layer.interpolation == "nearest" for layer in ups)
    # Each upsample is followed by a stride-1 conv: 8x8 -> 8x8 keeps the size.
    convs = [layer for layer in _layers_of(gen, keras.layers.Conv2D) if layer.name != "project"]
    assert [c.strides for c in convs] == [(1, 1)] * 3
    assert [c.filters for c in convs] == [8, 4, 1]
    assert gen(tf.zeros([2, 3])).shape == (2, 32, 32, 1)


def test_spatial_noise_goes_through_a_convolution():
    gen = models.dcgan_generator(
        image_size=32,
        channels=1,
        latent_dim=64,
        base_width=4,
        kernel_size=3,
        noise_shape=(4, 4, 4),
    )
    assert gen.input.shape == (None, 4, 4, 4)
    project = gen.get_layer("project")
    assert isinstance(project, keras.layers.Conv2D) and project.strides == (1, 1)
    # 3x3x4 kernel to 4 * 2**2 = 16 filters, no bias (batch norm follows).
    assert project.count_params() == 3 * 3 * 4 * 16
    assert gen(tf.zeros([2, 4, 4, 4])).shape == (2, 32, 32, 1)


def test_start_size_8_at_128px_is_s3s_generator():
    gen = models.dcgan_generator(
        image_size=128, channels=3, latent_dim=100, base_width=2, kernel_size=5, start_size=8
    )
    assert gen.get_layer("reshape").output.shape[1:] == (8, 8, 16)
    tconvs = _layers_of(gen, keras.layers.Conv2DTranspose)
    assert [layer.output.shape[1] for layer in tconvs] == [16, 32, 64, 128]
    assert [layer.filters for layer in tconvs] == [8, 4, 2, 3]


def test_stride1_block_and_dense_layer_of_d():
    disc = models.dcgan_discriminator(
        image_size=128, channels=3, base_width=2, kernel_size=5, stride1_block=4, dense_units=7
    )
    convs = _layers_of(disc, keras.layers.Conv2D)
    assert [c.strides[0] for c in convs] == [2, 2, 2, 1, 2]
    assert [c.output.shape[1] for c in convs] == [64, 32, 16, 16, 8]
    assert [c.filters for c in convs] == [2, 4, 8, 16, 32]
    hidden = disc.get_layer("hidden")
    assert hidden.units == 7 and hidden.input.shape[1] == 8 * 8 * 32
    assert disc.get_layer("logits").input.shape[1] == 7


def test_activations_of_image_nets():
    gen = models.dcgan_generator(
        image_size=28, channels=1, latent_dim=2, base_width=4, activation="selu"
    )
    acts = [a for a in _layers_of(gen, keras.layers.Activation) if a.name != "tanh"]
    assert len(acts) == 2  # after the projection and after the one hidden block
    assert all(a.activation is keras.activations.selu for a in acts)
    assert not _layers_of(gen, keras.layers.ReLU)
    disc = models.dcgan_discriminator(
        image_size=28, channels=1, base_width=4, activation="elu", dense_units=3
    )
    acts = _layers_of(disc, keras.layers.Activation)
    assert len(acts) == 3 and all(a.activation is keras.activations.elu for a in acts)
    assert not _layers_of(disc, keras.layers.LeakyReLU)


def test_dropout_acts_only_in_training():
    disc = models.dcgan_discriminator(
        image_size=28, channels=1, base_width=4, norm="none", dropout=0.3
    )
    drops = _layers_of(disc, keras.layers.Dropout)
    assert [d.rate for d in drops] == [0.3, 0.3]
    # Each dropout follows its block's activation.
    names = [layer.name for layer in disc.layers]
    assert names.index("down1_dropout") == names.index("down1_lrelu") + 1
    x = tf.random.normal([4, 28, 28, 1], seed=1)
    np.testing.assert_array_equal(disc(x, training=False), disc(x, training=False))
    assert not np.array_equal(disc(x, training=True), disc(x, training=False))


@pytest.mark.parametrize(
    "build, kwargs, message",
    [
        (models.dcgan_generator, {"latent_dim": 2, "upsample": "bilinear"}, "upsample='bilinear'"),
        (models.dcgan_generator, {"latent_dim": 2, "activation": "gelu"}, "activation='gelu'"),
        (models.dcgan_generator, {"latent_dim": 2, "start_size": 3}, "start_size=3"),
        (models.dcgan_generator, {"latent_dim": 2, "start_size": 32}, "start_size=32"),
        (models.dcgan_generator, {"latent_dim": 8, "noise_shape": (2, 2, 2)}, "noise_shape=(2,"),
        (models.dcgan_generator, {"latent_dim": 32, "noise_shape": (4, 4, 4)}, "noise_shape="),
        (models.dcgan_discriminator, {"stride1_block": 4}, "stride1_block=4"),
        (models.dcgan_discriminator, {"dense_units": -1}, "dense_units=-1"),
        (models.dcgan_discriminator, {"dropout": 1.0}, "dropout=1.0"),
    ],
)
def test_seed_option_errors(build, kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        build(image_size=32, channels=1, base_width=4, **kwargs)


# --- dtype policies (--precision) -----------------------------------------------------------

# Compute dtype of the hidden layers under each mixed policy.
MIXED_COMPUTE_DTYPES = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}


_IMAGE = {"image_size": 28, "channels": 1, "base_width": 4}
# One tiny net of each builder and layer kind: name -> (builder, its options).
_TINY_NETS = {
    "dcgan_g": (models.dcgan_generator, {**_IMAGE, "latent_dim": 4}),
    "dcgan_g_nearest_layer_norm": (
        models.dcgan_generator,
        {**_IMAGE, "latent_dim": 4, "norm": "layer", "upsample": "nearest"},
    ),
    "dcgan_d": (models.dcgan_discriminator, {**_IMAGE, "dense_units": 3, "dropout": 0.1}),
    "dcgan_d_spectral": (
        models.dcgan_discriminator,
        {**_IMAGE, "norm": "layer", "spectral_norm": True},
    ),
    "mlp_g": (mlp.mlp_generator, {"latent_dim": 2, "output_dim": 3, "hidden_units": (5, 4)}),
    "mlp_d": (
        mlp.mlp_discriminator,
        {"input_dim": 3, "hidden_units": (5,), "spectral_norm": True},
    ),
}


def _tiny_nets(dtype_policy):
    """Each of ``_TINY_NETS`` built with ``dtype_policy``, and an input: {name: (model, x)}."""
    nets = {}
    for seed, (name, (build, options)) in enumerate(_TINY_NETS.items()):
        model = build(**options, dtype_policy=dtype_policy)
        shape = model.input.shape[1:]
        x = tf.random.stateless_uniform([3, *shape], seed=[seed, 0], minval=-1.0, maxval=1.0)
        nets[name] = (model, x)
    return nets


@pytest.mark.parametrize("dtype_policy", MIXED_COMPUTE_DTYPES)
def test_mixed_policy_computes_in_half_precision_with_float32_variables_and_outputs(
    dtype_policy,
):
    for name, (model, x) in _tiny_nets(dtype_policy).items():
        *hidden, last = [
            layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)
        ]
        assert {layer.compute_dtype for layer in hidden} == {MIXED_COMPUTE_DTYPES[dtype_policy]}, (
            name
        )
        assert last.dtype_policy.name == "float32", name
        # Weights, batch-norm statistics and spectral u are all float32 variables (dropout
        # also holds an integer seed).
        float_dtypes = {v.dtype for v in model.variables if "int" not in v.dtype}
        assert float_dtypes == {"float32"}, name
        output = model(x, training=True)
        assert output.dtype == tf.float32, name
        assert np.all(np.isfinite(output.numpy())), name
    # An explicit policy leaves Keras' global one alone.
    assert keras.mixed_precision.global_policy().name == "float32"


def test_float32_policy_builds_the_default_net_exactly():
    # Checkpoints of runs from before --precision must still load: same layers, same
    # variables in the same order, and (same seed) the same values.
    for build, options in _TINY_NETS.values():
        keras.utils.set_random_seed(11)
        default = build(**options)
        keras.utils.set_random_seed(11)
        explicit = build(**options, dtype_policy="float32")
        assert [layer.name for layer in explicit.layers] == [layer.name for layer in default.layers]
        # Dropout's seed variable is named by a process-wide counter; it is not a weight.
        mine = [v for v in explicit.variables if "seed_generator" not in v.path]
        theirs = [v for v in default.variables if "seed_generator" not in v.path]
        assert [v.path for v in mine] == [v.path for v in theirs]
        for mine_variable, their_variable in zip(mine, theirs, strict=True):
            np.testing.assert_array_equal(mine_variable.numpy(), their_variable.numpy())


@pytest.mark.usefixtures("mixed_precision")
def test_explicit_float32_policy_overrides_a_global_mixed_one():
    disc = models.dcgan_discriminator(
        image_size=28, channels=1, base_width=4, dtype_policy="float32"
    )
    layers = [layer for layer in disc.layers if not isinstance(layer, keras.layers.InputLayer)]
    assert {layer.compute_dtype for layer in layers} == {"float32"}
    assert disc(tf.zeros([1, 28, 28, 1])).dtype == tf.float32


# Half precision rounds to 11 (float16) or 8 (bfloat16) significant bits at every layer.
MIXED_RTOL = {"mixed_float16": 1e-2, "mixed_bfloat16": 6e-2}


@pytest.mark.parametrize("dtype_policy", MIXED_COMPUTE_DTYPES)
def test_mixed_nets_match_float32_with_the_same_weights(dtype_policy):
    reference = _tiny_nets("float32")
    for name, (model, x) in _tiny_nets(dtype_policy).items():
        float32_model = reference[name][0]
        model.set_weights(float32_model.get_weights())
        # Inference: dropout off, batch norm on its moving statistics.
        expected = float32_model(x, training=False).numpy()
        actual = model(x, training=False).numpy()
        scale = np.abs(expected).max()
        np.testing.assert_allclose(actual, expected, atol=MIXED_RTOL[dtype_policy] * scale)


@pytest.mark.parametrize("dtype_policy", MIXED_COMPUTE_DTYPES)
def test_batch_norm_statistics_stay_float32_under_mixed_policy(dtype_policy):
    float32_g = models.dcgan_generator(image_size=28, channels=1, latent_dim=4, base_width=4)
    mixed_g = models.dcgan_generator(
        image_size=28, channels=1, latent_dim=4, base_width=4, dtype_policy=dtype_policy
    )
    mixed_g.set_weights(float32_g.get_weights())
    # Projections of about 1e4 * 0.02 * 2 = 400: fine in float16, but their squares (the
    # variance) lie beyond float16's largest value, 65504.
    z = 1e4 * tf.random.normal([8, 4], seed=8)
    float32_g(z, training=True)
    mixed_g(z, training=True)
    norm = mixed_g.get_layer("project_norm")
    assert norm.moving_variance.dtype == "float32"
    moving_variance = norm.moving_variance.numpy()
    assert np.all(np.isfinite(moving_variance))
    expected = float32_g.get_layer("project_norm").moving_variance.numpy()
    assert expected.max() > 65504 * 0.1  # momentum 0.9: a tenth of one batch's variance
    np.testing.assert_allclose(moving_variance, expected, rtol=MIXED_RTOL[dtype_policy])


@pytest.mark.parametrize(
    "build",
    [models.dcgan_generator, models.dcgan_discriminator],
    ids=["generator", "discriminator"],
)
@pytest.mark.parametrize("bad", ["float16", "bfloat16", "mixed", 16])
def test_unknown_dtype_policy_is_refused(build, bad):
    kwargs = {"latent_dim": 2} if build is models.dcgan_generator else {}
    with pytest.raises(ValueError) as excinfo:
        build(image_size=28, channels=1, base_width=4, dtype_policy=bad, **kwargs)
    assert str(excinfo.value) == (
        f"dtype_policy={bad!r} is not supported; "
        "allowed: 'float32', 'mixed_float16', 'mixed_bfloat16'"
    )
    for build_mlp, mlp_kwargs in (
        (mlp.mlp_generator, {"latent_dim": 2, "output_dim": 2}),
        (mlp.mlp_discriminator, {"input_dim": 2}),
    ):
        with pytest.raises(ValueError, match=re.escape(f"dtype_policy={bad!r}")):
            build_mlp(dtype_policy=bad, **mlp_kwargs)
