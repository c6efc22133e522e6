"""Each replica's part of an update: forward passes, losses, penalties, gradients.

Every method here runs inside ``strategy.run``, on the replica's share of the global
batch: D sees real and fake data in separate forward passes, its loss is the sum of a
real and a fake part plus the weighted penalties, and each loss is divided by the global
batch (``tf.nn.compute_average_loss``) so that the replicas' gradients add up to the
gradient of the global mean. The gradients leave summed over the replicas and the
metrics averaged; ``dcgan.step.apply`` applies them.
"""

from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf

from dcgan.distribute import replicas
from dcgan.gan import augment, spectral
from dcgan.gan.conditioning import Conditioning
from dcgan.gan.noise import NoiseDistribution
from dcgan.gan.objective import Objective, Penalty
from dcgan.step.apply import loss_scale
from dcgan.step.state import TrainState


class Critic(NamedTuple):
    """D's forward passes and loss terms in one update (per example unless said)."""

    real_out: tf.Tensor  # [B / pack, 1]
    fake_out: tf.Tensor  # [B / pack, 1]
    real_loss: tf.Tensor
    fake_loss: tf.Tensor
    per_example: tf.Tensor  # the total: real, fake, weighted penalties and class loss
    penalties: list[tf.Tensor]  # each penalty's mean, in the objective's order
    fake_class: tf.Tensor | None  # ACGAN: D's class logits of the fakes [B, K]
    class_loss: tf.Tensor | None  # ACGAN: the mean of D's weighted class loss


class Gradients:
    """D's and G's gradients and metrics on one replica, for the state's networks."""

    def __init__(
        self,
        state: TrainState,
        *,
        objective: Objective,
        noise: NoiseDistribution,
        pack: int,
        diff_augment: tuple[str, ...],
        per_replica_input: bool,
        conditioning: Conditioning | None = None,
    ):
        """Args:
        state: the networks, optimizers (for their loss scales) and ``noise_rng``.
        objective: the losses and penalties.
        noise: the distribution of z.
        pack: D judges packs of this many samples (PacGAN).
        diff_augment: the augmentations of every batch D sees.
        per_replica_input: the iterator yields each replica its own share of the batch.
        conditioning: how G and D take classes; with one, each batch of the iterator is
            ``(images, labels)``, and the fakes of a batch are of its labels.
        """
        self.state = state
        self.objective = objective
        self.noise = noise
        self.pack = pack
        self.diff_augment = tuple(diff_augment)
        self.per_replica_input = per_replica_input
        self.conditioning = conditioning or Conditioning()
        self.acgan = self.conditioning.kind == "acgan"
        # Every draw of the step goes through it: the same numbers on any replica count.
        self.random = replicas.ReplicaRandom(state.noise_rng)
        probe = tf.zeros([1])
        # The metrics ``reduce_critic`` returns, in its order.
        self.d_metric_names = [
            *("d_loss", "d_loss_real", "d_loss_fake", "d_output_real", "d_output_fake"),
            *(penalty.name for penalty in objective.penalties),
            *(["d_class_loss"] if self.acgan else []),
            *sorted(objective.d_metrics(probe, probe)),
        ]

    def local(self, real):
        """This replica's share of a batch from the iterator (labels included)."""
        if self.per_replica_input:
            return real
        return tf.nest.map_structure(replicas.local_rows, real)

    def split(self, real) -> tuple[tf.Tensor, tf.Tensor | None]:
        """A batch's images and, in a conditional run, their labels (else None)."""
        return real if self.conditioning.labeled else (real, None)

    def generate(self, noise: tf.Tensor, labels: tf.Tensor | None) -> tf.Tensor:
        """G's samples in training mode (of ``labels``, in a conditional run)."""
        return self.conditioning.generate(self.state.generator, noise, labels, training=True)

    def judge(self, samples: tf.Tensor, labels: tf.Tensor | None):
        """D's ``(logits, class logits or None)`` on D-ready ``samples`` in training mode."""
        return self.conditioning.judge(self.state.discriminator, samples, labels, training=True)

    def noise_batch(self, batch_size: tf.Tensor) -> tf.Tensor:
        return self.noise.sample(batch_size, rng=self.random)  # [B, *noise.shape]

    def d_inputs(self, samples: tf.Tensor) -> tf.Tensor:
        """A batch as D sees it: augmented (``diff_augment``), then packed (``pack``)."""
        if self.diff_augment:
            samples = augment.diff_augment(samples, self.diff_augment, self.random)
        return pack_samples(samples, self.pack)

    def discriminator(self, real: tf.Tensor, d_update: tf.Tensor):
        """A D update's gradients on the replica's real batch and a fresh fake batch."""
        real, labels = self.split(self.local(real))
        fake = self.generate(self.noise_batch(tf.shape(real)[0]), labels)
        return self.critic(real, fake, d_update, labels)

    def critic(self, real: tf.Tensor, fake: tf.Tensor, d_update: tf.Tensor, labels=None):
        """D's gradients on this replica's real and fake batches, summed over replicas,
        and its metrics, averaged.

        With spectral normalization, one power iteration comes first, so every pass of
        the update (penalties included) divides by the same sigma.
        """
        spectral.power_iterate(self.state.discriminator)
        real, fake = self.d_inputs(real), self.d_inputs(fake)  # [B / pack, ...]
        with tf.GradientTape() as tape:
            critic = self.critic_losses(real, fake, d_update, labels)
            scaled_loss = average(critic.per_example) * loss_scale(self.state.d_optimizer)
        gradients = tape.gradient(scaled_loss, self.state.discriminator.trainable_variables)
        return self.reduce_critic(gradients, critic)

    def critic_losses(
        self, real: tf.Tensor, fake: tf.Tensor, d_update: tf.Tensor, labels=None
    ) -> Critic:
        """D's forward passes on D-ready real and fake batches (both of ``labels`` in a
        conditional run), its loss, penalties and ACGAN class loss."""

        def critic(x):  # the logit alone: what the penalties differentiate
            return self.judge(x, labels)[0]

        real_out, real_class = self.judge(real, labels)  # [B / pack, 1], [B, K] or None
        fake_out, fake_class = self.judge(fake, labels)
        real_loss, fake_loss = self.objective.discriminator_loss(real_out, fake_out)
        per_example = real_loss + fake_loss  # [B / pack]
        penalties = []
        for penalty in self.objective.penalties:  # unrolled when traced: a static choice
            values = self._penalty(penalty, critic, real, fake, d_update)
            per_example += penalty.weight * penalty.every * values
            penalties.append(mean(values))
        class_loss = None
        if self.acgan:  # D classifies real and generated images (Odena et al. 2017)
            values = self.conditioning.class_loss(real_class, labels)
            values += self.conditioning.class_loss(fake_class, labels)
            per_example += values
            class_loss = mean(values)
        return Critic(
            real_out, fake_out, real_loss, fake_loss, per_example, penalties, fake_class, class_loss
        )

    def _penalty(self, penalty: Penalty, critic, real, fake, d_update) -> tf.Tensor:
        """The penalty's per-example values on this update; zeros where a lazy one rests."""

        def compute():
            # Under float16 the inner gradient is scaled like the outer one (no underflow).
            scale = loss_scale(self.state.d_optimizer)
            return penalty.function(critic, real, fake, self.random, inner_scale=scale)

        if penalty.every == 1:
            return compute()

        def rest():
            return tf.zeros(tf.shape(real)[:1], tf.float32)

        return tf.cond(tf.equal(d_update % penalty.every, 0), compute, rest)

    def reduce_critic(self, gradients: list[tf.Tensor], critic: Critic):
        """D's gradients summed over replicas, and its metrics (``d_metric_names``)
        averaged, stacked."""
        real_out = tf.cast(tf.reshape(critic.real_out, [-1]), tf.float32)
        fake_out = tf.cast(tf.reshape(critic.fake_out, [-1]), tf.float32)
        extra = self.objective.d_metrics(real_out, fake_out)
        values = [
            mean(critic.per_example),
            mean(critic.real_loss),
            mean(critic.fake_loss),
            tf.reduce_mean(real_out),
            tf.reduce_mean(fake_out),
            *critic.penalties,
            *([critic.class_loss] if self.acgan else []),
            *(extra[name] for name in sorted(extra)),
        ]
        return sum_and_mean(
            gradients,
            [tf.cast(v, tf.float32) for v in values],
            loss_scale(self.state.d_optimizer),
        )

    def generator(self, real: tf.Tensor):
        """A G update's gradients and loss, on fresh noise the size of the real batch.

        A spectrally normalized G gets one power iteration first (nothing happens to a G
        without spectral layers).
        """
        spectral.power_iterate(self.state.generator)
        real, labels = self.split(self.local(real))
        noise = self.noise_batch(tf.shape(real)[0])
        with tf.GradientTape() as tape:
            fake_out, fake_class = self.judge(self.d_inputs(self.generate(noise, labels)), labels)
            per_example = self.generator_loss(fake_out, real, labels, fake_class=fake_class)
            scaled_loss = average(per_example) * loss_scale(self.state.g_optimizer)
        gradients = tape.gradient(scaled_loss, self.state.generator.trainable_variables)
        return self.reduce_generator(gradients, per_example)

    def generator_loss(
        self, fake_out: tf.Tensor, real: tf.Tensor, labels=None, real_out=None, fake_class=None
    ) -> tf.Tensor:
        """G's per-example loss from D's outputs on its fakes; a relativistic loss also
        needs D's outputs on ``real`` (computed here unless given), and ACGAN adds the
        class loss of D's class logits on the fakes, ``fake_class``."""
        if not self.objective.generator_needs_real:
            loss = self.objective.generator_loss(fake_out)
        else:
            if real_out is None:
                real_out = self.judge(self.d_inputs(real), labels)[0]
            loss = self.objective.generator_loss(fake_out, real_out)
        if self.acgan:
            loss += self.conditioning.class_loss(fake_class, labels)
        return loss

    def reduce_generator(self, gradients: list[tf.Tensor], per_example: tf.Tensor):
        """G's gradients summed over replicas, and its loss averaged."""
        return sum_and_mean(gradients, [mean(per_example)], loss_scale(self.state.g_optimizer))

    def simultaneous(self, real: tf.Tensor, d_update: tf.Tensor):
        """D's and G's gradients from one forward pass of each net; G's go through D as
        it was before this step's update."""
        state = self.state
        real, labels = self.split(self.local(real))
        noise = self.noise_batch(tf.shape(real)[0])
        spectral.power_iterate(state.discriminator)
        spectral.power_iterate(state.generator)
        with tf.GradientTape() as g_tape:
            fake = self.generate(noise, labels)
            real_in, fake_in = self.d_inputs(real), self.d_inputs(fake)
            with tf.GradientTape() as d_tape:
                critic = self.critic_losses(real_in, fake_in, d_update, labels)
                d_scaled = average(critic.per_example) * loss_scale(state.d_optimizer)
            g_per_example = self.generator_loss(
                critic.fake_out, real, labels, critic.real_out, critic.fake_class
            )
            g_scaled = average(g_per_example) * loss_scale(state.g_optimizer)
        d_gradients = d_tape.gradient(d_scaled, state.discriminator.trainable_variables)
        g_gradients = g_tape.gradient(g_scaled, state.generator.trainable_variables)
        return (
            self.reduce_critic(d_gradients, critic),
            self.reduce_generator(g_gradients, g_per_example),
        )


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


def average(per_example: tf.Tensor) -> tf.Tensor:
    """The loss a replica differentiates: its sum divided by the global batch, so the
    replicas' gradients add up to the gradient of the global mean."""
    return tf.nn.compute_average_loss(tf.cast(per_example, tf.float32))


def mean(per_example: tf.Tensor) -> tf.Tensor:
    """A metric: the replica's own mean (averaged over replicas afterwards)."""
    return tf.reduce_mean(tf.cast(per_example, tf.float32))


def sum_and_mean(gradients: list[tf.Tensor], metrics: list[tf.Tensor], scale):
    """The gradients summed (and unscaled) and the metrics averaged over all replicas."""
    gradients, metrics = replicas.sum_and_mean(gradients, tf.stack(metrics))
    if not isinstance(scale, float):
        gradients = [g / scale for g in gradients]  # float32 variables: float32 grads
    return gradients, metrics
