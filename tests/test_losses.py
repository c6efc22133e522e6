"""Losses against float64 NumPy references and hand-computed values."""

import numpy as np
import pytest
import tensorflow as tf

from dcgan import losses

# One shared set of logits, including the extremes the contract promises to handle.
REAL = np.array([-100.0, -3.0, -0.5, 0.0, 0.5, 3.0, 100.0])
FAKE = np.array([100.0, 2.0, -0.25, 0.0, 1.5, -4.0, -100.0])


def np_log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def np_log_one_minus_sigmoid(x):
    return -np.logaddexp(0.0, x)


def test_hand_computed_values():
    # At logit 0, sigmoid = 1/2: every cross-entropy term is log 2.
    log2 = np.log(2.0)
    np.testing.assert_allclose(losses.minimax_generator_loss([0.0]), [-log2], rtol=1e-6)
    np.testing.assert_allclose(losses.non_saturating_generator_loss([0.0]), [log2], rtol=1e-6)
    real_loss, fake_loss = losses.minimax_discriminator_loss([0.0], [0.0])
    np.testing.assert_allclose(real_loss, [log2], rtol=1e-6)
    np.testing.assert_allclose(fake_loss, [log2], rtol=1e-6)
    # Saturated ends: log(1 - sigmoid(100)) = -100 (to 1e-43), -log sigmoid(-100) = 100.
    np.testing.assert_allclose(losses.minimax_generator_loss([100.0]), [-100.0], rtol=1e-6)
    np.testing.assert_allclose(losses.non_saturating_generator_loss([-100.0]), [100.0], rtol=1e-6)


def test_generator_losses_match_numpy():
    np.testing.assert_allclose(
        losses.minimax_generator_loss(FAKE), np_log_one_minus_sigmoid(FAKE), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        losses.non_saturating_generator_loss(FAKE), -np_log_sigmoid(FAKE), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(losses.wasserstein_generator_loss(FAKE), -FAKE)


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.3])
def test_minimax_discriminator_loss_matches_numpy(smoothing):
    target = 1.0 - smoothing
    expected_real = -(target * np_log_sigmoid(REAL) + (1 - target) * np_log_one_minus_sigmoid(REAL))
    expected_fake = -np_log_one_minus_sigmoid(FAKE)
    real_loss, fake_loss = losses.minimax_discriminator_loss(REAL, FAKE, label_smoothing=smoothing)
    np.testing.assert_allclose(real_loss, expected_real, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fake_loss, expected_fake, rtol=1e-5, atol=1e-6)


def test_label_smoothing_is_one_sided():
    # Smoothing changes only the real half: at logit 0 the smoothed real loss is still
    # log 2 (both targets weigh log 2), but at logit 3 it grows by 0.1 * 3 = 0.3.
    plain_real, plain_fake = losses.minimax_discriminator_loss([3.0], [3.0])
    smooth_real, smooth_fake = losses.minimax_discriminator_loss([3.0], [3.0], label_smoothing=0.1)
    np.testing.assert_allclose(smooth_real - plain_real, [0.3], rtol=1e-5)
    np.testing.assert_allclose(smooth_fake, plain_fake)


def test_wasserstein_discriminator_loss():
    real_loss, fake_loss = losses.wasserstein_discriminator_loss(REAL, FAKE)
    np.testing.assert_allclose(real_loss, -REAL)
    np.testing.assert_allclose(fake_loss, FAKE)


@pytest.mark.parametrize(
    "fn",
    [
        losses.minimax_generator_loss,
        losses.non_saturating_generator_loss,
        losses.wasserstein_generator_loss,
        lambda f: losses.minimax_discriminator_loss(REAL.astype(np.float32), f)[1],
        lambda f: losses.wasserstein_discriminator_loss(REAL.astype(np.float32), f)[1],
    ],
)
def test_accepts_b_and_b1_and_returns_b(fn):
    flat = fn(tf.constant(FAKE, tf.float32))
    column = fn(tf.constant(FAKE[:, None], tf.float32))
    assert flat.shape == (len(FAKE),)
    np.testing.assert_array_equal(flat, column)


def test_rejects_other_shapes():
    with pytest.raises(ValueError, match=r"\[B\] or \[B, 1\].*\(7, 2\)"):
        losses.non_saturating_generator_loss(tf.zeros([7, 2]))


@pytest.mark.parametrize("dtype", [tf.float16, tf.bfloat16, tf.float64])
def test_dtype_preserved_and_finite_at_extremes(dtype):
    real = tf.constant(REAL, dtype)
    fake = tf.constant(FAKE, dtype)
    outputs = [
        losses.minimax_generator_loss(fake),
        losses.non_saturating_generator_loss(fake),
        *losses.minimax_discriminator_loss(real, fake, label_smoothing=0.1),
        losses.wasserstein_generator_loss(fake),
        *losses.wasserstein_discriminator_loss(real, fake),
    ]
    for output in outputs:
        assert output.dtype == dtype
        assert np.all(np.isfinite(tf.cast(output, tf.float32).numpy()))


def test_gradients_finite_at_extremes():
    logits = tf.Variable(FAKE, dtype=tf.float32)
    with tf.GradientTape() as tape:
        total = tf.reduce_sum(
            losses.minimax_generator_loss(logits)
            + losses.non_saturating_generator_loss(logits)
            + tf.add_n(losses.minimax_discriminator_loss(logits, logits, label_smoothing=0.1))
        )
    gradient = tape.gradient(total, logits).numpy()
    assert np.all(np.isfinite(gradient))
    # d/df of [-softplus(f) + softplus(-f) + (0.9 softplus(-f) + 0.1 softplus(f)) + softplus(f)]
    sigmoid = 1.0 / (1.0 + np.exp(-FAKE))
    expected = -sigmoid - (1 - sigmoid) - 0.9 * (1 - sigmoid) + 0.1 * sigmoid + sigmoid
    np.testing.assert_allclose(gradient, expected, rtol=1e-5, atol=1e-6)


def test_losses_run_inside_tf_function():
    @tf.function
    def total(real, fake):
        real_loss, fake_loss = losses.minimax_discriminator_loss(real, fake, label_smoothing=0.1)
        return real_loss + fake_loss + losses.non_saturating_generator_loss(fake)

    real = tf.constant(REAL, tf.float32)
    fake = tf.constant(FAKE, tf.float32)
    eager_real, eager_fake = losses.minimax_discriminator_loss(real, fake, label_smoothing=0.1)
    eager = eager_real + eager_fake + losses.non_saturating_generator_loss(fake)
    np.testing.assert_allclose(total(real, fake), eager, rtol=1e-6)


def test_gradient_penalty_linear_critic():
    # critic(x) = <w, x> has gradient w everywhere: penalty (||w|| / target - 1)^2.
    w = tf.constant(np.arange(1, 13, dtype=np.float32).reshape(1, 2, 2, 3))
    norm = np.sqrt(np.sum(np.arange(1, 13) ** 2))  # sqrt(650)

    def critic(x):
        return tf.reduce_sum(w * x, axis=[1, 2, 3])

    real = tf.random.normal([4, 2, 2, 3])
    fake = tf.random.normal([4, 2, 2, 3])
    np.testing.assert_allclose(
        losses.gradient_penalty(critic, real, fake), [(norm - 1) ** 2] * 4, rtol=1e-5
    )
    np.testing.assert_allclose(
        losses.gradient_penalty(critic, real, fake, target=norm), [0.0] * 4, atol=1e-6
    )


def test_gradient_penalty_draws_one_uniform_alpha_per_example():
    # critic(x) = ||x||^2 / 2 has gradient x_hat. With real = 0 and fake = 1 everywhere,
    # x_hat = alpha, so ||x_hat|| = alpha sqrt(D) for one alpha per example.
    shape = [64, 3, 2, 2]
    dim = 12

    def critic(x):
        return 0.5 * tf.reduce_sum(tf.square(x), axis=[1, 2, 3])

    penalty = losses.gradient_penalty(
        critic, tf.zeros(shape), tf.ones(shape), rng=tf.random.Generator.from_seed(7)
    ).numpy()
    alpha = tf.random.Generator.from_seed(7).uniform([64, 1, 1, 1]).numpy().reshape(-1)
    np.testing.assert_allclose(penalty, (alpha * np.sqrt(dim) - 1.0) ** 2, rtol=1e-4, atol=1e-6)
    # Uniform on [0, 1]: inside the interval and spread over it (64 draws).
    assert 0.0 <= alpha.min() and alpha.max() <= 1.0
    assert alpha.min() < 0.2 and alpha.max() > 0.8


def test_gradient_penalty_seeded_rng_is_reproducible():
    def critic(x):
        return 0.5 * tf.reduce_sum(tf.square(x), axis=1)

    real, fake = tf.zeros([8, 5]), tf.ones([8, 5])
    first = losses.gradient_penalty(critic, real, fake, rng=tf.random.Generator.from_seed(3))
    second = losses.gradient_penalty(critic, real, fake, rng=tf.random.Generator.from_seed(3))
    np.testing.assert_array_equal(first, second)


def test_gradient_penalty_finite_when_critic_gradient_is_zero():
    # critic(x) = v * sum(x) with v = 0: the input gradient is exactly zero, where
    # sqrt without an epsilon has an infinite derivative (its gradient would be NaN).
    v = tf.Variable(0.0)

    def critic(x):
        return v * tf.reduce_sum(x, axis=[1, 2])

    with tf.GradientTape() as tape:
        penalty = losses.gradient_penalty(critic, tf.zeros([3, 4, 4]), tf.ones([3, 4, 4]))
        total = tf.reduce_sum(penalty)
    gradient = tape.gradient(total, v)
    np.testing.assert_allclose(penalty, [1.0, 1.0, 1.0], rtol=1e-5)
    assert np.isfinite(gradient.numpy())


def test_gradient_penalty_gives_critic_parameters_a_gradient():
    # critic(x) = v * sum(x): gradient norm |v| sqrt(D), penalty (|v| sqrt(D) - 1)^2,
    # d penalty / dv = 2 (|v| sqrt(D) - 1) sqrt(D) for v > 0.
    v = tf.Variable(0.5)
    dim = 6

    def critic(x):
        return v * tf.reduce_sum(x, axis=1)

    with tf.GradientTape() as tape:
        first = losses.gradient_penalty(critic, tf.zeros([2, dim]), tf.ones([2, dim]))[0]
    gradient = tape.gradient(first, v).numpy()
    np.testing.assert_allclose(gradient, 2 * (0.5 * np.sqrt(dim) - 1) * np.sqrt(dim), rtol=1e-5)


@pytest.mark.parametrize("dtype", [tf.float16, tf.bfloat16])
def test_gradient_penalty_keeps_dtype(dtype):
    def critic(x):
        return tf.reduce_sum(x, axis=1)

    penalty = losses.gradient_penalty(critic, tf.zeros([2, 4], dtype), tf.ones([2, 4], dtype))
    assert penalty.dtype == dtype
    np.testing.assert_allclose(tf.cast(penalty, tf.float32), [1.0, 1.0], rtol=1e-2)


def test_r1_penalty_is_the_squared_input_gradient_per_example():
    # D(x) = sum(x^3) / 3 has gradient x^2, so R1 = sum(x^4) per example.
    x = np.random.default_rng(0).normal(size=(5, 2, 3)).astype(np.float32)

    def discriminator(batch):
        return tf.reduce_sum(batch**3, axis=[1, 2]) / 3.0

    penalty = losses.r1_penalty(discriminator, tf.constant(x))
    assert penalty.shape == (5,)
    np.testing.assert_allclose(penalty, np.sum(x**4, axis=(1, 2)), rtol=1e-5)


def test_r1_penalty_gives_d_parameters_a_finite_gradient_at_zero():
    # D(x) = v <w, x>: R1 = v^2 ||w||^2 with d/dv = 2 v ||w||^2, finite (0) at v = 0.
    w = tf.constant([[1.0, 2.0, 2.0]])  # ||w||^2 = 9
    for value, expected in ((0.0, 0.0), (0.5, 9.0)):
        v = tf.Variable(value)

        def discriminator(x, v=v):
            return v * tf.reduce_sum(w * x, axis=1)

        with tf.GradientTape() as tape:
            penalty = losses.r1_penalty(discriminator, tf.ones([4, 3]))
            total = tf.reduce_mean(penalty)
        np.testing.assert_allclose(penalty, [value**2 * 9.0] * 4, rtol=1e-6)
        np.testing.assert_allclose(tape.gradient(total, v), expected, rtol=1e-6)


@pytest.mark.parametrize("dtype", [tf.float16, tf.bfloat16])
def test_r1_penalty_keeps_dtype(dtype):
    penalty = losses.r1_penalty(lambda x: tf.reduce_sum(x, axis=1), tf.ones([3, 4], dtype))
    assert penalty.dtype == dtype
    np.testing.assert_allclose(tf.cast(penalty, tf.float32), [4.0] * 3)


def test_clip_weights():
    a = tf.Variable([-0.5, -0.01, 0.0, 0.005, 0.2])
    b = tf.Variable([[3.0, -3.0]])
    losses.clip_weights([a, b], 0.01)
    np.testing.assert_allclose(a, [-0.01, -0.01, 0.0, 0.005, 0.01])
    np.testing.assert_allclose(b, [[0.01, -0.01]])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: losses.clip_weights([], 0.0), "clip_value=0.0"),
        (
            lambda: losses.minimax_discriminator_loss([0.0], [0.0], label_smoothing=1.0),
            "label_smoothing=1.0",
        ),
        (lambda: losses.gradient_penalty(None, [[0.0]], [[0.0]], target=0), "target=0"),
    ],
)
def test_bad_arguments_name_the_value(call, message):
    with pytest.raises(ValueError, match=message):
        call()
