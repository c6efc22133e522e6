"""Self-attention for image nets: SAGAN's block (Zhang et al. 2019, "Self-Attention
Generative Adversarial Networks").

On a ``[B, H, W, C]`` map x with N = H W positions, 1x1 convolutions give queries
f(x), keys g(x) (C/8 channels each) and values h(x) (C channels); position i attends
to every position j with weights softmax_j(f(x_i) . g(x_j)), and the block returns
``x + gamma * sum_j weight_ij h(x_j)``. ``gamma`` starts at 0, so a net starts as its
convolutional self and learns how much to attend. With ``spectral_norm`` the three
convolutions are spectrally normalized, as SAGAN does in G and D.

The block is built into the caller's functional graph from flat layers, so batch-norm
synchronization and power iteration find its layers like any other.
"""

from __future__ import annotations

import keras

from dcgan.gan import blocks


@keras.saving.register_keras_serializable(package="dcgan")
class Scale(keras.layers.Layer):
    """Multiplies its input by one trainable scalar, ``gamma``, which starts at 0."""

    def build(self, input_shape):
        self.gamma = self.add_weight(shape=(), initializer="zeros", name="gamma")

    def call(self, inputs):
        return inputs * keras.ops.cast(self.gamma, inputs.dtype)


def self_attention(
    x,
    *,
    name: str,
    spectral_norm: bool = False,
    weight_init: str = "default",
    dtype_policy: str | None = None,
):
    """Appends SAGAN's self-attention block to the functional graph at ``x``.

    Args:
        x: a ``[B, H, W, C]`` Keras tensor.
        name: the prefix of the block's layer names.
        spectral_norm: spectrally normalized query, key and value convolutions.
        weight_init: "default" (Glorot uniform) or "orthogonal" kernels.
        dtype_policy: Keras dtype policy of every layer.

    Returns:
        The ``[B, H, W, C]`` output, ``x`` plus the scaled attention.
    """
    height, width, channels = x.shape[1:]
    positions = height * width
    reduced = max(1, channels // 8)
    conv_class = blocks.layer_classes(spectral_norm).conv
    policy = dict(dtype=dtype_policy)

    def project(filters, role):
        y = conv_class(
            filters,
            1,
            kernel_initializer=blocks.initializer(weight_init, glorot=True),
            name=f"{name}_{role}",
            **policy,
        )(x)
        return keras.layers.Reshape((positions, filters), name=f"{name}_{role}_flat", **policy)(y)

    query, key, value = (
        project(reduced, "query"),
        project(reduced, "key"),
        project(channels, "value"),
    )
    scores = keras.layers.Dot(axes=2, name=f"{name}_scores", **policy)([query, key])  # [B, N, N]
    weights = keras.layers.Softmax(axis=-1, name=f"{name}_weights", **policy)(scores)
    attended = keras.layers.Dot(axes=(2, 1), name=f"{name}_attended", **policy)([weights, value])
    attended = keras.layers.Reshape((height, width, channels), name=f"{name}_map", **policy)(
        attended
    )
    scaled = Scale(name=f"{name}_gamma", **policy)(attended)
    return keras.layers.Add(name=f"{name}_add", **policy)([x, scaled])
