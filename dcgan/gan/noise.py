"""The distribution G's input z is drawn from: its name, its scale, one example's shape.

One object, built from the run's config (``dcgan.run.builder.build_noise``), draws z for
training, the fixed sample grid, evaluation, sampling and export alike, so a generator
is always fed the noise it was trained on.
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from dcgan.gan.choices import NOISE_DISTRIBUTIONS


@dataclasses.dataclass(frozen=True)
class NoiseDistribution:
    """N(0, scale**2) or U(-scale, scale), elementwise, over examples of ``shape``.

    Attributes:
        name: "normal" or "uniform".
        scale: the normal's stddev or the uniform's half-width, > 0.
        shape: the shape of one example, e.g. ``(100,)`` or ``(4, 4, 4)``.
    """

    name: str = "normal"
    scale: float = 1.0
    shape: tuple[int, ...] = (100,)

    def __post_init__(self):
        if self.name not in NOISE_DISTRIBUTIONS:
            raise ValueError(
                f"noise distribution {self.name!r} is not one of {list(NOISE_DISTRIBUTIONS)}"
            )
        if not self.scale > 0:
            raise ValueError(f"noise scale={self.scale} must be > 0")
        object.__setattr__(self, "shape", tuple(self.shape))

    def sample(self, count, *, rng: tf.random.Generator | None = None, seed=None) -> tf.Tensor:
        """Draws ``count`` examples: float32 ``[count, *shape]``.

        Args:
            count: number of examples (an int or a scalar tensor).
            rng: the generator to draw from; advances its state.
            seed: a stateless ``[2]`` seed, used when ``rng`` is None: the same seed gives
                the same noise whatever else the run draws.
        """
        full = [count, *self.shape]
        if self.name == "normal":
            if rng is not None:
                return rng.normal(full, stddev=self.scale)
            return tf.random.stateless_normal(full, seed=seed, stddev=self.scale)
        if rng is not None:
            return rng.uniform(full, minval=-self.scale, maxval=self.scale)
        return tf.random.stateless_uniform(full, seed=seed, minval=-self.scale, maxval=self.scale)
