"""The generator and discriminator for vector data: MLPs (the toy sets, ``npy_vectors``).

Dense layers with a chosen activation; G's output is linear (vector data is not bounded
to [-1, 1]) and D's a logit. Precision and spectral normalization work as for the image
nets (``dcgan.gan.models``).
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from dcgan.gan import blocks
from dcgan.gan.choices import ACTIVATIONS


def mlp_generator(
    *,
    latent_dim: int,
    output_dim: int,
    hidden_units: Sequence[int] = (200, 100, 50),
    activation: str = "relu",
    spectral_norm: bool = False,
    dtype_policy: str | None = None,
) -> keras.Model:
    """Builds a fully connected generator for vector data.

    Args:
        latent_dim: Size of the input noise vector, >= 1.
        output_dim: Size of each generated vector, >= 1.
        hidden_units: Widths of the hidden Dense layers; non-empty, each >= 1.
        activation: Hidden-layer activation; one of ``ACTIVATIONS``.
        spectral_norm: Whether every Dense layer, the output's included, is
            ``spectral.SpectralDense``.
        dtype_policy: Keras dtype policy of every layer, one of ``PRECISIONS``; None:
            Keras' global policy. The last layer runs in float32 under any policy.

    Returns:
        A ``keras.Model`` named "generator" mapping ``[B, latent_dim]`` to float32
        ``[B, output_dim]``. The output is linear: vector data is not bounded to [-1, 1].

    Raises:
        ValueError: If any argument is outside its allowed values.
    """
    blocks.check_positive_int("latent_dim", latent_dim)
    blocks.check_positive_int("output_dim", output_dim)
    # [B, latent_dim] -> [B, output_dim]
    return _mlp(
        ("z", latent_dim),
        ("output", output_dim),
        "generator",
        hidden_units=hidden_units,
        activation=activation,
        spectral_norm=spectral_norm,
        dtype_policy=dtype_policy,
    )


def mlp_discriminator(
    *,
    input_dim: int,
    hidden_units: Sequence[int] = (200, 50),
    activation: str = "leaky_relu",
    spectral_norm: bool = False,
    dtype_policy: str | None = None,
) -> keras.Model:
    """Builds a fully connected discriminator (or critic) for vector data.

    Args:
        input_dim: Size of each input vector, >= 1.
        hidden_units: Widths of the hidden Dense layers; non-empty, each >= 1.
        activation: Hidden-layer activation; one of ``ACTIVATIONS``.
        spectral_norm: Whether every Dense layer, the logit's included, is
            ``spectral.SpectralDense`` (same names, plus a non-trainable ``u`` variable
            each). False builds exactly the plain net.
        dtype_policy: Keras dtype policy of every layer, one of ``PRECISIONS``; None:
            Keras' global policy. The last layer runs in float32 under any policy.

    Returns:
        A ``keras.Model`` named "discriminator" mapping ``[B, input_dim]`` to float32
        logits ``[B, 1]`` (no sigmoid).

    Raises:
        ValueError: If any argument is outside its allowed values.
    """
    blocks.check_positive_int("input_dim", input_dim)
    # [B, D] -> logits [B, 1]
    return _mlp(
        ("sample", input_dim),
        ("logits", 1),
        "discriminator",
        hidden_units=hidden_units,
        activation=activation,
        spectral_norm=spectral_norm,
        dtype_policy=dtype_policy,
    )


def _mlp(
    inputs: tuple[str, int],
    outputs: tuple[str, int],
    name: str,
    *,
    hidden_units: Sequence[int],
    activation: str,
    spectral_norm: bool,
    dtype_policy: str | None,
) -> keras.Model:
    """Dense layers from the input ``(name, width)`` to the linear float32 output."""
    units = blocks.check_hidden_units(hidden_units)
    blocks.check_choice("activation", activation, ACTIVATIONS)
    blocks.check_bool("spectral_norm", spectral_norm)
    blocks.check_dtype_policy(dtype_policy)
    dense = blocks.layer_classes(spectral_norm).dense
    x = first = keras.Input(shape=(inputs[1],), name=inputs[0])
    for i, width in enumerate(units, start=1):
        x = dense(width, dtype=dtype_policy, name=f"hidden{i}")(x)
        x = blocks.activation_layer(activation, f"hidden{i}_{activation}", dtype_policy)(x)
    # float32 under any policy: samples and logits are float32.
    last = dense(outputs[1], dtype="float32", name=outputs[0])(x)
    return keras.Model(first, last, name=name)
