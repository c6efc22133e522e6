"""Class-conditional GANs: the layers that take a class, and how a step calls the nets.

With ``--conditioning`` other than ``none``, G draws an image of a requested class and D
judges an image together with its class:

- **G** takes ``[z, label]``. The DCGAN G joins a learned label embedding (as wide as z)
  to z before its projection; the ResNet G, and the DCGAN G with ``class_norm``
  (``--g_class_norm``), condition every batch norm on the class (conditional batch norm,
  Dumoulin et al. 2017, as SNGAN and BigGAN do): the norm has no affine parameters of its
  own, and ``ClassAffine`` scales and shifts each channel by the class's learned gamma
  (from 1) and beta (from 0).
- **D**, ``projection`` (Miyato & Koyama 2018): with phi(x) the features D's logit
  reads, ``D(x, y) = psi(phi(x)) + <embed(y), phi(x)>``; the embedding is a bias-free
  Dense layer ``phi -> [K]`` whose column y is read (``ClassSelect``), so that it is
  spectrally normalized with the rest of D. D takes ``[image, label]``.
- **D**, ``acgan`` (Odena et al. 2017): D takes the image alone and returns ``[logit,
  class_logits [K]]``; both nets add ``class_weight`` times the cross-entropy of the
  class logits (D on real and generated images, G on its own) to their losses.

A step asks G for the classes of the real batch it trains on, so G sees each class as
often as the data holds it. ``Conditioning`` is what the step calls: its choice is
static, bound when the step is built.
"""

from __future__ import annotations

import dataclasses

import keras
import numpy as np
import tensorflow as tf

from dcgan.gan.choices import CONDITIONINGS

# The name of the label input of a conditional net.
LABEL_INPUT = "label"


def label_input() -> keras.KerasTensor:
    """The ``[B]`` int32 class input of a conditional net."""
    return keras.Input(shape=(), dtype="int32", name=LABEL_INPUT)


@keras.saving.register_keras_serializable(package="dcgan")
class ClassAffine(keras.layers.Layer):
    """``[x [B, ..., C], label [B]] -> x * gamma[label] + beta[label]``, per channel:
    the class-dependent half of conditional batch norm. Gamma starts at 1, beta at 0."""

    def __init__(self, num_classes: int, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes

    def build(self, input_shape):
        channels = input_shape[0][-1]
        self.gamma = self.add_weight(
            name="gamma", shape=(self.num_classes, channels), initializer="ones"
        )
        self.beta = self.add_weight(
            name="beta", shape=(self.num_classes, channels), initializer="zeros"
        )

    def call(self, inputs):
        x, label = inputs
        shape = [-1] + [1] * (len(x.shape) - 2) + [x.shape[-1]]  # [B, 1, ..., 1, C]
        gamma = keras.ops.reshape(keras.ops.take(self.gamma, label, axis=0), shape)
        beta = keras.ops.reshape(keras.ops.take(self.beta, label, axis=0), shape)
        return x * keras.ops.cast(gamma, x.dtype) + keras.ops.cast(beta, x.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}


@keras.saving.register_keras_serializable(package="dcgan")
class ClassSelect(keras.layers.Layer):
    """``[scores [B, K], label [B]] -> scores[b, label[b]]`` as ``[B, 1]``: the inner
    product of the projection discriminator, ``<embed(y), phi(x)>``."""

    def call(self, inputs):
        scores, label = inputs
        index = keras.ops.expand_dims(keras.ops.cast(label, "int32"), -1)
        return keras.ops.take_along_axis(scores, index, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], 1)


def join_label(z, label, *, num_classes: int, dtype_policy: str | None):
    """``[z, embed(label)]``: the DCGAN G's input, a learned embedding as wide as z."""
    embedded = keras.layers.Embedding(
        num_classes, z.shape[-1], dtype=dtype_policy, name="label_embedding"
    )(label)
    return keras.layers.Concatenate(dtype=dtype_policy, name="join_label")([z, embedded])


def discriminator(
    image,
    features,
    logits,
    *,
    conditioning: str,
    num_classes: int,
    dense: type,
    kernel_initializer,
) -> keras.Model:
    """D from its image input, the features its logit reads and the logit, with the
    conditioning's head.

    Args:
        image: D's image input.
        features: phi(x), ``[B, F]``.
        logits: psi(phi(x)), float32 ``[B, 1]``.
        conditioning: one of ``CONDITIONINGS``.
        num_classes: K, for any conditioning but "none".
        dense: D's Dense class (spectrally normalized or not).
        kernel_initializer: what makes the head's kernel initializer.

    Returns:
        The model: ``image -> logits``; projection ``[image, label] -> logits``; acgan
        ``image -> [logits, class_logits [B, K]]``. Outputs are float32.
    """
    check(conditioning, num_classes)
    if conditioning == "none":
        return keras.Model(image, logits, name="discriminator")
    float32 = dict(dtype="float32", kernel_initializer=kernel_initializer())
    if conditioning == "projection":
        label = label_input()
        scores = dense(num_classes, use_bias=False, name="projection", **float32)(features)
        projected = ClassSelect(dtype="float32", name="projected")([scores, label])
        total = keras.layers.Add(dtype="float32", name="conditional_logits")([logits, projected])
        return keras.Model([image, label], total, name="discriminator")
    class_logits = dense(num_classes, name="class_logits", **float32)(features)
    return keras.Model(image, [logits, class_logits], name="discriminator")


def check(conditioning: str, num_classes: int) -> None:
    """Raises ValueError for an unknown conditioning or a class count it cannot use."""
    if conditioning not in CONDITIONINGS:
        raise ValueError(
            f"conditioning={conditioning!r} is not supported; allowed: {', '.join(CONDITIONINGS)}"
        )
    if conditioning != "none" and (
        isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2
    ):
        raise ValueError(
            f"num_classes={num_classes!r} is not supported with conditioning={conditioning!r}; "
            "allowed: an integer >= 2"
        )


@dataclasses.dataclass(frozen=True)
class Conditioning:
    """How a step calls G and D: with labels or without, and ACGAN's class loss.

    Attributes:
        kind: one of ``CONDITIONINGS``.
        num_classes: K (0 without conditioning).
        class_weight: ``acgan`` only: the weight of the class cross-entropy in both
            nets' losses.
    """

    kind: str = "none"
    num_classes: int = 0
    class_weight: float = 1.0

    def __post_init__(self):
        check(self.kind, self.num_classes)

    @property
    def labeled(self) -> bool:
        """Whether the nets take classes, and the data must give them."""
        return self.kind != "none"

    def classes_in_turn(self, count: int) -> np.ndarray:
        """``[0, 1, …, K - 1, 0, 1, …]``: ``count`` int32 labels, every class as often
        (± 1), the order grids and evaluations draw them in (zeros without classes)."""
        return np.arange(count, dtype=np.int32) % max(1, self.num_classes)

    def generate(self, generator: keras.Model, noise, labels, *, training: bool):
        """G's images of ``noise`` (and of ``labels`` [B], if conditional)."""
        if not self.labeled:
            return generator(noise, training=training)
        # Keras takes a list of tensors, not tensors beside arrays.
        inputs = [tf.convert_to_tensor(noise, tf.float32), tf.cast(labels, tf.int32)]
        return generator(inputs, training=training)

    def judge(self, discriminator: keras.Model, images, labels, *, training: bool):
        """D's ``(logits [B, 1], class_logits [B, K] or None)`` on ``images`` of ``labels``."""
        if self.kind == "projection":
            inputs = [tf.convert_to_tensor(images), tf.cast(labels, tf.int32)]
            return discriminator(inputs, training=training), None
        outputs = discriminator(images, training=training)
        if self.kind == "acgan":
            return outputs[0], outputs[1]
        return outputs, None

    def class_loss(self, class_logits, labels) -> tf.Tensor:
        """The weighted per-example cross-entropy of ``class_logits`` [B, K] at ``labels``."""
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.cast(labels, tf.int32), logits=tf.cast(class_logits, tf.float32)
        )
        return self.class_weight * loss
