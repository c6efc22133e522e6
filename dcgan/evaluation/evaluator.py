"""Evaluating a generator: draw samples, then compute the metrics that fit its data.

Toy sets get their protocol (mode coverage for ring2d / grid2d, distance to N(0, 1) for
gaussian1d). Images are measured in a feature space (``dcgan.evaluation.features``: a
domain classifier, shipped for the glyphs, or InceptionV3 from local disk): FID and KID,
precision and recall, density and coverage, and, where the feature network has classes,
the classes the samples cover and the KL of their class histogram to the real one. A
mode-collapse alarm watches coverage, recall and classes covered. The evaluator of a run
is built from its config by ``dcgan.run.builder.build_evaluator``.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from dcgan.data import toys
from dcgan.data.choices import VECTOR_DATASETS
from dcgan.evaluation import features, metrics
from dcgan.evaluation.class_metrics import conditional_accuracy, inception_score, intra_class_fid
from dcgan.evaluation.toy_metrics import ks_to_normal, mode_statistics, wasserstein1_to_normal
from dcgan.gan.conditioning import Conditioning
from dcgan.gan.noise import NoiseDistribution

_CHUNK = 256  # examples per generator call, to bound memory
EvaluationError = features.EvaluationError


def generate(
    generator: keras.Model,
    noise: NoiseDistribution,
    *,
    num_samples: int,
    seed: int,
    conditioning: Conditioning | None = None,
    labels: np.ndarray | None = None,
) -> np.ndarray:
    """Draws ``num_samples`` samples [N, ...] from ``noise``, seeded by ``seed``.

    A conditional generator (``conditioning``) draws sample i of class ``labels[i]``;
    default ``conditioning.classes_in_turn``, every class in turn.
    """
    conditioning = conditioning or Conditioning()
    if conditioning.labeled and labels is None:
        labels = conditioning.classes_in_turn(num_samples)
    rng = tf.random.Generator.from_seed(seed)
    chunks = []
    for start in range(0, num_samples, _CHUNK):
        z = noise.sample(min(_CHUNK, num_samples - start), rng=rng)
        part = None if labels is None else tf.constant(labels[start : start + len(z)], tf.int32)
        chunks.append(conditioning.generate(generator, z, part, training=False).numpy())
    return np.concatenate(chunks)


def toy_metrics(dataset: str, samples: np.ndarray) -> dict[str, float]:
    """The benchmark metrics of a vector dataset.

    Raises:
        ValueError: for a dataset without a toy protocol.
    """
    if dataset in ("ring2d", "grid2d"):
        centers, stddev = toys.mixture_centers(dataset)
        stats = mode_statistics(samples, centers, stddev)
        return {key: stats[key] for key in ("modes", "num_modes", "high_quality", "reverse_kl")}
    if dataset == "gaussian1d":
        return {
            "w1": wasserstein1_to_normal(samples),
            "ks": ks_to_normal(samples),
        }
    raise ValueError(f"dataset {dataset!r} has no toy metrics; toy sets: {list(VECTOR_DATASETS)}")


def image_metrics(real: np.ndarray, fake: np.ndarray, extractor: features.Extractor) -> dict:
    """``feature_metrics`` of real and generated images [N, H, W, C] in [-1, 1]."""
    real_features, real_classes = extractor(real)
    fake_features, fake_classes = extractor(fake)
    return feature_metrics(
        real_features,
        fake_features,
        real_classes=real_classes,
        fake_classes=fake_classes,
        num_classes=extractor.num_classes,
    )


def feature_metrics(
    real_features: np.ndarray,
    fake_features: np.ndarray,
    *,
    real_classes: np.ndarray | None = None,
    fake_classes: np.ndarray | None = None,
    num_classes: int = 0,
) -> dict:
    """Every image metric between two sets of activations [N, D].

    FID; KID with its spread over subsets; precision and recall (k = 3); density and
    coverage (k = 5); and, given each set's predicted classes, ``classes_covered`` (of
    the classes some real sample falls in, the fraction some generated sample falls in
    too), ``class_kl`` (KL of the generated class histogram to the real one, nats) and
    the generated ``fake_class_counts`` (see ``metrics.class_statistics``).
    """
    kid, kid_std = metrics.kernel_distance(
        real_features,
        fake_features,
        subset_size=min(1000, len(real_features), len(fake_features)),
    )
    precision, recall = metrics.precision_recall(real_features, fake_features)
    density, coverage = metrics.density_coverage(real_features, fake_features)
    result = {
        "fid": metrics.frechet_distance(real_features, fake_features),
        "kid": kid,
        "kid_std": kid_std,
        "precision": precision,
        "recall": recall,
        "density": density,
        "coverage": coverage,
    }
    if real_classes is not None and fake_classes is not None and num_classes:
        classes = metrics.class_statistics(real_classes, fake_classes, num_classes=num_classes)
        result["classes_covered"] = classes["classes_covered"]
        result["class_kl"] = classes["class_kl"]
        result["fake_class_counts"] = classes["fake_counts"]
    result["num_real"] = len(real_features)
    result["num_fake"] = len(fake_features)
    return result


# A watched metric that falls below this share of the best an earlier evaluation of the
# run reached has lost what the run had: collapse, not a G still learning.
FALLEN = 0.5


def collapse_alarm(
    result: dict,
    *,
    coverage: float,
    recall: float,
    classes_covered: float,
    earlier: Sequence[dict] = (),
) -> str | None:
    """What an evaluation's ``result`` says of mode collapse, or None.

    A metric is named when it is below its threshold (0: not watched) and, given the
    run's ``earlier`` evaluations, below ``FALLEN`` times the best of them. Early in
    training these metrics rise from 0 and are low for a while, which is no collapse:
    collapse is the loss of diversity a run had. Without earlier evaluations (a single
    checkpoint, an old run) the thresholds alone decide.

    Args:
        result: the evaluation's metrics.
        coverage, recall, classes_covered: the thresholds.
        earlier: the run's earlier evaluations' metrics, in any order.

    Returns:
        e.g. ``"recall=0.02 < 0.05 (best 0.51), coverage=0.03 < 0.05 (best 0.4)"``.
    """
    thresholds = {"coverage": coverage, "recall": recall, "classes_covered": classes_covered}
    low = []
    for name, threshold in thresholds.items():
        if threshold <= 0 or name not in result or not result[name] < threshold:
            continue
        best = max((e[name] for e in earlier if e.get(name) is not None), default=None)
        if best is None:
            low.append(f"{name}={result[name]:.4g} < {threshold:g}")
        elif result[name] < FALLEN * best:
            low.append(f"{name}={result[name]:.4g} < {threshold:g} (best {best:.4g})")
    return ", ".join(low) or None


def distinct(examples: np.ndarray, labels: np.ndarray | None = None):
    """``examples`` without repeats, in their order (and their ``labels``, if given).

    A set smaller than the evaluation's sample count repeats; k copies of an image
    would shrink its k-nearest-neighbour ball to a point and wreck precision, recall,
    density and coverage. So a small set is measured as the images it has.
    """
    _, first = np.unique(examples.reshape(len(examples), -1), axis=0, return_index=True)
    kept = np.sort(first)
    return examples[kept] if labels is None else (examples[kept], labels[kept])


class Evaluator:
    """Measures a generator against a data set with the metrics that fit it.

    Every call draws the same noise (seeded by ``seed``), so the values of one run at
    different steps differ only by what G learned. For images the real features are
    computed once, when the evaluator is built.
    """

    def __init__(
        self,
        *,
        dataset: str,
        noise: NoiseDistribution,
        num_samples: int,
        seed: int,
        extractor: features.Extractor | None = None,
        real: np.ndarray | None = None,
        conditioning: Conditioning | None = None,
        real_labels: np.ndarray | None = None,
    ):
        """Prepares the evaluation of a run on ``dataset``.

        Args:
            dataset: the run's dataset: a toy set has its protocol, an image set needs
                ``extractor`` and ``real``.
            noise: the distribution of z.
            num_samples: generated samples per evaluation.
            seed: the seed of the noise drawn at every call.
            extractor: the feature space of an image run.
            real: the real images to compare with, [N, H, W, C] in [-1, 1]; repeated
                images are measured once (see ``distinct``).
            conditioning: a class-conditional run's: its samples are drawn class by
                class in turn (``Conditioning.classes_in_turn``), and a classifier with
                as many classes as the run measures ``CONDITIONAL_METRICS`` too.
            real_labels: the classes of ``real`` [N], for a conditional run.
        """
        self.dataset = dataset
        self.noise = noise
        self.num_samples = num_samples
        self.seed = seed
        self._extractor = extractor
        self.extractor_name = None if extractor is None else extractor.description
        self.conditioning = conditioning or Conditioning()
        if extractor is not None:
            if self.conditioning.labeled:
                real, real_labels = distinct(real, real_labels)
            else:
                real = distinct(real)
            self._real = extractor(real)
            self._real_labels = real_labels

    def __call__(self, generator: keras.Model) -> dict:
        """Returns ``{metric: value}`` for ``generator`` (a float per metric).

        The dict also records ``num_samples`` and, for images, ``num_real`` (the
        distinct real images, fewer than ``num_samples`` for a smaller set) and
        ``extractor`` (FID depends on both) and, where the extractor has classes, the
        generated samples' ``fake_class_counts``.
        """
        samples = generate(
            generator,
            self.noise,
            num_samples=self.num_samples,
            seed=self.seed,
            conditioning=self.conditioning,
        )
        if self._extractor is None:
            result = toy_metrics(self.dataset, samples)
            return {**result, "num_samples": self.num_samples}
        real_features, real_classes = self._real
        fake_features, fake_logits = self._extractor.with_logits(samples)
        fake_classes = None if fake_logits is None else np.argmax(fake_logits, axis=-1)
        result = feature_metrics(
            real_features,
            fake_features,
            real_classes=real_classes,
            fake_classes=fake_classes,
            num_classes=self._extractor.num_classes,
        )
        if fake_logits is not None:
            # The samples cycle through the classes, so each of the 10 parts holds all.
            result["inception_score"], result["inception_score_std"] = inception_score(
                fake_logits, splits=min(10, len(fake_logits))
            )
        num_classes = self.conditioning.num_classes
        if self.conditioning.labeled and self._extractor.num_classes == num_classes:
            requested = self.conditioning.classes_in_turn(self.num_samples)
            result["conditional_accuracy"] = conditional_accuracy(
                requested, fake_classes, num_classes=num_classes
            )
            try:
                result["intra_fid"], _ = intra_class_fid(
                    real_features,
                    self._real_labels,
                    fake_features,
                    requested,
                    num_classes=num_classes,
                )
            except ValueError:  # no class has 2 real and 2 generated samples to compare
                result["intra_fid"] = float("nan")
        return {**result, "num_samples": self.num_samples, "extractor": self.extractor_name}
