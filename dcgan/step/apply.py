"""Applying an update's summed gradients: skip and roll back, clipping, the loss scale.

``apply_gradients`` runs in cross-replica context, after the replicas' gradients were
summed: the test for a non-finite update reads the sum, so every replica takes the same
decision, and what follows the update (weight clipping) writes every copy alike. Under
float16 each network's optimizer is a ``keras.optimizers.LossScaleOptimizer`` whose
dynamic scale this module keeps, with Keras's own policy but on the summed gradients.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import keras
import tensorflow as tf

from dcgan.distribute import replicas

# (variable, value): a variable and the value a skipped update puts back.
SavedState = list[tuple[tf.Variable, tf.Tensor]]


def is_scaled(optimizer: keras.optimizers.Optimizer) -> bool:
    """Whether ``optimizer``'s network trains with a float16 loss scale."""
    return isinstance(optimizer, keras.optimizers.LossScaleOptimizer)


def loss_scale(optimizer: keras.optimizers.Optimizer) -> tf.Variable | float:
    """The float16 loss scale of ``optimizer``'s network: its dynamic scale, or 1.0."""
    return optimizer.dynamic_scale if is_scaled(optimizer) else 1.0


def saved_state(models: Sequence[keras.Model]) -> SavedState:
    """What a skipped update restores: ``(variable, value)`` for the variables a forward
    pass in training mode changes (batch-norm moving statistics, spectral-normalization
    vectors) of ``models``."""
    return [(v, tf.identity(v)) for model in models for v in model.non_trainable_variables]


def apply_gradients(
    *,
    strategy: tf.distribute.Strategy,
    optimizer: keras.optimizers.Optimizer,
    variables: Sequence[tf.Variable],
    gradients: Sequence,
    loss: tf.Tensor,
    nonfinite_updates: tf.Variable,
    skip_nonfinite: bool,
    saved: SavedState | None = None,
    after: Callable[[], None] | None = None,
) -> dict[str, tf.Tensor]:
    """Applies the replicas' summed gradients unless the update is non-finite.

    With ``skip_nonfinite`` a non-finite update leaves no trace: the optimizer does not
    run (moments and iteration count included) and the variables in ``saved`` are put
    back. Otherwise it is applied and counted, and the caller stops the run on the count.
    Under a loss scale a non-finite update is skipped and halves the scale, and counts
    as non-finite only once the scale is down to 1; ``dynamic_growth_steps`` good updates
    double it.

    Args:
        strategy: the strategy the gradients were summed under.
        optimizer: the network's optimizer (a ``LossScaleOptimizer`` under float16).
        variables: the network's trainable variables.
        gradients: their summed, unscaled gradients.
        loss: the update's loss, averaged over the global batch.
        nonfinite_updates: the counter of non-finite updates, incremented here.
        skip_nonfinite: skip a non-finite update instead of applying it.
        saved: what a skipped update restores (``saved_state``).
        after: runs after an applied update (weight clipping).

    Returns:
        ``grad_norm``, the global norm of the summed gradients, and under float16
        ``loss_scale``, the scale after this update.
    """
    gradients = [replicas.as_mirrored(g) for g in gradients]
    local = [strategy.experimental_local_results(g)[0] for g in gradients]
    norm = tf.linalg.global_norm(local)
    finite = tf.math.is_finite(loss) & tf.math.is_finite(norm)
    scaled = is_scaled(optimizer)
    # The Keras wrapper applies only in replica context; its inner optimizer applies
    # the unscaled gradients here.
    apply_with = optimizer.inner_optimizer if scaled else optimizer

    def update():
        # In cross-replica context the optimizer sums nothing: each copy of a variable
        # takes its replica's (identical) summed gradient.
        apply_with.apply(gradients, variables)
        if after is not None:
            after()

    if skip_nonfinite or scaled:

        def applied():
            update()
            return tf.constant(True)  # cond needs matching outputs from both branches

        def skipped():
            for variable, value in saved or ():
                variable.assign(value)
            return tf.constant(False)

        tf.cond(finite, applied, skipped)
    else:
        update()
    metrics = {"grad_norm": norm}
    counted = tf.logical_not(finite)
    if scaled:
        # An overflow (of the loss, a penalty's inner gradient or a gradient) only moves
        # the scale; once the scale is down to 1 no overflow is left to blame.
        counted &= optimizer.dynamic_scale <= 1.0
        _update_loss_scale(optimizer, finite)
        metrics["loss_scale"] = tf.identity(optimizer.dynamic_scale)
    nonfinite_updates.assign_add(tf.cast(counted, tf.int64))
    return metrics


def _update_loss_scale(optimizer: keras.optimizers.LossScaleOptimizer, finite: tf.Tensor):
    """Halves the scale after an overflow; doubles it after ``dynamic_growth_steps`` good
    updates in a row (Keras's policy)."""
    count = optimizer.step_counter + 1
    grow = finite & (count >= optimizer.dynamic_growth_steps)
    factor = tf.where(finite, tf.where(grow, 2.0, 1.0), 0.5)
    optimizer.dynamic_scale.assign(optimizer.dynamic_scale * factor)
    optimizer.step_counter.assign(tf.where(finite & ~grow, count, tf.zeros_like(count)))
