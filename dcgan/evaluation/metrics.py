"""Sample-quality metrics of images as pure functions of arrays: FID/KID, k-NN, classes.

- ``frechet_distance`` and ``kernel_distance`` compare two sets of feature activations
  (Inception pool features for the standard FID/KID, or any classifier's features).
- ``precision_recall`` (Kynkäänniemi et al., 2019) and ``density_coverage`` (Naeem et al.,
  2020) separate fidelity from diversity with k-nearest-neighbour balls around the feature
  sets; the pairwise distances go in row chunks of ``DISTANCE_CHUNK_ROWS``, so memory stays
  bounded for 10,000s of features.
- ``class_statistics`` compares a classifier's predicted-class histograms of the fake and
  real sets: the classes covered and KL(fake || real).
The toy sets' metrics are in ``dcgan.evaluation.toy_metrics``, those of class-conditional
generators (Inception Score, conditional accuracy, intra-class FID) in
``dcgan.evaluation.class_metrics``. Everything computes in float64 NumPy; nothing here
trains or holds state.
"""

from __future__ import annotations

import math

import numpy as np


def _features(name: str, value) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != 2 or array.shape[0] < 2:
        raise ValueError(f"{name} must be [N, D] with N >= 2, got shape {array.shape}")
    return array


def frechet_distance(features_a, features_b) -> float:
    """Fréchet distance between Gaussians fitted to two activation sets (FID).

    Heusel et al., "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash
    Equilibrium" (2017): ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2)). The trace
    of the matrix square root is the sum of the square roots of the eigenvalues of the
    symmetric S_a^(1/2) S_b S_a^(1/2), which has the same spectrum as S_a S_b.

    Args:
        features_a: [N, D] activations of one set (for FID: Inception pool3, D = 2048).
        features_b: [M, D] activations of the other.

    Returns:
        The distance, >= 0. It depends on N, M and the extractor: report them with it.

    Raises:
        ValueError: for arrays that are not [N, D] with matching D.
    """
    a, b = _features("features_a", features_a), _features("features_b", features_b)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sizes differ: {a.shape[1]} vs {b.shape[1]}")
    mean_a, mean_b = a.mean(axis=0), b.mean(axis=0)
    cov_a, cov_b = np.cov(a, rowvar=False, ddof=1), np.cov(b, rowvar=False, ddof=1)
    cov_a, cov_b = np.atleast_2d(cov_a), np.atleast_2d(cov_b)
    values, vectors = np.linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
    inner = np.linalg.eigvalsh(root_a @ cov_b @ root_a)
    trace_root = np.sqrt(np.clip(inner, 0, None)).sum()  # round-off can dip below 0
    distance = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root
    return float(max(distance, 0.0))


def kernel_distance(
    features_a, features_b, *, num_subsets: int = 100, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """Kernel distance (KID): unbiased MMD^2 with a cubic polynomial kernel.

    Bińkowski et al., "Demystifying MMD GANs" (2018): k(x, y) = (x.y / D + 1)^3, the
    unbiased MMD^2 estimate averaged over random subsets drawn without replacement.

    Args:
        features_a: [N, D] activations.
        features_b: [M, D] activations.
        num_subsets: number of subset pairs averaged.
        subset_size: examples per subset; capped at min(N, M).
        seed: seed of the subset draws.

    Returns:
        ``(mean, standard deviation)`` over the subsets; the mean can be slightly below 0.
    """
    a, b = _features("features_a", features_a), _features("features_b", features_b)
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"feature sizes differ: {a.shape[1]} vs {b.shape[1]}")
    dim = a.shape[1]
    size = min(subset_size, a.shape[0], b.shape[0])
    rng = np.random.default_rng(seed)
    estimates = []
    for _ in range(num_subsets):
        x = a[rng.choice(a.shape[0], size, replace=False)]
        y = b[rng.choice(b.shape[0], size, replace=False)]
        k_xx, k_yy, k_xy = (
            _cubic_kernel(x, x, dim),
            _cubic_kernel(y, y, dim),
            _cubic_kernel(x, y, dim),
        )
        within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (size * (size - 1))
        estimates.append(within - 2 * k_xy.mean())
    return float(np.mean(estimates)), float(np.std(estimates))


def _cubic_kernel(x: np.ndarray, y: np.ndarray, dim: int) -> np.ndarray:
    """(x.y / D + 1)^3 for every pair of rows, [N, M]."""
    k = x @ y.T
    k /= dim
    k += 1
    # Two products, not ``** 3``: NumPy's general power is a third of KID's time.
    return k * k * k


# Rows of the first set per block of pairwise distances: a [DISTANCE_CHUNK_ROWS, M] float64
# block (82 MB at M = 10,000), boolean masks of its shape and [N, D + 2] augmented copies of
# the feature sets are the peak memory; no [N, M] matrix is ever held.
DISTANCE_CHUNK_ROWS = 1024


def _feature_pair(real_features, fake_features) -> tuple[np.ndarray, np.ndarray]:
    real = _features("real_features", real_features)
    fake = _features("fake_features", fake_features)
    if real.shape[1] != fake.shape[1]:
        raise ValueError(f"feature sizes differ: {real.shape[1]} vs {fake.shape[1]}")
    return real, fake


def _check_k(k, **sizes: int) -> None:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be an int >= 1, got {k!r}")
    if any(size <= k for size in sizes.values()):
        listed = ", ".join(f"{name}={size}" for name, size in sizes.items())
        bound = next(iter(sizes)) if len(sizes) == 1 else f"min({', '.join(sizes)})"
        raise ValueError(
            f"k={k} needs more than k points in each set (a point's k-th nearest other), "
            f"got {listed}; allowed: 1 <= k < {bound}"
        )


def _zero_floor(*sets: np.ndarray) -> float:
    """The squared distance that the chunks' arithmetic cannot tell from 0.

    A block entry sums D + 2 products, so its round-off is at most (D + 2) eps times the
    sum of their magnitudes, ||a||^2 + 2 |a.b| + ||b||^2 <= 2 (||a||^2 + ||b||^2), which is
    all that is left where the terms cancel. One bound for every pair of the call (from the
    largest squared norm of any set) keeps the rule the same in every pass: entries at or
    below it are taken as exact zeros.
    """
    dim = sets[0].shape[1]
    largest = max(float(np.einsum("ij,ij->i", x, x).max()) for x in sets)
    return 2 * (dim + 2) * float(np.finfo(np.float64).eps) * 2 * largest


def _squared_distance_chunks(a: np.ndarray, b: np.ndarray):
    """Yields ``(rows, block)``: squared distances of a[rows] to every row of b, [rows, M].

    The block is ||a||^2 - 2 a.b + ||b||^2 as one product of augmented rows,
    [a, ||a||^2, 1] . [-2 b, 1, ||b||^2], a matrix product per chunk and no other pass. It
    is raw: entries within ``_zero_floor`` of 0 (duplicates, a point and itself) can be
    slightly off 0 either way, and the callers compare against max(radius, floor), which
    is the comparison after rounding such entries to exactly 0.
    """
    ones_a, ones_b = np.ones((len(a), 1)), np.ones((len(b), 1))
    a_aug = np.hstack([a, np.einsum("ij,ij->i", a, a)[:, None], ones_a])
    b_aug = np.hstack([-2.0 * b, ones_b, np.einsum("ij,ij->i", b, b)[:, None]])
    for start in range(0, len(a), DISTANCE_CHUNK_ROWS):
        rows = slice(start, min(start + DISTANCE_CHUNK_ROWS, len(a)))
        yield rows, a_aug[rows] @ b_aug.T


def _kth_neighbour_thresholds(features: np.ndarray, k: int, floor: float) -> np.ndarray:
    """Squared k-NN radius of each row, at least ``floor``: the ball test's bound, [N].

    Only the row itself is excluded: its own entry is set to 0, the smallest value after
    rounding entries within the floor to 0, so the (k+1)-th smallest entry including it is
    the k-th smallest among the others. A duplicate of the row is a neighbour at distance
    0 like any other, so a point with k or more duplicates has radius 0 (the floor).
    """
    radii = np.empty(len(features))
    for rows, block in _squared_distance_chunks(features, features):
        block[np.arange(block.shape[0]), np.arange(rows.start, rows.stop)] = 0.0
        block.partition(k, axis=1)
        radii[rows] = block[:, k]
    return np.maximum(radii, floor)


def precision_recall(real_features, fake_features, *, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall: each set's share inside the other's k-NN manifold.

    Kynkäänniemi et al., "Improved Precision and Recall Metric for Assessing Generative
    Models" (NeurIPS 2019). A set's manifold is the union of balls B(x, r_k(x)), r_k(x) the
    distance from x to its k-th nearest other point of the same set:
    precision = (1/M) sum_j [exists i: ||f_j - r_i|| <= r_k(r_i)] (fidelity: fakes that look
    real), recall = (1/N) sum_i [exists j: ||r_i - f_j|| <= r_k(f_j)] (diversity: reals the
    generator reaches).

    A point at exactly a ball's radius is inside (<=). Only a point itself is excluded from
    its own neighbours; a duplicate is a neighbour at distance 0, so a set with k + 1 or
    more copies of a point gives that point radius 0 (it still covers its copies). Squared
    distances within their round-off of 0 count as exactly 0 (see ``_zero_floor``: below
    about 1e-6 of the largest feature norm at D = 2048), so duplicates are found whatever
    their order; other exact ties at nonzero distance can go either way by an ulp.

    Args:
        real_features: [N, D] features of real samples.
        fake_features: [M, D] features of generated samples.
        k: the neighbour whose distance is the radius; the paper uses 3.

    Returns:
        ``(precision, recall)``, each in [0, 1].

    Raises:
        ValueError: for arrays that are not [N, D] with matching D, or k not in [1, min(N, M)).
    """
    real, fake = _feature_pair(real_features, fake_features)
    _check_k(k, N=len(real), M=len(fake))
    floor = _zero_floor(real, fake)
    real_radii = _kth_neighbour_thresholds(real, k, floor)
    fake_radii = _kth_neighbour_thresholds(fake, k, floor)
    fake_inside = np.zeros(len(fake), dtype=bool)
    real_inside = np.empty(len(real), dtype=bool)
    for rows, block in _squared_distance_chunks(real, fake):
        fake_inside |= (block <= real_radii[rows, None]).any(axis=0)
        real_inside[rows] = (block <= fake_radii[None, :]).any(axis=1)
    return float(fake_inside.mean()), float(real_inside.mean())


def density_coverage(real_features, fake_features, *, k: int = 5) -> tuple[float, float]:
    """Density and coverage: k-NN balls around the real features only.

    Naeem et al., "Reliable Fidelity and Diversity Metrics for Generative Models" (ICML
    2020). With r_k(r_i) the distance from r_i to its k-th nearest other real point:
    density = 1/(k M) sum_j sum_i [||f_j - r_i|| <= r_k(r_i)] (how many real balls hold a
    fake, on average, over k; about 1 when fakes follow the real distribution, and not
    bounded by 1), coverage = (1/N) sum_i [min_j ||r_i - f_j|| <= r_k(r_i)] (the share of
    real balls that hold some fake). Unlike precision and recall, neither uses balls around
    the fakes, so fake outliers do not inflate them.

    Ties and duplicates are handled as in ``precision_recall``: a fake at exactly the
    radius counts, and a duplicate real point is a neighbour at distance 0. So when every
    real and fake feature is the same point, every radius is 0, every fake lies in all N
    balls, and density = N / k.

    Args:
        real_features: [N, D] features of real samples.
        fake_features: [M, D] features of generated samples.
        k: the neighbour whose distance is the radius; the paper uses 5.

    Returns:
        ``(density, coverage)``: density >= 0, coverage in [0, 1].

    Raises:
        ValueError: for arrays that are not [N, D] with matching D, or k not in [1, N). The
            fake set only needs M >= 2 (no ball is built around a fake).
    """
    real, fake = _feature_pair(real_features, fake_features)
    _check_k(k, N=len(real))
    real_radii = _kth_neighbour_thresholds(real, k, _zero_floor(real, fake))
    inside_count = 0
    covered = np.empty(len(real), dtype=bool)
    for rows, block in _squared_distance_chunks(real, fake):
        inside = block <= real_radii[rows, None]
        inside_count += int(np.count_nonzero(inside))
        covered[rows] = inside.any(axis=1)
    return inside_count / (k * len(fake)), float(covered.mean())


def _check_num_classes(num_classes) -> None:
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise ValueError(f"num_classes must be an int >= 1, got {num_classes!r}")
    if num_classes < 1:
        raise ValueError(f"num_classes must be an int >= 1, got {num_classes}")


def _labels(name: str, value, num_classes: int) -> np.ndarray:
    array = np.asarray(value)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {array.shape}")
    if array.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integer class ids, got dtype {array.dtype}")
    bad = array[(array < 0) | (array >= num_classes)]
    if bad.size:
        raise ValueError(
            f"{name} holds class {bad[0]}; allowed: 0 <= label < num_classes = {num_classes}"
        )
    return array


def class_statistics(real_labels, fake_labels, *, num_classes: int) -> dict:
    """Class coverage and KL(p_fake || p_real) of a classifier's predicted classes.

    A class counts for coverage if some real sample is classified as it: a run on a
    subset of a classifier's classes (cats only, with a CIFAR-10 classifier) is judged
    on the classes its data shows.

    p_fake and p_real are the class histograms of the predictions, normalized;
    KL(p_fake || p_real) = sum_c p_fake(c) log(p_fake(c) / p_real(c)), in nats, with
    0 log 0 = 0. This direction stays finite when the generator misses classes (their
    p_fake = 0 terms vanish; the miss shows in ``classes_covered`` instead), and it grows as
    the fake histogram concentrates on few classes: against a uniform p_real over C
    classes it is log C - H(p_fake), from 0 up to log C for a single class. It is inf when
    the fakes get a class the real set never does (p_fake > 0 = p_real).

    Args:
        real_labels: [N] predicted class ids of real samples, ints in [0, num_classes).
        fake_labels: [M] predicted class ids of generated samples, ints in [0, num_classes).
        num_classes: the classifier's number of classes, >= 1.

    Returns:
        ``{"classes_covered": share of the classes predicted for at least one real
        sample that are also predicted for at least one fake, in [0, 1], "class_kl": nats
        >= 0 or inf, "fake_counts": [num_classes] ints, "real_counts": [num_classes]
        ints}``.

    Raises:
        ValueError: for num_classes < 1, or labels that are not non-empty 1-D integer
            arrays with values in [0, num_classes).
    """
    _check_num_classes(num_classes)
    real = _labels("real_labels", real_labels, num_classes)
    fake = _labels("fake_labels", fake_labels, num_classes)
    real_counts = np.bincount(real, minlength=num_classes)
    fake_counts = np.bincount(fake, minlength=num_classes)
    present = fake_counts > 0
    if np.any(present & (real_counts == 0)):
        class_kl = math.inf
    else:
        p_fake = fake_counts[present] / len(fake)
        p_real = real_counts[present] / len(real)
        class_kl = max(float(np.sum(p_fake * (np.log(p_fake) - np.log(p_real)))), 0.0)
    return {
        "classes_covered": float(
            np.count_nonzero(present & (real_counts > 0)) / np.count_nonzero(real_counts)
        ),
        "class_kl": class_kl,
        "fake_counts": fake_counts.tolist(),
        "real_counts": real_counts.tolist(),
    }
