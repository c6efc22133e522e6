"""Metrics against closed forms and independent computations."""

import math
import re

import numpy as np
import pytest

from dcgan import data
from dcgan.evaluation import metrics, toy_metrics


def normal_cdf(x):
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def normal_pdf(x):
    return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def test_w1_of_a_point_mass_is_the_closed_form():
    # W1(delta_c, N(0, 1)) = E|Z - c| = c (2 Phi(c) - 1) + 2 phi(c).
    for c in (0.0, 1.3, -2.0):
        expected = c * (2 * normal_cdf(c) - 1) + 2 * normal_pdf(c)
        assert toy_metrics.wasserstein1_to_normal(np.full(50, c)) == pytest.approx(
            expected, rel=1e-9
        )


def test_w1_matches_numeric_integration_of_the_cdf_gap():
    # Independent route: W1 = int |F_n(x) - Phi(x)| dx, on a fine grid.
    samples = np.array([-1.7, -0.2, 0.05, 0.4, 0.41, 1.9, 3.0])
    grid = np.linspace(-12, 12, 2_400_001)
    empirical = np.searchsorted(np.sort(samples), grid, side="right") / len(samples)
    phi = 0.5 * (1 + np.vectorize(math.erf)(grid / math.sqrt(2)))
    numeric = np.sum(np.abs(empirical - phi)) * (grid[1] - grid[0])
    assert toy_metrics.wasserstein1_to_normal(samples) == pytest.approx(numeric, abs=2e-5)


def test_w1_of_normal_samples_and_a_shift():
    z = np.random.default_rng(0).standard_normal(100_000)
    assert toy_metrics.wasserstein1_to_normal(z) < 0.01  # O(1/sqrt(n)) sampling error
    assert toy_metrics.wasserstein1_to_normal(z + 0.5) == pytest.approx(0.5, abs=0.01)


def test_ks_hand_computed():
    assert toy_metrics.ks_to_normal([0.0]) == pytest.approx(0.5)
    # Steps at -1 and 1: the largest gap is 1/2 - Phi(-1) = Phi(1) - 1/2.
    assert toy_metrics.ks_to_normal([-1.0, 1.0]) == pytest.approx(normal_cdf(1.0) - 0.5)
    assert toy_metrics.ks_to_normal(np.random.default_rng(1).standard_normal(20_000)) < 0.015


def test_frechet_distance_closed_form_for_diagonal_covariances():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((200_000, 3)) * [1.0, 2.0, 0.5]
    b = rng.standard_normal((200_000, 3)) * [3.0, 1.0, 0.5] + [1.0, 0.0, -2.0]
    # ||mu_a - mu_b||^2 + sum (sigma_a - sigma_b)^2 for diagonal covariances.
    expected = (1 + 0 + 4) + (1 - 3) ** 2 + (2 - 1) ** 2 + 0
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=0.02)


def test_frechet_distance_matches_general_eigenvalues_of_the_product():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((500, 4)) @ rng.standard_normal((4, 4))
    b = rng.standard_normal((400, 4)) @ rng.standard_normal((4, 4)) + 0.3
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # Tr sqrt(S_a S_b) from the (non-symmetric) product's own eigenvalues.
    trace_root = np.sum(np.sqrt(np.linalg.eigvals(cov_a @ cov_b).real))
    expected = (
        np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root
    )
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)


def test_kernel_distance_matches_a_double_loop():
    rng = np.random.default_rng(4)
    x, y = rng.standard_normal((6, 3)), rng.standard_normal((6, 3)) + 0.5

    def k(u, v):
        return (u @ v / 3 + 1) ** 3

    m = 6
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    # With subsets of the whole sets, every draw is a permutation: same value, std 0.
    mean, std = metrics.kernel_distance(x, y, num_subsets=5, subset_size=6)
    assert mean == pytest.approx(xx + yy - 2 * xy, rel=1e-12)
    assert std == pytest.approx(0.0, abs=1e-12)


def test_kernel_distance_is_unbiased_near_zero_for_one_distribution():
    rng = np.random.default_rng(5)
    same = metrics.kernel_distance(
        rng.standard_normal((2000, 8)),
        rng.standard_normal((2000, 8)),
        num_subsets=50,
        subset_size=500,
    )
    shifted = metrics.kernel_distance(
        rng.standard_normal((2000, 8)),
        rng.standard_normal((2000, 8)) + 0.5,
        num_subsets=50,
        subset_size=500,
    )
    assert abs(same[0]) < 3 * same[1] / math.sqrt(50) + 1e-3
    assert shifted[0] > 10 * abs(same[0]) and shifted[0] > 0


def test_mode_statistics_hand_counted():
    centers, stddev = data.mixture_centers("ring2d")
    samples = np.array(
        [
            centers[0],
            centers[0],
            centers[0] + [0.02, 0.0],  # mode 0, within 3 sigma
            centers[1] + [0.0, -0.025],  # mode 1, 2.5 sigma
            [0.0, 0.0],  # the ring's center: far from every mode
        ]
    )
    stats = toy_metrics.mode_statistics(samples, centers, stddev)
    assert stats["modes"] == 2 and stats["num_modes"] == 8
    assert stats["high_quality"] == pytest.approx(4 / 5)
    assert stats["counts"] == [3, 1, 0, 0, 0, 0, 0, 0]
    expected_kl = 0.75 * math.log(8 * 0.75) + 0.25 * math.log(8 * 0.25)
    assert stats["reverse_kl"] == pytest.approx(expected_kl)


def test_mode_statistics_of_the_true_mixture_and_of_nothing_good():
    centers, stddev = data.mixture_centers("grid2d")
    rng = np.random.default_rng(6)
    true = centers[rng.integers(0, 25, 25_000)] + stddev * rng.standard_normal((25_000, 2))
    stats = toy_metrics.mode_statistics(true, centers, stddev)
    assert stats["modes"] == 25
    # P(||N(0, I_2)|| <= 3) = 1 - exp(-9/2) = 0.98889.
    assert stats["high_quality"] == pytest.approx(1 - math.exp(-4.5), abs=0.003)
    assert stats["reverse_kl"] < 0.01
    far = toy_metrics.mode_statistics(np.full((3, 2), 100.0), centers, stddev)
    assert far["modes"] == 0 and far["high_quality"] == 0 and far["reverse_kl"] == math.inf


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: metrics.frechet_distance(np.zeros((5, 2)), np.zeros((5, 3))), "feature sizes"),
        (lambda: metrics.frechet_distance(np.zeros(5), np.zeros((5, 1))), "shape (5,)"),
        (lambda: toy_metrics.mode_statistics(np.zeros((3, 3)), np.zeros((2, 2)), 1.0), "(3, 3)"),
        (lambda: toy_metrics.wasserstein1_to_normal([]), "empty"),
    ],
)
def test_bad_shapes(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


# k-NN metrics: an independent reference with explicit loops, norms and sorted lists.


def loop_radius(points, i, k):
    others = sorted(np.linalg.norm(points[i] - points[j]) for j in range(len(points)) if j != i)
    return others[k - 1]


def loop_share_inside(balls, points, k):
    # The share of `points` within distance <= radius of some ball center.
    radii = [loop_radius(balls, i, k) for i in range(len(balls))]
    inside = [
        any(np.linalg.norm(p - c) <= r for c, r in zip(balls, radii, strict=True)) for p in points
    ]
    return sum(inside) / len(points)


def loop_density_coverage(real, fake, k):
    radii = [loop_radius(real, i, k) for i in range(len(real))]
    count = 0
    for f in fake:
        for r, radius in zip(real, radii, strict=True):
            if np.linalg.norm(f - r) <= radius:
                count += 1
    covered = [
        min(np.linalg.norm(r - f) for f in fake) <= radius
        for r, radius in zip(real, radii, strict=True)
    ]
    return count / (k * len(fake)), sum(covered) / len(real)


def column(values):
    return np.array(values, dtype=np.float64)[:, None]


def test_knn_metrics_hand_computed_on_a_line():
    real, fake = column([0, 1, 3, 7]), column([2, 6, 12, 20])
    # k = 1. Real radii: 0 -> 1, 1 -> 1, 3 -> 2, 7 -> 4: balls [-1, 1], [0, 2], [1, 5], [3, 11].
    # Fake 2 is in [0, 2] (on its edge: <= counts) and [1, 5]; 6 in [3, 11]; 12 and 20 in none.
    # Fake radii: 2 -> 4, 6 -> 4, 12 -> 6, 20 -> 8: balls [-2, 6], [2, 10], [6, 18], [12, 28]
    # hold every real point.
    assert metrics.precision_recall(real, fake, k=1) == (0.5, 1.0)
    # Density: fake 2 in 2 real balls, fake 6 in 1: 3 / (1 * 4). Coverage: real 0's nearest
    # fake is 2 away (radius 1): out; 1 (fake 2 at 1 <= 1), 3 (2 at 1 <= 2), 7 (6 at 1 <= 4): in.
    assert metrics.density_coverage(real, fake, k=1) == (0.75, 0.75)
    # k = 2. Real radii: 0 -> 3, 1 -> 2, 3 -> 3, 7 -> 6: balls [-3, 3], [-1, 3], [0, 6], [1, 13];
    # fakes 2, 6, 12 are inside. Fake radii 10, 6, 8, 14 cover all of 0..7.
    assert metrics.precision_recall(real, fake, k=2) == (0.75, 1.0)
    # Density: fake 2 in the balls of 0, 1, 3, 7; 6 in those of 3, 7; 12 in that of 7: 7 / 8.
    assert metrics.density_coverage(real, fake, k=2) == (7 / 8, 1.0)
    # A point exactly on a ball's edge is inside: 7 is on the edge of fake 9's ball [7, 11]
    # (fake radii 2, 2, 9) and of no other; fake 11 is on real 7's [3, 11] and no other.
    assert metrics.precision_recall(real, column([9, 11, 20]), k=1) == (2 / 3, 1 / 4)


def test_a_duplicate_is_a_neighbour_and_only_the_point_itself_is_excluded():
    # Real 0, 0, 10, 13 with k = 1: each 0's nearest other is the other 0, radius 0; 10 and
    # 13 have radius 3. Fake 0 is inside the zeros' balls (0 <= 0) and 10 from 10; -1 is 1
    # from the zeros and 11 from 10; 21 is 8 from 13. Excluding every point at distance 0
    # (not just the point itself) would give the zeros radius 10, and -1 would be inside.
    real, fake = column([0, 0, 10, 13]), column([0, -1, 21])
    precision, _ = metrics.precision_recall(real, fake, k=1)
    assert precision == pytest.approx(1 / 3)
    # Density: fake 0 is in the two zeros' balls, 2 / (1 * 3). Coverage: the zeros are
    # covered; 10's nearest fake is 10 away and 13's is 8, both beyond radius 3.
    assert metrics.density_coverage(real, fake, k=1) == (pytest.approx(2 / 3), 0.5)


@pytest.mark.parametrize("chunk_rows", [7, 1024])
@pytest.mark.parametrize("k", [1, 3, 5])
def test_knn_metrics_match_loops(monkeypatch, chunk_rows, k):
    monkeypatch.setattr(metrics, "DISTANCE_CHUNK_ROWS", chunk_rows)
    rng = np.random.default_rng(10 + k)
    real = rng.standard_normal((40, 5))
    fake = rng.standard_normal((30, 5)) * 1.3 + 0.4
    precision, recall = metrics.precision_recall(real, fake, k=k)
    assert precision == loop_share_inside(real, fake, k)
    assert recall == loop_share_inside(fake, real, k)
    density, coverage = metrics.density_coverage(real, fake, k=k)
    loop_density, loop_coverage = loop_density_coverage(real, fake, k)
    assert density == pytest.approx(loop_density, rel=1e-12)
    assert coverage == loop_coverage
    assert 0 < precision < 1 and 0 < coverage < 1  # not a trivial case


def test_chunked_distances_equal_one_block(monkeypatch):
    rng = np.random.default_rng(20)
    real = rng.standard_normal((302, 16))  # 302 = 43 * 7 + 1: a last chunk of one row
    fake = rng.standard_normal((250, 16)) + 0.3
    results = {}
    for rows in (1024, 64, 7):
        monkeypatch.setattr(metrics, "DISTANCE_CHUNK_ROWS", rows)
        floor = metrics._zero_floor(real, fake)
        blocks = [block for _, block in metrics._squared_distance_chunks(real, fake)]
        assert len(blocks) == -(-302 // rows)
        results[rows] = (
            np.concatenate(blocks),
            metrics._kth_neighbour_thresholds(real, 4, floor),
            metrics.precision_recall(real, fake, k=4),
            metrics.density_coverage(real, fake, k=4),
        )
    # Direct differences, no expansion.
    direct = np.sum((real[:, None, :] - fake[None, :, :]) ** 2, axis=-1)
    for rows in (64, 7):
        np.testing.assert_allclose(results[rows][0], direct, rtol=1e-10)
        np.testing.assert_allclose(results[rows][1], results[1024][1], rtol=1e-12)
        assert results[rows][2:] == results[1024][2:]


def test_knn_metrics_of_identical_points():
    # Values whose squares round, so the expanded form leaves round-off where it cancels.
    point = np.random.default_rng(30).standard_normal(64) * 100 + 7
    real, fake = np.tile(point, (20, 1)), np.tile(point, (15, 1))
    # Every radius is 0 and every fake sits on every real point: each fake is in all 20 real
    # balls, so density = 20 / k (density is not bounded by 1).
    assert metrics.precision_recall(real, fake, k=3) == (1.0, 1.0)
    assert metrics.density_coverage(real, fake, k=5) == (20 / 5, 1.0)
    elsewhere = fake + 1e-3
    assert metrics.precision_recall(real, elsewhere, k=3) == (0.0, 0.0)
    assert metrics.density_coverage(real, elsewhere, k=5) == (0.0, 0.0)
    # Fakes 1e-9 (relative) off the point: their squared distances (~1e-12) are far below
    # what the expanded form resolves at this norm (its noise, ~1e-10, decides their sign
    # and order), so they count as the point itself, as in the identical case above.
    rng = np.random.default_rng(31)
    near = point + 1e-9 * np.abs(point) * rng.standard_normal((50, 64))
    assert metrics.precision_recall(real, near, k=3) == (1.0, 1.0)
    assert metrics.density_coverage(real, near, k=5) == (20 / 5, 1.0)


def test_knn_metrics_of_a_copy_of_the_real_set():
    real = np.random.default_rng(32).standard_normal((50, 8))
    assert metrics.precision_recall(real, real.copy(), k=3) == (1.0, 1.0)
    # Each real ball holds its center's copy and the copies of its k nearest (no ties in
    # continuous data, and the k-th sits on the edge): density = N (k + 1) / (k N).
    density, coverage = metrics.density_coverage(real, real.copy(), k=5)
    assert density == pytest.approx(6 / 5) and coverage == 1.0


def test_density_coverage_needs_balls_around_real_points_only():
    rng = np.random.default_rng(33)
    real, fake = rng.standard_normal((10, 3)), rng.standard_normal((2, 3))
    density, coverage = metrics.density_coverage(real, fake, k=5)
    assert (density, coverage) == pytest.approx(loop_density_coverage(real, fake, 5))


def test_class_statistics_hand_computed():
    stats = metrics.class_statistics([0, 0, 1, 2, 2, 2], [0, 1, 1, 1], num_classes=4)
    assert stats["fake_counts"] == [1, 3, 0, 0] and stats["real_counts"] == [2, 1, 3, 0]
    assert stats["classes_covered"] == 2 / 3  # of the real classes 0, 1, 2: not 2
    # Class 2 is missed by the fakes and adds nothing; class 3 is in neither set.
    expected = 0.25 * math.log(0.25 / (2 / 6)) + 0.75 * math.log(0.75 / (1 / 6))
    assert stats["class_kl"] == pytest.approx(expected, rel=1e-12)
    assert all(type(c) is int for c in stats["fake_counts"] + stats["real_counts"])


def test_class_statistics_match_a_loop():
    rng = np.random.default_rng(34)
    real, fake = rng.integers(0, 7, 500), rng.integers(0, 5, 300)  # fakes miss classes 5, 6
    stats = metrics.class_statistics(real, fake, num_classes=9)
    real_counts = [list(real).count(c) for c in range(9)]
    fake_counts = [list(fake).count(c) for c in range(9)]
    kl = 0.0
    for c in range(9):
        if fake_counts[c]:
            p, q = fake_counts[c] / 300, real_counts[c] / 500
            kl += p * math.log(p / q)
    assert stats["real_counts"] == real_counts and stats["fake_counts"] == fake_counts
    assert stats["classes_covered"] == 5 / 7  # the real set shows classes 0 to 6
    assert stats["class_kl"] == pytest.approx(kl, rel=1e-12)


def test_class_statistics_of_one_class():
    zeros = np.zeros(30, dtype=np.int64)
    stats = metrics.class_statistics(zeros, zeros[:10], num_classes=10)
    assert stats["classes_covered"] == 1.0 and stats["class_kl"] == 0.0  # the real one
    # Real uniform over C classes, fakes all one class: KL = 1 * log(1 / (1/C)) = log C.
    uniform = np.repeat(np.arange(10), 4)
    stats = metrics.class_statistics(uniform, zeros, num_classes=10)
    assert stats["class_kl"] == pytest.approx(math.log(10), rel=1e-12)
    assert stats["classes_covered"] == 0.1
    assert metrics.class_statistics(zeros, zeros, num_classes=1)["classes_covered"] == 1.0


def test_class_statistics_fake_class_absent_from_real_is_inf():
    stats = metrics.class_statistics([0, 0, 1], [0, 2], num_classes=3)
    assert stats["class_kl"] == math.inf and stats["classes_covered"] == 0.5  # of 0 and 1
    # The other direction's miss is finite: the real class 1 is simply not covered.
    assert metrics.class_statistics([0, 1, 2], [0, 2], num_classes=3)["class_kl"] < math.inf


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: metrics.precision_recall(np.zeros((3, 2)), np.zeros((10, 2)), k=3),
            "k=3 needs more than k points in each set (a point's k-th nearest other), "
            "got N=3, M=10; allowed: 1 <= k < min(N, M)",
        ),
        (
            lambda: metrics.precision_recall(np.zeros((10, 2)), np.zeros((2, 2))),
            "got N=10, M=2; allowed: 1 <= k < min(N, M)",
        ),
        (
            lambda: metrics.density_coverage(np.zeros((5, 2)), np.zeros((10, 2))),
            "k=5 needs more than k points in each set (a point's k-th nearest other), "
            "got N=5; allowed: 1 <= k < N",
        ),
        (lambda: metrics.density_coverage(np.zeros((5, 2)), np.zeros((5, 2)), k=0), "got 0"),
        (lambda: metrics.precision_recall(np.zeros((5, 2)), np.zeros((5, 2)), k=1.5), "got 1.5"),
        (
            lambda: metrics.precision_recall(np.zeros((5, 2)), np.zeros((5, 3))),
            "sizes differ: 2 vs 3",
        ),
        (lambda: metrics.density_coverage(np.zeros(5), np.zeros((5, 1))), "real_features must"),
        (lambda: metrics.density_coverage(np.zeros((5, 1)), np.zeros((1, 1))), "shape (1, 1)"),
        (
            lambda: metrics.class_statistics([0, 5], [0], num_classes=5),
            "real_labels holds class 5; allowed: 0 <= label < num_classes = 5",
        ),
        (
            lambda: metrics.class_statistics([0], [-1, 0], num_classes=5),
            "fake_labels holds class -1",
        ),
        (lambda: metrics.class_statistics([0.0], [0], num_classes=2), "dtype float64"),
        (lambda: metrics.class_statistics([[0]], [0], num_classes=2), "shape (1, 1)"),
        (
            lambda: metrics.class_statistics([0], [], num_classes=2),
            "fake_labels must be a non-empty",
        ),
        (lambda: metrics.class_statistics([0], [0], num_classes=0), "got 0"),
        (lambda: metrics.class_statistics([0], [0], num_classes=2.0), "got 2.0"),
    ],
)
def test_knn_and_class_metric_errors(call, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        call()
