"""Losses against float64 NumPy references and hand-computed values."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from dcgan.gan import losses, models

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


# The hinge, least-squares and relativistic families: each entry maps (real, fake) to
# (d_real_loss, d_fake_loss, g_loss), next to the same computed in float64 NumPy.
FAMILIES = {
    "hinge": (
        lambda r, f: (*losses.hinge_discriminator_loss(r, f), losses.hinge_generator_loss(f)),
        lambda r, f: (np.maximum(0.0, 1.0 - r), np.maximum(0.0, 1.0 + f), -f),
    ),
    "least_squares_a0_b1_c1": (
        lambda r, f: (
            *losses.least_squares_discriminator_loss(r, f),
            losses.least_squares_generator_loss(f),
        ),
        lambda r, f: (0.5 * (r - 1.0) ** 2, 0.5 * f**2, 0.5 * (f - 1.0) ** 2),
    ),
    "least_squares_a-1_b1_c0": (
        lambda r, f: (
            *losses.least_squares_discriminator_loss(r, f, real_target=1.0, fake_target=-1.0),
            losses.least_squares_generator_loss(f, target=0.0),
        ),
        lambda r, f: (0.5 * (r - 1.0) ** 2, 0.5 * (f + 1.0) ** 2, 0.5 * f**2),
    ),
    "relativistic_average": (
        lambda r, f: (
            *losses.relativistic_average_discriminator_loss(r, f),
            losses.relativistic_average_generator_loss(f, r),
        ),
        lambda r, f: (
            -np_log_sigmoid(r - f.mean()),
            -np_log_one_minus_sigmoid(f - r.mean()),
            -np_log_sigmoid(f - r.mean()) - np_log_one_minus_sigmoid(r - f.mean()),
        ),
    ),
}
# Half precision rounds every step to 11 (float16) or 8 (bfloat16) significant bits.
HALF_PRECISION_RTOL = {tf.float16: 2e-3, tf.bfloat16: 2e-2}


@pytest.mark.parametrize("family", FAMILIES)
def test_families_match_numpy(family):
    loss_fn, numpy_fn = FAMILIES[family]
    outputs = loss_fn(tf.constant(REAL, tf.float32), tf.constant(FAKE, tf.float32))
    for output, expected in zip(outputs, numpy_fn(REAL, FAKE), strict=True):
        assert output.shape == (len(REAL),)
        np.testing.assert_allclose(output, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("dtype", HALF_PRECISION_RTOL)
@pytest.mark.parametrize("family", FAMILIES)
def test_families_keep_half_precision_at_extremes(family, dtype):
    # REAL and FAKE (±100 included) are exact in both half-precision formats.
    loss_fn, numpy_fn = FAMILIES[family]
    outputs = loss_fn(tf.constant(REAL, dtype), tf.constant(FAKE, dtype))
    for output, expected in zip(outputs, numpy_fn(REAL, FAKE), strict=True):
        assert output.dtype == dtype
        np.testing.assert_allclose(
            tf.cast(output, tf.float64), expected, rtol=HALF_PRECISION_RTOL[dtype], atol=1e-3
        )


@pytest.mark.parametrize("family", FAMILIES)
def test_families_accept_b1_and_run_inside_tf_function(family):
    loss_fn, _ = FAMILIES[family]
    real, fake = tf.constant(REAL, tf.float32), tf.constant(FAKE, tf.float32)
    eager = loss_fn(real, fake)
    columns = loss_fn(real[:, None], fake[:, None])
    traced = tf.function(loss_fn)(real, fake)
    for flat, column, graph in zip(eager, columns, traced, strict=True):
        assert column.shape == (len(REAL),)
        np.testing.assert_array_equal(column, flat)
        np.testing.assert_allclose(graph, flat, rtol=1e-6)


@pytest.mark.parametrize("family", FAMILIES)
def test_families_gradients_finite_at_extremes(family):
    loss_fn, _ = FAMILIES[family]
    real, fake = tf.Variable(REAL, dtype=tf.float32), tf.Variable(FAKE, dtype=tf.float32)
    with tf.GradientTape() as tape:
        total = tf.add_n([tf.reduce_sum(output) for output in loss_fn(real, fake)])
    for gradient in tape.gradient(total, [real, fake]):
        assert np.all(np.isfinite(gradient.numpy()))


LOG2 = np.log(2.0)


@pytest.mark.parametrize(
    "call, expected",
    [
        # max(0, 1 - 0.5) = 0.5, max(0, 1 - 2) = 0; max(0, 1 - 2) = 0, max(0, 1 + 0.5) = 1.5.
        (lambda: losses.hinge_discriminator_loss([0.5, 2.0], [-2.0, 0.5]), ([0.5, 0], [0, 1.5])),
        (lambda: losses.hinge_generator_loss([[0.5], [-2.0]]), ([-0.5, 2.0],)),
        # 0.5 (0.5 - 1)^2 = 0.5 (0.5 - 0)^2 = 0.125.
        (lambda: losses.least_squares_discriminator_loss([0.5], [0.5]), ([0.125], [0.125])),
        (lambda: losses.least_squares_generator_loss([0.5]), ([0.125],)),
        (lambda: losses.least_squares_generator_loss([0.5], target=0.0), ([0.125],)),
        # All logits 0: every relative logit is 0 and every term is log 2; D's batches may
        # differ in size.
        (
            lambda: losses.relativistic_average_discriminator_loss([0.0, 0.0], [0.0]),
            ([LOG2, LOG2], [LOG2]),
        ),
        (
            lambda: losses.relativistic_average_generator_loss([0.0, 0.0], [0.0, 0.0]),
            ([2 * LOG2] * 2,),
        ),
        # A constant shift of every logit cancels in r - mean(f) and f - mean(r).
        (
            lambda: losses.relativistic_average_discriminator_loss([5.0, 5.0], [5.0]),
            ([LOG2, LOG2], [LOG2]),
        ),
    ],
)
def test_families_hand_computed_values(call, expected):
    outputs = call()
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    for output, value in zip(outputs, expected, strict=True):
        np.testing.assert_allclose(output, value, rtol=1e-6)


def test_relativistic_generator_loss_checks_batch_sizes_at_run_time():
    traced = tf.function(
        losses.relativistic_average_generator_loss,
        input_signature=[tf.TensorSpec([None], tf.float32)] * 2,
    )
    np.testing.assert_allclose(traced(tf.zeros([3]), tf.zeros([3])), [2 * LOG2] * 3, rtol=1e-6)
    with pytest.raises(tf.errors.InvalidArgumentError, match="same batch size"):
        traced(tf.zeros([3]), tf.zeros([1]))


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


@pytest.mark.parametrize("penalty", [losses.r1_penalty, losses.r2_penalty])
def test_r1_and_r2_on_known_gradients(penalty):
    x = np.random.default_rng(1).normal(size=(5, 2, 2, 3)).astype(np.float32)
    # D(x) = <w, x> has gradient w at every example: exactly sum(w^2) = 650.
    w = tf.constant(np.arange(1, 13, dtype=np.float32).reshape(1, 2, 2, 3))
    linear = penalty(lambda batch: tf.reduce_sum(w * batch, axis=[1, 2, 3]), tf.constant(x))
    np.testing.assert_array_equal(linear, [650.0] * 5)
    # D(x) = sum(x^2) has gradient 2x: 4 sum(x^2).
    square = penalty(lambda batch: tf.reduce_sum(batch**2, axis=[1, 2, 3]), tf.constant(x))
    np.testing.assert_allclose(
        square, 4 * np.sum(x.astype(np.float64) ** 2, axis=(1, 2, 3)), rtol=1e-6
    )


@pytest.mark.parametrize(
    "w_norm, target, expected_lipschitz, expected_gradient",
    [
        (0.5, 1.0, 0.0, 0.25),  # below the target: only the two-sided penalty acts
        (2.0, 1.0, 1.0, 1.0),  # above: both are (2 - 1)^2
        (2.0, 4.0, 0.0, 0.25),  # (2 / 4 - 1)^2 two-sided, nothing one-sided
        (6.0, 2.0, 4.0, 4.0),  # (6 / 2 - 1)^2
    ],
)
def test_lipschitz_penalty_is_one_sided(w_norm, target, expected_lipschitz, expected_gradient):
    # critic(x) = <w, x> has gradient norm ||w|| at every interpolate.
    w = np.arange(1, 7, dtype=np.float64).reshape(1, 2, 3)
    w = tf.constant(w * w_norm / np.linalg.norm(w), tf.float32)

    def critic(x):
        return tf.reduce_sum(w * x, axis=[1, 2])

    real, fake = tf.random.normal([4, 2, 3]), tf.random.normal([4, 2, 3])
    lipschitz = losses.lipschitz_penalty(critic, real, fake, target=target)
    gradient = losses.gradient_penalty(critic, real, fake, target=target)
    np.testing.assert_allclose(lipschitz, [expected_lipschitz] * 4, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gradient, [expected_gradient] * 4, rtol=1e-5, atol=1e-6)


def test_lipschitz_penalty_uses_the_gradient_penalty_interpolates():
    # critic(x) = ||x||^2 / 2 with real = 0 and fake = 1: the gradient norm is alpha sqrt(12)
    # for the example's alpha, above 1 for some examples and below for others. From the
    # same seed, both penalties draw the same alphas.
    shape = [64, 3, 2, 2]

    def critic(x):
        return 0.5 * tf.reduce_sum(tf.square(x), axis=[1, 2, 3])

    def penalty(fn):
        return fn(critic, tf.zeros(shape), tf.ones(shape), rng=tf.random.Generator.from_seed(7))

    norm = tf.random.Generator.from_seed(7).uniform([64]).numpy() * np.sqrt(12)
    assert np.any(norm < 1) and np.any(norm > 1)
    gradient = penalty(losses.gradient_penalty).numpy()
    np.testing.assert_array_equal(
        penalty(losses.lipschitz_penalty), np.where(norm > 1, gradient, 0.0)
    )


# The new penalties, each called as (critic, real, fake, rng); R2 looks at fakes only.
NEW_PENALTIES = {
    "r2_penalty": lambda critic, real, fake, rng: losses.r2_penalty(critic, fake),
    "lipschitz_penalty": lambda critic, real, fake, rng: losses.lipschitz_penalty(
        critic, real, fake, rng=rng
    ),
}


# A smooth critic with a different gradient at every point, and a batch for it.
SMOOTH_REAL = tf.constant(np.random.default_rng(2).normal(size=(3, 4)), tf.float32)
SMOOTH_FAKE = tf.constant(np.random.default_rng(3).normal(size=(3, 4)), tf.float32)


def smooth_critic(x):
    return tf.reduce_sum(tf.sin(x) * x, axis=1, keepdims=True)  # [B, 1]


@pytest.mark.parametrize("name", NEW_PENALTIES)
def test_new_penalties_run_inside_tf_function(name):
    penalty = NEW_PENALTIES[name]
    real, fake, critic = SMOOTH_REAL, SMOOTH_FAKE, smooth_critic
    eager = penalty(critic, real, fake, tf.random.Generator.from_seed(5))
    rng = tf.random.Generator.from_seed(5)
    traced = tf.function(lambda r, f: penalty(critic, r, f, rng))(real, fake)
    assert traced.shape == (3,)
    np.testing.assert_allclose(traced, eager, rtol=1e-6)


@pytest.mark.parametrize("dtype", [tf.float16, tf.bfloat16])
@pytest.mark.parametrize("name, expected", [("r2_penalty", 16.0), ("lipschitz_penalty", 9.0)])
def test_new_penalties_keep_dtype(name, expected, dtype):
    # critic(x) = 2 sum(x) over 4 features: gradient norm 4 everywhere, so R2 = 16 and
    # the Lipschitz penalty is (4 - 1)^2 = 9.
    def critic(x):
        return 2.0 * tf.reduce_sum(x, axis=1)

    value = NEW_PENALTIES[name](critic, tf.zeros([3, 4], dtype), tf.ones([3, 4], dtype), None)
    assert value.dtype == dtype
    np.testing.assert_allclose(tf.cast(value, tf.float32), [expected] * 3, rtol=1e-2)


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
        (lambda: losses.lipschitz_penalty(None, [[0.0]], [[0.0]], target=-1), "target=-1"),
        (
            lambda: losses.least_squares_discriminator_loss(
                [0.0], [0.0], real_target=0.5, fake_target=0.5
            ),
            "real_target=0.5 and fake_target=0.5",
        ),
        (
            lambda: losses.relativistic_average_generator_loss(tf.zeros([3, 1]), tf.zeros([1])),
            r"fake_logits \(3, 1\) and real_logits \(1,\)",
        ),
    ],
)
def test_bad_arguments_name_the_value(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --- the penalties under mixed precision (inner_scale) --------------------------------------

# The four penalties of D's input gradient, as (critic, real, fake, **options) -> [B]; the
# interpolating two draw alpha from a generator seeded alike on every call.
INPUT_GRADIENT_PENALTIES = {
    "gradient_penalty": lambda critic, real, fake, **options: losses.gradient_penalty(
        critic, real, fake, rng=tf.random.Generator.from_seed(1), **options
    ),
    "lipschitz_penalty": lambda critic, real, fake, **options: losses.lipschitz_penalty(
        critic, real, fake, rng=tf.random.Generator.from_seed(1), **options
    ),
    "r1_penalty": lambda critic, real, fake, **options: losses.r1_penalty(critic, real, **options),
    "r2_penalty": lambda critic, real, fake, **options: losses.r2_penalty(critic, fake, **options),
}
# A fixed batch of 28 px "images" in [-1, 1].
MIXED_REAL = tf.random.stateless_uniform([4, 28, 28, 1], seed=[1, 2], minval=-1.0, maxval=1.0)
MIXED_FAKE = tf.random.stateless_uniform([4, 28, 28, 1], seed=[3, 4], minval=-1.0, maxval=1.0)
# D's loss scale as a LossScaleOptimizer starts it.
LOSS_SCALE = 2.0**15
# float16 keeps 11 significant bits (relative rounding 2**-11 = 5e-4) at every layer, and
# a pre-activation within rounding of 0 may take the other leaky ReLU slope, which moves
# that example's input gradient. Measured on this batch: R1 and R2 2e-3 (one R2 example
# 1.2e-2), the gradient penalty 2e-4, with or without inner_scale.
MIXED_RTOL = 2e-2
# The critic's input-gradient norms here are about 0.14; a target below them keeps the
# one-sided Lipschitz penalty above 0 (the gradient penalty takes it too).
INTERPOLATE_OPTIONS = {"target": 0.05}


def _critics(logit_scale):
    """The same WGAN-GP critic (layer norm) in float32 and under mixed_float16, its
    logits multiplied by ``logit_scale`` (a power of 2: exact): (float32, mixed)."""
    keras.utils.set_random_seed(0)
    built = [
        models.dcgan_discriminator(
            image_size=28, channels=1, base_width=8, norm="layer", dtype_policy=policy
        )
        for policy in ("float32", "mixed_float16")
    ]
    logits = built[0].get_layer("logits")
    kernel, bias = logits.get_weights()
    logits.set_weights([kernel * logit_scale, bias * logit_scale])
    built[1].set_weights(built[0].get_weights())
    return tuple(lambda x, model=model: model(x, training=True) for model in built)


@pytest.mark.parametrize("name", INPUT_GRADIENT_PENALTIES)
def test_penalties_of_a_float16_critic_match_float32(name):
    penalty = INPUT_GRADIENT_PENALTIES[name]
    target = {} if name.startswith("r") else INTERPOLATE_OPTIONS
    float32_critic, mixed_critic = _critics(1.0)
    expected = penalty(float32_critic, MIXED_REAL, MIXED_FAKE, **target).numpy()
    assert expected.dtype == np.float32 and np.all(expected > 0)
    # 2**10, not the loss scale's first 2**15: at O(1) logits the inner gradient is about
    # 2**5 times the seed somewhere in D, and 2**15 overflows float16 (see below).
    for options in ({}, {"inner_scale": 2.0**10}):
        value = penalty(mixed_critic, MIXED_REAL, MIXED_FAKE, **target, **options)
        assert value.dtype == tf.float32
        np.testing.assert_allclose(value, expected, rtol=MIXED_RTOL, err_msg=str(options))


@pytest.mark.parametrize("name", INPUT_GRADIENT_PENALTIES)
def test_an_inner_scale_that_overflows_float16_gives_a_non_finite_penalty(name):
    # Not a wrong finite value: with D's loss scale as inner_scale, D's gradients are then
    # non-finite too, and the LossScaleOptimizer skips the update and halves the scale.
    penalty = INPUT_GRADIENT_PENALTIES[name]
    target = {} if name.startswith("r") else INTERPOLATE_OPTIONS
    _, mixed_critic = _critics(1.0)
    value = penalty(mixed_critic, MIXED_REAL, MIXED_FAKE, inner_scale=2.0**16, **target)
    assert not np.all(np.isfinite(value.numpy()))


# D's outputs times 2**-21: its input gradient is about 1e-7 at the logits layer and
# smaller below, under float16's smallest subnormal (6e-8) in the backward pass.
TINY_LOGIT_SCALE = 2.0**-21


@pytest.mark.parametrize("name", ["r1_penalty", "r2_penalty"])
def test_inner_scale_keeps_a_float16_input_gradient_from_underflowing(name):
    penalty = INPUT_GRADIENT_PENALTIES[name]
    float32_critic, mixed_critic = _critics(TINY_LOGIT_SCALE)
    expected = penalty(float32_critic, MIXED_REAL, MIXED_FAKE).numpy()
    # Scaling D's output by s scales ||grad D||^2 by s^2 (exactly, in float32).
    unscaled = penalty(_critics(1.0)[0], MIXED_REAL, MIXED_FAKE).numpy()
    np.testing.assert_allclose(expected, unscaled * TINY_LOGIT_SCALE**2, rtol=1e-5)
    # In float16 every element of the gradient underflows to 0...
    np.testing.assert_array_equal(penalty(mixed_critic, MIXED_REAL, MIXED_FAKE), [0.0] * 4)
    # ...unless the inner target is scaled up first.
    scaled = penalty(mixed_critic, MIXED_REAL, MIXED_FAKE, inner_scale=LOSS_SCALE)
    np.testing.assert_allclose(scaled, expected, rtol=MIXED_RTOL)


@pytest.mark.parametrize("name", ["gradient_penalty", "lipschitz_penalty"])
def test_inner_scale_keeps_the_gradient_penalty_of_a_float16_critic(name):
    # Target = the logits' scale, so that the penalty still depends on the tiny norm.
    penalty = INPUT_GRADIENT_PENALTIES[name]
    float32_critic, mixed_critic = _critics(TINY_LOGIT_SCALE)
    options = {"target": TINY_LOGIT_SCALE}
    expected = penalty(float32_critic, MIXED_REAL, MIXED_FAKE, **options).numpy()
    # Underflow: the gradient is 0, and the norm is the epsilon's alone, sqrt(1e-12).
    zero_gradient = (1e-6 / TINY_LOGIT_SCALE - 1.0) ** 2
    underflowed = penalty(mixed_critic, MIXED_REAL, MIXED_FAKE, **options)
    np.testing.assert_allclose(underflowed, [zero_gradient] * 4, rtol=1e-6)
    assert np.all(np.abs(expected - zero_gradient) > 1e-3)  # a difference the test can see
    scaled = penalty(mixed_critic, MIXED_REAL, MIXED_FAKE, inner_scale=LOSS_SCALE, **options)
    np.testing.assert_allclose(scaled, expected, rtol=1e-3)


@pytest.mark.parametrize("name", INPUT_GRADIENT_PENALTIES)
def test_inner_scale_one_is_the_default_to_the_bit(name):
    penalty = INPUT_GRADIENT_PENALTIES[name]
    default = penalty(smooth_critic, SMOOTH_REAL, SMOOTH_FAKE).numpy()
    for one in (1.0, tf.constant(1.0), tf.Variable(1.0)):
        value = penalty(smooth_critic, SMOOTH_REAL, SMOOTH_FAKE, inner_scale=one)
        np.testing.assert_array_equal(value, default)


@pytest.mark.parametrize("name", INPUT_GRADIENT_PENALTIES)
def test_inner_scale_divides_out_of_the_value_and_of_d_parameters_gradient(name):
    # critic(x) = v <w, x> with ||w|| = 3: every penalty and its gradient in v are known
    # (see the tests above); a power-of-2 scale must change neither in float32.
    penalty = INPUT_GRADIENT_PENALTIES[name]
    w = tf.constant([[1.0, 2.0, 2.0]])
    v = tf.Variable(0.5)

    def critic(x):
        return v * tf.reduce_sum(w * x, axis=1)

    real, fake = tf.zeros([2, 3]), tf.ones([2, 3])
    results = []
    for scale in (1.0, LOSS_SCALE, tf.constant(1024.0)):
        with tf.GradientTape() as tape:
            value = penalty(critic, real, fake, inner_scale=scale)
            total = tf.reduce_sum(value)
        results.append((value.numpy(), tape.gradient(total, v).numpy()))
    for value, gradient in results[1:]:
        np.testing.assert_array_equal(value, results[0][0])
        np.testing.assert_array_equal(gradient, results[0][1])
    # norm = 3 v = 1.5: R1 = R2 = 2.25 and the (one-sided) gradient penalty 0.25.
    expected = 2.25 if name in ("r1_penalty", "r2_penalty") else 0.25
    np.testing.assert_allclose(results[0][0], [expected] * 2, rtol=1e-6)


def test_inner_scale_can_be_a_loss_scale_variable_inside_tf_function():
    optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam())
    optimizer.build([tf.Variable(0.0)])
    _, mixed_critic = _critics(TINY_LOGIT_SCALE)
    expected = losses.r1_penalty(mixed_critic, MIXED_REAL, inner_scale=LOSS_SCALE)
    traced = tf.function(
        lambda real: losses.r1_penalty(mixed_critic, real, inner_scale=optimizer.dynamic_scale)
    )(MIXED_REAL)
    np.testing.assert_array_equal(traced, expected)
