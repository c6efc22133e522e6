"""The GAN being trained: networks, optimizers, step counter, noise source, compiled step.

``Trainer.train_step`` is the only graph code of a run. What the run optimizes comes in
as one ``dcgan.objective.Objective``; the trainer adds only how to step (n_critic, train
order, the non-finite policy, the weight average of G). Every choice is bound when the
trainer is built, so the step traces once per run. The eager loop around it
(``dcgan.loop``) does all I/O; ``dcgan.builder`` builds the trainer from a ``Config``.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from dcgan import augment, losses, spectral
from dcgan.noise import NoiseDistribution
from dcgan.objective import Objective

TRAIN_ORDERS = ("d_first", "g_first")


class Trainer:
    """Holds the state of a GAN run and updates it one generator step at a time.

    State (everything ``checkpoint_items`` returns): both networks, both optimizers, the
    int64 ``step`` (generator updates done), the ``noise_rng`` that draws every latent
    vector, gradient-penalty alpha and augmentation, the ``fixed_noise`` the sample grid
    uses, the ``dropout_seeds`` of any dropout layers, and ``generator_ema`` when G's
    weights are averaged. D's spectral-normalization vectors are D's variables. The last
    values of lazy penalties are metrics only: a resumed run reports 0 for one until it
    next computes it.
    """

    def __init__(
        self,
        *,
        generator: keras.Model,
        discriminator: keras.Model,
        g_optimizer: keras.optimizers.Optimizer,
        d_optimizer: keras.optimizers.Optimizer,
        objective: Objective,
        noise: NoiseDistribution,
        n_critic: int = 1,
        train_order: str = "d_first",
        skip_nonfinite: bool = False,
        g_ema_decay: float = 0.0,
        seed: int = 0,
        num_fixed_samples: int = 64,
        pack: int = 1,
        diff_augment: tuple[str, ...] = (),
    ):
        """Builds the trainer; see ``Config`` for the meaning of each step option.

        Args:
            generator: G; takes ``[B, *noise.shape]``.
            discriminator: D; returns logits (or a critic's scores) ``[B, 1]``.
            g_optimizer: G's optimizer.
            d_optimizer: D's optimizer.
            objective: the losses, penalties and clipping to train with.
            noise: the distribution of z.
            n_critic: D updates per G update.
            train_order: "d_first" or "g_first": which network updates first in a step.
            skip_nonfinite: skip an update whose loss or gradient is not finite, instead
                of applying it (the loop then stops the run).
            g_ema_decay: > 0: keep ``generator_ema``, a copy of G whose weights follow G's
                after every step (``ema_update``), to sample with.
            seed: seeds ``noise_rng`` and the fixed noise.
            num_fixed_samples: examples in ``fixed_noise``.
            pack: D judges packs of this many samples, concatenated along the last axis
                (PacGAN); D's input is ``pack`` samples wide. Must divide every batch.
            diff_augment: names of ``dcgan.augment.POLICIES`` applied to every batch D
                sees, real and fake, in D's and G's updates (images only).

        Raises:
            ValueError: for an unknown train order, n_critic < 1, an EMA decay outside
                [0, 1), or pack < 1.
        """
        if train_order not in TRAIN_ORDERS:
            raise ValueError(f"train_order={train_order!r} is not one of {list(TRAIN_ORDERS)}")
        if n_critic < 1:
            raise ValueError(f"n_critic={n_critic} must be >= 1")
        if not 0 <= g_ema_decay < 1:
            raise ValueError(f"g_ema_decay={g_ema_decay} must be in [0, 1)")
        if pack < 1:
            raise ValueError(f"pack={pack} must be >= 1")
        self.generator = generator
        self.discriminator = discriminator
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        self.objective = objective
        self.noise = noise
        self._n_critic = n_critic
        self._g_first = train_order == "g_first"
        self._skip_nonfinite = skip_nonfinite
        self._g_ema_decay = g_ema_decay
        self.pack = pack
        self._diff_augment = tuple(diff_augment)
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
        self.noise_rng = tf.random.Generator.from_seed(seed)
        # The last value of each lazy penalty, reported between the updates that compute
        # it. Metrics only: not checkpointed.
        self._lazy_penalty_values = {
            p.name: tf.Variable(0.0, trainable=False, name=p.name)
            for p in objective.penalties
            if p.every > 1
        }
        # Drawn statelessly so the grid is the same for a seed whatever else changes.
        self.fixed_noise = tf.Variable(
            noise.sample(num_fixed_samples, seed=[seed, 1]),
            trainable=False,
            name="fixed_noise",
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

        self.train_step = tf.function(self._train_step)
        self.generate = tf.function(
            self._generate,
            input_signature=[tf.TensorSpec([None, *noise.shape], tf.float32)],
        )

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

    def set_learning_rates(self, *, g_lr: float, d_lr: float) -> None:
        """Sets both learning rates (a restore brings back the checkpoint's values)."""
        self.g_optimizer.learning_rate.assign(g_lr)
        self.d_optimizer.learning_rate.assign(d_lr)

    def _generate(self, noise: tf.Tensor) -> tf.Tensor:
        return self.sampling_generator(noise, training=False)

    def _noise(self, batch_size: tf.Tensor) -> tf.Tensor:
        return self.noise.sample(batch_size, rng=self.noise_rng)  # [B, *noise.shape]

    def _d_inputs(self, samples: tf.Tensor) -> tf.Tensor:
        """A batch as D sees it: augmented (``diff_augment``), then packed (``pack``)."""
        if self._diff_augment:
            samples = augment.diff_augment(samples, self._diff_augment, self.noise_rng)
        return pack_samples(samples, self.pack)

    def _train_step(self, iterator) -> dict[str, tf.Tensor]:
        """One generator update and ``n_critic`` discriminator updates.

        Each discriminator update draws its own real batch from ``iterator``; the
        generator update takes the step's first (its batch size, and for a relativistic
        loss D's outputs on it). Returns the metrics of the last discriminator update and
        of the generator update.
        """
        real = next(iterator)
        # Counts D updates over the run, for the lazy penalties: a function of the
        # checkpointed step, so a resumed run applies them on the same updates.
        first_d_update = self.step * self._n_critic
        if self._g_first:
            g_metrics = self.generator_update(real)
        d_metrics = self.discriminator_update(real, first_d_update)
        if self._n_critic > 1:
            for i in tf.range(1, self._n_critic, dtype=tf.int64):
                d_metrics = self.discriminator_update(next(iterator), first_d_update + i)
        if not self._g_first:
            g_metrics = self.generator_update(real)
        self.step.assign_add(1)
        if self.generator_ema is not None:
            self.ema_update()
        return {**d_metrics, **g_metrics, "nonfinite_updates": self.nonfinite_updates.value()}

    def discriminator_update(
        self, real: tf.Tensor, d_update: tf.Tensor | int = 0
    ) -> dict[str, tf.Tensor]:
        """One update of D on a real batch and a fresh fake batch of the same size.

        D sees real and fake data in separate forward passes, so batch statistics never
        mix the two, and its loss is the sum of a real and a fake part. ``d_update``
        numbers this update in the run (from 0); a lazy penalty runs when it divides it.
        With spectral normalization, one power iteration comes first, so every pass of
        this update (penalties included) divides by the same sigma.
        """
        objective = self.objective
        saved_state = self._saved_state()
        spectral.power_iterate(self.discriminator)
        fake = self.generator(self._noise(tf.shape(real)[0]), training=True)
        real, fake = self._d_inputs(real), self._d_inputs(fake)  # [B / pack, ...]
        variables = self.discriminator.trainable_variables

        def critic(x):
            return self.discriminator(x, training=True)

        with tf.GradientTape() as tape:
            real_out = critic(real)  # [B / pack, 1]
            fake_out = critic(fake)  # [B / pack, 1]
            real_loss, fake_loss = objective.discriminator_loss(real_out, fake_out)  # [B / pack]
            per_example = real_loss + fake_loss
            penalties = {}
            for penalty in objective.penalties:  # unrolled when traced: a static choice
                values = self._penalty(penalty, critic, real, fake, d_update)
                per_example += penalty.weight * penalty.every * values
                penalties[penalty.name] = values
            d_loss = _average(per_example)
        gradients = tape.gradient(d_loss, variables)

        def update():
            self.d_optimizer.apply(gradients, variables)
            if objective.clip_value:
                losses.clip_weights(variables, objective.clip_value)

        d_grad_norm = self._guarded(update, d_loss, gradients, saved_state)

        real_out = tf.cast(tf.reshape(real_out, [-1]), tf.float32)
        fake_out = tf.cast(tf.reshape(fake_out, [-1]), tf.float32)
        metrics = {
            "d_loss": d_loss,
            "d_loss_real": _average(real_loss),
            "d_loss_fake": _average(fake_loss),
            "d_output_real": tf.reduce_mean(real_out),
            "d_output_fake": tf.reduce_mean(fake_out),
            "d_grad_norm": d_grad_norm,
        }
        for name, values in penalties.items():
            lazy = self._lazy_penalty_values.get(name)
            metrics[name] = _average(values) if lazy is None else lazy.value()
        metrics.update(objective.d_metrics(real_out, fake_out))
        return metrics

    def _penalty(self, penalty, critic, real, fake, d_update) -> tf.Tensor:
        """The penalty's per-example values on this update; zeros where a lazy one rests."""
        if penalty.every == 1:
            return penalty.function(critic, real, fake, self.noise_rng)
        lazy = self._lazy_penalty_values[penalty.name]

        def compute():
            values = penalty.function(critic, real, fake, self.noise_rng)
            lazy.assign(_average(values))
            return values

        def rest():
            return tf.zeros(tf.shape(real)[:1], real.dtype)

        return tf.cond(tf.equal(d_update % penalty.every, 0), compute, rest)

    def generator_update(self, real: tf.Tensor) -> dict[str, tf.Tensor]:
        """One update of G on a fresh noise batch the size of ``real``, through D in training
        mode; a relativistic loss also reads D's outputs on ``real``."""
        variables = self.generator.trainable_variables
        saved_state = self._saved_state()
        noise = self._noise(tf.shape(real)[0])
        with tf.GradientTape() as tape:
            fake = self._d_inputs(self.generator(noise, training=True))
            fake_out = self.discriminator(fake, training=True)
            if self.objective.generator_needs_real:
                real_out = self.discriminator(self._d_inputs(real), training=True)
                per_example = self.objective.generator_loss(fake_out, real_out)
            else:
                per_example = self.objective.generator_loss(fake_out)
            g_loss = _average(per_example)
        gradients = tape.gradient(g_loss, variables)
        g_grad_norm = self._guarded(
            lambda: self.g_optimizer.apply(gradients, variables), g_loss, gradients, saved_state
        )
        return {"g_loss": g_loss, "g_grad_norm": g_grad_norm}

    def ema_update(self) -> None:
        """Moves ``generator_ema`` toward G: ``w_ema = d * w_ema + (1 - d) * w``.

        ``d`` is ``min(g_ema_decay, (1 + step) / (10 + step))``: early on, when G changes
        fastest, the EMA forgets quickly instead of dragging in the initial weights
        (the warm-up of ``tf.train.ExponentialMovingAverage``). Non-trainable weights
        (batch-norm moving statistics) are copied, not averaged: they are G's estimates
        for its current weights.
        """
        step = tf.cast(self.step, tf.float32)
        decay = tf.minimum(self._g_ema_decay, (1.0 + step) / (10.0 + step))
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

    def _state_variables(self) -> list[tf.Variable]:
        # What a forward pass in training mode changes: batch-norm moving statistics.
        return self.generator.non_trainable_variables + self.discriminator.non_trainable_variables

    def _saved_state(self) -> list[tf.Tensor] | None:
        """Values to roll back to if the update turns out non-finite (skip mode only)."""
        if not self._skip_nonfinite:
            return None
        return [tf.identity(v) for v in self._state_variables()]

    def _guarded(self, update, loss: tf.Tensor, gradients, saved_state) -> tf.Tensor:
        """Runs ``update`` and counts it if non-finite; returns the gradients' global norm.

        With ``skip_nonfinite`` a non-finite update leaves no trace: the optimizer does
        not run (moments and iteration count included) and the moving statistics the
        forward passes touched are rolled back to ``saved_state``. Otherwise the update
        is applied and the caller stops the run on the count.
        """
        norm = tf.linalg.global_norm(gradients)
        finite = tf.math.is_finite(loss) & tf.math.is_finite(norm)
        if self._skip_nonfinite:

            def apply():
                update()
                return tf.constant(True)  # cond needs matching outputs from both branches

            def roll_back():
                for variable, value in zip(self._state_variables(), saved_state, strict=True):
                    variable.assign(value)
                return tf.constant(False)

            tf.cond(finite, apply, roll_back)
        else:
            update()
        self.nonfinite_updates.assign_add(tf.cast(tf.logical_not(finite), tf.int64))
        return norm


def pack_samples(samples: tf.Tensor, pack: int) -> tf.Tensor:
    """Concatenates each run of ``pack`` consecutive samples along the last axis (PacGAN).

    Lin et al., "PacGAN: The power of two samples in generative adversarial networks"
    (2018): D judges ``pack`` samples at once, all real or all generated, which lets it
    see a lack of diversity that no single sample shows.

    Args:
        samples: [B, D] vectors or [B, H, W, C] images; ``pack`` must divide B.
        pack: samples per pack; 1 returns ``samples`` unchanged.

    Returns:
        [B / pack, pack * D] or [B / pack, H, W, pack * C].
    """
    if pack == 1:
        return samples
    if samples.shape.rank == 2:
        return tf.reshape(samples, [-1, pack * samples.shape[1]])
    _, height, width, channels = samples.shape
    grouped = tf.reshape(samples, [-1, pack, height, width, channels])
    grouped = tf.transpose(grouped, [0, 2, 3, 1, 4])  # [B / pack, H, W, pack, C]
    return tf.reshape(grouped, [-1, height, width, pack * channels])


def _average(per_example: tf.Tensor) -> tf.Tensor:
    # Divides by the global batch size, as tf.distribute needs when replicas sum their
    # gradients; without a strategy it is the plain mean.
    return tf.nn.compute_average_loss(tf.cast(per_example, tf.float32))
