"""Metrics of class-conditional generators as pure functions of arrays: IS, accuracy, FID.

- ``inception_score`` (Salimans et al., 2016) from a classifier's logits of generated
  samples, split into parts as the reference implementation does.
- ``conditional_accuracy``: the share of generated samples that a classifier puts in the
  class the generator was asked for.
- ``intra_class_fid`` (Miyato & Koyama, 2018): FID per class, real against generated
  features of that class, and their mean.

The shared checks and ``frechet_distance`` come from ``dcgan.evaluation.metrics``.
Everything computes in float64 NumPy; nothing here trains or holds state.
"""

from __future__ import annotations

import math

import numpy as np

from dcgan.evaluation.metrics import (
    _check_num_classes,
    _feature_pair,
    _labels,
    frechet_distance,
)


def _is_int(value) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, np.integer))


def inception_score(logits: np.ndarray, *, splits: int = 10) -> tuple[float, float]:
    """Inception Score: exp of the mean KL from each sample's class posterior to the marginal.

    Salimans et al., "Improved Techniques for Training GANs" (2016):
    IS = exp(E_x KL(p(y|x) || p(y))), with p(y|x) = softmax(logits of x) and p(y) the mean
    of p(y|x) over the samples. It is 1 when every sample gets the same posterior and K
    when the posteriors are one-hot and the classes balanced.

    As in the reference implementation (openai/improved-gan, and torch-fidelity's port),
    the N samples are cut into ``splits`` consecutive parts, part i holding rows
    [i N // splits, (i + 1) N // splits): every sample is used, and when N is not a
    multiple of ``splits`` the parts hold floor(N / splits) or one more samples (N = 10,
    splits = 4: 2, 3, 2, 3). Each part gets its own p(y) and score; the result is their
    mean and population standard deviation (``np.std``, ddof = 0), the pair papers report
    as "IS mean ± std".

    The parts are consecutive, so the order of the rows matters: samples generated class
    by class must be shuffled (or interleaved) first, or each part sees only a few classes
    and the score drops toward 1. torch-fidelity shuffles with a fixed seed by default;
    this function does not. The score also grows with the part size, and depends on the
    classifier: compare only numbers of the same network, N and ``splits`` (the standard
    is 50,000 samples, 10 splits, the TF Inception graph).

    Args:
        logits: [N, K] pre-softmax outputs of the classifier for N generated samples, K >= 2
            classes; probabilities would be softmaxed again and give a wrong score. Any
            float dtype; computed in float64, the softmax shifted by each row's maximum.
        splits: the number of parts, 1 <= splits <= N.

    Returns:
        ``(mean, standard deviation)`` of the parts' scores; the mean is in [1, K].

    Raises:
        ValueError: for logits that are not [N, K] with N >= 1 and K >= 2, hold a value
            that is not finite, or ``splits`` that is not an int in [1, N].
    """
    scores = np.asarray(logits, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[0] < 1 or scores.shape[1] < 2:
        raise ValueError(
            f"logits must be [N, K] with N >= 1 samples and K >= 2 classes, "
            f"got shape {scores.shape}"
        )
    not_finite = ~np.isfinite(scores)
    if not_finite.any():
        row, col = np.argwhere(not_finite)[0]
        raise ValueError(
            f"logits must be finite, got {scores[row, col]} at [{row}, {col}]; "
            "allowed: finite floats"
        )
    n = scores.shape[0]
    if not _is_int(splits) or not 1 <= splits <= n:
        raise ValueError(f"splits must be an int with 1 <= splits <= N = {n}, got {splits!r}")
    # log p(y|x) from the shifted logits: exp never overflows, and log p stays finite
    # where p itself underflows to 0.
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # [N, K]
    p = np.exp(log_p)
    part_scores = []
    for i in range(splits):
        rows = slice(i * n // splits, (i + 1) * n // splits)
        part_p, part_log_p = p[rows], log_p[rows]
        marginal = part_p.mean(axis=0)  # [K]
        # A class with marginal 0 has p = 0 in every row of the part, and terms with p = 0
        # are 0 log 0 = 0: skipped (not 0 * inf = NaN), so log 1 stands in for its log 0.
        log_marginal = np.log(np.where(marginal > 0, marginal, 1.0))
        terms = np.multiply(
            part_p, part_log_p - log_marginal, out=np.zeros_like(part_p), where=part_p > 0
        )
        part_scores.append(math.exp(terms.sum(axis=1).mean()))
    return float(np.mean(part_scores)), float(np.std(part_scores))


def conditional_accuracy(
    requested: np.ndarray, predicted: np.ndarray, *, num_classes: int
) -> float:
    """The share of generated samples that a classifier assigns to the requested class.

    accuracy = (1/N) sum_i [predicted_i == requested_i]: how well a class-conditional
    generator obeys its label. It measures the classifier as much as the generator: a
    generator that matched the data exactly would score the classifier's accuracy on real
    data, not 1, so report that number with it.

    Args:
        requested: [N] the class each sample was generated for, ints in [0, num_classes).
        predicted: [N] the classifier's class of each sample, ints in [0, num_classes).
        num_classes: the number of classes, >= 1.

    Returns:
        The share, in [0, 1].

    Raises:
        ValueError: for num_classes < 1, labels that are not non-empty 1-D integer arrays
            with values in [0, num_classes), or arrays of different lengths.
    """
    _check_num_classes(num_classes)
    asked = _labels("requested", requested, num_classes)
    got = _labels("predicted", predicted, num_classes)
    if len(asked) != len(got):
        raise ValueError(
            f"requested and predicted must hold one class per sample each, got {len(asked)} "
            f"and {len(got)} entries"
        )
    return float(np.mean(asked == got))


def _labels_of(name: str, labels, features: np.ndarray, features_name: str, num_classes: int):
    array = _labels(name, labels, num_classes)
    if len(array) != len(features):
        raise ValueError(
            f"{name} must hold one class per row of {features_name}, got {len(array)} labels "
            f"for {len(features)} rows"
        )
    return array


def intra_class_fid(
    real_features: np.ndarray,
    real_labels: np.ndarray,
    fake_features: np.ndarray,
    fake_labels: np.ndarray,
    *,
    num_classes: int,
    min_samples: int = 2,
) -> tuple[float, dict[int, float]]:
    """Intra-class FID: the FID of each class's generated features against its real ones.

    Miyato & Koyama, "cGANs with Projection Discriminator" (ICLR 2018) report the mean
    over classes of FID(real features of class c, generated features of class c), which
    catches a generator that draws good images of the wrong class (the overall FID does
    not). Each FID is ``dcgan.evaluation.metrics.frechet_distance``.

    A class with fewer than ``min_samples`` real or fewer than ``min_samples`` generated
    samples is left out of the mean and of the per-class dict (a covariance needs 2
    samples; a few more than 2 still give a very noisy FID). FID is biased upward at small
    N, and per class N is small, so intra-class FIDs are well above the overall FID and
    comparable only at the same per-class counts: report them with it.

    Args:
        real_features: [N, D] features of real samples (for FID: Inception pool3).
        real_labels: [N] the dataset's class of each real sample, ints in [0, num_classes).
        fake_features: [M, D] features of generated samples.
        fake_labels: [M] the class each generated sample was generated for (the requested
            class, not a classifier's prediction), ints in [0, num_classes).
        num_classes: the number of classes, >= 1.
        min_samples: the fewest real and the fewest generated samples a class needs to be
            measured, >= 2.

    Returns:
        ``(mean, {class: fid})``: the mean over the classes measured, and each measured
        class's FID keyed by its int class id, in increasing order.

    Raises:
        ValueError: for num_classes < 1, min_samples < 2, features that are not [N, D]
            with N >= 2 and matching D, labels that are not 1-D integer arrays with values
            in [0, num_classes) and one per row of their features, or no class with
            ``min_samples`` real and generated samples.
    """
    _check_num_classes(num_classes)
    if not _is_int(min_samples) or min_samples < 2:
        raise ValueError(
            f"min_samples must be an int >= 2 (a covariance needs 2 samples), got {min_samples!r}"
        )
    real, fake = _feature_pair(real_features, fake_features)
    real_classes = _labels_of("real_labels", real_labels, real, "real_features", num_classes)
    fake_classes = _labels_of("fake_labels", fake_labels, fake, "fake_features", num_classes)
    real_counts = np.bincount(real_classes, minlength=num_classes)
    fake_counts = np.bincount(fake_classes, minlength=num_classes)
    measured = np.flatnonzero((real_counts >= min_samples) & (fake_counts >= min_samples))
    if measured.size == 0:
        raise ValueError(
            f"intra-class FID needs a class with at least min_samples = {min_samples} real and "
            f"{min_samples} generated samples; no class has both (num_classes = {num_classes}, "
            f"largest counts: {real_counts.max()} real, {fake_counts.max()} generated)"
        )
    per_class = {
        int(c): frechet_distance(real[real_classes == c], fake[fake_classes == c]) for c in measured
    }
    return float(np.mean(list(per_class.values()))), per_class
