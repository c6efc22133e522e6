"""Reference steps the trainer is measured against, on the networks of a ``Config``.

- ``KerasTrainOnBatch``: the seeds' way (S1, S5 as first written): Keras
  ``train_on_batch`` calls on D and on a frozen-D combined model.
- ``plain_step``: the TensorFlow DCGAN tutorial's ``tf.function`` step: one G forward,
  D on real and on fake, two tapes, two optimizers.

Both take G and D from ``dcgan.run.builder.build_networks`` and the optimizers from the
Config's ``g_*`` and ``d_*`` fields, so only the way of stepping differs from the
trainer's. Both use the non-saturating loss (binary cross-entropy on D's logits).
"""

from __future__ import annotations

import numpy as np

from dcgan.config import Config


def _optimizers(config: Config):
    """G's and D's optimizers, as the trainer of ``config`` gets them."""
    from dcgan.run import builder

    return tuple(
        builder.build_optimizer(
            getattr(config, f"{net}_optimizer"),
            learning_rate=getattr(config, f"{net}_lr"),
            beta1=getattr(config, f"{net}_beta1"),
            beta2=getattr(config, f"{net}_beta2"),
        )
        for net in ("g", "d")
    )


class KerasTrainOnBatch:
    """The seeds' Keras loop: D compiled alone, and G then a frozen D compiled as one model.

    A step: fakes from ``G.predict_on_batch`` (S1's ``generator.predict``, for one
    batch), ``D.train_on_batch`` on the real batch with ones and on the fakes with zeros
    (separate passes: S1 saw batch norm break on mixed batches), then
    ``combined.train_on_batch`` on fresh noise with ones, which updates G alone.

    Keras 3 differs from the Keras 2 the seeds ran on: a model's ``trainable`` is read
    when its train function is first traced, not when it is compiled. The seeds' order
    (compile D, set ``D.trainable = False``, compile the combined model) would trace D's
    function frozen, and D would never learn ("The model does not have any trainable
    weights"). So each step sets ``D.trainable`` before each call, which is correct
    whenever Keras reads it. Frozen, D's batch norm uses its moving statistics inside
    the combined model (Keras 3, as tf.keras since TF 2.0), where the trainer's G update
    runs D in training mode; the cost is about the same.

    Attributes:
        generator, discriminator, combined: the three Keras models.
    """

    def __init__(self, config: Config):
        """Builds the networks of ``config`` (with its current Keras seed) and compiles them."""
        import keras

        from dcgan.run import builder

        self.generator, self.discriminator = builder.build_networks(config)
        g_optimizer, d_optimizer = _optimizers(config)
        bce = keras.losses.BinaryCrossentropy(from_logits=True)
        # jit_compile left at "auto": Keras resolves it to False on a CPU-only machine.
        self.discriminator.compile(optimizer=d_optimizer, loss=bce)
        self.discriminator.trainable = False
        z = keras.Input(config.latent_shape, name="z")
        self.combined = keras.Model(z, self.discriminator(self.generator(z)), name="combined")
        self.combined.compile(optimizer=g_optimizer, loss=bce)
        self._noise_shape = config.latent_shape
        self._rng = np.random.default_rng(config.seed)

    def step(self, real) -> dict[str, float]:
        """One D update (real, then fake) and one G update on a batch of real images.

        Returns:
            ``d_loss`` (real + fake) and ``g_loss``, read back as Python floats.
        """
        batch = real.shape[0]
        ones, zeros = np.ones((batch, 1), np.float32), np.zeros((batch, 1), np.float32)
        noise = self._rng.standard_normal((batch, *self._noise_shape), np.float32)
        fakes = self.generator.predict_on_batch(noise)
        self.discriminator.trainable = True
        d_loss = self.discriminator.train_on_batch(real, ones)
        d_loss += self.discriminator.train_on_batch(fakes, zeros)
        self.discriminator.trainable = False
        noise = self._rng.standard_normal((batch, *self._noise_shape), np.float32)
        g_loss = self.combined.train_on_batch(noise, ones)
        return {"d_loss": float(d_loss), "g_loss": float(g_loss)}


def plain_step(config: Config, generator, discriminator):
    """The TF DCGAN tutorial's compiled step for ``generator`` and ``discriminator``.

    One G forward on fresh noise; D on the real and on the fake batch; G's loss and D's
    from those passes, each differentiated by its own tape; both updates applied
    together. D's update does not see G's, nor G's the new D: the "simultaneous" mode.

    Args:
        config: the optimizers' settings and the noise shape.
        generator: G, ``[B, *latent_shape]`` to images.
        discriminator: D, images to logits ``[B, 1]``.

    Returns:
        A ``tf.function`` taking a real batch ``[B, H, W, C]`` and returning
        ``{"d_loss", "g_loss"}``.
    """
    import keras
    import tensorflow as tf

    g_optimizer, d_optimizer = _optimizers(config)
    g_optimizer.build(generator.trainable_variables)
    d_optimizer.build(discriminator.trainable_variables)
    bce = keras.losses.BinaryCrossentropy(from_logits=True)

    @tf.function
    def step(real):
        noise = tf.random.normal([tf.shape(real)[0], *config.latent_shape])
        with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
            fake = generator(noise, training=True)
            real_out = discriminator(real, training=True)  # [B, 1] logits
            fake_out = discriminator(fake, training=True)
            g_loss = bce(tf.ones_like(fake_out), fake_out)
            d_loss = bce(tf.ones_like(real_out), real_out) + bce(tf.zeros_like(fake_out), fake_out)
        g_variables = generator.trainable_variables
        d_variables = discriminator.trainable_variables
        g_gradients = g_tape.gradient(g_loss, g_variables)
        d_gradients = d_tape.gradient(d_loss, d_variables)
        g_optimizer.apply_gradients(zip(g_gradients, g_variables, strict=True))
        d_optimizer.apply_gradients(zip(d_gradients, d_variables, strict=True))
        return {"d_loss": d_loss, "g_loss": g_loss}

    return step
