"""The GAN being trained: networks, optimizers, step counter, noise source, compiled step.

``Trainer.train_step`` is the only graph code of a run. Every choice that shapes it (loss
family, n_critic, train order, penalty weight) is bound when the trainer is built, so it
traces once per run. The eager loop around it (``dcgan.loop``) does all I/O.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from dcgan import losses
from dcgan.config import Config
from dcgan.networks import build_networks, build_optimizer, draw_noise

# Vector runs have no image grid; their fixed noise batch feeds a histogram instead.
_VECTOR_FIXED_SAMPLES = 1000


class Trainer:
    """Holds the state of a GAN run and updates it one generator step at a time.

    State (everything ``checkpoint_items`` returns): both networks, both optimizers, the
    int64 ``step`` (generator updates done), the ``noise_rng`` that draws every latent
    vector and gradient-penalty alpha, the ``fixed_noise`` the sample grid uses, the
    ``dropout_seeds`` of any dropout layers, and ``generator_ema`` when G's weights are
    averaged.
    """

    def __init__(
        self,
        *,
        generator: keras.Model,
        discriminator: keras.Model,
        g_optimizer: keras.optimizers.Optimizer,
        d_optimizer: keras.optimizers.Optimizer,
        latent_dim: int,
        loss: str = "dcgan",
        generator_loss: str = "non_saturating",
        label_smoothing: float = 0.0,
        clip_value: float = 0.01,
        gp_weight: float = 10.0,
        r1_weight: float = 0.0,
        n_critic: int = 1,
        train_order: str = "d_first",
        seed: int = 0,
        num_fixed_samples: int = 64,
        skip_nonfinite: bool = False,
        noise: str = "normal",
        noise_scale: float = 1.0,
        noise_shape: tuple[int, ...] | None = None,
        g_ema_decay: float = 0.0,
    ):
        """Builds the trainer; see ``Config`` for the meaning of each option.

        ``noise_shape`` is the shape of one noise example (default ``(latent_dim,)``);
        the generator must take ``[B, *noise_shape]``. With ``g_ema_decay`` > 0 the
        trainer keeps ``generator_ema``, a copy of G whose weights follow G's after every
        step (``ema_update``); ``sampler`` is the network to sample from either way.

        Raises:
            ValueError: for an unknown loss, generator loss or train order, n_critic < 1,
                an R1 weight on a WGAN, or an EMA decay outside [0, 1).
        """
        if train_order not in ("d_first", "g_first"):
            raise ValueError(f"train_order={train_order!r} is not one of ['d_first', 'g_first']")
        if n_critic < 1:
            raise ValueError(f"n_critic={n_critic} must be >= 1")
        if r1_weight < 0 or (r1_weight and loss != "dcgan"):
            raise ValueError(f"r1_weight={r1_weight} must be >= 0, and 0 unless loss is 'dcgan'")
        if not 0 <= g_ema_decay < 1:
            raise ValueError(f"g_ema_decay={g_ema_decay} must be in [0, 1)")
        self.generator = generator
        self.discriminator = discriminator
        self.g_optimizer = g_optimizer
        self.d_optimizer = d_optimizer
        self.latent_dim = latent_dim
        self.noise_shape = tuple(noise_shape or (latent_dim,))
        self._noise_distribution = noise
        self._noise_scale = noise_scale
        self._family = losses.get(
            loss, generator_loss=generator_loss, label_smoothing=label_smoothing
        )
        self._clip_value = clip_value
        self._gp_weight = gp_weight
        self._r1_weight = r1_weight
        self._n_critic = n_critic
        self._g_first = train_order == "g_first"
        self._skip_nonfinite = skip_nonfinite
        self._g_ema_decay = g_ema_decay
        self.generator_ema = None
        if g_ema_decay:
            # Starts equal to G; same architecture, so any checkpoint reader can load it
            # into a freshly built G.
            self.generator_ema = keras.models.clone_model(generator)
            for average, variable in zip(
                self.generator_ema.weights, generator.weights, strict=True
            ):
                average.assign(variable)

        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        # Updates (of D or G) whose loss or gradient norm was NaN or infinite.
        self.nonfinite_updates = tf.Variable(
            0, dtype=tf.int64, trainable=False, name="nonfinite_updates"
        )
        self.noise_rng = tf.random.Generator.from_seed(seed)
        # Drawn statelessly so the grid is the same for a seed whatever else changes.
        self.fixed_noise = tf.Variable(
            draw_noise(
                num_fixed_samples,
                shape=self.noise_shape,
                distribution=noise,
                scale=noise_scale,
                seed=[seed, 1],
            ),
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
            input_signature=[tf.TensorSpec([None, *self.noise_shape], tf.float32)],
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
    def sampler(self) -> keras.Model:
        """The generator to sample, evaluate and export with: the average if kept, else G."""
        return self.generator if self.generator_ema is None else self.generator_ema

    def set_learning_rates(self, *, g_lr: float, d_lr: float) -> None:
        """Sets both learning rates (a restore brings back the checkpoint's values)."""
        self.g_optimizer.learning_rate.assign(g_lr)
        self.d_optimizer.learning_rate.assign(d_lr)

    def _generate(self, noise: tf.Tensor) -> tf.Tensor:
        return self.sampler(noise, training=False)

    def _noise(self, batch_size: tf.Tensor) -> tf.Tensor:
        return draw_noise(  # [B, *noise_shape]
            batch_size,
            shape=self.noise_shape,
            distribution=self._noise_distribution,
            scale=self._noise_scale,
            rng=self.noise_rng,
        )

    def _train_step(self, iterator) -> dict[str, tf.Tensor]:
        """One generator update and ``n_critic`` discriminator updates.

        Each discriminator update draws its own real batch from ``iterator``. Returns the
        metrics of the last discriminator update and of the generator update.
        """
        real = next(iterator)
        batch_size = tf.shape(real)[0]
        if self._g_first:
            g_metrics = self.generator_update(batch_size)
        d_metrics = self.discriminator_update(real)
        if self._n_critic > 1:
            for _ in tf.range(self._n_critic - 1):
                d_metrics = self.discriminator_update(next(iterator))
        if not self._g_first:
            g_metrics = self.generator_update(batch_size)
        self.step.assign_add(1)
        if self.generator_ema is not None:
            self.ema_update()
        return {**d_metrics, **g_metrics, "nonfinite_updates": self.nonfinite_updates.value()}

    def discriminator_update(self, real: tf.Tensor) -> dict[str, tf.Tensor]:
        """One update of D on a real batch and a fresh fake batch of the same size.

        D sees real and fake data in separate forward passes, so batch statistics never
        mix the two, and its loss is the sum of a real and a fake part.
        """
        family = self._family
        saved_state = self._saved_state()
        fake = self.generator(self._noise(tf.shape(real)[0]), training=True)
        variables = self.discriminator.trainable_variables
        with tf.GradientTape() as tape:
            real_out = self.discriminator(real, training=True)  # [B, 1]
            fake_out = self.discriminator(fake, training=True)  # [B, 1]
            real_loss, fake_loss = family.discriminator_loss(real_out, fake_out)  # [B]
            per_example = real_loss + fake_loss
            if family.gradient_penalty:
                penalty = losses.gradient_penalty(
                    lambda x: self.discriminator(x, training=True),
                    real,
                    fake,
                    rng=self.noise_rng,
                )
                per_example += self._gp_weight * penalty
            if self._r1_weight:
                r1 = losses.r1_penalty(lambda x: self.discriminator(x, training=True), real)
                per_example += 0.5 * self._r1_weight * r1
            d_loss = _average(per_example)
        gradients = tape.gradient(d_loss, variables)

        def update():
            self.d_optimizer.apply(gradients, variables)
            if family.clips_weights:
                losses.clip_weights(variables, self._clip_value)

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
        if family.gradient_penalty:
            metrics["gradient_penalty"] = _average(penalty)
        if self._r1_weight:
            metrics["r1_penalty"] = _average(r1)
        if family.gradient_penalty or family.clips_weights:
            metrics["wasserstein_estimate"] = tf.reduce_mean(real_out) - tf.reduce_mean(fake_out)
        else:
            correct = tf.concat([real_out > 0, fake_out < 0], axis=0)
            metrics["d_accuracy"] = tf.reduce_mean(tf.cast(correct, tf.float32))
        return metrics

    def generator_update(self, batch_size: tf.Tensor) -> dict[str, tf.Tensor]:
        """One update of G on a fresh noise batch, through D in training mode."""
        variables = self.generator.trainable_variables
        saved_state = self._saved_state()
        noise = self._noise(batch_size)
        with tf.GradientTape() as tape:
            fake_out = self.discriminator(self.generator(noise, training=True), training=True)
            g_loss = _average(self._family.generator_loss(fake_out))
        gradients = tape.gradient(g_loss, variables)
        g_grad_norm = self._guarded(
            lambda: self.g_optimizer.apply(gradients, variables), g_loss, gradients, saved_state
        )
        return {"g_loss": g_loss, "g_grad_norm": g_grad_norm}

    def ema_update(self) -> None:
        """Moves ``generator_ema`` toward G: ``w_ema = d * w_ema + (1 - d) * w``.

        ``d`` is ``min(g_ema_decay, (1 + step) / (10 + step))``: early on, when G changes
        fastest, the average forgets quickly instead of dragging in the initial weights
        (the warm-up of ``tf.train.ExponentialMovingAverage``). Non-trainable weights
        (batch-norm moving statistics) are copied, not averaged: they are G's estimates
        for its current weights.
        """
        step = tf.cast(self.step, tf.float32)
        decay = tf.minimum(self._g_ema_decay, (1.0 + step) / (10.0 + step))
        averages = self.generator_ema
        for average, variable in zip(
            averages.trainable_weights, self.generator.trainable_weights, strict=True
        ):
            average.assign(decay * average + (1.0 - decay) * tf.cast(variable, average.dtype))
        for average, variable in zip(
            averages.non_trainable_weights, self.generator.non_trainable_weights, strict=True
        ):
            average.assign(variable)

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


def _average(per_example: tf.Tensor) -> tf.Tensor:
    # Divides by the global batch size, as tf.distribute needs when replicas sum their
    # gradients; without a strategy it is the plain mean.
    return tf.nn.compute_average_loss(tf.cast(per_example, tf.float32))


def build_trainer(config: Config) -> Trainer:
    """Builds the networks, optimizers and trainer a ``Config`` describes; restores nothing."""
    generator, discriminator = build_networks(config)
    return Trainer(
        generator=generator,
        discriminator=discriminator,
        g_optimizer=build_optimizer(
            config.g_optimizer,
            learning_rate=config.g_lr,
            beta1=config.g_beta1,
            beta2=config.g_beta2,
        ),
        d_optimizer=build_optimizer(
            config.d_optimizer,
            learning_rate=config.d_lr,
            beta1=config.d_beta1,
            beta2=config.d_beta2,
        ),
        latent_dim=config.latent_dim,
        loss=config.loss,
        generator_loss=config.generator_loss,
        label_smoothing=config.label_smoothing,
        clip_value=config.clip_value,
        gp_weight=config.gp_weight,
        r1_weight=config.r1_weight,
        n_critic=config.n_critic,
        train_order=config.train_order,
        seed=config.seed,
        skip_nonfinite=config.on_nonfinite == "skip",
        num_fixed_samples=config.grid_size**2 if config.is_image else _VECTOR_FIXED_SAMPLES,
        noise=config.noise_distribution,
        noise_scale=config.noise_scale,
        noise_shape=config.latent_shape,
        g_ema_decay=config.g_ema_decay,
    )
