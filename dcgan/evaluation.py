"""Evaluating a generator: draw samples, then compute the metrics that fit its data.

Toy sets get their protocol (mode coverage for ring2d / grid2d, distance to N(0, 1) for
gaussian1d). Images get FID and KID on the activations of a feature extractor: the
standard InceptionV3 pool features, from weights on local disk (nothing is downloaded),
or any Keras classifier's layer.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from dcgan import builder, data, metrics
from dcgan.config import HIGHER_IS_BETTER, Config

_CHUNK = 256  # examples per generator / extractor call, to bound memory
INCEPTION_WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"


class EvaluationError(RuntimeError):
    """A missing or unusable feature extractor; the message is one line."""


def generate(generator: keras.Model, config: Config, *, num_samples: int, seed: int) -> np.ndarray:
    """Draws ``num_samples`` samples [N, ...] from the run's noise, seeded by ``seed``."""
    rng = tf.random.Generator.from_seed(seed)
    distribution = builder.build_noise(config)
    chunks = []
    for start in range(0, num_samples, _CHUNK):
        noise = distribution.sample(min(_CHUNK, num_samples - start), rng=rng)
        chunks.append(generator(noise, training=False).numpy())
    return np.concatenate(chunks)


def toy_metrics(dataset: str, samples: np.ndarray) -> dict[str, float]:
    """The benchmark metrics of a vector dataset.

    Raises:
        ValueError: for a dataset without a toy protocol.
    """
    if dataset in ("ring2d", "grid2d"):
        centers, stddev = data.mixture_centers(dataset)
        stats = metrics.mode_statistics(samples, centers, stddev)
        return {key: stats[key] for key in ("modes", "num_modes", "high_quality", "reverse_kl")}
    if dataset == "gaussian1d":
        return {
            "w1": metrics.wasserstein1_to_normal(samples),
            "ks": metrics.ks_to_normal(samples),
        }
    raise ValueError(
        f"dataset {dataset!r} has no toy metrics; toy sets: {list(data.VECTOR_DATASETS)}"
    )


FeatureExtractor = Callable[[np.ndarray], np.ndarray]


def inception_extractor(weights_path: str | None = None) -> tuple[FeatureExtractor, str]:
    """InceptionV3's 2048-d average-pool features at 299 px: the standard FID features.

    Args:
        weights_path: the no-top weights file; default the Keras cache,
            ``~/.keras/models/`` + ``INCEPTION_WEIGHTS_FILE`` (``$KERAS_HOME`` moves it).

    Returns:
        ``(extractor, description)``; the extractor maps images in [-1, 1] to [N, 2048].

    Raises:
        EvaluationError: if the weights file is missing or does not fit the network.
    """
    if weights_path is None:
        home = os.environ.get("KERAS_HOME", os.path.join(os.path.expanduser("~"), ".keras"))
        weights_path = os.path.join(home, "models", INCEPTION_WEIGHTS_FILE)
    if not os.path.isfile(weights_path):
        raise EvaluationError(
            f"InceptionV3 weights not found at {weights_path}: nothing is downloaded at run "
            f"time, so put {INCEPTION_WEIGHTS_FILE} there, or pass --eval_classifier=PATH"
        )
    network = keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg")
    try:
        network.load_weights(weights_path)
    except (ValueError, OSError) as e:
        raise EvaluationError(f"{weights_path} does not hold InceptionV3 weights ({e})") from None

    def extract(images: np.ndarray) -> np.ndarray:
        # Inception expects RGB in [-1, 1] at 299 px; our images already use that range.
        batch = tf.image.resize(tf.convert_to_tensor(images, tf.float32), [299, 299])
        if batch.shape[-1] == 1:
            batch = tf.image.grayscale_to_rgb(batch)
        return network(batch, training=False).numpy()

    return _chunked(extract), f"InceptionV3 pool3 (2048-d) from {weights_path}"


def classifier_extractor(path: str, *, layer: str | None = None) -> tuple[FeatureExtractor, str]:
    """A saved Keras classifier's activations at ``layer`` (default: its penultimate).

    The way to measure quality offline and on small or non-natural images (glyphs,
    Fashion-MNIST) with a classifier trained on that data.

    Raises:
        EvaluationError: if the file cannot be loaded or has no such layer.
    """
    try:
        model = keras.models.load_model(path, compile=False)
    except (ValueError, OSError) as e:
        raise EvaluationError(f"cannot load a Keras model from {path} ({e})") from None
    names = [candidate.name for candidate in model.layers]
    chosen = layer or names[-2]
    if chosen not in names:
        raise EvaluationError(f"{path} has no layer {chosen!r}; its layers: {', '.join(names)}")
    features = keras.Model(model.inputs, model.get_layer(chosen).output)

    def extract(images: np.ndarray) -> np.ndarray:
        return np.reshape(features(images, training=False).numpy(), [len(images), -1])

    return _chunked(extract), f"{os.path.basename(path)} layer {chosen}"


def _chunked(extract: FeatureExtractor) -> FeatureExtractor:
    def run(images: np.ndarray) -> np.ndarray:
        return np.concatenate(
            [extract(images[i : i + _CHUNK]) for i in range(0, len(images), _CHUNK)]
        )

    return run


def image_metrics(real: np.ndarray, fake: np.ndarray, extractor: FeatureExtractor) -> dict:
    """FID and KID between real and generated images [N, H, W, C] in [-1, 1]."""
    return feature_metrics(extractor(real), extractor(fake))


def feature_metrics(real_features: np.ndarray, fake_features: np.ndarray) -> dict:
    """FID and KID (with its spread over subsets) between two sets of activations [N, D]."""
    kid, kid_std = metrics.kernel_distance(
        real_features,
        fake_features,
        subset_size=min(1000, len(real_features), len(fake_features)),
    )
    return {
        "fid": metrics.frechet_distance(real_features, fake_features),
        "kid": kid,
        "kid_std": kid_std,
        "num_real": len(real_features),
        "num_fake": len(fake_features),
    }


def is_better(metric: str, value: float, best: float | None) -> bool:
    """Whether ``value`` of ``metric`` beats ``best`` (None: nothing yet; NaN never wins)."""
    if not math.isfinite(value):
        return False
    if best is None:
        return True
    return value > best if metric in HIGHER_IS_BETTER else value < best


def make_extractor(config: Config) -> tuple[FeatureExtractor, str]:
    """The feature extractor FID/KID of an image run use: its classifier, or InceptionV3.

    Raises:
        EvaluationError: if the classifier or the Inception weights cannot be loaded.
    """
    if config.eval_classifier:
        return classifier_extractor(config.eval_classifier, layer=config.eval_layer or None)
    return inception_extractor()


def real_examples(config: Config, count: int) -> np.ndarray:
    """``count`` examples [N, ...] of the run's data, from a pipeline of their own.

    The training iterator is never touched, so evaluating does not change what a run
    trains on (exact resume holds with evaluation on). Read in batches of the run's size,
    which the data is known to hold; a small set repeats.
    """
    batches = -(-count // config.batch_size)
    dataset = builder.build_dataset(config, batch_size=config.batch_size).take(batches)
    return np.concatenate(list(dataset.as_numpy_iterator()))[:count]


class Evaluator:
    """Measures a generator against the run's data with the metrics that fit it.

    Every call draws the same noise (seeded by the run's seed), so the values of one run
    at different steps differ only by what G learned. For images the real features are
    computed once, when the evaluator is built.
    """

    def __init__(self, config: Config, *, num_samples: int, seed: int | None = None):
        """Prepares the evaluation of ``config``'s run on ``num_samples`` examples.

        Raises:
            ValueError: if the dataset has no metrics (npy_vectors).
            EvaluationError: if an image run's feature extractor cannot be loaded.
            data.DataError: if the real images cannot be read.
        """
        if not config.eval_metrics:
            raise ValueError(f"--dataset={config.dataset} has no evaluation metrics")
        self.config = config
        self.num_samples = num_samples
        self.seed = config.seed if seed is None else seed
        self.extractor_name = None
        if config.is_image:
            self._extract, self.extractor_name = make_extractor(config)
            self._real_features = self._extract(real_examples(config, num_samples))

    def __call__(self, generator: keras.Model) -> dict:
        """Returns ``{metric: value}`` for ``generator`` (a float per metric).

        The dict also records ``num_samples`` and, for images, ``num_real`` and
        ``extractor``: FID depends on both.
        """
        samples = generate(generator, self.config, num_samples=self.num_samples, seed=self.seed)
        if not self.config.is_image:
            result = toy_metrics(self.config.dataset, samples)
            return {**result, "num_samples": self.num_samples}
        result = feature_metrics(self._real_features, self._extract(samples))
        return {**result, "num_samples": self.num_samples, "extractor": self.extractor_name}
