"""Spectral normalization of a network's layers: D's, and G's with ``--g_spectral_norm``.

Miyato, Kataoka, Koyama & Yoshida, "Spectral Normalization for Generative Adversarial
Networks" (ICLR 2018): each layer uses ``kernel / sigma``, with sigma an estimate of
the largest singular value of the kernel seen as a matrix, so that every layer (and
with 1-Lipschitz activations the whole of D) is about 1-Lipschitz.

Notation, for a kernel of any rank with ``out`` output units (the last axis):

- ``W = reshape(kernel, [fan_in, out])``; a Conv2D kernel [kh, kw, c_in, filters] gives
  ``fan_in = kh * kw * c_in`` (per group when ``groups > 1``, as PyTorch's
  ``spectral_norm`` reshapes it). A Conv2DTranspose kernel is [kh, kw, filters, c_in],
  so its W is [kh * kw * filters, c_in], as ``keras.layers.SpectralNormalization``
  reshapes it (PyTorch groups a transposed kernel by its output channels instead; both
  matrices hold the same weights, and neither is the operator's exact norm).
- ``u`` [out] is a non-trainable float32 variable: the power-iteration estimate of the
  top right singular vector of W (the top left singular vector of the [out, fan_in]
  matrix of Miyato et al. and PyTorch), a unit vector.
- ``v = normalize(W u)`` [fan_in] and ``sigma = v^T W u`` (= ||W u||).

The split between estimating and using sigma:

- ``call`` (training or not) computes sigma from the current ``u`` with ``u`` and ``v``
  held constant (``tf.stop_gradient``), so the gradient flows through W in sigma as in
  the paper, and never changes a variable: extra D passes (gradient penalties, R1) and
  inference have no side effects.
- ``power_iterate`` (the layer method, or the function below for a whole model) does
  one step ``v = normalize(W u)``, ``u <- normalize(W^T v)``. The trainer calls
  ``power_iterate(discriminator)`` once at the start of each D update, so every D pass
  of that update uses one sigma, and ``power_iterate(generator)`` once at the start of
  each G update of a spectrally normalized G. A weight average of G copies G's ``u``.

Sigma is computed in float32 from the float32 kernel variable, also under a
mixed-precision policy; only the normalized kernel is cast to the compute dtype.
"""

from __future__ import annotations

import keras
import tensorflow as tf

# Private in Keras 3 but stable since 3.0: the scope Layer.__call__ opens to read float32
# variables as float16 under "mixed_float16". A scope with dtype None reads them as stored.
from keras.src.backend import AutocastScope

#: Floor of every norm we divide by (as torch.nn.functional.normalize), and of sigma: a
#: zero kernel gives v = 0, sigma = 0 and a zero normalized kernel instead of NaN.
EPSILON = 1e-12


def _l2_normalize(x: tf.Tensor) -> tf.Tensor:
    return x / tf.maximum(tf.norm(x), EPSILON)


def _unit_vector_initializer() -> keras.initializers.Initializer:
    # A fresh unseeded Keras initializer draws its seed from Python's `random`, which
    # keras.utils.set_random_seed seeds: model construction stays deterministic.
    normal = keras.initializers.RandomNormal(mean=0.0, stddev=1.0)

    def initializer(shape, dtype=None):
        return _l2_normalize(normal(shape, dtype=dtype))

    return initializer


class _SpectralNormalization:
    """What SpectralConv2D and SpectralDense share; put before the Keras parent."""

    # The attribute of the parent that holds the kernel variable (Conv2D and Dense keep
    # it behind a LoRA-aware ``kernel`` property).
    _KERNEL_ATTRIBUTE = "_kernel"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if getattr(self, "lora_rank", None):
            raise self._unsupported(f"lora_rank={self.lora_rank!r}")
        if getattr(self, "quantization_mode", None) is not None:
            raise self._unsupported(f"quantization mode {self.quantization_mode!r}")

    def _unsupported(self, what: str) -> ValueError:
        return ValueError(
            f"{type(self).__name__} {self.name!r} does not support {what}; "
            "allowed: no LoRA and no quantization"
        )

    def enable_lora(self, rank, *args, **kwargs):
        raise self._unsupported(f"LoRA (rank={rank!r})")

    def quantize(self, mode=None, *args, **kwargs):
        raise self._unsupported(f"quantization (mode={mode!r})")

    def build(self, input_shape):
        super().build(input_shape)
        self.u = self.add_weight(
            name="u",
            shape=(self._kernel_variable().shape[-1],),
            initializer=_unit_vector_initializer(),
            trainable=False,
            autocast=False,
            dtype="float32",
        )

    def _kernel_variable(self):
        return getattr(self, self._KERNEL_ATTRIBUTE)

    def _kernel_float32(self) -> tf.Tensor:
        """The kernel variable as float32, also inside a mixed-precision ``call``."""
        with AutocastScope(None):
            return tf.cast(tf.convert_to_tensor(self._kernel_variable()), tf.float32)

    def _kernel_and_sigma(self) -> tuple[tf.Tensor, tf.Tensor]:
        kernel = self._kernel_float32()
        w = tf.reshape(kernel, [-1, kernel.shape[-1]])  # [fan_in, out]
        u = tf.stop_gradient(tf.convert_to_tensor(self.u))  # [out]
        wu = tf.linalg.matvec(w, u)  # [fan_in]
        v = tf.stop_gradient(_l2_normalize(wu))  # [fan_in]
        return kernel, tf.reduce_sum(v * wu)

    def sigma(self) -> tf.Tensor:
        """The float32 scalar ``sigma = v^T W u`` that ``call`` divides the kernel by."""
        return self._kernel_and_sigma()[1]

    def normalized_kernel(self) -> tf.Tensor:
        """``kernel / sigma`` in the layer's compute dtype, differentiable through sigma."""
        kernel, sigma = self._kernel_and_sigma()
        return tf.cast(kernel / tf.maximum(sigma, EPSILON), self.compute_dtype)

    def power_iterate(self) -> None:
        """One power-iteration step: ``v = normalize(W u)``, ``u <- normalize(W^T v)``.

        A zero ``W^T v`` (a zero kernel) keeps the old ``u`` rather than store a zero
        vector that no later kernel could turn back into an estimate.
        """
        kernel = tf.stop_gradient(self._kernel_float32())
        w = tf.reshape(kernel, [-1, kernel.shape[-1]])  # [fan_in, out]
        u = tf.convert_to_tensor(self.u)  # [out]
        v = _l2_normalize(tf.linalg.matvec(w, u))  # [fan_in]
        wtv = tf.linalg.matvec(w, v, transpose_a=True)  # [out]
        self.u.assign(tf.where(tf.norm(wtv) > EPSILON, _l2_normalize(wtv), u))

    def _finish_convolution(self, outputs):
        """A convolution's bias and activation, as Keras's convolution layers add them."""
        if self.use_bias:
            if self.data_format == "channels_last":
                bias_shape = (1,) * (self.rank + 1) + (self.filters,)
            else:
                bias_shape = (1, self.filters) + (1,) * self.rank
            outputs = keras.ops.add(outputs, keras.ops.reshape(self.bias, bias_shape))
        if self.activation is not None:
            return self.activation(outputs)
        return outputs

    # The parents save and load only kernel and bias (at "0", "1"); u goes after them.
    def _u_key(self) -> str:
        return str(1 + int(self.use_bias))

    def save_own_variables(self, store):
        super().save_own_variables(store)
        if self.built:
            store[self._u_key()] = self.u

    def load_own_variables(self, store):
        super().load_own_variables(store)
        if self.built:
            self.u.assign(store[self._u_key()])


@keras.saving.register_keras_serializable(package="dcgan")
class SpectralConv2D(_SpectralNormalization, keras.layers.Conv2D):
    """``keras.layers.Conv2D`` whose kernel is divided by its spectral norm estimate.

    Takes Conv2D's constructor arguments (LoRA refused) and adds the non-trainable
    float32 variable ``u`` [filters]; see the module docstring for W, u, v and sigma.
    """

    def call(self, inputs):
        outputs = self.convolution_op(inputs, self.normalized_kernel())
        return self._finish_convolution(outputs)


@keras.saving.register_keras_serializable(package="dcgan")
class SpectralDense(_SpectralNormalization, keras.layers.Dense):
    """``keras.layers.Dense`` whose kernel is divided by its spectral norm estimate.

    Takes Dense's constructor arguments (LoRA and quantization refused) and adds the
    non-trainable float32 variable ``u`` [units]; see the module docstring.
    """

    def call(self, inputs, training=None):
        x = keras.ops.matmul(inputs, self.normalized_kernel())
        if self.bias is not None:
            x = keras.ops.add(x, self.bias)
        if self.activation is not None:
            x = self.activation(x)
        return x


@keras.saving.register_keras_serializable(package="dcgan")
class SpectralConv2DTranspose(_SpectralNormalization, keras.layers.Conv2DTranspose):
    """``keras.layers.Conv2DTranspose`` whose kernel is divided by its spectral norm
    estimate: DCGAN G's upsampling layer, for a spectrally normalized G.

    Takes Conv2DTranspose's constructor arguments and adds the non-trainable float32
    variable ``u`` [input channels]; see the module docstring for how W is formed.
    """

    _KERNEL_ATTRIBUTE = "kernel"
    # Unlike Conv2D and Dense, the parent saves and loads every variable, u included.
    save_own_variables = keras.layers.Conv2DTranspose.save_own_variables
    load_own_variables = keras.layers.Conv2DTranspose.load_own_variables

    def call(self, inputs):
        outputs = keras.ops.conv_transpose(
            inputs,
            self.normalized_kernel(),
            strides=list(self.strides),
            padding=self.padding,
            output_padding=self.output_padding,
            dilation_rate=self.dilation_rate,
            data_format=self.data_format,
        )
        return self._finish_convolution(outputs)


SPECTRAL_LAYERS = (SpectralConv2D, SpectralDense, SpectralConv2DTranspose)


def spectral_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The spectral layers of ``model`` and of models nested in it, each once, in order.

    Args:
        model: A Keras model.

    Returns:
        Its spectrally normalized layers (``SPECTRAL_LAYERS``), walking ``model.layers`` and
        recursing into nested ``keras.Model`` layers; a shared layer appears once.
    """
    found: list[keras.layers.Layer] = []
    seen: set[int] = set()

    def walk(layers):
        for layer in layers:
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            if isinstance(layer, SPECTRAL_LAYERS):
                found.append(layer)
            elif isinstance(layer, keras.Model):
                walk(layer.layers)

    walk(model.layers)
    return found


def power_iterate(model: keras.Model) -> None:
    """Runs one power-iteration step on every spectral layer of ``model``.

    Call it once at the start of each update of ``model``, before its forward passes;
    eagerly or inside ``tf.function``. It changes only the layers' ``u`` variables.

    Args:
        model: A Keras model: the discriminator, or a spectrally normalized generator.
    """
    for layer in spectral_layers(model):
        layer.power_iterate()
