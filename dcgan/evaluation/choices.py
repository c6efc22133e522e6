"""The evaluation layer's names and rules, free of TensorFlow: which metrics a run has,
which way each is better, and which data sets ship a classifier.

``dcgan.config`` checks ``--best_metric`` and ``--eval_samples`` with these, and the
evaluator and the loop read them, so each is written once. Loads no TensorFlow.
"""

from __future__ import annotations

import math

from dcgan import options

# The metrics an evaluation computes, per toy dataset; npy_vectors has no reference
# distribution, so it has none.
TOY_METRICS = {
    "ring2d": ("modes", "high_quality", "reverse_kl"),
    "grid2d": ("modes", "high_quality", "reverse_kl"),
    "gaussian1d": ("w1", "ks"),
}
IMAGE_METRICS = ("fid", "kid", "precision", "recall", "density", "coverage")
# Image metrics of a feature network with classes (a domain classifier, not InceptionV3).
CLASS_METRICS = ("classes_covered", "class_kl", "inception_score")
# Metrics of a class-conditional run measured by a classifier of its classes: the share
# of samples of the class asked for, and the mean FID within a class.
CONDITIONAL_METRICS = ("conditional_accuracy", "intra_fid")
# Metrics where more is better; every other metric is a distance (less is better).
HIGHER_IS_BETTER = (
    "modes", "high_quality", "precision", "recall", "density", "coverage", "classes_covered",
    "inception_score", "conditional_accuracy",
)  # fmt: skip
# Datasets whose image runs are measured by a domain classifier that ships with the
# package, ``dcgan/assets/<dataset>_classifier.keras``.
SHIPPED_CLASSIFIER_DATASETS = ("glyphs",)
# The InceptionV3 feature networks --eval_classifier may name instead of a classifier's
# path (dcgan.evaluation.inception): Keras's weights (the default of an image set with no
# shipped classifier), and the FID reference implementation's graph that papers report.
INCEPTION_NETWORKS = ("inception", "ttur_inception")
# Density and coverage need each real image's 5 nearest other real images.
IMAGE_SAMPLES = options.Integer(6)
IMAGE_SAMPLES_ALLOWED = (
    f"{IMAGE_SAMPLES.allowed} for images (density and coverage use each real image's 5 "
    "nearest neighbours)"
)


def eval_metrics(
    dataset: str, *, is_image: bool, has_classifier: bool, conditional: bool = False
) -> tuple[str, ...]:
    """The metrics an evaluation of a run on ``dataset`` computes (empty: none exist);
    ``conditional``: a class-conditional run."""
    if is_image and has_classifier:
        return IMAGE_METRICS + CLASS_METRICS + (CONDITIONAL_METRICS if conditional else ())
    if is_image:
        return IMAGE_METRICS
    return TOY_METRICS.get(dataset, ())


def is_better(metric: str, value: float, best: float | None) -> bool:
    """Whether ``value`` of ``metric`` beats ``best`` (None: nothing yet; NaN never wins)."""
    if not math.isfinite(value):
        return False
    if best is None:
        return True
    return value > best if metric in HIGHER_IS_BETTER else value < best
