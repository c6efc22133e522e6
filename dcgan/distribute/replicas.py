"""A replica's share of a global batch (its rows, its random draws) and what replicas
combine (summed gradients, averaged metrics).

Under ``tf.distribute`` each replica of the step sees ``B / R`` of a global batch ``B``.
Every random number the step draws (z, the gradient penalty's alpha, augmentation) comes
from :class:`ReplicaRandom`: each replica draws the numbers for the whole global batch
from the same stream and keeps its own rows. A run on R replicas therefore draws exactly
what a run on one device draws, rows differ between replicas (no two replicas reuse the
same z), and a checkpoint restores under another replica count. Without a strategy (one
replica) every helper is the identity.
"""

from __future__ import annotations

import tensorflow as tf
from tensorflow.python.distribute import values as distribute_values


def replica_position() -> tuple[int | tf.Tensor, int]:
    """``(index, count)`` of the calling replica among all replicas in sync (0, 1 outside one)."""
    context = tf.distribute.get_replica_context()
    if context is None:  # cross-replica context: the whole batch
        return 0, 1
    return context.replica_id_in_sync_group, context.num_replicas_in_sync


def local_rows(batch: tf.Tensor) -> tf.Tensor:
    """This replica's contiguous share of a global batch: rows ``[i * B / R, (i + 1) * B / R)``.

    Args:
        batch: ``[B, ...]`` with ``B`` divisible by the replica count (checked when the run
            is built).
    """
    index, count = replica_position()
    if count == 1:
        return batch
    rows = tf.shape(batch)[0] // count
    return batch[index * rows : (index + 1) * rows]


def sum_and_mean(values: list[tf.Tensor], means: tf.Tensor) -> tuple[list[tf.Tensor], tf.Tensor]:
    """``values`` summed and ``means`` averaged over all replicas, on every replica.

    In replica context, as Keras's own optimizer reduces; with one replica nothing is
    built. Every replica holds the same number of examples, so the mean of their means
    is the mean over the global batch.
    """
    context = tf.distribute.get_replica_context()
    if context.num_replicas_in_sync == 1:
        return values, means
    values = context.all_reduce(tf.distribute.ReduceOp.SUM, values)
    return values, context.all_reduce(tf.distribute.ReduceOp.MEAN, means)


def as_mirrored(value):
    """The replicas' copies of an all-reduced value, typed as the equal copies they are.

    A Keras optimizer applying in cross-replica context hands each replica its own copy;
    typed as unrelated per-replica values, the default context would try to sum them.
    (``Mirrored`` has no public constructor.)
    """
    if isinstance(value, distribute_values.PerReplica):
        return distribute_values.Mirrored(value.values)
    return value


class ReplicaRandom:
    """Draws from ``generator`` as if for the whole global batch; returns this replica's rows.

    The generator is only a counter: each draw advances it by the size of the global draw
    (``Generator.skip``, which every replica applies to its own copy alike) and takes the
    numbers from a stateless op seeded with the counter's old value. ``Generator.normal``
    itself would mix the replica id into the key, so one device and R replicas would draw
    different numbers.

    Only ``normal`` and ``uniform`` exist: what the step draws (see ``dcgan.gan.noise``,
    ``dcgan.losses``, ``dcgan.gan.augment``). The first dimension of ``shape`` is the
    replica's batch.
    """

    def __init__(self, generator: tf.random.Generator):
        self.generator = generator

    def normal(self, shape, mean=0.0, stddev=1.0, dtype=tf.float32) -> tf.Tensor:
        """Like ``tf.random.Generator.normal``."""
        return self._draw(tf.random.stateless_normal, shape, mean=mean, stddev=stddev, dtype=dtype)

    def uniform(self, shape, minval=0, maxval=None, dtype=tf.float32) -> tf.Tensor:
        """Like ``tf.random.Generator.uniform`` (integer dtypes need both bounds)."""
        return self._draw(
            tf.random.stateless_uniform, shape, minval=minval, maxval=maxval, dtype=dtype
        )

    def _draw(self, op, shape, **kwargs) -> tf.Tensor:
        index, count = replica_position()
        shape = tf.unstack(tf.cast(tf.convert_to_tensor(shape), tf.int64))
        rows = shape[0]
        full = tf.stack([rows * count, *shape[1:]])
        state = self.generator.skip(tf.reduce_prod(full))  # the state before the skip
        values = op(full, seed=tf.stack([state[0], state[-1]]), **kwargs)
        if count == 1:
            return values
        start = tf.cast(index, tf.int64) * rows
        return values[start : start + rows]
