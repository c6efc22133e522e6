"""A peer recipe (``peers``) in training: its nets, optimizers, noise and clock.

The clock counts the time spent in training steps only (the batch's reading and the
first step's trace included, as a ``dcgan`` run's ``train_seconds`` does), so that
``dcgan.benchmarks.quality`` can stop a peer at the training time a recipe took.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import keras
import tensorflow as tf
from keras import layers

from dcgan.gan.noise import NoiseDistribution

if TYPE_CHECKING:
    from dcgan.benchmarks.peers import Peer


class PeerRun:
    """A peer recipe's networks, optimizers and training clock.

    Attributes:
        peer: the recipe.
        generator: G with its images in [-1, 1], as ``dcgan``'s evaluator takes them.
        noise: the distribution of its z.
        steps: G updates so far.
        seconds: time spent in training steps so far (data included, evaluation not).
    """

    def __init__(self, peer: Peer, *, image_size: int, channels: int, seed: int):
        keras.utils.set_random_seed(seed)
        self.peer = peer
        self.g, self.d = peer.networks(image_size, channels)
        self.g_optimizer, self.d_optimizer = peer.optimizers()
        self.rng = tf.random.Generator.from_seed(seed)
        self.noise = NoiseDistribution("normal", 1.0, (peer.latent_dim,))
        if peer.sigmoid:
            z = keras.Input((peer.latent_dim,))
            self.generator = keras.Model(z, layers.Rescaling(2.0, offset=-1.0)(self.g(z)))
        else:
            self.generator = self.g
        self._update = tf.function(lambda real: peer.update(self, real))
        self.steps = 0
        self.seconds = 0.0

    def z(self, count: tf.Tensor) -> tf.Tensor:
        return self.rng.normal([count, self.peer.latent_dim])

    def train(
        self,
        batches: Iterator[tf.Tensor],
        *,
        until_seconds: float,
        clock: Callable[[], float] = time.perf_counter,
    ) -> dict[str, float]:
        """Trains on ``batches`` ([N, H, W, C] in [-1, 1]) until ``seconds`` reaches
        ``until_seconds``; returns the last step's losses (empty if none ran)."""
        losses: dict[str, float] = {}
        while self.seconds < until_seconds:
            start = clock()
            real = next(batches)
            if self.peer.sigmoid:
                real = (real + 1.0) / 2.0
            # Waiting for the losses each step keeps the clock honest; it costs nothing
            # on a CPU, where the step runs synchronously anyway.
            losses = {name: float(value) for name, value in self._update(real).items()}
            self.seconds += clock() - start
            self.steps += 1
        return losses
