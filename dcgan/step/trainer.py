"""The compiled step: a run's state, its update schedule, and the loop over steps.

``Trainer.train_step`` is the only graph code of a run. What the run optimizes comes in
as one ``dcgan.gan.objective.Objective``; the trainer adds how to step (n_critic, the
train order and the schedule, the non-finite policy, the weight average of G, the
learning-rate decay). Every choice is bound when the trainer is built, so the step traces
once per run. The eager loop around it (``dcgan.run.loop``) does all I/O;
``dcgan.run.builder`` builds the trainer from a ``Config``.

The pieces: ``state`` (the variables a checkpoint holds), ``gradients`` (each replica's
forward passes, losses and gradients), ``apply`` (applying summed gradients), ``updates``
(one D or G update under the strategy), ``schedules`` (the order of a step's updates).
"""

from __future__ import annotations

import keras
import tensorflow as tf

from dcgan.gan.conditioning import Conditioning
from dcgan.gan.noise import NoiseDistribution
from dcgan.gan.objective import Objective
from dcgan.step import choices, schedules
from dcgan.step.gradients import Gradients
from dcgan.step.state import TrainState
from dcgan.step.updates import Updates


class Trainer(TrainState):
    """A GAN run's state, updated one generator step at a time by ``train_step``.

    The state (``TrainState``) holds what a checkpoint needs. The last values of lazy
    penalties are metrics only: a resumed run reports 0 for one until it next computes it.
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
        conditioning: Conditioning | None = None,
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
                after every step, to sample with.
            seed: seeds ``noise_rng`` and the fixed noise.
            num_fixed_samples: examples in ``fixed_noise``.
            pack: D judges packs of this many samples, concatenated along the last axis
                (PacGAN); D's input is ``pack`` samples wide. Must divide every batch.
            diff_augment: names of ``dcgan.gan.choices.AUGMENTATIONS`` applied to every
                batch D sees, real and fake, in D's and G's updates (images only).
            lr_decay_steps: > 0: both learning rates decay linearly from the optimizers'
                rates to 0 at this step, set inside the compiled step from ``step``.
            strategy: the ``tf.distribute`` strategy whose scope built the networks and
                optimizers; None: the default (one device). The trainer's own variables
                are created in its scope.
            per_replica_input: the iterator yields each replica its own share of the
                global batch (a distributed dataset); otherwise it yields global batches
                and each replica takes its rows.
            updates: how the step's updates share forward passes, a name of
                ``dcgan.step.schedules.SCHEDULES``.
            jit_compile: compile the step's computation with XLA (one replica only; the
                batches are still pulled outside it).
            conditioning: how G and D take classes (``dcgan.gan.conditioning``); with
                one, the iterator yields ``(images, labels)`` and G takes ``[z, label]``.

        Raises:
            ValueError: for an invalid option or combination (``dcgan.step.choices``),
                or jit_compile or "reuse_fakes" on more than one replica.
        """
        choices.G_EMA_DECAY.check("g_ema_decay", g_ema_decay)
        choices.PACK.check("pack", pack)
        choices.LR_DECAY_STEPS.check("lr_decay_steps", lr_decay_steps)
        self._schedule = schedules.build(updates, n_critic=n_critic, train_order=train_order)
        self.strategy = strategy or tf.distribute.get_strategy()
        replicas_in_sync = self.strategy.num_replicas_in_sync
        if jit_compile and replicas_in_sync > 1:
            raise ValueError(f"jit_compile=True needs one replica, not {replicas_in_sync}")
        if updates == "reuse_fakes" and replicas_in_sync > 1:
            # D's update would have to be applied from a merge_call inside the replicas,
            # where Keras's optimizer asks for a replica context that is not there.
            raise ValueError(f"updates='reuse_fakes' needs one replica, not {replicas_in_sync}")
        self.objective = objective
        self.pack = pack
        self._n_critic = n_critic
        self._skip_nonfinite = skip_nonfinite
        self._lr_decay_steps = lr_decay_steps
        # The rates the decay starts from: the optimizers' as built (from this run's
        # flags), not the decayed values a restore brings back.
        self._base_learning_rates = {
            "g_lr": float(g_optimizer.learning_rate.numpy()),
            "d_lr": float(d_optimizer.learning_rate.numpy()),
        }
        with self.strategy.scope():
            super().__init__(
                generator=generator,
                discriminator=discriminator,
                g_optimizer=g_optimizer,
                d_optimizer=d_optimizer,
                noise=noise,
                seed=seed,
                num_fixed_samples=num_fixed_samples,
                g_ema_decay=g_ema_decay,
            )
            self.gradients = Gradients(
                self,
                objective=objective,
                noise=noise,
                pack=pack,
                diff_augment=diff_augment,
                per_replica_input=per_replica_input,
                conditioning=conditioning,
            )
            self.updates = Updates(
                self, self.gradients, strategy=self.strategy, skip_nonfinite=skip_nonfinite
            )
        # Everything ``_one_step`` returns, in its order.
        # The metrics a step returns: what the log and the scalar summaries show.
        self.metric_names = [*self.updates.metric_names, "nonfinite_updates"]
        # Every branch and loop of the step is explicit (tf.cond, tf.while_loop) or static
        # Python: no AutoGraph conversion to pay for when it is traced.
        self.train_step = tf.function(self._train_steps, autograph=False)
        # XLA compiles everything but the iterator, whose ops it cannot compile.
        self._step_on = self._step_on_batches
        if jit_compile:
            self._step_on = tf.function(self._step_on_batches, autograph=False, jit_compile=True)
        self.conditioning = self.gradients.conditioning
        self._generate_function = tf.function(
            self._generate,
            input_signature=[
                tf.TensorSpec([None, *self.noise.shape], tf.float32),
                tf.TensorSpec([None], tf.int32),
            ],
        )

    # The updates, for callers that step by hand (tests, benchmarks).
    def discriminator_update(self, real, d_update=0) -> dict[str, tf.Tensor]:
        """See ``Updates.discriminator_update``."""
        return self.updates.discriminator_update(real, d_update)

    def generator_update(self, real) -> dict[str, tf.Tensor]:
        """See ``Updates.generator_update``."""
        return self.updates.generator_update(real)

    def simultaneous_update(self, real, d_update=0):
        """See ``Updates.simultaneous_update``."""
        return self.updates.simultaneous_update(real, d_update)

    def reuse_fakes_update(self, real, d_update=0):
        """See ``Updates.reuse_fakes_update``."""
        return self.updates.reuse_fakes_update(real, d_update)

    def tracing_counts(self) -> dict[str, int]:
        """Traces of each compiled function so far: 1 each in a healthy run."""
        counts = {
            "train_step": self.train_step.experimental_get_tracing_count(),
            "generate": self._generate_function.experimental_get_tracing_count(),
        }
        if isinstance(self._step_on, tf.types.experimental.PolymorphicFunction):  # XLA's
            counts["xla_step"] = self._step_on.experimental_get_tracing_count()
        return counts

    def learning_rates(self, step: int | tf.Tensor) -> dict[str, tf.Tensor]:
        """``{"g_lr": …, "d_lr": …}`` used by the update at ``step``: the rates the
        optimizers were built with, falling linearly to 0 at ``lr_decay_steps``."""
        factor = 1.0
        if self._lr_decay_steps:
            done = tf.cast(step, tf.float32) / float(self._lr_decay_steps)
            factor = tf.maximum(0.0, 1.0 - done)
        return {name: rate * factor for name, rate in self._base_learning_rates.items()}

    def generate(self, noise: tf.Tensor, labels: tf.Tensor | None = None) -> tf.Tensor:
        """The sampling generator's images of ``noise`` in inference mode, one trace.

        Args:
            noise: ``[N, *noise.shape]``.
            labels: a conditional run's classes ``[N]``; None:
                ``conditioning.classes_in_turn(N)``, the classes in turn (the fixed-noise
                grid reads them in order). Ignored without conditioning.
        """
        if labels is None:
            labels = self.conditioning.classes_in_turn(int(noise.shape[0]))
        return self._generate_function(noise, tf.cast(labels, tf.int32))

    def _generate(self, noise: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        return self.conditioning.generate(self.sampling_generator, noise, labels, training=False)

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
        metrics = {name: tf.zeros([]) for name in self.metric_names}
        metrics["nonfinite_updates"] = self.nonfinite_updates.value()
        return metrics

    def _one_step(self, iterator) -> dict[str, tf.Tensor]:
        """One generator update and ``n_critic`` discriminator updates, each D update on
        its own real batch from ``iterator``."""
        reals = [next(iterator) for _ in range(self._n_critic)]
        return self._step_on(*reals)

    def _step_on_batches(self, *reals: tf.Tensor) -> dict[str, tf.Tensor]:
        """``_one_step`` on its real batches; the metrics of the last D update and of the
        G update."""
        if self._lr_decay_steps:
            self.set_learning_rates(**self.learning_rates(self.step))
        nonfinite_before = self.nonfinite_updates.value()
        # Counts D updates over the run, for the lazy penalties: a function of the
        # checkpointed step, so a resumed run applies them on the same updates.
        first_d_update = self.step * self._n_critic
        d_metrics, g_metrics = self._schedule(self.updates, list(reals), first_d_update)
        self.step.assign_add(1)
        if self.generator_ema is not None:
            self.update_ema()
        if not self._skip_nonfinite:
            self.halted.assign(self.nonfinite_updates > nonfinite_before)
        return {**d_metrics, **g_metrics, "nonfinite_updates": self.nonfinite_updates.value()}
