"""GAN losses as pure tensor functions: the part of dcgan other GAN code imports.

Contract shared by every function here:
- Inputs are discriminator logits (DCGAN) or critic scores (WGAN) of shape [B] or
  [B, 1]: raw outputs, never probabilities.
- Every loss returns per-example values of shape [B]; the caller reduces them (for
  ``tf.distribute``, with ``tf.nn.compute_average_loss`` over the global batch).
- Losses are minimized, keep the input dtype (float16 / bfloat16 work), hold no state,
  write no summaries, and run eagerly or inside ``tf.function``.

The penalties on D's input gradient and weight clipping (``gradient_penalty``,
``lipschitz_penalty``, ``r1_penalty``, ``r2_penalty``, ``clip_weights``) live in
``dcgan.gan.penalties`` and are names of this module too, so ``from dcgan import losses``
gives every term of a GAN objective. ``dcgan.gan.objective`` assembles these functions
into the objective a run trains with.
"""

from __future__ import annotations

import tensorflow as tf

from dcgan.gan import choices
from dcgan.gan.outputs import per_example
from dcgan.gan.penalties import (  # noqa: F401 - the module's public names
    clip_weights,
    gradient_penalty,
    lipschitz_penalty,
    r1_penalty,
    r2_penalty,
)


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
    fake_logits = per_example(fake_logits, "fake_logits")
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
    fake_logits = per_example(fake_logits, "fake_logits")
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
    real_logits = per_example(real_logits, "real_logits")
    fake_logits = per_example(fake_logits, "fake_logits")
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
    return -per_example(fake_scores, "fake_scores")


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
    real_scores = per_example(real_scores, "real_scores")
    fake_scores = per_example(fake_scores, "fake_scores")
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
    real_scores = per_example(real_scores, "real_scores")
    fake_scores = per_example(fake_scores, "fake_scores")
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
    fake_outputs = per_example(fake_outputs, "fake_outputs")
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
    real_outputs = per_example(real_outputs, "real_outputs")
    fake_outputs = per_example(fake_outputs, "fake_outputs")
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
    real_logits = per_example(real_logits, "real_logits")
    fake_logits = per_example(fake_logits, "fake_logits")
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
    fake_logits = per_example(fake_given, "fake_logits")  # [B]
    real_logits = per_example(real_given, "real_logits")  # [B]
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
