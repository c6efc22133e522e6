"""The hardware ceiling: a step's FLOPs from its layer shapes, the CPU's matmul rate.

What is counted (``layer_flops``): the multiply-adds of convolutions, transposed
convolutions and dense layers, 2 FLOPs each, per example:

- Conv2D: ``2 * H_out * W_out * k * k * C_in * C_out``;
- Conv2DTranspose: ``2 * H_in * W_in * k * k * C_in * C_out``;
- Dense: ``2 * in * out`` (times the positions, for an input of rank > 2).

Normalization, activations, biases, losses and optimizer updates are left out: they are
a few percent of a DCGAN's work, and no matmul unit runs them.

A pass backward through a layer costs one forward of it for the weight gradient and one
for the input gradient, each only when needed (``step_flops`` says, per kind of step,
which passes run). Every figure is what the step *must* compute; work an implementation
repeats (two tapes differentiating the same D pass) is not counted, so dividing by the
step's time gives its *useful* FLOP rate.
"""

from __future__ import annotations

import dataclasses
import math
import os
import platform
from collections.abc import Callable

from dcgan.distribute import precision

# CPU features that decide which matmul kernels oneDNN can use.
FLAGS_OF_INTEREST = (
    "fma",
    "avx2",
    "avx512f",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "amx_tile",
    "amx_bf16",
)


@dataclasses.dataclass(frozen=True)
class NetFlops:
    """One network's forward FLOPs per example.

    Attributes:
        forward: every counted layer's forward FLOPs, summed.
        first_layer: the first counted layer's, whose input gradient a step never needs
            when the network's input needs none (real images, noise).
    """

    forward: int
    first_layer: int


def layer_flops(model) -> list[tuple[str, int]]:
    """``(layer name, forward FLOPs per example)`` of each counted layer of a functional model.

    Args:
        model: a built functional ``keras.Model`` (each layer called once), such as the
            networks ``dcgan.run.builder.build_networks`` returns.
    """
    import keras

    counted = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2DTranspose):
            _, height, width, _ = layer.input.shape  # the input's positions
            positions = height * width
        elif isinstance(layer, keras.layers.Conv2D):  # spectral convolutions too
            _, height, width, _ = layer.output.shape
            positions = height * width
        elif isinstance(layer, keras.layers.Dense):
            positions = math.prod(layer.input.shape[1:-1])  # 1 for a [B, in] input
        else:
            continue
        # Kernel [k, k, C_in, C_out] (transposed: [k, k, C_out, C_in]) or [in, out].
        counted.append((layer.name, 2 * positions * math.prod(layer.kernel.shape)))
    return counted


def net_flops(model) -> NetFlops:
    """The forward FLOPs per example of ``model`` and of its first counted layer."""
    counted = layer_flops(model)
    return NetFlops(sum(f for _, f in counted), counted[0][1] if counted else 0)


# Passes per example, per kind of step, as coefficients of (G forward, G first layer,
# D forward, D first layer). With F a net's forward and F1 its first layer's:
# - a forward pass costs F;
# - backward for the weight gradients only of a net whose input needs no gradient
#   (D on real images, G from noise) costs F (weights) + F - F1 (inputs of the layers
#   above the first) = 2F - F1;
# - backward through D to G's images, D's weights not wanted, costs F (inputs only);
# - backward through D for both its weights and its input costs 2F.
STEP_PASSES = {
    # D update: G forward (no tape), D on real and fake, D weight gradients on both:
    # G + 2D + 2(2D - D1). G update: G forward, D forward, D input gradients, G weight
    # gradients: G + D + D + (2G - G1). Sum: 4G - G1 + 8D - 2 D1.
    "alternating": (4, -1, 8, -2),
    # One G forward (under G's tape) serves both updates: 3G - G1 + 8D - 2 D1 (D's
    # forward on the fakes is repeated: D changed in between).
    "reuse_fakes": (3, -1, 8, -2),
    # One G forward, one D pass on real and one on fake serve both gradients: G + 2G - G1
    # for G; 2D forward, real pass 2D - D1, fake pass 2D (weights and input).
    "simultaneous": (3, -1, 6, -1),
}
# The baselines run the same passes as a trainer mode.
STEP_PASSES["keras_train_on_batch"] = STEP_PASSES["alternating"]  # predict, 2 D, combined
STEP_PASSES["plain_tf_function"] = STEP_PASSES["simultaneous"]  # the TF tutorial's step


def step_flops(generator: NetFlops, discriminator: NetFlops, *, batch: int, passes: str) -> int:
    """FLOPs of one GAN step (one D and one G update) of ``batch`` examples.

    Args:
        generator: G's forward FLOPs.
        discriminator: D's forward FLOPs.
        batch: examples per update.
        passes: a key of ``STEP_PASSES``: the trainer's ``updates`` mode or a baseline.

    Raises:
        ValueError: for an unknown ``passes``.
    """
    if passes not in STEP_PASSES:
        raise ValueError(f"passes={passes!r} is not one of {list(STEP_PASSES)}")
    g, g1, d, d1 = STEP_PASSES[passes]
    per_example = (
        g * generator.forward
        + g1 * generator.first_layer
        + d * discriminator.forward
        + d1 * discriminator.first_layer
    )
    return batch * per_example


def matmul_call(*, size: int, dtype: str) -> Callable[[], None]:
    """One square ``tf.matmul`` of side ``size`` (``2 * size**3`` FLOPs) that waits for
    its product.

    Args:
        size: the side of both matrices.
        dtype: "float32" or "bfloat16".
    """
    import tensorflow as tf

    a = tf.random.stateless_uniform([size, size], seed=[0, 0], dtype=tf.float32)
    b = tf.random.stateless_uniform([size, size], seed=[0, 1], dtype=tf.float32)
    a, b = tf.cast(a, dtype), tf.cast(b, dtype)

    def call() -> None:
        float(tf.matmul(a, b)[0, 0])  # reading one element waits for the product

    return call


def cpu_info(cpuinfo_path: str = "/proc/cpuinfo") -> dict[str, object]:
    """The CPU's model, core count, which ``FLAGS_OF_INTEREST`` it has, and whether it
    computes bfloat16 natively (the rule ``--precision=auto`` follows).

    Reads ``/proc/cpuinfo`` (Linux); elsewhere the model is ``platform.processor()`` and
    the flags are unknown (an empty list).
    """
    model = platform.processor() or "unknown"
    try:
        with open(cpuinfo_path) as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                    break
    except OSError:
        pass
    flags = precision.cpu_flags(cpuinfo_path)
    return {
        "model": model,
        "cpu_count": os.cpu_count(),
        "flags": [f for f in FLAGS_OF_INTEREST if f in flags],
        "bf16_units": bool(flags & set(precision.CPU_BFLOAT16_FLAGS)),
    }


def versions() -> dict[str, str]:
    """Python, TensorFlow and Keras versions, and whether oneDNN's kernels are on."""
    import keras
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        # TF enables oneDNN on x86 Linux unless TF_ENABLE_ONEDNN_OPTS=0.
        "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on)"),
    }
