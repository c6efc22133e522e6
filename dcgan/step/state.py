"""The state of a run: the variables the step updates and a checkpoint holds.

Both networks and their optimizers, the int64 ``step`` (generator updates done), the
``noise_rng`` every latent vector, gradient-penalty alpha and augmentation is drawn from,
the ``fixed_noise`` of the sample grid, the ``dropout_seeds`` of any dropout layers, and
``generator_ema``, the moving average of G's weights, when one is kept.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from dcgan.gan.noise import NoiseDistribution


class TrainState:
    """The variables of a run; build it inside the strategy's scope.

    D's spectral-normalization vectors are D's variables. ``halted`` and the counters of
    the step's own bookkeeping belong to one process's run and are not checkpointed.
    """

    def __init__(
        self,
        *,
        generator: keras.Model,
        discriminator: keras.Model,
        g_optimizer: keras.optimizers.Optimizer,
        d_optimizer: keras.optimizers.Optimizer,
        noise: NoiseDistribution,
        seed: int,
        num_fixed_samples: int,
        g_ema_decay: float,
    ):
        """Creates the run's variables around the networks and optimizers given.

        Args:
            generator: G; takes ``[B, *noise.shape]``.
            discriminator: D; returns logits (or a critic's scores) ``[B, 1]``.
            g_optimizer: G's optimizer.
            d_optimizer: D's optimizer.
            noise: the distribution of z.
            seed: seeds ``noise_rng`` and the fixed noise.
            num_fixed_samples: examples in ``fixed_noise``.
            g_ema_decay: > 0: keep ``generator_ema``, which follows G's weights after
                every step (``update_ema``), to sample with.
        """
        self.generator = generator
        self.discriminator = discriminator
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        self.noise = noise
        self.g_ema_decay = g_ema_decay
        self.generator_ema = None
        if g_ema_decay:
            # Starts equal to G; same architecture, so any checkpoint reader can load it
            # into a freshly built G.
            self.generator_ema = keras.models.clone_model(generator)
            for ema_weight, weight in zip(
                self.generator_ema.weights, generator.weights, strict=True
            ):
                ema_weight.assign(weight)
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        # Updates (of D or G) whose loss or gradient norm was NaN or infinite.
        self.nonfinite_updates = tf.Variable(
            0, dtype=tf.int64, trainable=False, name="nonfinite_updates"
        )
        # Stop policy: set by a step that had a non-finite update; then steps do nothing.
        self.halted = tf.Variable(False, trainable=False, name="halted")
        self.noise_rng = tf.random.Generator.from_seed(seed)
        # Drawn statelessly so the grid is the same for a seed whatever else changes.
        self.fixed_noise = tf.Variable(
            noise.sample(num_fixed_samples, seed=[seed, 1]), trainable=False, name="fixed_noise"
        )
        # Dropout draws its masks from Keras seed generators, whose state a checkpoint of
        # the networks does not hold: without it a resumed run would repeat step 0's masks.
        self.dropout_seeds = [
            layer.seed_generator.state
            for model in (generator, discriminator)
            for layer in model.layers
            if isinstance(layer, keras.layers.Dropout)
        ]
        # Optimizer slots must exist before the first step (and before a restore), not
        # be created lazily inside the traced function.
        g_optimizer.build(generator.trainable_variables)
        d_optimizer.build(discriminator.trainable_variables)

    def checkpoint_items(self) -> dict[str, object]:
        """The objects a checkpoint must hold to continue this run."""
        items = {
            "generator": self.generator,
            "discriminator": self.discriminator,
            "g_optimizer": self.g_optimizer,
            "d_optimizer": self.d_optimizer,
            "step": self.step,
            "nonfinite_updates": self.nonfinite_updates,
            "noise_rng": self.noise_rng,
            "fixed_noise": self.fixed_noise,
        }
        if self.dropout_seeds:
            items["dropout_seeds"] = self.dropout_seeds
        if self.generator_ema is not None:
            items["generator_ema"] = self.generator_ema
        return items

    @property
    def sampling_generator(self) -> keras.Model:
        """The generator to sample, evaluate and export with: ``generator_ema`` if kept."""
        return self.generator if self.generator_ema is None else self.generator_ema

    def set_learning_rates(self, *, g_lr: float | tf.Tensor, d_lr: float | tf.Tensor) -> None:
        """Sets both learning rates (a restore brings back the checkpoint's values)."""
        self.g_optimizer.learning_rate.assign(g_lr)
        self.d_optimizer.learning_rate.assign(d_lr)

    def update_ema(self) -> None:
        """Moves ``generator_ema`` toward G: ``w_ema = d * w_ema + (1 - d) * w``.

        ``d`` is ``min(g_ema_decay, (1 + step) / (10 + step))``: early on, when G changes
        fastest, the EMA forgets quickly instead of dragging in the initial weights
        (the warm-up of ``tf.train.ExponentialMovingAverage``). Non-trainable weights
        (batch-norm moving statistics) are copied, not averaged: they are G's estimates
        for its current weights.
        """
        step = tf.cast(self.step, tf.float32)
        decay = tf.minimum(self.g_ema_decay, (1.0 + step) / (10.0 + step))
        ema, generator = self.generator_ema, self.generator
        for ema_weight, weight in zip(
            ema.trainable_weights, generator.trainable_weights, strict=True
        ):
            ema_weight.assign(
                decay * ema_weight + (1.0 - decay) * tf.cast(weight, ema_weight.dtype)
            )
        for ema_weight, weight in zip(
            ema.non_trainable_weights, generator.non_trainable_weights, strict=True
        ):
            ema_weight.assign(weight)
