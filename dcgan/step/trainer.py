"""The GAN being trained: networks, optimizers, step counter, noise source, compiled step.

``Trainer.train_step`` is the only graph code of a run. What the run optimizes comes in
as one ``dcgan.objective.Objective``; the trainer adds only how to step (n_critic, train
order, the non-finite policy, the weight average of G). Every choice is bound when the
trainer is built, so the step traces once per run. The eager loop around it
(``dcgan.loop``) does all I/O; ``dcgan.builder`` builds the trainer from a ``Config``.

The step runs under a ``tf.distribute`` strategy (the default one on one device). The
compiled function pulls the batches and loops over steps and D updates; each update
asks every replica for its gradients (``strategy.run``: forward passes, losses,
penalties, all on the replica's share of the global batch), sums them across replicas,
and applies them once, in cross-replica context, where the decision to skip a
non-finite update is one value for all replicas and clipping, the weight average and
the step counter write every replica's copy alike. ``updates`` picks how the two
updates share forward passes: ``discriminator_update`` then ``generator_update``
(alternating), ``reuse_fakes_update`` or ``simultaneous_update``.
"""

from __future__ import annotations

from typing import NamedTuple

import keras
import tensorflow as tf

from dcgan.distribute import replicas
from dcgan.gan import augment, losses, spectral
from dcgan.gan.noise import NoiseDistribution
from dcgan.gan.objective import Objective

TRAIN_ORDERS = ("d_first", "g_first")
# How a step's two updates share their forward passes (``Trainer``'s ``updates``).
UPDATES = ("alternating", "reuse_fakes", "simultaneous")


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
        lr_decay_steps: int = 0,
        strategy: tf.distribute.Strategy | None = None,
        per_replica_input: bool = False,
        updates: str = "alternating",
        jit_compile: bool = False,
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
            lr_decay_steps: > 0: both learning rates decay linearly from the optimizers'
                rates to 0 at this step, set inside the compiled step from ``step``.
            strategy: the ``tf.distribute`` strategy whose scope built the networks and
                optimizers; None: the default (one device). The trainer's own variables
                are created in its scope.
            per_replica_input: the iterator yields each replica its own share of the
                global batch (a distributed dataset); otherwise it yields global batches
                and each replica takes its rows.
            updates: how the step's updates share forward passes. "alternating": D's
                update(s) on a fresh fake batch, then G's on fresh noise through the
                updated D. "reuse_fakes": G's forward runs once; D updates on its batch,
                then G updates through that same forward and the updated D (the PyTorch
                DCGAN example's step). "simultaneous": one forward of each net; both
                gradients come from it and are applied together (the TF DCGAN
                tutorial's step: G's gradient sees D before this step's update). The
                last two need n_critic 1 and d_first; "reuse_fakes" needs one replica.
            jit_compile: compile the step's computation with XLA (one replica only; the
                batches are still pulled outside it).

        Raises:
            ValueError: for an unknown train order or updates value, n_critic < 1, an EMA
                decay outside [0, 1), pack < 1, lr_decay_steps < 0, updates other than
                "alternating" with n_critic > 1 or g_first, or jit_compile or
                "reuse_fakes" on more than one replica.
        """
        if train_order not in TRAIN_ORDERS:
            raise ValueError(f"train_order={train_order!r} is not one of {list(TRAIN_ORDERS)}")
        if n_critic < 1:
            raise ValueError(f"n_critic={n_critic} must be >= 1")
        if not 0 <= g_ema_decay < 1:
            raise ValueError(f"g_ema_decay={g_ema_decay} must be in [0, 1)")
        if pack < 1:
            raise ValueError(f"pack={pack} must be >= 1")
        if lr_decay_steps < 0:
            raise ValueError(f"lr_decay_steps={lr_decay_steps} must be >= 0")
        if updates not in UPDATES:
            raise ValueError(f"updates={updates!r} is not one of {list(UPDATES)}")
        if updates != "alternating" and (n_critic != 1 or train_order != "d_first"):
            raise ValueError(
                f"updates={updates!r} shares one fake batch between one D and one G update: "
                f"it needs n_critic=1 and train_order='d_first', not {n_critic} and "
                f"{train_order!r}"
            )
        self.strategy = strategy or tf.distribute.get_strategy()
        replicas_in_sync = self.strategy.num_replicas_in_sync
        if jit_compile and replicas_in_sync > 1:
            raise ValueError(f"jit_compile=True needs one replica, not {replicas_in_sync}")
        if updates == "reuse_fakes" and replicas_in_sync > 1:
            # D's update would have to be applied from a merge_call inside the replicas,
            # where Keras's optimizer asks for a replica context that is not there.
            raise ValueError(f"updates='reuse_fakes' needs one replica, not {replicas_in_sync}")
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
        self._per_replica_input = per_replica_input
        self._updates = updates
        self._lr_decay_steps = lr_decay_steps
        # The rates the decay starts from: the optimizers' as built (from this run's
        # flags), not the decayed values a restore brings back.
        self._base_learning_rates = (
            float(g_optimizer.learning_rate.numpy()),
            float(d_optimizer.learning_rate.numpy()),
        )
        # The metrics ``_discriminator_gradients`` returns, in its order.
        probe = tf.zeros([1])
        self._d_metric_names = [
            *("d_loss", "d_loss_real", "d_loss_fake", "d_output_real", "d_output_fake"),
            *(penalty.name for penalty in objective.penalties),
            *sorted(objective.d_metrics(probe, probe)),
        ]
        with self.strategy.scope():
            self._create_state(seed, num_fixed_samples)
        # Everything ``_one_step`` returns, in its order.
        scaled = [
            f"{net}_loss_scale"
            for net, optimizer in (("d", self.d_optimizer), ("g", self.g_optimizer))
            if _is_scaled(optimizer)
        ]
        self._metric_names = [
            *self._d_metric_names,
            "d_grad_norm",
            *("g_loss", "g_grad_norm"),
            *scaled,
            "nonfinite_updates",
        ]
        # Every branch and loop of the step is explicit (tf.cond, tf.while_loop) or static
        # Python: no AutoGraph conversion to pay for when it is traced.
        self.train_step = tf.function(self._train_steps, autograph=False)
        # XLA compiles everything but the iterator, whose ops it cannot compile.
        self._step_on = self._step_on_batches
        if jit_compile:
            self._step_on = tf.function(self._step_on_batches, autograph=False, jit_compile=True)
        self.generate = tf.function(
            self._generate,
            input_signature=[tf.TensorSpec([None, *self.noise.shape], tf.float32)],
        )

    def _create_state(self, seed: int, num_fixed_samples: int) -> None:
        generator, discriminator = self.generator, self.discriminator
        self.generator_ema = None
        if self._g_ema_decay:
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
        # Belongs to this process's run only: not checkpointed.
        self.halted = tf.Variable(False, trainable=False, name="halted")
        self.noise_rng = tf.random.Generator.from_seed(seed)
        # Every draw of the step goes through it: the same numbers on any replica count.
        self._random = replicas.ReplicaRandom(self.noise_rng)
        # Each lazy penalty's period and last value, reported between the updates that
        # compute it. Metrics only: not checkpointed.
        self._lazy_penalties = {
            p.name: (p.every, tf.Variable(0.0, trainable=False, name=p.name))
            for p in self.objective.penalties
            if p.every > 1
        }
        # Drawn statelessly so the grid is the same for a seed whatever else changes.
        self.fixed_noise = tf.Variable(
            self.noise.sample(num_fixed_samples, seed=[seed, 1]),
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
        self.g_optimizer.build(generator.trainable_variables)
        self.d_optimizer.build(discriminator.trainable_variables)

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

    def tracing_counts(self) -> dict[str, int]:
        """Traces of each compiled function so far: 1 each in a healthy run."""
        counts = {
            "train_step": self.train_step.experimental_get_tracing_count(),
            "generate": self.generate.experimental_get_tracing_count(),
        }
        if isinstance(self._step_on, tf.types.experimental.PolymorphicFunction):  # XLA's
            counts["xla_step"] = self._step_on.experimental_get_tracing_count()
        return counts

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
        return self.noise.sample(batch_size, rng=self._random)  # [B, *noise.shape]

    def _d_inputs(self, samples: tf.Tensor) -> tf.Tensor:
        """A batch as D sees it: augmented (``diff_augment``), then packed (``pack``)."""
        if self._diff_augment:
            samples = augment.diff_augment(samples, self._diff_augment, self._random)
        return pack_samples(samples, self.pack)

    def _local(self, real: tf.Tensor) -> tf.Tensor:
        """This replica's share of a batch from the iterator."""
        return real if self._per_replica_input else replicas.local_rows(real)

    def _train_steps(self, iterator, num_steps: tf.Tensor | None = None) -> dict[str, tf.Tensor]:
        """``num_steps`` generator steps in one call (None: one, with no loop); the last
        one's metrics.

        With the stop policy for non-finite updates, the first step that has one sets
        ``halted``, and from then on the step does nothing (its metrics are zeros but
        for ``nonfinite_updates``): the run stays at that step, with that step's
        weights, until the loop next reads the count, which need not be every call.
        """
        if num_steps is None:
            if self._skip_nonfinite:
                return self._one_step(iterator)
            return tf.cond(self.halted, self._halted_metrics, lambda: self._one_step(iterator))

        def going(done, _):
            return (done < num_steps) & tf.logical_not(self.halted)

        def step(done, _):
            return done + 1, self._one_step(iterator)

        # The step is traced once, as the loop's body: the metrics start as zeros.
        _, metrics = tf.while_loop(going, step, (tf.zeros([], tf.int64), self._halted_metrics()))
        return metrics

    def _halted_metrics(self) -> dict[str, tf.Tensor]:
        metrics = {name: tf.zeros([]) for name in self._metric_names}
        metrics["nonfinite_updates"] = self.nonfinite_updates.value()
        return metrics

    def _one_step(self, iterator) -> dict[str, tf.Tensor]:
        """One generator update and ``n_critic`` discriminator updates.

        Each discriminator update takes its own real batch from ``iterator``; the
        generator update takes the step's first (its batch size, and for a relativistic
        loss D's outputs on it). Returns the metrics of the last discriminator update and
        of the generator update.
        """
        reals = [next(iterator) for _ in range(self._n_critic)]
        return self._step_on(*reals)

    def _step_on_batches(self, *reals: tf.Tensor) -> dict[str, tf.Tensor]:
        """``_one_step`` on its real batches, one per discriminator update."""
        if self._lr_decay_steps:
            step = tf.cast(self.step, tf.float32)
            factor = tf.maximum(0.0, 1.0 - step / float(self._lr_decay_steps))
            g_lr, d_lr = self._base_learning_rates
            self.set_learning_rates(g_lr=g_lr * factor, d_lr=d_lr * factor)
        real = reals[0]
        nonfinite_before = self.nonfinite_updates.value()
        # Counts D updates over the run, for the lazy penalties: a function of the
        # checkpointed step, so a resumed run applies them on the same updates.
        first_d_update = self.step * self._n_critic
        if self._updates == "simultaneous":
            d_metrics, g_metrics = self.simultaneous_update(real, first_d_update)
        elif self._updates == "reuse_fakes":
            d_metrics, g_metrics = self.reuse_fakes_update(real, first_d_update)
        else:
            if self._g_first:
                g_metrics = self.generator_update(real)
            # Unrolled: n_critic is small and static, and each update's collectives then
            # have a place of their own in the graph (checked with two workers, n_critic 3).
            for i, batch in enumerate(reals):
                d_metrics = self.discriminator_update(batch, first_d_update + i)
            if not self._g_first:
                g_metrics = self.generator_update(real)
        self.step.assign_add(1)
        if self.generator_ema is not None:
            self.ema_update()
        if not self._skip_nonfinite:
            self.halted.assign(self.nonfinite_updates > nonfinite_before)
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

        Args:
            real: the iterator's batch (global, or this replica's with per-replica input).
            d_update: the update's number in the run.

        Returns:
            Scalar metrics, averaged over the global batch.
        """
        d_update = tf.cast(d_update, tf.int64)
        saved_state = self._saved_state()
        gradients, values = self.strategy.run(self._discriminator_gradients, (real, d_update))
        return self._apply_discriminator(gradients, values, d_update, saved_state)

    def _discriminator_gradients(self, real: tf.Tensor, d_update: tf.Tensor):
        """The replica's part of a D update: its gradients and its metrics, stacked."""
        real = self._local(real)
        fake = self.generator(self._noise(tf.shape(real)[0]), training=True)
        return self._critic_gradients(real, fake, d_update)

    def _critic_gradients(self, real: tf.Tensor, fake: tf.Tensor, d_update: tf.Tensor):
        """D's gradients on this replica's real and fake batches, summed over replicas,
        and its metrics, averaged."""
        spectral.power_iterate(self.discriminator)
        real, fake = self._d_inputs(real), self._d_inputs(fake)  # [B / pack, ...]
        with tf.GradientTape() as tape:
            critic = self._critic_losses(real, fake, d_update)
            scaled_loss = _average(critic.per_example) * _loss_scale(self.d_optimizer)
        gradients = tape.gradient(scaled_loss, self.discriminator.trainable_variables)
        return self._reduce_critic(gradients, critic)

    def _critic_losses(self, real: tf.Tensor, fake: tf.Tensor, d_update: tf.Tensor) -> _Critic:
        """D's forward passes on D-ready real and fake batches, its loss and penalties."""
        objective = self.objective

        def critic(x):
            return self.discriminator(x, training=True)

        real_out = critic(real)  # [B / pack, 1]
        fake_out = critic(fake)  # [B / pack, 1]
        real_loss, fake_loss = objective.discriminator_loss(real_out, fake_out)  # [B / pack]
        per_example = real_loss + fake_loss
        penalties = []
        for penalty in objective.penalties:  # unrolled when traced: a static choice
            values = self._penalty(penalty, critic, real, fake, d_update)
            per_example += penalty.weight * penalty.every * values
            penalties.append(_mean(values))
        return _Critic(real_out, fake_out, real_loss, fake_loss, per_example, penalties)

    def _reduce_critic(self, gradients: list[tf.Tensor], critic: _Critic):
        """D's gradients summed over replicas, and its metrics averaged, stacked."""
        real_out = tf.cast(tf.reshape(critic.real_out, [-1]), tf.float32)
        fake_out = tf.cast(tf.reshape(critic.fake_out, [-1]), tf.float32)
        extra = self.objective.d_metrics(real_out, fake_out)
        values = [
            _mean(critic.per_example),
            _mean(critic.real_loss),
            _mean(critic.fake_loss),
            tf.reduce_mean(real_out),
            tf.reduce_mean(fake_out),
            *critic.penalties,
            *(extra[name] for name in sorted(extra)),
        ]
        return _sum_and_mean(
            gradients, [tf.cast(v, tf.float32) for v in values], _loss_scale(self.d_optimizer)
        )

    def _apply_discriminator(self, gradients, values, d_update, saved_state):
        """Applies a D update's summed gradients (cross-replica context); its metrics."""
        metrics = self._mean_over_replicas(values, self._d_metric_names)
        clip_value = self.objective.clip_value
        variables = self.discriminator.trainable_variables

        def clip():
            if clip_value:
                losses.clip_weights(variables, clip_value)

        metrics.update(self._apply("d", variables, gradients, metrics["d_loss"], saved_state, clip))
        for name, (every, lazy) in self._lazy_penalties.items():
            computed = tf.equal(d_update % every, 0)
            lazy.assign(tf.where(computed, metrics[name], lazy))
            metrics[name] = lazy.value()
        return metrics

    def _penalty(self, penalty, critic, real, fake, d_update) -> tf.Tensor:
        """The penalty's per-example values on this update; zeros where a lazy one rests."""

        def compute():
            # Under float16 the inner gradient is scaled like the outer one (no underflow).
            scale = _loss_scale(self.d_optimizer)
            return penalty.function(critic, real, fake, self._random, inner_scale=scale)

        if penalty.every == 1:
            return compute()

        def rest():
            return tf.zeros(tf.shape(real)[:1], tf.float32)

        return tf.cond(tf.equal(d_update % penalty.every, 0), compute, rest)

    def generator_update(self, real: tf.Tensor) -> dict[str, tf.Tensor]:
        """One update of G on a fresh noise batch the size of ``real``, through D in training
        mode; a relativistic loss also reads D's outputs on ``real``."""
        saved_state = self._saved_state()
        gradients, values = self.strategy.run(self._generator_gradients, (real,))
        return self._apply_generator(gradients, values, saved_state)

    def _generator_gradients(self, real: tf.Tensor):
        """The replica's part of a G update: its gradients and its loss."""
        real = self._local(real)
        noise = self._noise(tf.shape(real)[0])
        with tf.GradientTape() as tape:
            fake_out = self.discriminator(
                self._d_inputs(self.generator(noise, training=True)), training=True
            )
            per_example = self._generator_loss(fake_out, real)
            scaled_loss = _average(per_example) * _loss_scale(self.g_optimizer)
        return self._reduce_generator(
            tape.gradient(scaled_loss, self.generator.trainable_variables), per_example
        )

    def _generator_loss(self, fake_out: tf.Tensor, real: tf.Tensor, real_out=None) -> tf.Tensor:
        """G's per-example loss from D's outputs on its fakes; a relativistic loss also
        needs D's outputs on ``real`` (computed here unless given)."""
        if not self.objective.generator_needs_real:
            return self.objective.generator_loss(fake_out)
        if real_out is None:
            real_out = self.discriminator(self._d_inputs(real), training=True)
        return self.objective.generator_loss(fake_out, real_out)

    def _reduce_generator(self, gradients: list[tf.Tensor], per_example: tf.Tensor):
        """G's gradients summed over replicas, and its loss averaged."""
        return _sum_and_mean(gradients, [_mean(per_example)], _loss_scale(self.g_optimizer))

    def _apply_generator(self, gradients, values, saved_state) -> dict[str, tf.Tensor]:
        """Applies a G update's summed gradients (cross-replica context); its metrics."""
        metrics = self._mean_over_replicas(values, ["g_loss"])
        variables = self.generator.trainable_variables
        metrics.update(self._apply("g", variables, gradients, metrics["g_loss"], saved_state))
        return metrics

    def simultaneous_update(self, real: tf.Tensor, d_update: tf.Tensor | int = 0):
        """D's and G's updates from one forward pass of each net (``updates="simultaneous"``).

        G's gradient goes through D before D's update, as in the TF DCGAN tutorial. D's
        update draws the same numbers as ``discriminator_update`` and equals it.

        Returns:
            D's metrics and G's metrics.
        """
        d_update = tf.cast(d_update, tf.int64)
        # Both updates come from one forward of each net: a skipped one restores its own
        # network's state only, as it was when the step began.
        d_saved = self._saved_state(self.discriminator)
        g_saved = self._saved_state(self.generator)
        d_part, g_part = self.strategy.run(self._simultaneous_gradients, (real, d_update))
        d_metrics = self._apply_discriminator(*d_part, d_update, d_saved)
        return d_metrics, self._apply_generator(*g_part, g_saved)

    def _simultaneous_gradients(self, real: tf.Tensor, d_update: tf.Tensor):
        real = self._local(real)
        noise = self._noise(tf.shape(real)[0])
        spectral.power_iterate(self.discriminator)
        with tf.GradientTape() as g_tape:
            fake = self.generator(noise, training=True)
            real_in, fake_in = self._d_inputs(real), self._d_inputs(fake)
            with tf.GradientTape() as d_tape:
                critic = self._critic_losses(real_in, fake_in, d_update)
                d_scaled = _average(critic.per_example) * _loss_scale(self.d_optimizer)
            g_per_example = self._generator_loss(critic.fake_out, real, critic.real_out)
            g_scaled = _average(g_per_example) * _loss_scale(self.g_optimizer)
        d_gradients = d_tape.gradient(d_scaled, self.discriminator.trainable_variables)
        g_gradients = g_tape.gradient(g_scaled, self.generator.trainable_variables)
        return (
            self._reduce_critic(d_gradients, critic),
            self._reduce_generator(g_gradients, g_per_example),
        )

    def reuse_fakes_update(self, real: tf.Tensor, d_update: tf.Tensor | int = 0):
        """D's update, then G's through the same fake batch (``updates="reuse_fakes"``).

        G's forward runs once, recorded by G's tape; D updates on its output as in
        ``discriminator_update`` (the same draws, the same update); G's gradient then goes
        through the updated D and back through that recorded forward, as the PyTorch
        DCGAN example does. One replica only: D's update is applied between the two,
        from a ``merge_call`` (the replica's own context on one device).

        Returns:
            D's metrics and G's metrics.
        """
        d_update = tf.cast(d_update, tf.int64)
        # The one G forward serves both updates: a skipped one restores its own network's
        # state only, as it was when the step began.
        d_saved = self._saved_state(self.discriminator)
        g_saved = self._saved_state(self.generator)

        def apply_discriminator(strategy, gradients, values):
            del strategy  # the trainer's
            return self._apply_discriminator(gradients, values, d_update, d_saved)

        def replica_step(real):
            real = self._local(real)
            noise = self._noise(tf.shape(real)[0])
            with tf.GradientTape() as g_tape:
                fake = self.generator(noise, training=True)
            d_gradients, d_values = self._critic_gradients(real, fake, d_update)
            d_metrics = tf.distribute.get_replica_context().merge_call(
                apply_discriminator, args=(d_gradients, d_values)
            )
            with g_tape:  # continues G's tape: D's update is not on it
                fake_out = self.discriminator(self._d_inputs(fake), training=True)
                per_example = self._generator_loss(fake_out, real)
                scaled_loss = _average(per_example) * _loss_scale(self.g_optimizer)
            g_gradients = g_tape.gradient(scaled_loss, self.generator.trainable_variables)
            return d_metrics, self._reduce_generator(g_gradients, per_example)

        d_metrics, g_part = self.strategy.run(replica_step, (real,))
        d_metrics = {
            name: self.strategy.experimental_local_results(value)[0]
            for name, value in d_metrics.items()
        }
        return d_metrics, self._apply_generator(*g_part, g_saved)

    def _mean_over_replicas(self, values, names: list[str]) -> dict[str, tf.Tensor]:
        """The metric vector every replica holds (already averaged), unstacked by name."""
        mean = self.strategy.experimental_local_results(values)[0]
        return dict(zip(names, tf.unstack(mean, num=len(names)), strict=True))

    def _apply(
        self, net: str, variables, gradients, loss, saved_state, after=None
    ) -> dict[str, tf.Tensor]:
        """Applies the replicas' summed gradients to ``net`` ("d" or "g") unless the update
        is non-finite.

        Runs in cross-replica context: the finite test reads the summed gradients, so
        every replica takes the same decision, and ``after`` (weight clipping) writes
        every copy alike. With ``skip_nonfinite`` a non-finite update leaves no trace:
        the optimizer does not run (moments and iteration count included) and the
        moving statistics the forward passes touched are rolled back to
        ``saved_state``. Otherwise the update is applied and the caller stops the run on
        the count.

        Under a loss scale (float16) the optimizer is a ``LossScaleOptimizer`` whose scale
        this method keeps, as Keras's own ``apply`` would but on the summed gradients: a
        non-finite update is skipped and halves the scale, and counts as non-finite only
        once the scale is down to 1; ``dynamic_growth_steps`` good updates double it.

        Returns:
            ``{net}_grad_norm``, the global norm of the summed (unscaled) gradients, and
            under float16 ``{net}_loss_scale``, the scale after this update.
        """
        optimizer = self.d_optimizer if net == "d" else self.g_optimizer
        gradients = [replicas.as_mirrored(g) for g in gradients]
        local = [self.strategy.experimental_local_results(g)[0] for g in gradients]
        norm = tf.linalg.global_norm(local)
        finite = tf.math.is_finite(loss) & tf.math.is_finite(norm)
        scaled = _is_scaled(optimizer)
        # The Keras wrapper applies only in replica context; its inner optimizer applies
        # the unscaled gradients here.
        apply_with = optimizer.inner_optimizer if scaled else optimizer

        def update():
            # In cross-replica context the optimizer sums nothing: each copy of a
            # variable takes its replica's (identical) summed gradient.
            apply_with.apply(gradients, variables)
            if after is not None:
                after()

        if self._skip_nonfinite or scaled:

            def apply():
                update()
                return tf.constant(True)  # cond needs matching outputs from both branches

            def skip():
                for variable, value in saved_state or ():
                    variable.assign(value)
                return tf.constant(False)

            tf.cond(finite, apply, skip)
        else:
            update()
        metrics = {f"{net}_grad_norm": norm}
        counted = tf.logical_not(finite)
        if scaled:
            # An overflow (of the loss, a penalty's inner gradient or a gradient) only
            # moves the scale; once the scale is down to 1 no overflow is left to blame.
            counted &= optimizer.dynamic_scale <= 1.0
            _update_loss_scale(optimizer, finite)
            metrics[f"{net}_loss_scale"] = tf.identity(optimizer.dynamic_scale)
        self.nonfinite_updates.assign_add(tf.cast(counted, tf.int64))
        return metrics

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

    def _saved_state(self, *models: keras.Model) -> list[tuple[tf.Variable, tf.Tensor]] | None:
        """What a skipped update restores (skip mode only): ``(variable, value)`` for the
        variables a forward pass in training mode changes (batch-norm moving statistics,
        spectral-normalization vectors) of ``models``, G and D when none is given."""
        if not self._skip_nonfinite:
            return None
        models = models or (self.generator, self.discriminator)
        return [(v, tf.identity(v)) for model in models for v in model.non_trainable_variables]


class _Critic(NamedTuple):
    """D's forward passes and loss terms in one update (per example unless said)."""

    real_out: tf.Tensor  # [B / pack, 1]
    fake_out: tf.Tensor  # [B / pack, 1]
    real_loss: tf.Tensor
    fake_loss: tf.Tensor
    per_example: tf.Tensor  # the total: real, fake and weighted penalties
    penalties: list[tf.Tensor]  # each penalty's mean, in the objective's order


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
    # The loss a replica differentiates: its sum divided by the global batch, so the
    # replicas' gradients add up to the gradient of the global mean.
    return tf.nn.compute_average_loss(tf.cast(per_example, tf.float32))


def _sum_and_mean(gradients: list[tf.Tensor], metrics: list[tf.Tensor], loss_scale):
    """The gradients summed (and unscaled) and the metrics averaged over all replicas."""
    gradients, metrics = replicas.sum_and_mean(gradients, tf.stack(metrics))
    if not isinstance(loss_scale, float):
        gradients = [g / loss_scale for g in gradients]  # float32 variables: float32 grads
    return gradients, metrics


def _is_scaled(optimizer) -> bool:
    """Whether ``optimizer``'s network trains with a float16 loss scale."""
    return isinstance(optimizer, keras.optimizers.LossScaleOptimizer)


def _loss_scale(optimizer) -> tf.Variable | float:
    """The float16 loss scale of ``optimizer``'s network: its dynamic scale, or 1.0."""
    return optimizer.dynamic_scale if _is_scaled(optimizer) else 1.0


def _update_loss_scale(optimizer: keras.optimizers.LossScaleOptimizer, finite: tf.Tensor):
    """Halves the scale after an overflow; doubles it after ``dynamic_growth_steps`` good
    updates in a row (Keras's policy)."""
    count = optimizer.step_counter + 1
    grow = finite & (count >= optimizer.dynamic_growth_steps)
    factor = tf.where(finite, tf.where(grow, 2.0, 1.0), 0.5)
    optimizer.dynamic_scale.assign(optimizer.dynamic_scale * factor)
    optimizer.step_counter.assign(tf.where(finite & ~grow, count, tf.zeros_like(count)))


def _mean(per_example: tf.Tensor) -> tf.Tensor:
    # A metric: the replica's own mean (averaged over replicas afterwards).
    return tf.reduce_mean(tf.cast(per_example, tf.float32))
