"""Class-conditional metrics against hand-computed numbers and independent computations."""

import math

import numpy as np
import pytest

from dcgan.evaluation import class_metrics, metrics


def confident_logits(classes, num_classes):
    # exp(-1000) underflows to 0 in float64: each row's posterior is exactly one-hot.
    return 1000.0 * np.eye(num_classes)[classes]


def reference_inception_score(logits, splits):
    # The reference loop (openai/improved-gan, torch-fidelity) on a plain softmax: part i is
    # rows [i N // splits, (i + 1) N // splits), score exp(mean_i sum_y p log(p / p(y))).
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    n, scores = len(p), []
    for i in range(splits):
        part = p[i * n // splits : (i + 1) * n // splits]
        marginal = part.mean(axis=0, keepdims=True)
        scores.append(math.exp(np.mean(np.sum(part * (np.log(part) - np.log(marginal)), 1))))
    return np.mean(scores), np.std(scores)


def test_inception_score_of_one_posterior_for_every_sample_is_1():
    # p(y|x) = p(y) for every x: every KL is 0.
    one_hot = np.tile([1.0, 0.0, 0.0], (20, 1))
    assert class_metrics.inception_score(one_hot, splits=4) == (
        pytest.approx(1.0, abs=1e-12),
        pytest.approx(0.0, abs=1e-12),
    )
    assert class_metrics.inception_score(confident_logits([2] * 20, 3), splits=4) == (1.0, 0.0)


def test_inception_score_of_confident_balanced_classes_is_k():
    # One-hot posteriors, each part holding every class equally: p(y) = 1/K, each KL = log K.
    logits = confident_logits(np.tile(np.arange(5), 4), 5)  # [20, 5]
    assert class_metrics.inception_score(logits, splits=4) == (pytest.approx(5.0), 0.0)
    assert class_metrics.inception_score(logits, splits=1) == (pytest.approx(5.0), 0.0)


def test_inception_score_two_samples_two_classes_by_hand():
    # Logits (log 3, 0) and (0, log 3): posteriors (3/4, 1/4) and (1/4, 3/4), p(y) = (1/2, 1/2).
    # Each KL = 3/4 log(3/4 / 1/2) + 1/4 log(1/4 / 1/2) = 3/4 log 3 - log 2, so
    # IS = exp(3/4 log 3 - log 2) = 3^(3/4) / 2 = 1.13975...
    logits = np.array([[math.log(3), 0.0], [0.0, math.log(3)]])
    mean, std = class_metrics.inception_score(logits, splits=1)
    assert mean == pytest.approx(3**0.75 / 2, rel=1e-12) and std == 0.0


def test_inception_score_parts_keep_every_sample_and_std_is_the_population_one():
    # N = 5, splits = 2: parts are rows [0, 2) and [2, 5) (i N // splits), no sample dropped.
    # Part 0, classes {0, 1}: IS 2. Part 1, classes {0, 0, 1}: p(y) = (2/3, 1/3), KLs log(3/2)
    # twice and log 3 once, IS = exp((2 log(3/2) + log 3) / 3) = (27/4)^(1/3) = 3 / 4^(1/3).
    # Dropping the last sample would make part 1 {0, 0}, IS 1; ddof = 1 would be sqrt(2) more.
    logits = confident_logits([0, 1, 0, 0, 1], 2)
    second = 3 / 4 ** (1 / 3)
    mean, std = class_metrics.inception_score(logits, splits=2)
    assert mean == pytest.approx((2 + second) / 2, rel=1e-12)
    assert std == pytest.approx((2 - second) / 2, rel=1e-12)


@pytest.mark.parametrize("splits", [1, 3, 5, 10, 23])
def test_inception_score_matches_the_reference_loop(splits):
    logits = np.random.default_rng(40).standard_normal((23, 7)) * 3  # 23: no split divides it
    mean, std = class_metrics.inception_score(logits, splits=splits)
    expected_mean, expected_std = reference_inception_score(logits, splits)
    assert mean == pytest.approx(expected_mean, rel=1e-12)
    assert std == pytest.approx(expected_std, rel=1e-9, abs=1e-12)
    if splits == 23:  # one sample per part: p(y) = p(y|x), every score 1
        assert (mean, std) == (pytest.approx(1.0), pytest.approx(0.0, abs=1e-12))


def test_inception_score_is_invariant_to_a_constant_per_row():
    rng = np.random.default_rng(41)
    logits = rng.standard_normal((40, 10)) * 2
    # +-1000 would overflow (or zero) a softmax without the max shift.
    shifts = rng.choice([-1000.0, -3.5, 0.0, 7.0, 1000.0], size=(40, 1))
    expected = class_metrics.inception_score(logits, splits=4)
    shifted = class_metrics.inception_score(logits + shifts, splits=4)
    assert shifted == (pytest.approx(expected[0], rel=1e-12), pytest.approx(expected[1], rel=1e-9))
    as_float32 = logits.astype(np.float32)
    assert class_metrics.inception_score(as_float32, splits=4) == class_metrics.inception_score(
        as_float32.astype(np.float64), splits=4
    )


def test_conditional_accuracy_hand_counted():
    requested = np.array([0, 1, 2, 2, 1, 0], dtype=np.int64)
    predicted = np.array([0, 1, 1, 2, 0, 0], dtype=np.uint8)  # samples 2 and 4 are wrong
    assert class_metrics.conditional_accuracy(requested, predicted, num_classes=3) == 4 / 6
    assert class_metrics.conditional_accuracy([3, 3], [3, 3], num_classes=4) == 1.0
    assert class_metrics.conditional_accuracy([0, 1], [1, 0], num_classes=2) == 0.0


def test_intra_class_fid_by_hand_in_one_dimension():
    # 1-D FID = (mu_a - mu_b)^2 + (sigma_a - sigma_b)^2, variances with ddof = 1.
    # Class 0: real 0, 2 (mean 1, var 2), fake 4, 6 (mean 5, var 2): 16.
    # Class 1: real 0, 4 (mean 2, var 8), fake 1, 3 (mean 2, var 2): (2 sqrt 2 - sqrt 2)^2 = 2.
    # Class 2 has one real sample and is left out; class 3 has none.
    real = np.array([[0.0], [0.0], [2.0], [9.0], [4.0]])
    real_labels = np.array([0, 1, 0, 2, 1])
    fake = np.array([[1.0], [4.0], [3.0], [6.0], [7.0], [8.0]])
    fake_labels = np.array([1, 0, 1, 0, 2, 2])
    mean, per_class = class_metrics.intra_class_fid(
        real, real_labels, fake, fake_labels, num_classes=4
    )
    assert per_class == {0: pytest.approx(16.0), 1: pytest.approx(2.0)}
    assert list(per_class) == [0, 1] and all(type(c) is int for c in per_class)
    assert mean == pytest.approx(9.0)


def test_intra_class_fid_matches_per_class_frechet_distance():
    rng = np.random.default_rng(42)
    # Real and fake counts per class: 0 and 4 are measured at min_samples = 12, class 1 has
    # 11 fakes, class 2 has 5 reals, class 3 none at all; labels in a shuffled order.
    real_counts, fake_counts = [30, 20, 5, 0, 12], [25, 11, 10, 0, 12]
    real_labels = rng.permutation(np.repeat(np.arange(5), real_counts))
    fake_labels = rng.permutation(np.repeat(np.arange(5), fake_counts))
    real = rng.standard_normal((len(real_labels), 3)) + real_labels[:, None]
    fake = rng.standard_normal((len(fake_labels), 3)) * 1.5 + 0.2 * fake_labels[:, None]
    mean, per_class = class_metrics.intra_class_fid(
        real, real_labels, fake, fake_labels, num_classes=5, min_samples=12
    )
    expected = {}
    for c in (0, 4):
        real_c = np.array([x for x, label in zip(real, real_labels, strict=True) if label == c])
        fake_c = np.array([x for x, label in zip(fake, fake_labels, strict=True) if label == c])
        expected[c] = metrics.frechet_distance(real_c, fake_c)
    assert per_class == pytest.approx(expected, rel=1e-12)
    assert mean == pytest.approx((expected[0] + expected[4]) / 2, rel=1e-12)
    # With the default min_samples = 2, classes 1 and 2 are measured too.
    _, per_class = class_metrics.intra_class_fid(
        real, real_labels, fake, fake_labels, num_classes=5
    )
    assert list(per_class) == [0, 1, 2, 4]


def test_intra_class_fid_of_identical_sets_is_zero():
    rng = np.random.default_rng(43)
    labels = rng.integers(0, 3, 90)
    features = rng.standard_normal((90, 4)) + labels[:, None]
    mean, per_class = class_metrics.intra_class_fid(
        features, labels, features.copy(), labels.copy(), num_classes=3
    )
    assert mean == pytest.approx(0.0, abs=1e-9)
    assert list(per_class) == [0, 1, 2]
    assert all(fid == pytest.approx(0.0, abs=1e-9) for fid in per_class.values())


ZEROS = np.zeros((4, 3))


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: class_metrics.inception_score(np.zeros(5)),
            "logits must be [N, K] with N >= 1 samples and K >= 2 classes, got shape (5,)",
        ),
        (
            lambda: class_metrics.inception_score(np.zeros((4, 1)), splits=2),
            "logits must be [N, K] with N >= 1 samples and K >= 2 classes, got shape (4, 1)",
        ),
        (
            lambda: class_metrics.inception_score(np.zeros((0, 3)), splits=1),
            "logits must be [N, K] with N >= 1 samples and K >= 2 classes, got shape (0, 3)",
        ),
        (
            lambda: class_metrics.inception_score(
                np.array([[0.0, 1.0, 2.0], [0.0, 1.0, np.nan], [np.inf, 0.0, 0.0]])
            ),
            "logits must be finite, got nan at [1, 2]; allowed: finite floats",
        ),
        (
            lambda: class_metrics.inception_score(np.array([[-np.inf, 0.0]])),
            "logits must be finite, got -inf at [0, 0]; allowed: finite floats",
        ),
        (
            lambda: class_metrics.inception_score(ZEROS, splits=0),
            "splits must be an int with 1 <= splits <= N = 4, got 0",
        ),
        (
            lambda: class_metrics.inception_score(ZEROS),
            "splits must be an int with 1 <= splits <= N = 4, got 10",
        ),
        (
            lambda: class_metrics.inception_score(ZEROS, splits=2.0),
            "splits must be an int with 1 <= splits <= N = 4, got 2.0",
        ),
        (
            lambda: class_metrics.inception_score(ZEROS, splits=True),
            "splits must be an int with 1 <= splits <= N = 4, got True",
        ),
        (
            lambda: class_metrics.conditional_accuracy([0, 5, 7], [0, 1, 2], num_classes=5),
            "requested holds class 5; allowed: 0 <= label < num_classes = 5",
        ),
        (
            lambda: class_metrics.conditional_accuracy([0, 1], [-1, 9], num_classes=5),
            "predicted holds class -1; allowed: 0 <= label < num_classes = 5",
        ),
        (
            lambda: class_metrics.conditional_accuracy([0.0, 1.0], [0, 1], num_classes=2),
            "requested must hold integer class ids, got dtype float64",
        ),
        (
            lambda: class_metrics.conditional_accuracy([0, 1], [], num_classes=2),
            "predicted must be a non-empty 1-D array, got shape (0,)",
        ),
        (
            lambda: class_metrics.conditional_accuracy([0, 1, 1], [0, 1], num_classes=2),
            "requested and predicted must hold one class per sample each, got 3 and 2 entries",
        ),
        (
            lambda: class_metrics.conditional_accuracy([0], [0], num_classes=0),
            "num_classes must be an int >= 1, got 0",
        ),
        (
            lambda: class_metrics.intra_class_fid(
                ZEROS, [0, 0, 1, 1], ZEROS, [0, 1, 2, 3], num_classes=4
            ),
            "intra-class FID needs a class with at least min_samples = 2 real and 2 generated "
            "samples; no class has both (num_classes = 4, largest counts: 2 real, "
            "1 generated)",
        ),
        (
            lambda: class_metrics.intra_class_fid(
                ZEROS, [0, 0, 0, 0], ZEROS, [0, 0, 0, 0], num_classes=1, min_samples=5
            ),
            "intra-class FID needs a class with at least min_samples = 5 real and 5 generated "
            "samples; no class has both (num_classes = 1, largest counts: 4 real, "
            "4 generated)",
        ),
        (
            lambda: class_metrics.intra_class_fid(
                ZEROS, [0] * 4, ZEROS, [0] * 4, num_classes=1, min_samples=1
            ),
            "min_samples must be an int >= 2 (a covariance needs 2 samples), got 1",
        ),
        (
            lambda: class_metrics.intra_class_fid(ZEROS, [0, 0, 1], ZEROS, [0] * 4, num_classes=2),
            "real_labels must hold one class per row of real_features, got 3 labels for 4 rows",
        ),
        (
            lambda: class_metrics.intra_class_fid(
                ZEROS, [0] * 4, ZEROS, [0, 0, 0, 2], num_classes=2
            ),
            "fake_labels holds class 2; allowed: 0 <= label < num_classes = 2",
        ),
        (
            lambda: class_metrics.intra_class_fid(
                ZEROS, [0] * 4, np.zeros((4, 2)), [0] * 4, num_classes=1
            ),
            "feature sizes differ: 3 vs 2",
        ),
        (
            lambda: class_metrics.intra_class_fid(
                ZEROS, [0] * 4, np.zeros((1, 3)), [0], num_classes=1
            ),
            "fake_features must be [N, D] with N >= 2, got shape (1, 3)",
        ),
    ],
)
def test_class_metric_errors_are_one_exact_line(call, message):
    with pytest.raises(ValueError) as raised:
        call()
    assert str(raised.value) == message
