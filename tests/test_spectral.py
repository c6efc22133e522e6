"""Tests for dcgan.gan.spectral: sigma against NumPy's SVD, purity of call, gradients through
sigma, zero kernels, mixed precision, and spectrally normalized discriminators."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dcgan.gan import mlp, models, resnet, spectral

_RNG_SEED = 7


def _conv_layer(**kwargs):
    """A built 3x3 SpectralConv2D, 4 -> 5 channels, with N(0, 1) kernel and bias."""
    layer = spectral.SpectralConv2D(5, 3, strides=2, padding="same", **kwargs)
    layer.build((None, 9, 9, 4))
    rng = np.random.default_rng(_RNG_SEED)
    layer.kernel.assign(rng.normal(size=(3, 3, 4, 5)).astype(np.float32))
    layer.bias.assign(rng.normal(size=(5,)).astype(np.float32))
    return layer


def _dense_layer(**kwargs):
    """A built SpectralDense, 6 -> 4 units, with N(0, 1) kernel and bias."""
    layer = spectral.SpectralDense(4, **kwargs)
    layer.build((None, 6))
    rng = np.random.default_rng(_RNG_SEED + 1)
    layer.kernel.assign(rng.normal(size=(6, 4)).astype(np.float32))
    layer.bias.assign(rng.normal(size=(4,)).astype(np.float32))
    return layer


def _top_singular_value(kernel):
    matrix = np.asarray(kernel, np.float64).reshape(-1, kernel.shape[-1])  # [fan_in, out]
    return np.linalg.svd(matrix, compute_uv=False)[0]


def _iterate(layer, steps=50):
    for _ in range(steps):
        layer.power_iterate()


def _converge(layer):
    """Runs 50 power-iteration steps, checks sigma against NumPy's SVD, returns the
    kernel, the bias and that largest singular value."""
    _iterate(layer)
    kernel, bias = layer.kernel.numpy(), layer.bias.numpy()
    top = _top_singular_value(kernel)
    assert layer.sigma().dtype == tf.float32
    np.testing.assert_allclose(layer.sigma().numpy(), top, rtol=1e-4)
    return kernel, bias, top


# --- sigma and outputs against NumPy --------------------------------------------------------


def test_conv_sigma_converges_to_largest_singular_value_and_output_matches():
    layer = _conv_layer()
    kernel, bias, top = _converge(layer)
    # u is a unit vector and, up to sign, the top right singular vector of W [36, 5].
    u = layer.u.numpy()
    _, _, vt = np.linalg.svd(kernel.reshape(-1, 5).astype(np.float64))
    assert abs(np.linalg.norm(u) - 1.0) < 1e-6
    np.testing.assert_allclose(abs(u @ vt[0]), 1.0, atol=1e-4)

    x = tf.random.normal([2, 9, 9, 4], seed=1)
    expected = tf.nn.conv2d(x, kernel / top, strides=2, padding="SAME") + bias
    np.testing.assert_allclose(layer(x).numpy(), expected.numpy(), rtol=1e-4, atol=1e-5)


def test_transposed_conv_sigma_and_output_match_numpy():
    # Keras's transposed kernel is [kh, kw, filters, c_in]: W is [kh * kw * filters, c_in].
    layer = spectral.SpectralConv2DTranspose(3, 4, strides=2, padding="same")
    layer.build((None, 5, 5, 6))
    rng = np.random.default_rng(_RNG_SEED + 2)
    layer.kernel.assign(rng.normal(size=(4, 4, 3, 6)).astype(np.float32))
    layer.bias.assign(rng.normal(size=(3,)).astype(np.float32))
    assert layer.u.shape == (6,)
    kernel, bias, top = _converge(layer)
    x = tf.random.normal([2, 5, 5, 6], seed=2)
    plain = keras.layers.Conv2DTranspose(3, 4, strides=2, padding="same")
    plain.build((None, 5, 5, 6))
    plain.set_weights([kernel / top, bias])
    np.testing.assert_allclose(layer(x).numpy(), plain(x).numpy(), rtol=1e-4, atol=1e-5)
    assert layer(x).shape == (2, 10, 10, 3)


def test_dense_sigma_converges_to_largest_singular_value_and_output_matches():
    layer = _dense_layer()
    kernel, bias, top = _converge(layer)
    x = np.random.default_rng(3).normal(size=(3, 6)).astype(np.float32)
    np.testing.assert_allclose(layer(x).numpy(), x @ (kernel / top) + bias, rtol=1e-4, atol=1e-5)
    # The normalized kernel's largest singular value is 1.
    np.testing.assert_allclose(_top_singular_value(layer.normalized_kernel().numpy()), 1, rtol=1e-4)


def test_sigma_is_v_w_u_with_v_from_the_current_u():
    # Before convergence too: sigma = v^T W u = ||W u|| with the stored u, by hand.
    layer = _dense_layer()
    layer.power_iterate()
    w, u = layer.kernel.numpy().astype(np.float64), layer.u.numpy().astype(np.float64)
    wu = w @ u
    v = wu / np.linalg.norm(wu)
    np.testing.assert_allclose(layer.sigma().numpy(), v @ wu, rtol=1e-6)
    # And one power-iteration step by hand.
    expected_u = w.T @ v / np.linalg.norm(w.T @ v)
    layer.power_iterate()
    np.testing.assert_allclose(layer.u.numpy(), expected_u, rtol=1e-5, atol=1e-6)


# --- side effects ---------------------------------------------------------------------------


@pytest.mark.parametrize("make", [_conv_layer, _dense_layer], ids=["conv", "dense"])
@pytest.mark.parametrize("training", [True, False])
def test_call_leaves_every_variable_unchanged(make, training):
    layer = make()
    before = [v.numpy().copy() for v in layer.weights]
    x = tf.random.normal([2, 9, 9, 4] if isinstance(layer, keras.layers.Conv2D) else [2, 6])
    with tf.GradientTape():
        layer(x, training=training)
    tf.function(lambda x: layer(x, training=training))(x)
    for variable, value in zip(layer.weights, before, strict=True):
        np.testing.assert_array_equal(variable.numpy(), value)


@pytest.mark.parametrize("make", [_conv_layer, _dense_layer], ids=["conv", "dense"])
def test_power_iterate_changes_only_u(make):
    layer = make()
    kernel, bias, u = (v.numpy().copy() for v in (layer.kernel, layer.bias, layer.u))
    layer.power_iterate()
    np.testing.assert_array_equal(layer.kernel.numpy(), kernel)
    np.testing.assert_array_equal(layer.bias.numpy(), bias)
    assert not np.allclose(layer.u.numpy(), u)


def test_u_is_a_seeded_unit_vector_and_non_trainable():
    def build():
        layer = spectral.SpectralDense(16)
        layer.build((None, 3))
        return layer

    keras.utils.set_random_seed(3)
    first = build()
    keras.utils.set_random_seed(3)
    second = build()
    third = build()
    assert [v.name for v in first.weights] == ["kernel", "bias", "u"]
    assert first.non_trainable_weights == [first.u] and first.u.dtype == "float32"
    np.testing.assert_allclose(np.linalg.norm(first.u.numpy()), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(first.u.numpy(), second.u.numpy())
    assert not np.allclose(second.u.numpy(), third.u.numpy())


# --- gradients ------------------------------------------------------------------------------


def test_gradient_flows_through_sigma():
    layer = _dense_layer()
    _iterate(layer, 3)  # not yet converged: v and u are not singular vectors
    rng = np.random.default_rng(5)
    x = rng.normal(size=(3, 6))
    r = rng.normal(size=(3, 4))  # cotangent: loss = sum(r * output)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(r.astype(np.float32) * layer(x.astype(np.float32)))
    grad = tape.gradient(loss, layer.kernel).numpy()

    # By hand, with u and v constant: sigma = v^T W u, d sigma / dW = v u^T, and
    # loss = sum(r * (x W)) / sigma + sum(r * b).
    w, u = layer.kernel.numpy().astype(np.float64), layer.u.numpy().astype(np.float64)
    v = w @ u / np.linalg.norm(w @ u)
    sigma = v @ w @ u
    constant_sigma_grad = x.T @ r / sigma
    expected = constant_sigma_grad - np.sum(r * (x @ w)) / sigma**2 * np.outer(v, u)
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-5)
    assert not np.allclose(grad, constant_sigma_grad, rtol=1e-2, atol=1e-3)


# --- degenerate kernels and mixed precision -------------------------------------------------


def test_zero_kernel_gives_finite_output_and_keeps_u():
    layer = _conv_layer()
    layer.kernel.assign(tf.zeros_like(layer.kernel))
    u = layer.u.numpy().copy()
    layer.power_iterate()
    np.testing.assert_array_equal(layer.u.numpy(), u)  # not replaced by a zero vector
    x = tf.random.normal([2, 9, 9, 4], seed=2)
    with tf.GradientTape() as tape:
        y = layer(x)
    grad = tape.gradient(y, layer.kernel)
    # A zero normalized kernel: the output is the bias everywhere.
    np.testing.assert_array_equal(y.numpy(), np.broadcast_to(layer.bias.numpy(), y.shape))
    assert np.all(np.isfinite(grad.numpy()))


def test_float16_input_under_mixed_precision_computes_sigma_in_float32():
    layer = _conv_layer(dtype="mixed_float16")
    assert layer.compute_dtype == "float16" and layer.u.dtype == "float32"
    # A kernel far beyond float16's range (65504): read as float16 it would be inf, and
    # kernel / sigma NaN. Divided by a float32 sigma it is an ordinary kernel.
    layer.kernel.assign(layer.kernel * 1e6)
    kernel, bias, top = _converge(layer)
    x = tf.random.normal([2, 9, 9, 4], seed=3)
    with tf.GradientTape() as tape:
        y = layer(tf.cast(x, tf.float16))
        loss = tf.reduce_sum(tf.cast(y, tf.float32))
    assert y.dtype == tf.float16
    grad = tape.gradient(loss, layer.kernel)
    assert grad.dtype == tf.float32 and np.all(np.isfinite(grad.numpy()))
    expected = tf.nn.conv2d(x, kernel / top, strides=2, padding="SAME") + bias
    np.testing.assert_allclose(y.numpy().astype(np.float32), expected.numpy(), atol=2e-2)


# --- unsupported Keras options --------------------------------------------------------------


def test_lora_and_quantization_are_refused():
    with pytest.raises(ValueError, match="SpectralDense 'd' does not support lora_rank=2"):
        spectral.SpectralDense(3, lora_rank=2, name="d")
    with pytest.raises(ValueError, match="does not support lora_rank=2"):
        spectral.SpectralConv2D(3, 3, lora_rank=2)
    layer = _dense_layer()
    with pytest.raises(ValueError, match="does not support LoRA"):
        layer.enable_lora(2)
    with pytest.raises(ValueError, match="does not support quantization"):
        layer.quantize("int8")


# --- spectrally normalized discriminators ---------------------------------------------------


def _weighted_layers(model):
    weighted = (keras.layers.Conv2D, keras.layers.Conv2DTranspose, keras.layers.Dense)
    return [layer for layer in model.layers if isinstance(layer, weighted)]


def _dcgan_d(**kwargs):
    return models.dcgan_discriminator(
        image_size=32, channels=3, base_width=4, dense_units=5, **kwargs
    )


def test_spectral_discriminator_has_one_u_per_conv_and_dense():
    disc = _dcgan_d(spectral_norm=True, norm="layer")
    weighted = _weighted_layers(disc)
    assert [layer.name for layer in weighted] == ["down1", "down2", "down3", "hidden", "logits"]
    assert all(isinstance(layer, spectral.SPECTRAL_LAYERS) for layer in weighted)
    assert spectral.spectral_layers(disc) == weighted
    us = [layer.u for layer in weighted]
    assert [tuple(u.shape) for u in us] == [(4,), (8,), (16,), (5,), (1,)]
    non_trainable = {id(v) for v in disc.non_trainable_variables}
    assert all(id(u) in non_trainable for u in us)
    assert not {id(v) for v in disc.trainable_variables} & {id(u) for u in us}
    assert disc.get_layer("logits").dtype_policy.name == "float32"

    vector_d = mlp.mlp_discriminator(input_dim=2, hidden_units=(3, 4), spectral_norm=True)
    assert [layer.name for layer in spectral.spectral_layers(vector_d)] == [
        "hidden1",
        "hidden2",
        "logits",
    ]


def test_variables_other_than_u_match_the_plain_discriminator():
    for build in (_dcgan_d, lambda **kw: mlp.mlp_discriminator(input_dim=3, **kw)):
        default = [(v.path, tuple(v.shape)) for v in build().variables]
        plain = [(v.path, tuple(v.shape)) for v in build(spectral_norm=False).variables]
        normalized = build(spectral_norm=True).variables
        assert plain == default
        assert [(v.path, tuple(v.shape)) for v in normalized if v.name != "u"] == default
        # One u per layer, right after that layer's kernel and bias.
        us = [v.path for v in normalized if v.name == "u"]
        layers = [path.rsplit("/", 1)[0] for path, _ in default if path.endswith("/kernel")]
        assert us == [f"{layer}/u" for layer in layers]


def test_power_iterate_walks_nested_models_once():
    inner = mlp.mlp_discriminator(input_dim=2, hidden_units=(3,), spectral_norm=True)
    x = keras.Input((2,))
    outer = keras.Model(x, inner(x) + inner(x))  # the same nested model used twice
    layers = spectral.spectral_layers(outer)
    assert layers == spectral.spectral_layers(inner) and len(layers) == 2
    u = [layer.u.numpy().copy() for layer in layers]
    spectral.power_iterate(outer)
    # Exactly one step per layer: compare with one step done by hand.
    for layer, u0 in zip(layers, u, strict=True):
        w = layer.kernel.numpy().astype(np.float64)
        v = w @ u0 / np.linalg.norm(w @ u0)
        np.testing.assert_allclose(layer.u.numpy(), w.T @ v / np.linalg.norm(w.T @ v), rtol=1e-5)


def test_power_iterate_then_passes_inside_tf_function_match_eager():
    keras.utils.set_random_seed(1)
    disc = _dcgan_d(spectral_norm=True, norm="none")
    initial = [layer.u.numpy().copy() for layer in spectral.spectral_layers(disc)]
    images = tf.random.uniform([2, 32, 32, 3], -1.0, 1.0, seed=4)

    @tf.function
    def step(images):
        spectral.power_iterate(disc)
        return disc(images, training=True), disc(images, training=True)

    first, second = step(images)
    np.testing.assert_array_equal(first.numpy(), second.numpy())  # one sigma per update
    np.testing.assert_allclose(disc(images, training=False).numpy(), first.numpy(), rtol=1e-5)
    # Every u moved but the logit's, a unit vector in R^1: +-1 stays +-1.
    moved = [layer.u.numpy() for layer in spectral.spectral_layers(disc)]
    assert all(not np.array_equal(a, b) for a, b in zip(initial[:-1], moved[:-1], strict=True))


def test_checkpoint_round_trip_restores_u_exactly(tmp_path):
    disc = _dcgan_d(spectral_norm=True)
    for _ in range(3):
        spectral.power_iterate(disc)
    path = tf.train.Checkpoint(model=disc).write(str(tmp_path / "ckpt"))
    restored = _dcgan_d(spectral_norm=True)
    tf.train.Checkpoint(model=restored).read(path).assert_consumed()
    for saved, loaded in zip(
        spectral.spectral_layers(disc), spectral.spectral_layers(restored), strict=True
    ):
        np.testing.assert_array_equal(loaded.u.numpy(), saved.u.numpy())
    for saved, loaded in zip(disc.variables, restored.variables, strict=True):
        np.testing.assert_array_equal(loaded.numpy(), saved.numpy())


def test_keras_file_round_trip_gives_the_same_outputs(tmp_path):
    disc = _dcgan_d(spectral_norm=True, norm="batch")
    spectral.power_iterate(disc)
    path = str(tmp_path / "disc.keras")
    disc.save(path)
    loaded = keras.models.load_model(path)
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in disc.layers]
    for saved, restored in zip(disc.variables, loaded.variables, strict=True):
        assert restored.path == saved.path
        np.testing.assert_array_equal(restored.numpy(), saved.numpy())
    images = tf.random.uniform([2, 32, 32, 3], -1.0, 1.0, seed=5)
    np.testing.assert_array_equal(loaded(images).numpy(), disc(images).numpy())


@pytest.mark.parametrize(
    "build",
    [
        lambda **kw: models.dcgan_generator(
            image_size=32, channels=1, latent_dim=3, base_width=2, **kw
        ),
        lambda **kw: models.dcgan_generator(
            image_size=32,
            channels=1,
            latent_dim=3,
            base_width=2,
            upsample="nearest",
            attention_size=8,
            **kw,
        ),
        lambda **kw: resnet.resnet_generator(
            image_size=32, channels=1, latent_dim=3, base_width=2, attention_size=8, **kw
        ),
        lambda **kw: mlp.mlp_generator(latent_dim=3, output_dim=2, **kw),
    ],
    ids=["dcgan", "dcgan-nearest-attention", "resnet-attention", "mlp"],
)
def test_a_spectral_generator_normalizes_every_weight_layer(build, tmp_path):
    generator = build(spectral_norm=True)
    weighted = _weighted_layers(generator)
    assert weighted and all(isinstance(layer, spectral.SPECTRAL_LAYERS) for layer in weighted)
    assert spectral.spectral_layers(generator) == weighted
    # Only the u vectors are added; a plain G has the same other variables.
    plain = build()
    paths = [v.path for v in generator.variables if not v.path.endswith("/u")]
    assert paths == [v.path for v in plain.variables]
    assert not _weighted_layers(plain)[0].__class__.__name__.startswith("Spectral")
    # It saves and loads as a .keras file (dcgan.export and dcgan.sample read those).
    spectral.power_iterate(generator)
    generator.save(tmp_path / "g.keras")
    loaded = keras.models.load_model(tmp_path / "g.keras")
    z = tf.random.normal([2, 3], seed=3)
    np.testing.assert_array_equal(loaded(z).numpy(), generator(z).numpy())


def test_packed_spectral_discriminator_builds():
    disc = models.dcgan_discriminator(image_size=28, channels=6, base_width=4, spectral_norm=True)
    assert disc.get_layer("down1").kernel.shape == (4, 4, 6, 4)
    assert disc(tf.zeros([2, 28, 28, 6])).shape == (2, 1)


@pytest.mark.parametrize("dtype_policy", ["mixed_float16", "mixed_bfloat16"])
def test_power_iteration_and_sigma_of_a_mixed_precision_d_equal_float32s(dtype_policy):
    # Both read the float32 kernel variables, whatever the layers compute in.
    mixed = _dcgan_d(spectral_norm=True, norm="layer", dtype_policy=dtype_policy)
    reference = _dcgan_d(spectral_norm=True, norm="layer", dtype_policy="float32")
    reference.set_weights(mixed.get_weights())
    traced = tf.function(lambda: spectral.power_iterate(mixed))
    for _ in range(3):
        traced()
        spectral.power_iterate(reference)
    pairs = zip(spectral.spectral_layers(mixed), spectral.spectral_layers(reference), strict=True)
    half = dtype_policy.removeprefix("mixed_")
    for layer, float32_layer in pairs:
        assert layer.compute_dtype == ("float32" if layer.name == "logits" else half)
        np.testing.assert_array_equal(layer.u.numpy(), float32_layer.u.numpy())
        assert layer.sigma().dtype == tf.float32
        np.testing.assert_array_equal(layer.sigma().numpy(), float32_layer.sigma().numpy())
