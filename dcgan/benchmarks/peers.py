"""The GAN recipes people copy today, as published, for ``dcgan.benchmarks.quality``.

Four recipes, each written from its published source with its networks, objective,
optimizers, batch size and update rule. Only the image size is adapted (the glyphs are
32x32x1; the sources draw 28, 64 or 64 px): a first map or an up/down-sampling block
fewer, nothing else. ``peer_run.PeerRun`` trains one against a clock.

- ``tf_tutorial``: the TensorFlow DCGAN tutorial (tensorflow.org/tutorials/generative/
  dcgan): 5x5 transposed convolutions from a 7x7 map (here 8x8), batch norm and leaky
  ReLU (slope 0.3) in G, dropout 0.3 in D, Adam 1e-4, batch 256, and one simultaneous
  update: both losses from one set of fakes.
- ``keras_io_dcgan``: the keras-io DCGAN example (keras.io/examples/generative/
  dcgan_overriding_train_step, CelebA at 64 px): no normalization, a 512-filter last
  transposed convolution, sigmoid outputs, Adam 1e-4, batch 32; D sees fakes and reals
  in one batch with noisy labels (fake 1, real 0, plus U(0, 0.05)), then G a new batch.
- ``keras_io_wgan_gp``: the keras-io WGAN-GP example (keras.io/examples/generative/
  wgan_gp, Fashion-MNIST padded to 32 px, so no padding or cropping here): upsample +
  3x3 convolutions in G, 5x5 strided convolutions with dropout in D, 3 critic updates
  per G update on one real batch, gradient penalty 10 at points ``real + a (fake -
  real)`` with ``a ~ N(0, 1)`` as published, Adam 2e-4 (0.5, 0.9), batch 512.
- ``pytorch_dcgan``: the PyTorch examples' DCGAN (github.com/pytorch/examples, dcgan/
  main.py, 64 px) in TensorFlow: 4x4 convolutions, ngf = ndf = 64, z of 100, batch
  norm as PyTorch's (momentum 0.1, eps 1e-5), N(0, 0.02) kernels and N(1, 0.02) norm
  scales, Adam 2e-4 (0.5, 0.999), batch 128 (the DCGAN paper's); D on reals, then on
  the detached fakes, then G on the same fakes through the updated D.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import keras
import tensorflow as tf
from keras import layers

if TYPE_CHECKING:  # the update rules take the run that holds the nets and optimizers
    from dcgan.benchmarks.peer_run import PeerRun


@dataclasses.dataclass(frozen=True)
class Peer:
    """A published recipe.

    Attributes:
        name: its name in flags and tables.
        title: what people know it as.
        source: where it is published.
        batch_size: its batch.
        latent_dim: the size of its z, drawn from N(0, 1).
        sigmoid: whether its images are in [0, 1] (else [-1, 1]).
        networks: ``(image_size, channels) -> (G, D)``.
        optimizers: ``() -> (G's, D's)``.
        update: ``(run, real) -> {"d_loss", "g_loss"}``: one training step, traced.
    """

    name: str
    title: str
    source: str
    batch_size: int
    latent_dim: int
    sigmoid: bool
    networks: Callable[[int, int], tuple[keras.Model, keras.Model]]
    optimizers: Callable[[], tuple[keras.optimizers.Optimizer, keras.optimizers.Optimizer]]
    update: Callable[[PeerRun, tf.Tensor], dict[str, tf.Tensor]]


def _halvings(image_size: int, smallest: int) -> int:
    """How many times ``image_size`` halves down to ``smallest`` (a power of two)."""
    count = math.log2(image_size / smallest)
    if image_size < 2 * smallest or count != int(count):
        raise ValueError(
            f"image_size={image_size} is not supported by the peer recipes; allowed: "
            f"{2 * smallest} times a power of two"
        )
    return int(count)


def _apply(optimizer: keras.optimizers.Optimizer, grads: list, net: keras.Model) -> None:
    optimizer.apply_gradients(zip(grads, net.trainable_variables, strict=True))


def _bce_logits(targets: float, logits: tf.Tensor) -> tf.Tensor:
    return tf.reduce_mean(
        tf.nn.sigmoid_cross_entropy_with_logits(tf.fill(tf.shape(logits), targets), logits)
    )


# The TensorFlow tutorial.


def _tutorial_networks(image_size: int, channels: int) -> tuple[keras.Model, keras.Model]:
    start = image_size // 4
    _halvings(image_size, 8)  # two stride-2 layers from a map of at least 8
    g = keras.Sequential(
        [
            keras.Input((100,)),
            layers.Dense(start * start * 256, use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Reshape((start, start, 256)),
            layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),
            layers.BatchNormalization(),
            layers.LeakyReLU(),
            layers.Conv2DTranspose(
                channels, 5, strides=2, padding="same", use_bias=False, activation="tanh"
            ),
        ],
        name="tf_tutorial_generator",
    )
    d = keras.Sequential(
        [
            keras.Input((image_size, image_size, channels)),
            layers.Conv2D(64, 5, strides=2, padding="same"),
            layers.LeakyReLU(),
            layers.Dropout(0.3),
            layers.Conv2D(128, 5, strides=2, padding="same"),
            layers.LeakyReLU(),
            layers.Dropout(0.3),
            layers.Flatten(),
            layers.Dense(1),
        ],
        name="tf_tutorial_discriminator",
    )
    return g, d


def _tutorial_update(run: PeerRun, real: tf.Tensor) -> dict[str, tf.Tensor]:
    z = run.z(tf.shape(real)[0])
    with tf.GradientTape() as g_tape, tf.GradientTape() as d_tape:
        fake = run.g(z, training=True)
        real_logits = run.d(real, training=True)
        fake_logits = run.d(fake, training=True)
        g_loss = _bce_logits(1.0, fake_logits)
        d_loss = _bce_logits(1.0, real_logits) + _bce_logits(0.0, fake_logits)
    g_grads = g_tape.gradient(g_loss, run.g.trainable_variables)
    d_grads = d_tape.gradient(d_loss, run.d.trainable_variables)
    _apply(run.g_optimizer, g_grads, run.g)
    _apply(run.d_optimizer, d_grads, run.d)
    return {"d_loss": d_loss, "g_loss": g_loss}


# The keras-io DCGAN example.


def _keras_io_networks(image_size: int, channels: int) -> tuple[keras.Model, keras.Model]:
    start = image_size // 8
    _halvings(image_size, 8)  # three stride-2 layers from a map of at least 4
    g = keras.Sequential(
        [
            keras.Input((128,)),
            layers.Dense(start * start * 128),
            layers.Reshape((start, start, 128)),
            layers.Conv2DTranspose(128, 4, strides=2, padding="same"),
            layers.LeakyReLU(negative_slope=0.2),
            layers.Conv2DTranspose(256, 4, strides=2, padding="same"),
            layers.LeakyReLU(negative_slope=0.2),
            layers.Conv2DTranspose(512, 4, strides=2, padding="same"),
            layers.LeakyReLU(negative_slope=0.2),
            layers.Conv2D(channels, 5, padding="same", activation="sigmoid"),
        ],
        name="keras_io_dcgan_generator",
    )
    d = keras.Sequential(
        [
            keras.Input((image_size, image_size, channels)),
            layers.Conv2D(64, 4, strides=2, padding="same"),
            layers.LeakyReLU(negative_slope=0.2),
            layers.Conv2D(128, 4, strides=2, padding="same"),
            layers.LeakyReLU(negative_slope=0.2),
            layers.Conv2D(128, 4, strides=2, padding="same"),
            layers.LeakyReLU(negative_slope=0.2),
            layers.Flatten(),
            layers.Dropout(0.2),
            layers.Dense(1, activation="sigmoid"),
        ],
        name="keras_io_dcgan_discriminator",
    )
    return g, d


_BCE = keras.losses.BinaryCrossentropy()


def _keras_io_update(run: PeerRun, real: tf.Tensor) -> dict[str, tf.Tensor]:
    # As published: the nets are called without `training`, so D's dropout is off.
    batch = tf.shape(real)[0]
    fake = run.g(run.z(batch))
    combined = tf.concat([fake, real], axis=0)
    labels = tf.concat([tf.ones((batch, 1)), tf.zeros((batch, 1))], axis=0)
    labels += 0.05 * run.rng.uniform(tf.shape(labels))
    with tf.GradientTape() as tape:
        d_loss = _BCE(labels, run.d(combined))
    grads = tape.gradient(d_loss, run.d.trainable_variables)
    _apply(run.d_optimizer, grads, run.d)
    z = run.z(batch)
    with tf.GradientTape() as tape:
        g_loss = _BCE(tf.zeros((batch, 1)), run.d(run.g(z)))
    grads = tape.gradient(g_loss, run.g.trainable_variables)
    _apply(run.g_optimizer, grads, run.g)
    return {"d_loss": d_loss, "g_loss": g_loss}


# The keras-io WGAN-GP example.


def _wgan_gp_networks(image_size: int, channels: int) -> tuple[keras.Model, keras.Model]:
    start = image_size // 8
    _halvings(image_size, 8)

    def upsample(x, filters, activation):
        x = layers.UpSampling2D()(x)
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        return activation(layers.BatchNormalization()(x))

    z = keras.Input((128,))
    x = layers.Dense(start * start * 256, use_bias=False)(z)
    x = layers.LeakyReLU(0.2)(layers.BatchNormalization()(x))
    x = layers.Reshape((start, start, 256))(x)
    x = upsample(x, 128, layers.LeakyReLU(0.2))
    x = upsample(x, 64, layers.LeakyReLU(0.2))
    x = upsample(x, channels, layers.Activation("tanh"))
    g = keras.Model(z, x, name="keras_io_wgan_gp_generator")

    image = keras.Input((image_size, image_size, channels))
    x = image
    for filters, dropout in ((64, False), (128, True), (256, True), (512, False)):
        x = layers.LeakyReLU(0.2)(layers.Conv2D(filters, 5, strides=2, padding="same")(x))
        if dropout:
            x = layers.Dropout(0.3)(x)
    x = layers.Dropout(0.2)(layers.Flatten()(x))
    d = keras.Model(image, layers.Dense(1)(x), name="keras_io_wgan_gp_discriminator")
    return g, d


def _wgan_gp_update(run: PeerRun, real: tf.Tensor) -> dict[str, tf.Tensor]:
    batch = tf.shape(real)[0]
    d_loss = tf.constant(0.0)
    for _ in range(3):  # the example's discriminator_extra_steps, on the same reals
        z = run.z(batch)
        with tf.GradientTape() as tape:
            fake = run.g(z, training=True)
            cost = tf.reduce_mean(run.d(fake, training=True)) - tf.reduce_mean(
                run.d(real, training=True)
            )
            alpha = run.rng.normal([batch, 1, 1, 1])  # N(0, 1), as published
            between = real + alpha * (fake - real)
            with tf.GradientTape() as gp_tape:
                gp_tape.watch(between)
                scores = run.d(between, training=True)
            slopes = gp_tape.gradient(scores, between)
            norms = tf.sqrt(tf.reduce_sum(tf.square(slopes), axis=[1, 2, 3]))
            d_loss = cost + 10.0 * tf.reduce_mean((norms - 1.0) ** 2)
        grads = tape.gradient(d_loss, run.d.trainable_variables)
        _apply(run.d_optimizer, grads, run.d)
    z = run.z(batch)
    with tf.GradientTape() as tape:
        g_loss = -tf.reduce_mean(run.d(run.g(z, training=True), training=True))
    grads = tape.gradient(g_loss, run.g.trainable_variables)
    _apply(run.g_optimizer, grads, run.g)
    return {"d_loss": d_loss, "g_loss": g_loss}


# The PyTorch examples' DCGAN.

_PYTORCH_CONV = keras.initializers.RandomNormal(0.0, 0.02)


def _pytorch_norm() -> layers.BatchNormalization:
    return layers.BatchNormalization(
        momentum=0.9, epsilon=1e-5, gamma_initializer=keras.initializers.RandomNormal(1.0, 0.02)
    )


def _pytorch_networks(image_size: int, channels: int) -> tuple[keras.Model, keras.Model]:
    doublings = _halvings(image_size, 4)  # 64 px: 4 -> 8 -> 16 -> 32 -> 64
    width = 64  # ngf = ndf

    def transposed(filters, *, stride=2, padding="same", activation=None):
        return layers.Conv2DTranspose(
            filters,
            4,
            strides=stride,
            padding=padding,
            use_bias=False,
            kernel_initializer=_PYTORCH_CONV,
            activation=activation,
        )

    g_layers = [
        keras.Input((100,)),
        layers.Reshape((1, 1, 100)),
        transposed(width * 2 ** (doublings - 1), stride=1, padding="valid"),
    ]
    for i in range(doublings - 1):
        g_layers += [_pytorch_norm(), layers.ReLU(), transposed(width * 2 ** (doublings - 2 - i))]
    g_layers += [_pytorch_norm(), layers.ReLU(), transposed(channels, activation="tanh")]
    g = keras.Sequential(g_layers, name="pytorch_dcgan_generator")

    def conv(filters, *, stride=2, padding="same"):
        return layers.Conv2D(
            filters,
            4,
            strides=stride,
            padding=padding,
            use_bias=False,
            kernel_initializer=_PYTORCH_CONV,
        )

    d_layers = [
        keras.Input((image_size, image_size, channels)),
        conv(width),
        layers.LeakyReLU(0.2),
    ]
    for i in range(1, doublings):
        d_layers += [conv(width * 2**i), _pytorch_norm(), layers.LeakyReLU(0.2)]
    d_layers += [conv(1, stride=1, padding="valid"), layers.Flatten()]  # logits; BCE below
    d = keras.Sequential(d_layers, name="pytorch_dcgan_discriminator")
    return g, d


def _pytorch_update(run: PeerRun, real: tf.Tensor) -> dict[str, tf.Tensor]:
    z = run.z(tf.shape(real)[0])
    with tf.GradientTape() as g_tape:
        fake = run.g(z, training=True)
        with tf.GradientTape() as d_tape:
            d_loss = _bce_logits(1.0, run.d(real, training=True)) + _bce_logits(
                0.0, run.d(tf.stop_gradient(fake), training=True)
            )
        grads = d_tape.gradient(d_loss, run.d.trainable_variables)
        _apply(run.d_optimizer, grads, run.d)
        g_loss = _bce_logits(1.0, run.d(fake, training=True))
    grads = g_tape.gradient(g_loss, run.g.trainable_variables)
    _apply(run.g_optimizer, grads, run.g)
    return {"d_loss": d_loss, "g_loss": g_loss}


def _adam(**kwargs) -> Callable[[], tuple[keras.optimizers.Adam, keras.optimizers.Adam]]:
    return lambda: (keras.optimizers.Adam(**kwargs), keras.optimizers.Adam(**kwargs))


PEERS: dict[str, Peer] = {
    peer.name: peer
    for peer in (
        Peer(
            "tf_tutorial",
            "TensorFlow DCGAN tutorial",
            "https://www.tensorflow.org/tutorials/generative/dcgan",
            batch_size=256,
            latent_dim=100,
            sigmoid=False,
            networks=_tutorial_networks,
            optimizers=_adam(learning_rate=1e-4),
            update=_tutorial_update,
        ),
        Peer(
            "keras_io_dcgan",
            "keras-io DCGAN example",
            "https://keras.io/examples/generative/dcgan_overriding_train_step/",
            batch_size=32,
            latent_dim=128,
            sigmoid=True,
            networks=_keras_io_networks,
            optimizers=_adam(learning_rate=1e-4),
            update=_keras_io_update,
        ),
        Peer(
            "keras_io_wgan_gp",
            "keras-io WGAN-GP example",
            "https://keras.io/examples/generative/wgan_gp/",
            batch_size=512,
            latent_dim=128,
            sigmoid=False,
            networks=_wgan_gp_networks,
            optimizers=_adam(learning_rate=2e-4, beta_1=0.5, beta_2=0.9),
            update=_wgan_gp_update,
        ),
        Peer(
            "pytorch_dcgan",
            "PyTorch examples' DCGAN, in TensorFlow",
            "https://github.com/pytorch/examples/tree/main/dcgan",
            batch_size=128,
            latent_dim=100,
            sigmoid=False,
            networks=_pytorch_networks,
            optimizers=_adam(learning_rate=2e-4, beta_1=0.5, beta_2=0.999, epsilon=1e-8),
            update=_pytorch_update,
        ),
    )
}
