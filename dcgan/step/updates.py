"""One update of D, of G, or of both from shared forward passes, under any strategy.

An update asks every replica for its gradients (``strategy.run`` over
``dcgan.step.gradients``), which leave summed across the replicas, and applies them
once in cross-replica context (``dcgan.step.apply``). The schedules of
``dcgan.step.schedules`` call these in their order.
"""

from __future__ import annotations

import tensorflow as tf

from dcgan.gan import losses, spectral
from dcgan.step.apply import SavedState, apply_gradients, is_scaled, loss_scale, saved_state
from dcgan.step.gradients import Gradients, average
from dcgan.step.state import TrainState


class Updates:
    """D's and G's updates of one state, with the step's policy for non-finite ones."""

    def __init__(
        self,
        state: TrainState,
        gradients: Gradients,
        *,
        strategy: tf.distribute.Strategy,
        skip_nonfinite: bool,
    ):
        """Args:
        state: the networks and optimizers to update.
        gradients: the replicas' part of each update.
        strategy: the strategy whose scope holds the state.
        skip_nonfinite: skip an update whose loss or gradient is not finite, restoring
            the moving statistics its forward passes changed, instead of applying it.
        """
        self.state = state
        self.gradients = gradients
        self.strategy = strategy
        self.skip_nonfinite = skip_nonfinite
        objective = gradients.objective
        # Each lazy penalty's period and last value, reported between the updates that
        # compute it. Metrics only: not checkpointed.
        self._lazy_penalties = {
            p.name: (p.every, tf.Variable(0.0, trainable=False, name=p.name))
            for p in objective.penalties
            if p.every > 1
        }
        scaled = [
            f"{net}_loss_scale"
            for net, optimizer in (("d", state.d_optimizer), ("g", state.g_optimizer))
            if is_scaled(optimizer)
        ]
        # Everything a step's D and G updates return, in their order.
        self.metric_names = [
            *gradients.d_metric_names,
            "d_grad_norm",
            *("g_loss", "g_grad_norm"),
            *scaled,
        ]

    def discriminator_update(
        self, real: tf.Tensor, d_update: tf.Tensor | int = 0
    ) -> dict[str, tf.Tensor]:
        """One update of D on a real batch and a fresh fake batch of the same size.

        Args:
            real: the iterator's batch (global, or this replica's with per-replica input).
            d_update: the update's number in the run (from 0); a lazy penalty runs when
                its period divides it.

        Returns:
            Scalar metrics, averaged over the global batch.
        """
        d_update = tf.cast(d_update, tf.int64)
        saved = self._saved()
        part = self.strategy.run(self.gradients.discriminator, (real, d_update))
        return self._apply_discriminator(*part, d_update, saved)

    def generator_update(self, real: tf.Tensor) -> dict[str, tf.Tensor]:
        """One update of G on a fresh noise batch the size of ``real``, through D in
        training mode; a relativistic loss also reads D's outputs on ``real``."""
        saved = self._saved()
        part = self.strategy.run(self.gradients.generator, (real,))
        return self._apply_generator(*part, saved)

    def simultaneous_update(self, real: tf.Tensor, d_update: tf.Tensor | int = 0):
        """D's and G's updates from one forward pass of each net (``simultaneous``).

        G's gradient goes through D before D's update, as in the TF DCGAN tutorial. D's
        update draws the same numbers as ``discriminator_update`` and equals it.

        Returns:
            D's metrics and G's metrics.
        """
        d_update = tf.cast(d_update, tf.int64)
        # Both updates come from one forward of each net: a skipped one restores its own
        # network's state only, as it was when the step began.
        d_saved = self._saved(self.state.discriminator)
        g_saved = self._saved(self.state.generator)
        d_part, g_part = self.strategy.run(self.gradients.simultaneous, (real, d_update))
        d_metrics = self._apply_discriminator(*d_part, d_update, d_saved)
        return d_metrics, self._apply_generator(*g_part, g_saved)

    def reuse_fakes_update(self, real: tf.Tensor, d_update: tf.Tensor | int = 0):
        """D's update, then G's through the same fake batch (``reuse_fakes``).

        G's forward runs once, recorded by G's tape; D updates on its output as in
        ``discriminator_update`` (the same draws, the same update); G's gradient then goes
        through the updated D and back through that recorded forward, as the PyTorch
        DCGAN example does. One replica only: D's update is applied between the two,
        from a ``merge_call`` (the replica's own context on one device).

        Returns:
            D's metrics and G's metrics.
        """
        d_update = tf.cast(d_update, tf.int64)
        state, gradients = self.state, self.gradients
        # The one G forward serves both updates: a skipped one restores its own network's
        # state only, as it was when the step began.
        d_saved = self._saved(state.discriminator)
        g_saved = self._saved(state.generator)

        def apply_discriminator(strategy, d_gradients, d_values):
            del strategy  # self.strategy
            return self._apply_discriminator(d_gradients, d_values, d_update, d_saved)

        def replica_step(real):
            real, labels = gradients.split(gradients.local(real))
            noise = gradients.noise_batch(tf.shape(real)[0])
            spectral.power_iterate(state.generator)  # this G update's one iteration
            with tf.GradientTape() as g_tape:
                fake = gradients.generate(noise, labels)
            d_part = gradients.critic(real, fake, d_update, labels)
            d_metrics = tf.distribute.get_replica_context().merge_call(
                apply_discriminator, args=d_part
            )
            with g_tape:  # continues G's tape: D's update is not on it
                fake_out, fake_class = gradients.judge(gradients.d_inputs(fake), labels)
                per_example = gradients.generator_loss(
                    fake_out, real, labels, fake_class=fake_class
                )
                scaled_loss = average(per_example) * loss_scale(state.g_optimizer)
            g_gradients = g_tape.gradient(scaled_loss, state.generator.trainable_variables)
            return d_metrics, gradients.reduce_generator(g_gradients, per_example)

        d_metrics, g_part = self.strategy.run(replica_step, (real,))
        d_metrics = {
            name: self.strategy.experimental_local_results(value)[0]
            for name, value in d_metrics.items()
        }
        return d_metrics, self._apply_generator(*g_part, g_saved)

    def _apply_discriminator(self, gradients, values, d_update, saved) -> dict[str, tf.Tensor]:
        """Applies a D update's summed gradients (cross-replica context); its metrics."""
        metrics = self._mean_over_replicas(values, self.gradients.d_metric_names)
        clip_value = self.gradients.objective.clip_value
        variables = self.state.discriminator.trainable_variables

        def clip():
            if clip_value:
                losses.clip_weights(variables, clip_value)

        applied = self._apply(
            self.state.d_optimizer, variables, gradients, metrics["d_loss"], saved, clip
        )
        metrics.update({f"d_{name}": value for name, value in applied.items()})
        for name, (every, lazy) in self._lazy_penalties.items():
            computed = tf.equal(d_update % every, 0)
            lazy.assign(tf.where(computed, metrics[name], lazy))
            metrics[name] = lazy.value()
        return metrics

    def _apply_generator(self, gradients, values, saved) -> dict[str, tf.Tensor]:
        """Applies a G update's summed gradients (cross-replica context); its metrics."""
        metrics = self._mean_over_replicas(values, ["g_loss"])
        variables = self.state.generator.trainable_variables
        applied = self._apply(
            self.state.g_optimizer, variables, gradients, metrics["g_loss"], saved
        )
        metrics.update({f"g_{name}": value for name, value in applied.items()})
        return metrics

    def _apply(self, optimizer, variables, gradients, loss, saved, after=None):
        return apply_gradients(
            strategy=self.strategy,
            optimizer=optimizer,
            variables=variables,
            gradients=gradients,
            loss=loss,
            nonfinite_updates=self.state.nonfinite_updates,
            skip_nonfinite=self.skip_nonfinite,
            saved=saved,
            after=after,
        )

    def _mean_over_replicas(self, values, names: list[str]) -> dict[str, tf.Tensor]:
        """The metric vector every replica holds (already averaged), unstacked by name."""
        mean = self.strategy.experimental_local_results(values)[0]
        return dict(zip(names, tf.unstack(mean, num=len(names)), strict=True))

    def _saved(self, *models) -> SavedState | None:
        """What a skipped update restores (skip mode only): of ``models``, G and D when
        none is given."""
        if not self.skip_nonfinite:
            return None
        return saved_state(models or (self.state.generator, self.state.discriminator))
