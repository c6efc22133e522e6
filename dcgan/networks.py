"""What a ``Config`` builds: the networks, their optimizers, the run's noise and data.

Shared by training (``dcgan.trainer``) and by the entry points that only generate
(sample, interpolate, export), so a generator is always rebuilt and fed exactly as it
was trained.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from dcgan import data, models
from dcgan.config import Config


def build_optimizer(name: str, *, learning_rate: float, beta1: float, beta2: float):
    """Returns a Keras optimizer.

    Args:
        name: "adam" or "rmsprop". RMSProp keeps the Keras defaults (rho 0.9, no
            momentum) and ignores the betas, which belong to Adam.
        learning_rate: step size.
        beta1: Adam's first-moment decay.
        beta2: Adam's second-moment decay.

    Raises:
        ValueError: for an unknown name.
    """
    if name == "adam":
        return keras.optimizers.Adam(learning_rate, beta_1=beta1, beta_2=beta2)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate)
    raise ValueError(f"optimizer {name!r} is not one of ['adam', 'rmsprop']")


def sample_shape(config: Config) -> tuple[int, ...]:
    """Shape of one example of the run's data: (H, W, C) for images, (D,) for vectors."""
    if config.is_image:
        return (config.image_size, config.image_size, config.channels)
    if config.dataset in data.VECTOR_DATASETS:
        return (data.VECTOR_DATASETS[config.dataset],)
    return (config.vector_dim,)  # npy_vectors


def build_networks(config: Config) -> tuple[keras.Model, keras.Model]:
    """Builds the generator and discriminator a ``Config`` describes."""
    if config.is_image:
        generator = models.dcgan_generator(
            image_size=config.image_size,
            channels=config.channels,
            latent_dim=config.latent_dim,
            base_width=config.g_base_width,
            kernel_size=config.kernel_size,
            norm=config.g_norm,
            activation=config.g_activation,
            upsample=config.g_upsample,
            start_size=config.g_start,
            noise_shape=config.latent_shape,
        )
        discriminator = models.dcgan_discriminator(
            image_size=config.image_size,
            channels=config.channels,
            base_width=config.d_base_width,
            kernel_size=config.kernel_size,
            norm=config.d_norm,
            activation=config.d_activation,
            stride1_block=config.d_stride1_block,
            dense_units=config.d_dense_units,
            dropout=config.d_dropout,
        )
    else:
        (dim,) = sample_shape(config)
        generator = models.mlp_generator(
            latent_dim=config.latent_dim,
            output_dim=dim,
            hidden_units=config.g_hidden_units,
            activation=config.g_activation,
        )
        discriminator = models.mlp_discriminator(
            input_dim=dim, hidden_units=config.d_hidden_units, activation=config.d_activation
        )
    return generator, discriminator


def draw_noise(
    count,
    *,
    shape: tuple[int, ...],
    distribution: str = "normal",
    scale: float = 1.0,
    rng: tf.random.Generator | None = None,
    seed=None,
) -> tf.Tensor:
    """Draws ``count`` noise examples: float32 ``[count, *shape]``.

    Args:
        count: number of examples (an int or a scalar tensor).
        shape: shape of one example.
        distribution: "normal" (stddev ``scale``) or "uniform" (on [-scale, scale)).
        scale: the stddev or the half-width.
        rng: the generator to draw from; advances its state.
        seed: a stateless ``[2]`` seed, used when ``rng`` is None.

    Raises:
        ValueError: for an unknown distribution.
    """
    full = [count, *shape]
    if distribution == "normal":
        if rng is not None:
            return rng.normal(full, stddev=scale)
        return tf.random.stateless_normal(full, seed=seed, stddev=scale)
    if distribution == "uniform":
        if rng is not None:
            return rng.uniform(full, minval=-scale, maxval=scale)
        return tf.random.stateless_uniform(full, seed=seed, minval=-scale, maxval=scale)
    raise ValueError(f"noise distribution {distribution!r} is not one of ['normal', 'uniform']")


def sample_noise(config: Config, count: int, rng: tf.random.Generator) -> tf.Tensor:
    """Draws ``count`` noise examples the way the run of ``config`` trained on."""
    return draw_noise(
        count,
        shape=config.latent_shape,
        distribution=config.noise_distribution,
        scale=config.noise_scale,
        rng=rng,
    )


def build_dataset(config: Config, *, batch_size: int, skipped_images=None) -> tf.data.Dataset:
    """The run's data pipeline, as ``config`` describes it, in batches of ``batch_size``."""
    return data.make_dataset(
        config.dataset,
        batch_size=batch_size,
        seed=config.seed,
        image_size=config.image_size,
        channels=config.channels,
        data_dir=config.data_dir or None,
        data_file=config.data_file or None,
        crop=config.crop,
        crop_size=config.crop_size,
        resize_method=config.resize_method,
        random_flip=config.random_flip,
        on_bad_image=config.on_bad_image,
        skipped_images=skipped_images,
        vector_dim=config.vector_dim or None,
        cache=config.cache,
    )
