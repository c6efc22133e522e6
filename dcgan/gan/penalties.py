"""Penalties on D's input gradient, and weight clipping: per-example tensor functions.

The gradient penalty and its one-sided (Lipschitz) form on real-fake interpolates, R1 on
real and R2 on generated data, and WGAN's weight clipping. Each penalty returns
per-example values [B]; ``dcgan.gan.losses`` exports them with the losses.

Mixed precision: each penalty takes an ``inner_scale``. Through a float16 D the inner
gradient underflows (float16's smallest subnormal is 6e-8), as the outer one does; pass
D's loss scale, and the inner target is multiplied by it before differentiating, the
gradient cast to float32 and divided by it, and the norm taken in float32
(tensorflow#48662). The default 1.0 changes no value. The inner target is a sum over the
batch, so each example's seed is B times what it gets from D's loss (a batch mean) at
the same scale. A scale too large for it overflows float16 and makes the penalty inf or
NaN; D's scaled gradients are then non-finite as well, and the loss-scale optimizer skips
the update and halves the scale, as for any overflow.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import tensorflow as tf

from dcgan.gan.outputs import per_example

# Keeps the square root of the gradient norm differentiable when the critic's gradient
# is exactly zero (d sqrt(s) / ds is infinite at s = 0).
_GRADIENT_NORM_EPSILON = 1e-12


def _squared_input_gradient_norm(
    function: Callable[[tf.Tensor], tf.Tensor],
    inputs: tf.Tensor,
    name: str,
    inner_scale: float | tf.Tensor,
) -> tf.Tensor:
    """Returns ||grad function(x)||_2^2 at each example x of ``inputs``, float32 [B].

    The gradient of the summed outputs is each example's own gradient as long as
    ``function`` treats examples independently (no batch statistics); its square is
    summed over every axis but the batch, in float32. The outputs are multiplied by
    ``inner_scale`` (in float32, the logits' dtype) before differentiating and the
    gradient divided by it in float32, so that a float16 backward pass keeps the
    gradient's small values; both are exact for 1.0.
    """
    scale = tf.cast(inner_scale, tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = per_example(function(inputs), name)
        scaled = tf.cast(outputs, tf.float32) * scale  # [B]
    gradients = tf.cast(tape.gradient(scaled, inputs), tf.float32) / scale  # [B, ...]
    reduce_axes = list(range(1, gradients.shape.rank))
    return tf.reduce_sum(tf.square(gradients), axis=reduce_axes)  # [B]


def _gradient_regularizer(
    discriminator: Callable[[tf.Tensor], tf.Tensor],
    samples: tf.Tensor,
    name: str,
    inner_scale: float | tf.Tensor,
) -> tf.Tensor:
    """Returns ||grad D(x)||_2^2 at each example x of ``samples``, [B] in their dtype."""
    samples = tf.convert_to_tensor(samples)
    squared_norm = _squared_input_gradient_norm(discriminator, samples, name, inner_scale)
    return tf.cast(squared_norm, samples.dtype)


def _interpolate_penalty(
    critic: Callable[[tf.Tensor], tf.Tensor],
    real: tf.Tensor,
    fake: tf.Tensor,
    *,
    target: float,
    rng: tf.random.Generator | None,
    one_sided: bool,
    inner_scale: float | tf.Tensor,
) -> tf.Tensor:
    """Returns (||grad critic(x_hat)||_2 / target - 1)^2 per example, [B].

    x_hat = real + alpha (fake - real) with one alpha ~ U[0, 1] per example, drawn in
    float32 from ``rng`` (the global generator if ``None``) and broadcast over all other
    axes. The norm is taken in float32 with an epsilon inside the square root, so a zero
    gradient stays finite. ``one_sided`` keeps only norms above the target:
    max(0, norm / target - 1)^2. The result has the dtype of ``real``.
    """
    if target <= 0:
        raise ValueError(f"target={target} must be > 0")
    real = tf.convert_to_tensor(real)
    fake = tf.convert_to_tensor(fake, dtype=real.dtype)
    batch_size = tf.shape(real)[0]
    alpha_shape = tf.concat([[batch_size], tf.ones([real.shape.rank - 1], tf.int32)], axis=0)
    rng = rng if rng is not None else tf.random.get_global_generator()
    alpha = tf.cast(rng.uniform(alpha_shape, dtype=tf.float32), real.dtype)  # [B, 1, ..., 1]
    x_hat = real + alpha * (fake - real)
    squared_norm = _squared_input_gradient_norm(critic, x_hat, "critic(x_hat)", inner_scale)  # [B]
    norm = tf.sqrt(squared_norm + _GRADIENT_NORM_EPSILON)
    excess = norm / target - 1.0
    if one_sided:
        excess = tf.nn.relu(excess)
    return tf.cast(tf.square(excess), real.dtype)


def gradient_penalty(
    critic: Callable[[tf.Tensor], tf.Tensor],
    real: tf.Tensor,
    fake: tf.Tensor,
    *,
    target: float = 1.0,
    rng: tf.random.Generator | None = None,
    inner_scale: float | tf.Tensor = 1.0,
) -> tf.Tensor:
    """WGAN-GP gradient penalty, (||grad critic(x_hat)||_2 / target - 1)^2 per example.

    Gulrajani et al., "Improved Training of Wasserstein GANs" (2017), algorithm 1:
    x_hat = real + alpha (fake - real) with one alpha ~ U[0, 1] per example, broadcast
    over all other axes. Multiply by the penalty weight (lambda = 10 in the paper) and
    add it to the critic's loss. The norm is taken over every axis but the batch, in
    float32, with an epsilon inside the square root so that a zero gradient gives a
    finite value and a finite gradient.

    Args:
        critic: maps a batch like ``real`` to scores [B] or [B, 1]; pass
            ``lambda x: model(x, training=True)`` for a Keras critic.
        real: real samples [B, ...].
        fake: generated samples, same shape and dtype as ``real``.
        target: the norm the gradient is pulled to (1 for a 1-Lipschitz critic).
        rng: source of alpha; a checkpointed ``tf.random.Generator`` makes the penalty
            reproducible and resumable. ``None`` uses the global generator.
        inner_scale: a float32 scalar (tensor or number) the inner target is
            multiplied by before its gradient, which is then divided by it in float32:
            pass D's loss scale under mixed_float16, where the float16 backward pass
            would otherwise underflow. 1.0 (the default) changes no value.

    Returns:
        Per-example penalty [B], in the dtype of ``real``.

    Raises:
        ValueError: if ``target`` is not positive.
    """
    return _interpolate_penalty(
        critic, real, fake, target=target, rng=rng, one_sided=False, inner_scale=inner_scale
    )


def lipschitz_penalty(
    critic: Callable[[tf.Tensor], tf.Tensor],
    real: tf.Tensor,
    fake: tf.Tensor,
    *,
    target: float = 1.0,
    rng: tf.random.Generator | None = None,
    inner_scale: float | tf.Tensor = 1.0,
) -> tf.Tensor:
    """WGAN-LP penalty, max(0, ||grad critic(x_hat)||_2 / target - 1)^2 per example.

    Petzka, Fischer & Lukovnikov, "On the regularization of Wasserstein GANs" (ICLR
    2018): the one-sided form of ``gradient_penalty``, on the same random
    interpolates x_hat = real + alpha (fake - real) (one alpha ~ U[0, 1] per example,
    drawn exactly as ``gradient_penalty`` draws it). It penalizes only gradient norms
    above the target, which is all that being Lipschitz asks, and leaves smaller ones
    free. Multiply by the penalty weight and add it to the critic's loss.

    Args:
        critic: maps a batch like ``real`` to scores [B] or [B, 1]; pass
            ``lambda x: model(x, training=True)`` for a Keras critic.
        real: real samples [B, ...].
        fake: generated samples, same shape and dtype as ``real``.
        target: the Lipschitz constant the gradient norm may not exceed.
        rng: source of alpha, as in ``gradient_penalty``.
        inner_scale: as in ``gradient_penalty``.

    Returns:
        Per-example penalty [B], in the dtype of ``real``.

    Raises:
        ValueError: if ``target`` is not positive.
    """
    return _interpolate_penalty(
        critic, real, fake, target=target, rng=rng, one_sided=True, inner_scale=inner_scale
    )


def r1_penalty(
    discriminator: Callable[[tf.Tensor], tf.Tensor],
    real: tf.Tensor,
    *,
    inner_scale: float | tf.Tensor = 1.0,
) -> tf.Tensor:
    """R1 regularizer, ||grad D(x)||_2^2 at each real example x.

    Mescheder et al., "Which Training Methods for GANs do actually Converge?" (2018),
    eq. 9: R1 = gamma / 2 * E[||grad D(x)||^2] over real data. It pulls D's gradient on
    the data to zero, so a D at equilibrium does not push G off a mode, and makes the
    minimax / non-saturating GAN converge where the plain game circles. Multiply by
    gamma / 2 and add it to D's loss. No square root is taken: the value and its
    gradient are finite at a zero gradient.

    Args:
        discriminator: maps a batch like ``real`` to logits [B] or [B, 1]; pass
            ``lambda x: model(x, training=True)`` for a Keras discriminator.
        real: real samples [B, ...].
        inner_scale: a float32 scalar (tensor or number) the inner target is
            multiplied by before its gradient, which is then divided by it in float32:
            pass D's loss scale under mixed_float16, where the float16 backward pass
            would otherwise underflow. 1.0 (the default) changes no value.

    Returns:
        Per-example penalty [B], in the dtype of ``real``.
    """
    return _gradient_regularizer(discriminator, real, "discriminator(real)", inner_scale)


def r2_penalty(
    discriminator: Callable[[tf.Tensor], tf.Tensor],
    fake: tf.Tensor,
    *,
    inner_scale: float | tf.Tensor = 1.0,
) -> tf.Tensor:
    """R2 regularizer, ||grad D(x)||_2^2 at each generated example x.

    Mescheder et al., "Which Training Methods for GANs do actually Converge?" (2018),
    eq. 10: R2 = gamma / 2 * E[||grad D(x)||^2] over generated data, the twin of
    ``r1_penalty`` on the fake side. Multiply by gamma / 2 and add it to D's loss
    (differentiate only with respect to D's variables). No square root is taken: the
    value and its gradient are finite at a zero gradient.

    Args:
        discriminator: D as a function of a batch like ``fake``, returning logits [B]
            or [B, 1] (as for ``r1_penalty``).
        fake: generated samples [B, ...], the batch D's fake loss sees.
        inner_scale: as in ``r1_penalty``.

    Returns:
        The penalty of each generated example, [B], in the dtype of ``fake``.
    """
    return _gradient_regularizer(discriminator, fake, "discriminator(fake)", inner_scale)


def clip_weights(variables: Sequence[tf.Variable], clip_value: float) -> None:
    """Clips each variable into [-clip_value, clip_value] in place.

    Arjovsky et al., "Wasserstein GAN" (2017), algorithm 1 (c = 0.01): a crude way to
    keep the critic Lipschitz. Apply it to the critic's variables after every update.

    Args:
        variables: the critic's trainable variables.
        clip_value: c > 0.

    Raises:
        ValueError: if ``clip_value`` is not positive.
    """
    if clip_value <= 0:
        raise ValueError(f"clip_value={clip_value} must be > 0")
    for variable in variables:
        variable.assign(tf.clip_by_value(variable, -clip_value, clip_value))
