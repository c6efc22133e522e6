"""Metrics against closed forms and independent computations."""

import math

import numpy as np
import pytest

from dcgan import data, metrics


def normal_cdf(x):
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def normal_pdf(x):
    return math.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)


def test_w1_of_a_point_mass_is_the_closed_form():
    # W1(delta_c, N(0, 1)) = E|Z - c| = c (2 Phi(c) - 1) + 2 phi(c).
    for c in (0.0, 1.3, -2.0):
        expected = c * (2 * normal_cdf(c) - 1) + 2 * normal_pdf(c)
        assert metrics.wasserstein1_to_normal(np.full(50, c)) == pytest.approx(expected, rel=1e-9)


def test_w1_matches_numeric_integration_of_the_cdf_gap():
    # Independent route: W1 = int |F_n(x) - Phi(x)| dx, on a fine grid.
    samples = np.array([-1.7, -0.2, 0.05, 0.4, 0.41, 1.9, 3.0])
    grid = np.linspace(-12, 12, 2_400_001)
    empirical = np.searchsorted(np.sort(samples), grid, side="right") / len(samples)
    phi = 0.5 * (1 + np.vectorize(math.erf)(grid / math.sqrt(2)))
    numeric = np.sum(np.abs(empirical - phi)) * (grid[1] - grid[0])
    assert metrics.wasserstein1_to_normal(samples) == pytest.approx(numeric, abs=2e-5)


def test_w1_of_normal_samples_and_a_shift():
    z = np.random.default_rng(0).standard_normal(100_000)
    assert metrics.wasserstein1_to_normal(z) < 0.01  # O(1/sqrt(n)) sampling error
    assert metrics.wasserstein1_to_normal(z + 0.5) == pytest.approx(0.5, abs=0.01)


def test_ks_hand_computed():
    assert metrics.ks_to_normal([0.0]) == pytest.approx(0.5)
    # Steps at -1 and 1: the largest gap is 1/2 - Phi(-1) = Phi(1) - 1/2.
    assert metrics.ks_to_normal([-1.0, 1.0]) == pytest.approx(normal_cdf(1.0) - 0.5)
    assert metrics.ks_to_normal(np.random.default_rng(1).standard_normal(20_000)) < 0.015


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
    stats = metrics.mode_statistics(samples, centers, stddev)
    assert stats["modes"] == 2 and stats["num_modes"] == 8
    assert stats["high_quality"] == pytest.approx(4 / 5)
    assert stats["counts"] == [3, 1, 0, 0, 0, 0, 0, 0]
    expected_kl = 0.75 * math.log(8 * 0.75) + 0.25 * math.log(8 * 0.25)
    assert stats["reverse_kl"] == pytest.approx(expected_kl)


def test_mode_statistics_of_the_true_mixture_and_of_nothing_good():
    centers, stddev = data.mixture_centers("grid2d")
    rng = np.random.default_rng(6)
    true = centers[rng.integers(0, 25, 25_000)] + stddev * rng.standard_normal((25_000, 2))
    stats = metrics.mode_statistics(true, centers, stddev)
    assert stats["modes"] == 25
    # P(||N(0, I_2)|| <= 3) = 1 - exp(-9/2) = 0.98889.
    assert stats["high_quality"] == pytest.approx(1 - math.exp(-4.5), abs=0.003)
    assert stats["reverse_kl"] < 0.01
    far = metrics.mode_statistics(np.full((3, 2), 100.0), centers, stddev)
    assert far["modes"] == 0 and far["high_quality"] == 0 and far["reverse_kl"] == math.inf


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: metrics.frechet_distance(np.zeros((5, 2)), np.zeros((5, 3))), "feature sizes"),
        (lambda: metrics.frechet_distance(np.zeros(5), np.zeros((5, 1))), "shape (5,)"),
        (lambda: metrics.mode_statistics(np.zeros((3, 3)), np.zeros((2, 2)), 1.0), "(3, 3)"),
        (lambda: metrics.wasserstein1_to_normal([]), "empty"),
    ],
)
def test_bad_shapes(call, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()
