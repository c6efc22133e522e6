"""GAN losses as pure tensor functions: the part of dcgan other GAN code imports.

Contract shared by every function here:
- Inputs are discriminator logits (DCGAN) or critic scores (WGAN) of shape [B] or
  [B, 1]: raw outputs, never probabilities.
- Every loss returns per-example values of shape [B]; the caller reduces them (for
  ``tf.distribute``, with ``tf.nn.compute_average_loss`` over the global batch).
- Losses are minimized, keep the input dtype (float16 / bfloat16 work), hold no state,
  write no summaries, and run eagerly or inside ``tf.function``.

Mixed precision: the penalties on D's input gradient (``gradient_penalty``,
``lipschitz_penalty``, ``r1_penalty``, ``r2_penalty``) take an ``inner_scale``. Through a
float16 D the inner gradient underflows (float16's smallest subnormal is 6e-8), as the
outer one does; pass D's loss scale, and the inner target is multiplied by it before
differentiating, the gradient cast to float32 and divided by it, and the norm taken in
float32 (tensorflow#48662). The default 1.0 changes no value. The inner target is a
sum over the batch, so each example's seed is B times what it gets from D's loss (a
batch mean) at the same scale. A scale too large for it overflows float16 and makes the
penalty inf or NaN; D's scaled gradients are then non-finite as well, and the
loss-scale optimizer skips the update and halves the scale, as for any overflow.

``dcgan.objective`` assembles these functions into the objective a run trains with.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import tensorflow as tf

from dcgan.gan import choices

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
    choices.LABEL_SMOOTHING.check("label_smoothing", label_smoothing)
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


def hinge_generator_loss(fake_scores: tf.Tensor) -> tf.Tensor:
    """Hinge-GAN generator loss, -f.

    Lim & Ye, "Geometric GAN" (2017); this is the form of Zhang et al., "Self-Attention
    Generative Adversarial Networks" (SAGAN, 2019), and Brock et al., "Large Scale GAN
    Training for High Fidelity Natural Image Synthesis" (BigGAN, 2019): G raises D's
    score on its samples without a margin (the same value as the WGAN generator loss).

    Args:
        fake_scores: D's raw scores (no sigmoid) on generated samples, [B] or [B, 1].

    Returns:
        Per-example loss [B], the value ``wasserstein_generator_loss`` gives.
    """
    return wasserstein_generator_loss(fake_scores)


def hinge_discriminator_loss(
    real_scores: tf.Tensor, fake_scores: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """Hinge-GAN discriminator loss, (max(0, 1 - r), max(0, 1 + f)).

    Lim & Ye, "Geometric GAN" (2017); the form of SAGAN (Zhang et al., 2019) and BigGAN
    (Brock et al., 2019): D is pushed to score real samples above +1 and fakes
    below -1, and a sample already past its margin contributes neither loss nor
    gradient.

    Args:
        real_scores: D's scores on real samples, [B] or [B, 1].
        fake_scores: D's scores on generated samples, [B] or [B, 1].

    Returns:
        ``(real_loss, fake_loss)``, each per example [B].
    """
    real_scores = _per_example(real_scores, "real_scores")
    fake_scores = _per_example(fake_scores, "fake_scores")
    return tf.nn.relu(1.0 - real_scores), tf.nn.relu(1.0 + fake_scores)


def _half_squared_error(outputs: tf.Tensor, target: float) -> tf.Tensor:
    """Returns 0.5 (outputs - target)^2, in the dtype of ``outputs``."""
    return 0.5 * tf.square(outputs - tf.cast(target, outputs.dtype))


def least_squares_generator_loss(fake_outputs: tf.Tensor, *, target: float = 1.0) -> tf.Tensor:
    """LSGAN generator loss, 0.5 (f - c)^2 with c = ``target``.

    Mao et al., "Least Squares Generative Adversarial Networks" (2017), eq. 2: G pulls
    D's raw outputs on its samples to the value c it wants D to believe. The paper uses
    c = 0 with the -1 / 1 coding (a = -1, b = 1, c = 0) and c = 1 with the 0 / 1 coding
    (a = 0, b = 1, c = 1); see ``least_squares_discriminator_loss``.

    Args:
        fake_outputs: D's raw (linear, no sigmoid) outputs on generated samples, [B] or
            [B, 1].
        target: c, the value G wants D to output on fakes.

    Returns:
        Per-example loss [B].
    """
    fake_outputs = _per_example(fake_outputs, "fake_outputs")
    return _half_squared_error(fake_outputs, target)


def least_squares_discriminator_loss(
    real_outputs: tf.Tensor,
    fake_outputs: tf.Tensor,
    *,
    real_target: float = 1.0,
    fake_target: float = 0.0,
) -> tuple[tf.Tensor, tf.Tensor]:
    """LSGAN discriminator loss, (0.5 (r - b)^2, 0.5 (f - a)^2).

    Mao et al., "Least Squares Generative Adversarial Networks" (2017), eq. 2, with the
    paper's coding: b = ``real_target``, a = ``fake_target`` and c = the generator's
    target (``least_squares_generator_loss``). The paper's two schemes are a = -1,
    b = 1, c = 0 (b - c = 1 and b - a = 2, so that training minimizes the Pearson
    chi^2 divergence) and a = 0, b = 1, c = 1 (G wants D to take fakes for real). The
    defaults are the second scheme's a and b.

    Args:
        real_outputs: D's raw (linear, no sigmoid) outputs on real samples, [B] or
            [B, 1].
        fake_outputs: D's raw outputs on generated samples, [B] or [B, 1].
        real_target: b, the value D is pulled to on real samples.
        fake_target: a, the value D is pulled to on generated samples.

    Returns:
        ``(real_loss, fake_loss)``, each per example [B].

    Raises:
        ValueError: if ``real_target`` equals ``fake_target`` (D would have nothing to
            tell apart).
    """
    if not choices.targets_differ(real_target, fake_target):
        raise ValueError(f"real_target={real_target} and fake_target={fake_target} must differ")
    real_outputs = _per_example(real_outputs, "real_outputs")
    fake_outputs = _per_example(fake_outputs, "fake_outputs")
    return (
        _half_squared_error(real_outputs, real_target),
        _half_squared_error(fake_outputs, fake_target),
    )


def _batch_mean(outputs: tf.Tensor) -> tf.Tensor:
    """Returns the mean of ``outputs`` [B], accumulated in at least float32."""
    accumulate = tf.float32 if outputs.dtype in (tf.float16, tf.bfloat16) else outputs.dtype
    return tf.cast(tf.reduce_mean(tf.cast(outputs, accumulate)), outputs.dtype)


def _relativistic_average_logits(
    real_logits: tf.Tensor, fake_logits: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """Returns (r - mean(f), f - mean(r)), each [B], from logits [B] or [B, 1]."""
    real_logits = _per_example(real_logits, "real_logits")
    fake_logits = _per_example(fake_logits, "fake_logits")
    return real_logits - _batch_mean(fake_logits), fake_logits - _batch_mean(real_logits)


def relativistic_average_discriminator_loss(
    real_logits: tf.Tensor, fake_logits: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """RaSGAN discriminator loss, (-log sigmoid(r - mean f), -log(1 - sigmoid(f - mean r))).

    Jolicoeur-Martineau, "The relativistic discriminator: a key element missing from
    standard GAN" (2018), section 4.3 (relativistic average standard GAN, RaSGAN): D
    estimates how much more realistic a real sample is than the average fake, and a fake
    than the average real. Computed as softplus(-(r_i - mean f)) and
    softplus(f_i - mean r), stable for any logits. The means run over the batch given:
    under ``tf.distribute`` that is the replica's batch, so the loss is per replica, not
    over the global batch.

    Args:
        real_logits: D's logits on real samples, [B] or [B, 1].
        fake_logits: D's logits on generated samples, [B'] or [B', 1] (B' may differ
            from B).

    Returns:
        ``(real_loss, fake_loss)``, per example [B] and [B'].
    """
    real_relative, fake_relative = _relativistic_average_logits(real_logits, fake_logits)
    return tf.nn.softplus(-real_relative), tf.nn.softplus(fake_relative)


def relativistic_average_generator_loss(
    fake_logits: tf.Tensor, real_logits: tf.Tensor
) -> tf.Tensor:
    """RaSGAN generator loss, softplus(-(f_i - mean r)) + softplus(r_i - mean f).

    Jolicoeur-Martineau (2018), section 4.3: G's loss mirrors D's,
    -E[log sigmoid(f - mean r)] - E[log(1 - sigmoid(r - mean f))], so unlike the other
    generator losses it needs D's logits on a real batch too. Example i pairs the i-th
    fake with the i-th real logit, so the batch mean of the result is exactly the
    paper's loss. The means run over the batch given (per replica under
    ``tf.distribute``).

    Note the argument order, fakes first. ``real_logits`` should come from D in the
    same mode (``training=``) as ``fake_logits``. Gradients reach G through the fake
    logits only, because the real ones do not depend on G; they are not stopped here,
    so differentiate only with respect to G's variables.

    Args:
        fake_logits: D's logits on generated samples, [B] or [B, 1].
        real_logits: D's logits on real samples, [B] or [B, 1], the same B.

    Returns:
        Per-example loss [B].

    Raises:
        ValueError: if the batch sizes are known when tracing and differ (when they are
            only known at run time, the check runs then, with
            ``tf.debugging.assert_equal``).
    """
    fake_given, real_given = tf.convert_to_tensor(fake_logits), tf.convert_to_tensor(real_logits)
    fake_logits = _per_example(fake_given, "fake_logits")  # [B]
    real_logits = _per_example(real_given, "real_logits")  # [B]
    if not fake_logits.shape.is_compatible_with(real_logits.shape):
        raise ValueError(
            f"fake_logits {fake_given.shape} and real_logits {real_given.shape} must have "
            "the same batch size"
        )
    tf.debugging.assert_equal(
        tf.shape(fake_logits)[0],
        tf.shape(real_logits)[0],
        message="fake_logits and real_logits must have the same batch size",
    )
    real_relative, fake_relative = _relativistic_average_logits(real_logits, fake_logits)
    return tf.nn.softplus(-fake_relative) + tf.nn.softplus(real_relative)


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
        outputs = _per_example(function(inputs), name)
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
