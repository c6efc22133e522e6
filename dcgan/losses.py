"""GAN losses as pure tensor functions: the part of dcgan other GAN code imports.

Contract shared by every function here:
- Inputs are discriminator logits (DCGAN) or critic scores (WGAN) of shape [B] or
  [B, 1]: raw outputs, never probabilities.
- Every loss returns per-example values of shape [B]; the caller reduces them (for
  ``tf.distribute``, with ``tf.nn.compute_average_loss`` over the global batch).
- Losses are minimized, keep the input dtype (float16 / bfloat16 work), hold no state,
  write no summaries, and run eagerly or inside ``tf.function``.

``dcgan.objective`` assembles these functions into the objective a run trains with.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import tensorflow as tf

# Keeps the square root of the gradient norm differentiable when the critic's gradient
# is exactly zero (d sqrt(s) / ds is infinite at s = 0).
_GRADIENT_NORM_EPSILON = 1e-12


def _per_example(outputs: tf.Tensor, name: str) -> tf.Tensor:
    """Returns ``outputs`` as shape [B], accepting [B] or [B, 1]."""
    outputs = tf.convert_to_tensor(outputs)
    rank = outputs.shape.rank
    if rank == 1:
        return outputs
    if rank == 2 and outputs.shape[-1] == 1:
        return tf.squeeze(outputs, axis=-1)
    raise ValueError(f"{name} must have shape [B] or [B, 1], got {outputs.shape}")


def minimax_generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """Saturating generator loss of the original GAN, log(1 - sigmoid(f)), minimized.

    Goodfellow et al., "Generative Adversarial Networks" (2014), eq. 1. Its gradient
    vanishes when D confidently rejects fakes, which is why the paper suggests the
    non-saturating form in practice.

    Args:
        fake_logits: D's logits on generated samples, [B] or [B, 1].

    Returns:
        Per-example loss [B]; log(1 - sigmoid(f)) = -softplus(f), stable for any f.
    """
    fake_logits = _per_example(fake_logits, "fake_logits")
    return -tf.nn.softplus(fake_logits)


def non_saturating_generator_loss(fake_logits: tf.Tensor) -> tf.Tensor:
    """Non-saturating generator loss, -log sigmoid(f).

    Goodfellow et al., "Generative Adversarial Networks" (2014), section 3: G maximizes
    log D(G(z)) instead of minimizing log(1 - D(G(z))).

    Args:
        fake_logits: D's logits on generated samples, [B] or [B, 1].

    Returns:
        Per-example loss [B]; -log sigmoid(f) = softplus(-f), stable for any f.
    """
    fake_logits = _per_example(fake_logits, "fake_logits")
    return tf.nn.softplus(-fake_logits)


def minimax_discriminator_loss(
    real_logits: tf.Tensor, fake_logits: tf.Tensor, *, label_smoothing: float = 0.0
) -> tuple[tf.Tensor, tf.Tensor]:
    """Discriminator loss of the original GAN: sigmoid cross-entropy on logits.

    Goodfellow et al. (2014), eq. 1. One-sided label smoothing (Salimans et al.,
    "Improved Techniques for Training GANs", 2016) sets the real target to
    t = 1 - label_smoothing and keeps the fake target at 0:

        real_loss = -t log sigmoid(r) - (1 - t) log(1 - sigmoid(r))
        fake_loss = -log(1 - sigmoid(f))

    Args:
        real_logits: D's logits on real samples, [B] or [B, 1].
        fake_logits: D's logits on generated samples, [B] or [B, 1].
        label_smoothing: amount subtracted from the real target, in [0, 1).

    Returns:
        ``(real_loss, fake_loss)``, each per example [B], to be computed from separate
        forward passes of D over real and fake batches.

    Raises:
        ValueError: if ``label_smoothing`` is outside [0, 1).
    """
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"label_smoothing={label_smoothing} must be in [0, 1)")
    real_logits = _per_example(real_logits, "real_logits")
    fake_logits = _per_example(fake_logits, "fake_logits")
    real_targets = tf.fill(tf.shape(real_logits), tf.cast(1.0 - label_smoothing, real_logits.dtype))
    real_loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=real_targets, logits=real_logits)
    fake_loss = tf.nn.softplus(fake_logits)
    return real_loss, fake_loss


def wasserstein_generator_loss(fake_scores: tf.Tensor) -> tf.Tensor:
    """WGAN generator loss, -f.

    Arjovsky et al., "Wasserstein GAN" (2017), algorithm 1.

    Args:
        fake_scores: critic scores on generated samples, [B] or [B, 1].

    Returns:
        Per-example loss [B].
    """
    return -_per_example(fake_scores, "fake_scores")


def wasserstein_discriminator_loss(
    real_scores: tf.Tensor, fake_scores: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """WGAN critic loss, split into its real and fake halves: (-r, f).

    Arjovsky et al., "Wasserstein GAN" (2017), algorithm 1: the critic maximizes
    E[D(x)] - E[D(G(z))], so it minimizes mean(-r) + mean(f). Its negation estimates
    the Wasserstein-1 distance when the critic is 1-Lipschitz (weight clipping or
    ``gradient_penalty``).

    Args:
        real_scores: critic scores on real samples, [B] or [B, 1].
        fake_scores: critic scores on generated samples, [B] or [B, 1].

    Returns:
        ``(real_loss, fake_loss)``, each per example [B].
    """
    real_scores = _per_example(real_scores, "real_scores")
    fake_scores = _per_example(fake_scores, "fake_scores")
    return -real_scores, fake_scores


def gradient_penalty(
    critic: Callable[[tf.Tensor], tf.Tensor],
    real: tf.Tensor,
    fake: tf.Tensor,
    *,
    target: float = 1.0,
    rng: tf.random.Generator | None = None,
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

    Returns:
        Per-example penalty [B], in the dtype of ``real``.

    Raises:
        ValueError: if ``target`` is not positive.
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
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        scores = _per_example(critic(x_hat), "critic(x_hat)")
    gradients = tf.cast(tape.gradient(scores, x_hat), tf.float32)  # [B, ...]
    reduce_axes = list(range(1, gradients.shape.rank))
    squared_norm = tf.reduce_sum(tf.square(gradients), axis=reduce_axes)  # [B]
    norm = tf.sqrt(squared_norm + _GRADIENT_NORM_EPSILON)
    return tf.cast(tf.square(norm / target - 1.0), real.dtype)


def r1_penalty(discriminator: Callable[[tf.Tensor], tf.Tensor], real: tf.Tensor) -> tf.Tensor:
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

    Returns:
        Per-example penalty [B], in the dtype of ``real``.
    """
    real = tf.convert_to_tensor(real)
    with tf.GradientTape() as tape:
        tape.watch(real)
        logits = _per_example(discriminator(real), "discriminator(real)")
    gradients = tf.cast(tape.gradient(logits, real), tf.float32)  # [B, ...]
    reduce_axes = list(range(1, gradients.shape.rank))
    return tf.cast(tf.reduce_sum(tf.square(gradients), axis=reduce_axes), real.dtype)


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
